"""The ensemble's weights and every system's error spread, as of each date D of a predictions run.

Out-of-sample rows of D: the systems' predictions of the last WINDOW_DAYS game days before D, and
within LOOKBACK_DAYS of it, that have a result published before D's cutoff (a playoff day the
archive has no results for does not count), from rows of predictions.player_prop_predictions
written before and this run's rows of earlier dates, each with the player's result in the version published before D's cutoff (a result
published later is not there). Weights: the simplex grid with step 1/GRID_STEPS over SYSTEMS (no weight on a system
with no prediction in the window) minimising the MAE of the weighted prediction (weights
renormalised over the systems that predicted the row, equal among them where it put no weight on any:
`effective_weights_sql`) on those rows, ties to the first in grid
order; equal weights while fewer than MIN_DAYS game days have such rows.
Spread: per system (and the ensemble with D's weights) and target, σ² = a + b·prediction, the least
squares line of the squared residuals on the prediction over the same rows, floored at
MIN_VARIANCE by the caller; none before MIN_DAYS game days (no probability, so no call).

Cost and exactness: sums are taken once per game day, target and version of the results (`ens_sums`,
whole millionths, so any run order gives the same bits), and each D adds up the sums of its window
whose version it can see: a whole season's dates cost little more than one. A *settled* result is one
every D of the run that can look back on its game day sees: published before the first cutoff after
that day and never superseded. A day's settled results are summed together, whatever their own
publication instants, so a D adds one row per day and weighting for them (and one per version of the
few results corrected or published late). The ensemble's own spread needs its residuals at D's chosen
weighting only: they are summed the same way, per game day for the weightings some D chose (`ens_needed`).
"""

from __future__ import annotations

from itertools import product

from nbadb.pipeline.point_in_time import versions
from nbadb.pipeline.prop_features.processor import TARGETS

SYSTEMS = ("baseline", "gbm", "heuristic")
WINDOW_DAYS = 30
# The window's days lie within this many days before D, so that a run reads stored predictions from
# its first date minus LOOKBACK_DAYS and every D's window is the same whatever the run's first date
# (after the 2020 hiatus the 30 game days before D reached back past it: a season-long run saw March
# 2020 where a day's run did not). An ordinary off-season keeps 30 game days inside it.
LOOKBACK_DAYS = 240
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


def effective_weights_sql(weights: str, rows: str) -> dict[str, str]:
    """Per system, the weight its prediction in `rows` (columns named after SYSTEMS) gets from `weights`
    (columns w_<system>): renormalised over the systems present; the systems present equally weighted
    where every weight is on systems absent (a season's opening days, where the baseline has no season
    average yet, with the weight all on it: the row had no ensemble); null with none present."""
    present = {s: f"({rows}.{s} IS NOT NULL)::INTEGER" for s in SYSTEMS}
    weighted = " + ".join(f"{weights}.w_{s} * {present[s]}" for s in SYSTEMS)
    count = " + ".join(present.values())
    return {s: f"coalesce({weights}.w_{s} * {present[s]} / nullif({weighted}, 0), {present[s]} / nullif({count}, 0))"
            for s in SYSTEMS}


def combined_sql(weights: str, rows: str) -> str:
    """The weighted prediction of `rows` with `weights` at their effective weights (`effective_weights_sql`)."""
    effective = effective_weights_sql(weights, rows)
    return "(" + " + ".join(f"{effective[s]} * coalesce({rows}.{s}, 0)" for s in SYSTEMS) + ")"


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


def _visible(alias: str) -> str:
    """Whether the row `alias` (settled, or its result's version from known_at to superseded_at) is one the D
    of alias `d` sees."""
    return (f"({alias}.settled OR ({alias}.known_at < d.cutoff AND ({alias}.superseded_at IS NULL "
            f"OR {alias}.superseded_at >= d.cutoff)))")


def ctes(pool: str) -> str:
    """CTEs `ens_weights` (day, target, w_<system>, weight_days) and `ens_spread` (day, target, system, var_a,
    var_b) over `pool` (game_date, game_id, player_id, target, system, predicted_value); needs `_as_of`."""
    pivot = ", ".join(f"max(predicted_value) FILTER (WHERE system = '{s}') AS {s}" for s in SYSTEMS)
    combined = combined_sql("grid", "v")
    # the same value: a row every system predicted has weights summing to exactly 1 (decimal), so it skips the division
    weighted = " + ".join(f"grid.f_{x} * v.{x}" for x in SYSTEMS)
    fast_combined = f"(CASE WHEN v.every_system THEN {weighted} ELSE {combined} END)"
    system_sums = ", ".join(m for s in SYSTEMS for m in _moments(f"v.{s}", f"power(v.actual - v.{s}, 2)", s))
    spreads = " UNION ALL ".join(
        f"SELECT day, target, '{s}' AS system, {_line(s)[0]} AS var_a, {_line(s)[1]} AS var_b "
        "FROM window_sums GROUP BY ALL"
        for s in SYSTEMS)
    return f"""
    ens_grid AS (SELECT *, {', '.join(f'cast(w_{x} AS DOUBLE) AS f_{x}' for x in SYSTEMS)} FROM {_grid()}),
    ens_known AS (  -- each game day of the pool with the first instant one of its results was published
        SELECT p.game_date, min(a.known_at) AS first_known
        FROM (SELECT DISTINCT game_date, game_id, player_id FROM ({pool})) p
        JOIN {versions(_SUMMARY)} a ON a.player_id = p.player_id AND a.game_id = p.game_id
        GROUP BY p.game_date
    ),
    ens_days AS (  -- per D, its last game days with a result published before D's cutoff
        SELECT d.game_date AS day, d.cutoff, g.game_date
        FROM _as_of d JOIN ens_known g ON g.game_date < d.game_date AND g.first_known < d.cutoff
         AND g.game_date >= d.game_date - INTERVAL {LOOKBACK_DAYS} DAY
        QUALIFY row_number() OVER (PARTITION BY d.game_date ORDER BY g.game_date DESC) <= {WINDOW_DAYS}
    ),
    ens_pool AS (  -- the pool's rows of the days some window holds, one column per system
        SELECT game_date, game_id, player_id, target, {pivot} FROM ({pool})
        WHERE game_date IN (SELECT game_date FROM ens_days) GROUP BY ALL
    ),
    ens_first_cutoff AS (  -- per game day of some window, the earliest cutoff of a D after it
        SELECT g.game_date, min(d.cutoff) AS first_cutoff
        FROM (SELECT DISTINCT game_date FROM ens_days) g JOIN _as_of d ON d.game_date > g.game_date GROUP BY ALL
    ),
    ens_versions AS (  -- every pool row of those days with every published version of its result; a settled
                       -- version (module docstring) loses its instants, so a day's settled rows sum together
        SELECT * REPLACE (CASE WHEN NOT settled THEN known_at END AS known_at,
                          CASE WHEN NOT settled THEN superseded_at END AS superseded_at)
        FROM (SELECT p.*, {_actual('a')} AS actual, a.known_at, a.superseded_at,
                     a.known_at < f.first_cutoff AND a.superseded_at IS NULL AS settled
              FROM ens_pool p JOIN ens_first_cutoff f USING (game_date)
              JOIN {versions(_SUMMARY)} a ON a.player_id = p.player_id AND a.game_id = p.game_id)
    ),
    ens_groups AS (  -- ens_versions numbered by game day, target and result version, to sum over one narrow key
        SELECT dense_rank() OVER (ORDER BY game_date, target, settled, known_at, superseded_at) AS version_group,
               {' AND '.join(f'{x} IS NOT NULL' for x in SYSTEMS)} AS every_system, *
        FROM ens_versions
    ),
    ens_sums AS (  -- per game day, target, result version and weighting: exact sums of the absolute errors
        SELECT g.game_date, g.target, g.settled, g.known_at, g.superseded_at, s.* EXCLUDE (version_group)
        FROM (SELECT v.version_group, grid.position,
                     sum({_exact(f'abs({fast_combined} - v.actual)')}) AS abs_sum, count({fast_combined}) AS n_rows
              FROM ens_groups v, ens_grid grid GROUP BY ALL) s
        JOIN (SELECT DISTINCT version_group, game_date, target, settled, known_at, superseded_at FROM ens_groups) g
          USING (version_group)
    ),
    window_sums AS (  -- per D: the residual sums of its window's days, in the versions D sees
        SELECT d.day, s.*
        FROM ens_days d
        JOIN (SELECT game_date, target, settled, known_at, superseded_at, {system_sums} FROM ens_versions v GROUP BY ALL) s
          ON s.game_date = d.game_date AND {_visible('s')}
    ),
    ens_day_systems AS (  -- per D, target and game day of its window: which systems have rows D sees
        SELECT day, target, game_date, {', '.join(f'sum(n_{x}) > 0 AS has_{x}' for x in SYSTEMS)}
        FROM window_sums GROUP BY ALL
    ),
    ens_presence AS (  -- per D and target: the game days of its window where each system has rows
        SELECT day, target, {', '.join(f'count(*) FILTER (WHERE has_{x}) AS days_{x}' for x in SYSTEMS)}
        FROM ens_day_systems GROUP BY ALL
    ),
    ens_scored AS (  -- per D: the window's sums of the versions D can see, each weighting of the systems it saw
        SELECT m.day, m.target, m.position, {', '.join(f'grid.w_{x}' for x in SYSTEMS)}, m.mae
        FROM (SELECT d.day, s.target, s.position, sum(s.abs_sum) / nullif(sum(s.n_rows), 0) AS mae
              FROM ens_days d JOIN ens_sums s ON s.game_date = d.game_date AND {_visible('s')} GROUP BY ALL) m
        JOIN ens_grid grid USING (position)
        JOIN ens_presence p ON p.day = m.day AND p.target = m.target
        WHERE {' AND '.join(f'(p.days_{x} > 0 OR grid.w_{x} = 0)' for x in SYSTEMS)}
    ),
    ens_best AS (SELECT * FROM ens_scored QUALIFY row_number() OVER (PARTITION BY day, target ORDER BY mae, position) = 1),
    ens_chosen AS (  -- D's weighting, with the game days of its window where a system it weighs has rows
        SELECT b.*, count(p.game_date) FILTER (WHERE {' OR '.join(f'(b.w_{x} > 0 AND p.has_{x})' for x in SYSTEMS)})
                    AS weight_days
        FROM ens_best b LEFT JOIN ens_day_systems p ON p.day = b.day AND p.target = b.target
        GROUP BY ALL
    ),
    ens_weights AS (
        SELECT d.game_date AS day, t.target,
               {', '.join(f"CASE WHEN coalesce(c.weight_days, 0) >= {MIN_DAYS} THEN c.w_{x} ELSE {1 / len(SYSTEMS)} END AS w_{x}" for x in SYSTEMS)},
               coalesce(c.weight_days, 0) AS weight_days
        FROM _as_of d CROSS JOIN (VALUES {', '.join(f"('{t}')" for t in TARGETS)}) t(target)
        LEFT JOIN ens_chosen c ON c.day = d.game_date AND c.target = t.target
    ),
    ens_needed AS (  -- per game day and target: the weightings chosen by the Ds whose window holds the day
        SELECT DISTINCT d.game_date, c.target, c.position FROM ens_chosen c JOIN ens_days d ON d.day = c.day
    ),
    ens_needed_sums AS (  -- per game day, target, result version and needed weighting: the ensemble's residual sums
        SELECT v.game_date, v.target, v.settled, v.known_at, v.superseded_at, grid.position,
               {', '.join(_moments(fast_combined, f'power(v.actual - {fast_combined}, 2)', 'ensemble'))}
        FROM ens_groups v JOIN ens_needed n ON n.game_date = v.game_date AND n.target = v.target
        JOIN ens_grid grid ON grid.position = n.position
        GROUP BY ALL
    ),
    ens_chosen_sums AS (  -- per D: the ensemble's residual sums at its chosen weighting over the rows it sees
        SELECT c.day, c.target, {', '.join(f'sum({m}_ensemble) AS {m}_ensemble' for m in ('n', 'sx', 'sy', 'sxy', 'sxx'))}
        FROM ens_chosen c JOIN ens_days d ON d.day = c.day
        JOIN ens_needed_sums s ON s.game_date = d.game_date AND s.target = c.target AND s.position = c.position
         AND {_visible('s')}
        GROUP BY ALL
    ),
    ens_spread AS (
        SELECT * FROM ({spreads}
                       UNION ALL
                       SELECT day, target, 'ensemble', {_line('ensemble')[0]}, {_line('ensemble')[1]}
                       FROM ens_chosen_sums GROUP BY ALL)
        WHERE day IN (SELECT day FROM ens_weights WHERE weight_days >= {MIN_DAYS})
    )"""
