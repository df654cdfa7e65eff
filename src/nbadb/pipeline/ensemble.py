"""The ensemble's weights and every system's error spread, as of each date D of a predictions run.

Out-of-sample rows of D: the systems' predictions of the last WINDOW_DAYS game days before D that
have a result published before D's cutoff (a playoff day the archive has no results for does not
count), from rows of predictions.player_prop_predictions written before and this run's rows of
earlier dates, each with the player's result in the version published before D's cutoff (a result
published later is not there). Weights: the simplex grid with step 1/GRID_STEPS over SYSTEMS (no weight on a system
with no prediction in the window) minimising the MAE of the weighted prediction (weights
renormalised over the systems that predicted the row) on those rows, ties to the first in grid
order; equal weights while fewer than MIN_DAYS game days have such rows.
Spread: per system (and the ensemble with D's weights) and target, σ² = a + b·prediction, the least
squares line of the squared residuals on the prediction over the same rows, floored at
MIN_VARIANCE by the caller; none before MIN_DAYS game days (no probability, so no call).

Cost and exactness: sums are taken once per game day, target and version of the results (`ens_sums`,
whole millionths, so any run order gives the same bits), and each D adds up the sums of its window
whose version it can see: a whole season's dates cost little more than one.
"""

from __future__ import annotations

from itertools import product

from nbadb.pipeline.point_in_time import versions
from nbadb.pipeline.prop_features.processor import TARGETS

SYSTEMS = ("baseline", "gbm", "heuristic")
WINDOW_DAYS = 30
MIN_DAYS = 7
GRID_STEPS = 20
MIN_VARIANCE = 0.25
_SUMMARY = "analytics.player_game_summary"


def _exact(value: str) -> str:
    """`value` in whole millionths: sums of it are exact integers, the same in any order."""
    return f"cast(round(({value}) * 1e6) AS BIGINT)"


def _grid() -> str:
    rows = [w for w in product(range(GRID_STEPS + 1), repeat=len(SYSTEMS)) if sum(w) == GRID_STEPS]
    values = ", ".join("(" + ", ".join([str(i), *(f"{x / GRID_STEPS}" for x in w)]) + ")" for i, w in enumerate(rows))
    return f"(VALUES {values}) grid(position, {', '.join(f'w_{s}' for s in SYSTEMS)})"


def combined_sql(weights: str, rows: str) -> str:
    """The weighted prediction of `rows` (columns named after SYSTEMS) with `weights` (columns w_<system>),
    renormalised over the systems present; null with none."""
    num = " + ".join(f"{weights}.w_{s} * coalesce({rows}.{s}, 0)" for s in SYSTEMS)
    den = " + ".join(f"{weights}.w_{s} * ({rows}.{s} IS NOT NULL)::INTEGER" for s in SYSTEMS)
    return f"({num}) / nullif({den}, 0)"


def _actual(alias: str) -> str:
    return "CASE p.target " + " ".join(f"WHEN '{t}' THEN {alias}.{t}" for t in TARGETS) + " END"


def _moments(x: str, y: str, suffix: str) -> list[str]:
    """Exact sums for a least-squares line of y on x (n, Σx, Σy, Σxy, Σx²), named with `suffix`."""
    return [f"count({x}) AS n_{suffix}", f"sum({_exact(x)}) AS sx_{suffix}", f"sum({_exact(y)}) AS sy_{suffix}",
            f"sum({_exact(f'({x}) * ({y})')}) AS sxy_{suffix}", f"sum({_exact(f'({x}) * ({x})')}) AS sxx_{suffix}"]


def _line(suffix: str) -> tuple[str, str]:
    """(intercept, slope) SQL from the window sums of `_moments` columns with `suffix`."""
    n = f"cast(sum(n_{suffix}) AS DOUBLE)"
    sx, sy, sxy, sxx = (f"cast(sum({c}_{suffix}) AS DOUBLE) / 1e6" for c in ("sx", "sy", "sxy", "sxx"))
    slope = f"({n} * {sxy} - {sx} * {sy}) / nullif({n} * {sxx} - {sx} * {sx}, 0)"
    return f"({sy} - {slope} * {sx}) / nullif({n}, 0)", slope


def ctes(pool: str) -> str:
    """CTEs `ens_weights` (day, target, w_<system>, weight_days) and `ens_spread` (day, target, system, var_a,
    var_b) over `pool` (game_date, game_id, player_id, target, system, predicted_value); needs `_as_of`."""
    pivot = ", ".join(f"max(predicted_value) FILTER (WHERE system = '{s}') AS {s}" for s in SYSTEMS)
    combined = combined_sql("grid", "v")
    system_sums = ", ".join(m for s in SYSTEMS for m in _moments(f"v.{s}", f"power(v.actual - v.{s}, 2)", s))
    visible = "s.known_at < d.cutoff AND (s.superseded_at IS NULL OR s.superseded_at >= d.cutoff)"
    spreads = " UNION ALL ".join(
        f"SELECT day, target, '{s}' AS system, {_line(s)[0]} AS var_a, {_line(s)[1]} AS var_b "
        "FROM window_sums GROUP BY ALL"
        for s in SYSTEMS)
    return f"""
    ens_pool AS (SELECT game_date, game_id, player_id, target, {pivot} FROM ({pool}) GROUP BY ALL),
    ens_known AS (  -- each game day of the pool with the first instant one of its results was published
        SELECT p.game_date, min(a.known_at) AS first_known
        FROM ens_pool p JOIN {versions(_SUMMARY)} a ON a.player_id = p.player_id AND a.game_id = p.game_id
        GROUP BY p.game_date
    ),
    ens_days AS (  -- per D, its last game days with a result published before D's cutoff
        SELECT d.game_date AS day, d.cutoff, g.game_date
        FROM _as_of d JOIN ens_known g ON g.game_date < d.game_date AND g.first_known < d.cutoff
        QUALIFY row_number() OVER (PARTITION BY d.game_date ORDER BY g.game_date DESC) <= {WINDOW_DAYS}
    ),
    ens_versions AS (  -- every pool row of those days with every published version of its result
        SELECT p.*, {_actual('a')} AS actual, a.known_at, a.superseded_at
        FROM ens_pool p JOIN {versions(_SUMMARY)} a ON a.player_id = p.player_id AND a.game_id = p.game_id
        WHERE p.game_date IN (SELECT game_date FROM ens_days)
    ),
    ens_sums AS (  -- per game day, target, result version and weighting: exact sums
        SELECT v.game_date, v.target, v.known_at, v.superseded_at, grid.*,
               sum({_exact(f'abs({combined} - v.actual)')}) AS abs_sum,
               {', '.join(_moments(combined, f'power(v.actual - {combined}, 2)', 'ensemble'))},
               {', '.join(f'count(v.{s}) AS has_{s}' for s in SYSTEMS)}
        FROM ens_versions v, {_grid()} GROUP BY ALL
    ),
    ens_scored AS (  -- per D: the window's sums of the versions D can see
        SELECT d.day, s.target, s.position, {', '.join(f's.w_{x}' for x in SYSTEMS)},
               sum(s.abs_sum) / nullif(sum(s.n_ensemble), 0) AS mae,
               count(DISTINCT s.game_date) FILTER (WHERE s.n_ensemble > 0) AS weight_days,
               {', '.join(f'sum(s.{c}_ensemble) AS {c}_ensemble' for c in ('n', 'sx', 'sy', 'sxy', 'sxx'))}
        FROM ens_days d JOIN ens_sums s ON s.game_date = d.game_date AND {visible}
        GROUP BY ALL
        HAVING {' AND '.join(f'(sum(s.has_{x}) > 0 OR s.w_{x} = 0)' for x in SYSTEMS)}
    ),
    ens_chosen AS (SELECT * FROM ens_scored QUALIFY row_number() OVER (PARTITION BY day, target
                                                                       ORDER BY mae, position) = 1),
    ens_weights AS (
        SELECT d.game_date AS day, t.target,
               {', '.join(f"CASE WHEN coalesce(c.weight_days, 0) >= {MIN_DAYS} THEN c.w_{x} ELSE {1 / len(SYSTEMS)} END AS w_{x}" for x in SYSTEMS)},
               coalesce(c.weight_days, 0) AS weight_days
        FROM _as_of d CROSS JOIN (VALUES {', '.join(f"('{t}')" for t in TARGETS)}) t(target)
        LEFT JOIN ens_chosen c ON c.day = d.game_date AND c.target = t.target
    ),
    window_sums AS (  -- per D: the residual sums of its window's days, in the versions D sees
        SELECT d.day, s.*
        FROM ens_days d
        JOIN (SELECT game_date, target, known_at, superseded_at, {system_sums} FROM ens_versions v GROUP BY ALL) s
          ON s.game_date = d.game_date AND {visible}
    ),
    ens_spread AS (
        SELECT * FROM ({spreads}
                       UNION ALL
                       SELECT day, target, 'ensemble', {_line('ensemble')[0]}, {_line('ensemble')[1]}
                       FROM ens_chosen GROUP BY ALL)
        WHERE day IN (SELECT day FROM ens_weights WHERE weight_days >= {MIN_DAYS})
    )"""
