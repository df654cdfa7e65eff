"""SQL for the chance a prop goes over its line and what a bet on it is worth.

- P(X > line) of a prediction's distribution: Normal(mean, sigma²) for pts, reb, ast and every
  system but gbm's fg3m (P = 1 − Φ((line − mean)/sigma), Φ from the Abramowitz–Stegun 7.1.26 erf,
  error < 2e-7); NB2(mean, alpha) when `alpha` is set (gbm's fg3m): 1 − Σ_{k ≤ floor(line)} pmf(k).
- decimal odds of an American price (−110 → 1.909, +120 → 2.2); the implied probability 1/decimal;
  de-vig: P_fair(over) = p_over / (p_over + p_under) of one book's two prices.
- EV of a 1-unit bet = p · decimal − 1; profit of a settled bet: decimal − 1 won, −1 lost, 0 push.
"""

from __future__ import annotations


def normal_cdf_sql(z: str) -> str:
    """Φ(z) via erf(x) ≈ 1 − (a1 t + … + a5 t⁵) e^(−x²), t = 1/(1 + p x), x = |z|/√2."""
    x = f"(abs({z}) / sqrt(2))"
    t = f"(1 / (1 + 0.3275911 * {x}))"
    poly = f"({t} * (0.254829592 + {t} * (-0.284496736 + {t} * (1.421413741 + {t} * (-1.453152027 + {t} * 1.061405429)))))"
    erf = f"(1 - {poly} * exp(-{x} * {x}))"
    return f"(0.5 * (1 + sign({z}) * {erf}))"


def nb_over_sql(mean: str, alpha: str, line: str) -> str:
    """P(X > line) for X ~ NB2(mean, alpha)."""
    r = f"(1 / {alpha})"
    log_pmf = (f"lgamma(k + {r}) - lgamma({r}) - lgamma(k + 1) + {r} * ln({r} / ({r} + {mean})) "
               f"+ k * ln({mean} / ({r} + {mean}))")
    return f"(1 - list_sum(list_transform(range(0, cast(floor({line}) AS BIGINT) + 1), lambda k: exp({log_pmf}))))"


def p_over_sql(mean: str, sigma: str, alpha: str, line: str) -> str:
    """P(X > line) of the prediction's distribution (module docstring); null without one."""
    normal = f"(1 - {normal_cdf_sql(f'(({line}) - ({mean})) / ({sigma})')})"
    return (f"CASE WHEN {line} IS NULL OR {mean} IS NULL THEN NULL "
            f"WHEN {alpha} IS NOT NULL THEN greatest(least({nb_over_sql(f'greatest({mean}, 1e-6)', alpha, line)}, 1), 0) "
            f"WHEN {sigma} > 0 THEN {normal} END")


def decimal_odds_sql(american: str) -> str:
    return f"CASE WHEN {american} < 0 THEN 1 + 100.0 / -{american} ELSE 1 + {american} / 100.0 END"


def fair_over_sql(over: str, under: str) -> str:
    """The book's de-vigged P(over) from its two American prices."""
    po, pu = f"(1 / {decimal_odds_sql(over)})", f"(1 / {decimal_odds_sql(under)})"
    return f"({po} / ({po} + {pu}))"


def call_odds_sql(alias: str) -> str:
    """The American price of the side a prediction calls (null on a PASS)."""
    return (f"CASE {alias}.recommendation WHEN 'OVER' THEN {alias}.over_odds "
            f"WHEN 'UNDER' THEN {alias}.under_odds END")


def profit_sql(side: str, actual: str, line: str, decimal: str) -> str:
    """Profit of a 1-unit bet on `side` ('OVER'/'UNDER') at `decimal` odds; null when no bet."""
    won = f"CASE {side} WHEN 'OVER' THEN {actual} > {line} WHEN 'UNDER' THEN {actual} < {line} END"
    return (f"CASE WHEN {side} NOT IN ('OVER', 'UNDER') OR {decimal} IS NULL THEN NULL "
            f"WHEN {actual} = {line} THEN 0.0 WHEN {won} THEN {decimal} - 1 ELSE -1.0 END")
