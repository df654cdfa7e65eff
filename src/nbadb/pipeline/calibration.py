"""Calibration of P(over) as of each date D: the market blend of REPORT §3, fitted on earlier days only.

p = σ(b0 + b1·logit p_model + b2·logit p_market), p_model the system's P(over) at the line
(pipeline.probabilities), p_market the books' de-vigged P(over) at it. Fitted per system and target
by logistic regression (IRLS, ITERATIONS Newton steps from b = 0) on every prediction of the days
before D whose result was published before D's cutoff (pushes left out), each judged at the
reference line of its day as of D (pipeline.served_lines: the consensus of the books serving every
game at D's cutoff) with its own distribution, once at least MIN_ROWS such rows exist; before that
there is no fit and p = p_model. So a book serving only a share of games, or rolled back, changes
no fit. Probabilities are clamped to [CLAMP, 1 − CLAMP] before the logit. Sums are taken in whole
billionths, so the fit is the same bits in any run order.
"""

from __future__ import annotations

from nbadb.pipeline.point_in_time import versions
from nbadb.pipeline.prop_features.processor import TARGETS

MIN_ROWS = 400
ITERATIONS = 8
CLAMP = 0.001
_SUMMARY = "analytics.player_game_summary"


def logit_sql(p: str) -> str:
    q = f"least(greatest({p}, {CLAMP}), {1 - CLAMP})"
    return f"ln({q} / (1 - {q}))"


def calibrated_sql(model_p: str, market_p: str, b0: str, b1: str, b2: str) -> str:
    """The calibrated P(over); `model_p` itself without a fit or a market probability."""
    z = f"{b0} + {b1} * {logit_sql(model_p)} + {b2} * {logit_sql(market_p)}"
    return f"CASE WHEN {b0} IS NULL OR {market_p} IS NULL THEN {model_p} ELSE 1 / (1 + exp(-({z}))) END"


def _exact_sum(value: str) -> str:
    return f"sum(cast(round(({value}) * 1e9) AS BIGINT))"


def _step() -> str:
    """One Newton step of the logistic fit: per (day, system, target), b + H⁻¹g from the rows and the b of the
    step before (`cal_steps`), until step ITERATIONS."""
    xs = {"0": "1", "1": "r.x1", "2": "r.x2"}
    sums = [f"{_exact_sum(f'r.mu * (1 - r.mu) * {xs[i]} * {xs[j]}')} AS h{i}{j}"
            for i, j in ("00", "01", "02", "11", "12", "22")]
    sums += [f"{_exact_sum(f'(r.y - r.mu) * {xs[i]}')} AS g{i}" for i in "012"]
    h = {k: f"(s.h{''.join(sorted(k))} / 1e9)" for k in ("00", "01", "02", "10", "11", "12", "20", "21", "22")}
    g = {i: f"(s.g{i} / 1e9)" for i in "012"}

    def det(m: dict[str, str]) -> str:
        return (f"({m['00']} * ({m['11']} * {m['22']} - {m['12']} * {m['21']}) "
                f"- {m['01']} * ({m['10']} * {m['22']} - {m['12']} * {m['20']}) "
                f"+ {m['02']} * ({m['10']} * {m['21']} - {m['11']} * {m['20']}))")

    def replaced(col: str) -> dict[str, str]:  # Cramer's rule: column `col` of H replaced by g
        return {k: (g[k[0]] if k[1] == col else v) for k, v in h.items()}

    steps = ", ".join(f"s.b{c} + {det(replaced(c))} / nullif({det(h)}, 0) AS b{c}" for c in "012")
    return f"""SELECT s.day, s.system, s.target, s.step + 1 AS step, {steps}
        FROM (SELECT r.day, r.system, r.target, r.step, r.b0, r.b1, r.b2, {', '.join(sums)}
              FROM (SELECT r.*, b.step, b.b0, b.b1, b.b2, 1 / (1 + exp(-(b.b0 + b.b1 * r.x1 + b.b2 * r.x2))) AS mu
                    FROM cal_rows r JOIN cal_steps b USING (day, system, target) WHERE b.step < {ITERATIONS}) r
              GROUP BY ALL) s"""


def ctes(pool: str, days: str) -> str:
    """CTE `cal_fit` (day, system, target, calibration_b0, _b1, _b2) for the `days` (game_date, cutoff,
    judged_by) over `pool` (judged_by, game_date, game_id, player_id, target, system, line_value,
    model_p_over, market_p_over: rows with a real line, a day learning from the rows of its `judged_by`)."""
    actual = "CASE p.target " + " ".join(f"WHEN '{t}' THEN a.{t}" for t in TARGETS) + " END"
    return f"""
    cal_results AS MATERIALIZED (  -- the pool's rows with every published version of their result, before
                                   -- any date is joined (the pool is small: rows with a real line)
        SELECT p.judged_by, p.game_date, p.system, p.target, {logit_sql('p.model_p_over')} AS x1,
               {logit_sql('p.market_p_over')} AS x2, ({actual} > p.line_value)::INTEGER AS y,
               a.known_at, a.superseded_at
        FROM ({pool}) p JOIN {versions(_SUMMARY)} a ON a.player_id = p.player_id AND a.game_id = p.game_id
        WHERE p.model_p_over IS NOT NULL AND p.market_p_over IS NOT NULL AND {actual} <> p.line_value
    ),
    cal_rows AS (
        SELECT d.game_date AS day, r.system, r.target, r.x1, r.x2, r.y
        FROM cal_results r JOIN ({days}) d ON d.judged_by = r.judged_by AND r.game_date < d.game_date
         AND r.known_at < d.cutoff AND (r.superseded_at IS NULL OR r.superseded_at >= d.cutoff)
    ),
    cal_fit AS (  -- the steps as one recursive CTE: its SQL is planned once, not once per step (25 ms each)
        WITH RECURSIVE cal_steps AS (
            SELECT day, system, target, 0 AS step, 0.0::DOUBLE AS b0, 0.0::DOUBLE AS b1, 0.0::DOUBLE AS b2
            FROM cal_rows GROUP BY ALL HAVING count(*) >= {MIN_ROWS}
            UNION ALL
            {_step()}
        )
        SELECT day, system, target, b0 AS calibration_b0, b1 AS calibration_b1, b2 AS calibration_b2
        FROM cal_steps WHERE step = {ITERATIONS}
    )"""
