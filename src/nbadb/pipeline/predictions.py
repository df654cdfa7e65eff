"""Phase 5: player-prop predictions and their evaluation against the real outcomes and odds.

predictions.player_prop_predictions [player_id, game_date]: for each player-game of
precompute.player_prop_features and each target (pts, reb, ast, fg3m), one row per system. The
systems baseline, heuristic and gbm (pipeline.systems) are processor parts: each runs behind its own
durable breaker and a failing one leaves the others writing (the run is then `partial`). The
ensemble is computed here, in SQL, with weights fitted as of D on past out-of-sample errors
(pipeline.ensemble), renormalised over the systems that predicted the row (equal among them where
the weights are all on systems that did not); its components are the weights each row used.

The line: the served books' consensus (pipeline.served_lines), labelled `prop_consensus`, with the
prices of a real book quoting it; without one an estimated line labelled `estimated`: floor(prior
form) + 0.5, prior form = season average so far, else last season's; null with neither.
Probability and call (`recommendation_sql`, the one rule, also judging shadow books'
lines in pipeline.provider_shadow): model_p_over = P(X > line) of the prediction's distribution
(pipeline.probabilities: Normal with σ² = a + b·mean fitted as of D, pipeline.ensemble; NB2 for
gbm's fg3m); p_over = its calibration blended with the market's de-vigged probability, fitted as of D
on earlier days' predictions judged at the lines of the books serving every game at D's cutoff
(pipeline.calibration, pipeline.served_lines; until MIN_ROWS rows exist there is no fit: p_over = p_model
and no call, no confidence above what a calibration supports); EV of each side = p · decimal odds − 1 at the
book's real prices; OVER or UNDER only on a real line with both prices, a calibration fit, trusted
form and the larger EV > 0; PASS otherwise (always on an estimated line, and before σ can be
fitted). confidence = p of the called side (below ½ when long odds make the less likely side the
better bet; PASS: the likelier side's), and only where a calibration supports it (`SUPPORTED_SQL`: a fit,
a market probability at the line, and form neither stale nor missing); null elsewhere, since an
uncalibrated model's P(over) for a player without form (a 2.0-point guess against a 16.5 line) would
read as certainty.
form_quality: 'none' (no game this season nor last), 'stale' (no game in STALE_FORM_DAYS days),
'prior_only' (no game yet this season), 'partial' (1–9 games), 'complete'; form_age_days = days since
his last game (capped at 30 by the features).

predictions.evaluation [player_id, game_date]: every prediction of a player-game with a result
(analytics.player_game_summary): actual, error, baseline on the same row (the season average so
far), line, book, the called side's decimal odds and profit of 1 unit at them, and the "follow the
consensus" side (the market favourite at the consensus line, by de-vigged probability; none at
exactly 0.5, where the market has no favourite), its odds and profit.
"""

from __future__ import annotations

from nbadb.engine.spec import InputSpec, OutputCheck, PartSpec, ProcessorSpec
from nbadb.pipeline import calibration, ensemble
from nbadb.pipeline.common import GAME_DAY_PATTERNS, RESULTS_PATTERNS
from nbadb.pipeline.point_in_time import versions
from nbadb.pipeline.probabilities import decimal_odds_sql, p_over_sql, profit_sql
from nbadb.pipeline.prop_features.player_state import prev_season_sql
from nbadb.pipeline.prop_features.processor import PROP_FEATURES_TABLE, TARGETS
from nbadb.pipeline.provider_lines import PROVIDER_LINES_TABLE
from nbadb.pipeline.provider_stages import BENCHED_AT_CUTOFF, STAGES_TABLE
from nbadb.pipeline.served_lines import BENCH_CTES, REFERENCE_CTES, SERVED_LINES
from nbadb.pipeline.systems.parts import OUTPUT_COLUMNS, TRAINING_SEASONS, LazyCompute, source_version

_FEATURES = PROP_FEATURES_TABLE
_SUMMARY = "analytics.player_game_summary"
PREDICTIONS_TABLE = "predictions.player_prop_predictions"
FEATURE_VERSION = "prop-v1"
STALE_FORM_DAYS = 30

# -- the parts' inputs -------------------------------------------------------------------------

_SCOPE_SQL = f"""
    SELECT f.* EXCLUDE (row_hash, run_id, ingested_at) FROM {_FEATURES} f
    JOIN _scope s ON cast(f.player_id AS VARCHAR) = s.entity_id AND f.game_date = s.game_date
    WHERE f.game_date BETWEEN $start AND $end
    ORDER BY f.game_date, f.player_id  -- the systems see rows in one order: the same bits every time"""


def training_rows_sql(seasons: int) -> str:
    """gbm's training rows of each season of the dates: feature rows of the `seasons` seasons before it,
    before its opener, whose player played, with the result as published before the opener's date began.
    (The seasons are listed first so that the features join on their season: a hash join, not a filter.)"""
    previous = [prev_season_sql("model_season")]
    for _ in range(seasons - 1):
        previous.append(prev_season_sql(previous[-1]))
    return f"""
    WITH wanted AS (
        SELECT season AS model_season, min(game_date) AS opener FROM {_FEATURES}
        WHERE season IN (SELECT DISTINCT season FROM {_FEATURES} WHERE game_date BETWEEN $start AND $end)
        GROUP BY season
    ),
    sources AS (SELECT model_season, opener, unnest([{', '.join(previous)}]) AS training_season FROM wanted)
    SELECT w.model_season, w.opener, f.* EXCLUDE (run_id, ingested_at),
           {', '.join(f'a.{t} AS actual_{t}' for t in TARGETS)}, a.row_hash AS actual_row_hash
    FROM sources w
    JOIN {_FEATURES} f ON f.season = w.training_season AND f.game_date < w.opener
    JOIN {versions(_SUMMARY)} a ON a.player_id = f.player_id AND a.game_id = f.game_id AND a.minutes > 0
     AND a.known_at < w.opener::TIMESTAMP AND (a.superseded_at IS NULL OR a.superseded_at >= w.opener::TIMESTAMP)"""


_TRAINING_ROWS = training_rows_sql(TRAINING_SEASONS)
_SEASONS_SQL = f"""
    SELECT model_season, opener, count(*) AS training_rows,
           md5(string_agg(row_hash || actual_row_hash, ',' ORDER BY player_id, game_date)) AS digest
    FROM ({_TRAINING_ROWS}) GROUP BY ALL ORDER BY model_season"""
_TRAINING_SQL = f"{_TRAINING_ROWS} ORDER BY w.model_season, f.game_date, f.player_id"


_SYSTEMS = "nbadb.pipeline.systems"


def _part(name: str, reads: dict[str, str], *helpers: str) -> PartSpec:
    """System `name` (the module systems.<name>) as a part, versioned by its source, that of what every
    system shares (systems.common, systems.parts) and its `helpers`' (module names under systems)."""
    modules = [f"{_SYSTEMS}.{m}" for m in (name, "common", "parts", *helpers)]
    return PartSpec(name=name, compute=LazyCompute(modules[0]), reads=tuple(reads.items()),
                    columns=OUTPUT_COLUMNS, version=source_version(*modules))


SYSTEM_PARTS = (
    _part("baseline", {"scope": _SCOPE_SQL}),
    _part("heuristic", {"scope": _SCOPE_SQL}),
    _part("gbm", {"scope": _SCOPE_SQL, "seasons": _SEASONS_SQL, "training": _TRAINING_SQL},
          "gbm_features", "negative_binomial"),
)
assert tuple(sorted(p.name for p in SYSTEM_PARTS)) == ensemble.SYSTEMS
ENSEMBLE_VERSION = source_version(ensemble.__name__)


# -- predictions.player_prop_predictions -------------------------------------------------------

def _per_target(values: dict[str, str], target: str = "r.target") -> str:
    """SQL CASE over the row's target picking that target's expression."""
    return f"CASE {target} " + " ".join(f"WHEN '{t}' THEN {values[t]}" for t in TARGETS) + " END"


# Where a calibration supports a probability (module docstring): the only rows with a confidence, and
# the only ones a call may be made on.
SUPPORTED_SQL = ("(calibration_b0 IS NOT NULL AND market_p_over IS NOT NULL "
                 "AND form_quality NOT IN ('stale', 'none'))")


def recommendation_sql(rows: str) -> str:
    """The served rule, the one place it is written: the relation `rows` (columns predicted_value, target,
    line_value, line_source, over_odds, under_odds (American), market_p_over, dist_mean, dist_sigma,
    dist_alpha, calibration_b0/_b1/_b2 and form_quality; any others kept) with model_p_over, p_over,
    edge, ev, confidence and recommendation appended (module docstring). The served predictions and the
    shadow verdicts against a provider's lines both call it."""
    called = (f"CASE WHEN line_source <> 'estimated' AND over_odds IS NOT NULL AND under_odds IS NOT NULL "
              f"AND {SUPPORTED_SQL} AND greatest(ev_over, ev_under) > 0 "
              "THEN CASE WHEN ev_over >= ev_under THEN 'OVER' ELSE 'UNDER' END ELSE 'PASS' END")
    p_over = calibration.calibrated_sql("model_p_over", "market_p_over", "calibration_b0", "calibration_b1",
                                        "calibration_b2")
    return f"""
        SELECT * EXCLUDE (ev_over, ev_under),
               CASE WHEN {SUPPORTED_SQL} THEN CASE recommendation WHEN 'OVER' THEN p_over WHEN 'UNDER' THEN 1 - p_over
                                                  ELSE greatest(p_over, 1 - p_over) END END AS confidence,
               CASE recommendation WHEN 'OVER' THEN ev_over WHEN 'UNDER' THEN ev_under END AS ev
        FROM (SELECT *, {called} AS recommendation
              FROM (SELECT *, p_over * {decimal_odds_sql('over_odds')} - 1 AS ev_over,
                           (1 - p_over) * {decimal_odds_sql('under_odds')} - 1 AS ev_under
                    FROM (SELECT *, {p_over} AS p_over
                          FROM (SELECT *, predicted_value - line_value AS edge, {_MODEL_P_OVER} AS model_p_over
                                FROM ({rows}) r))))"""


_MODEL_P_OVER = p_over_sql("dist_mean", "dist_sigma", "dist_alpha", "line_value")
_SYSTEM_ROWS = " UNION ALL BY NAME ".join(
    f"SELECT *, '{p.name}' AS system, '{p.version}' AS system_version FROM {p.table}" for p in SYSTEM_PARTS
)
# stored rows of player-games this run does not recompute (earlier runs, dates frozen inside this run's range)
_NOT_RECOMPUTED = "NOT EXISTS (SELECT 1 FROM systems s WHERE s.player_id = p.player_id AND s.game_date = p.game_date)"
_SYSTEM_LIST = ", ".join(f"'{s}'" for s in ensemble.SYSTEMS)
# each system's "system:version:model" in the order of SYSTEMS (sorted), the absent ones skipped
_VERSIONS_IN_ORDER = ", ".join(
    f"max(system || ':' || system_version || ':' || coalesce(model_version, '-')) FILTER (WHERE system = '{s}')"
    for s in ensemble.SYSTEMS)
_JUDGED_COLUMNS = ("game_date, game_id, player_id, target, system, line_value, line_source, model_p_over, market_p_over, "
                   "dist_mean, dist_sigma, dist_alpha")
_COMPONENTS = " || '+' || ".join(f"'{s}:' || printf('%.2f', coalesce({w}, 0))"
                                 for s, w in ensemble.effective_weights_sql("w", "t").items())

_PREDICTIONS_TRANSFORM = f"""
    WITH {BENCH_CTES},
    systems AS ({_SYSTEM_ROWS}),
    features AS (SELECT * FROM {_FEATURES} WHERE game_date BETWEEN $start AND $end),
    pool AS (
        SELECT game_date, game_id, player_id, target, system, predicted_value FROM {PREDICTIONS_TABLE} p
        WHERE game_date >= $start - INTERVAL {ensemble.LOOKBACK_DAYS} DAY AND game_date < $end AND system IN ({_SYSTEM_LIST})
          AND {_NOT_RECOMPUTED}
        UNION ALL
        SELECT s.game_date, f.game_id, s.player_id, s.target, s.system, s.predicted_value
        FROM systems s JOIN {_FEATURES} f USING (player_id, game_date)  -- every date of the run, all snapshots
    ),
    {ensemble.ctes('SELECT * FROM pool')},
    today AS (
        SELECT player_id, game_date, target,
               {', '.join(f"max(predicted_value) FILTER (WHERE system = '{s}') AS {s}" for s in ensemble.SYSTEMS)},
               md5(concat_ws(',', {_VERSIONS_IN_ORDER}))[:12] AS model_version
        FROM systems GROUP BY ALL
    ),
    ensembled AS (
        SELECT t.player_id, t.game_date, t.target, 'ensemble' AS system, '{ENSEMBLE_VERSION}' AS system_version,
               {ensemble.combined_sql('w', 't')} AS predicted_value, {_COMPONENTS} AS components, t.model_version
        FROM today t JOIN ens_weights w ON w.day = t.game_date AND w.target = t.target
    ),
    all_rows AS (
        SELECT * FROM systems UNION ALL BY NAME SELECT * FROM ensembled WHERE predicted_value IS NOT NULL
    ),
    lined AS (
        SELECT r.*, f.game_id, f.season, f.team_id, f.opponent_team_id, f.gp_s AS games_played_season,
               f.days_rest_p AS form_age_days,
               {_per_target({t: f'coalesce(f.pg_s_{t}, f.pg_pv_{t})' for t in TARGETS})} AS prior_form,
               CASE WHEN f.gp_s = 0 AND f.pv_gp = 0 THEN 'none'
                    WHEN f.days_rest_p >= {STALE_FORM_DAYS} THEN 'stale'
                    WHEN f.gp_s = 0 THEN 'prior_only' WHEN f.gp_s < 10 THEN 'partial' ELSE 'complete' END AS form_quality,
               l.line AS real_line, l.bookmaker, l.over_odds, l.under_odds, l.market_p_over,
               coalesce(r.mean_value, r.predicted_value) AS dist_mean, r.dispersion AS dist_alpha,
               CASE WHEN r.dispersion IS NULL AND sp.var_a IS NOT NULL  -- greatest() skips a null: no spread, no sigma
                    THEN sqrt(greatest(sp.var_a + sp.var_b * coalesce(r.mean_value, r.predicted_value),
                                       {ensemble.MIN_VARIANCE})) END AS dist_sigma
        FROM all_rows r JOIN features f USING (player_id, game_date)
        LEFT JOIN {SERVED_LINES} l ON l.player_id = r.player_id AND l.game_date = r.game_date AND l.game_id = f.game_id
         AND l.target = r.target
        LEFT JOIN ens_spread sp ON sp.day = r.game_date AND sp.target = r.target AND sp.system = r.system
    ),
    verdict AS (
        SELECT * REPLACE (CASE WHEN real_line IS NULL THEN NULL ELSE over_odds END AS over_odds,
                          CASE WHEN real_line IS NULL THEN NULL ELSE under_odds END AS under_odds),
               coalesce(real_line, floor(prior_form) + 0.5) AS line_value,
               CASE WHEN real_line IS NOT NULL THEN 'prop_consensus'
                    WHEN prior_form IS NOT NULL THEN 'estimated' END AS line_source
        FROM lined
    ),
    {REFERENCE_CTES},
    stored_judged AS MATERIALIZED (  -- stored predictions a calibration may learn from: with a real line, or of
                                     -- a restated day (two scans: each filter reaches the table's scan)
        SELECT {_JUDGED_COLUMNS} FROM {PREDICTIONS_TABLE}
        WHERE game_date < $end AND line_source = 'prop_consensus'
        UNION ALL
        SELECT {_JUDGED_COLUMNS} FROM {PREDICTIONS_TABLE}
        WHERE game_date < $end AND line_source IS DISTINCT FROM 'prop_consensus'
          AND game_date IN (SELECT game_date FROM restated)
    ),
    judged AS (  -- the predictions before the last date that a calibration may learn from: stored ones and this run's
        SELECT * FROM stored_judged p WHERE {_NOT_RECOMPUTED}
        UNION ALL
        SELECT game_date, game_id, player_id, target, system, line_value, line_source, {_MODEL_P_OVER}, market_p_over,
               dist_mean, dist_sigma, dist_alpha
        FROM verdict WHERE line_source = 'prop_consensus' OR game_date IN (SELECT game_date FROM restated)
    ),
    calibration_pool AS (  -- each judged at its day's reference line for the benched books of the run's dates
        SELECT s.judged_by, j.game_date, j.game_id, j.player_id, j.target, j.system, j.line_value, j.model_p_over,
               j.market_p_over
        FROM judged j CROSS JOIN bench_sets s
        WHERE j.line_source = 'prop_consensus'
          AND NOT EXISTS (SELECT 1 FROM restated r WHERE r.judged_by = s.judged_by AND r.game_date = j.game_date)
        UNION ALL
        SELECT l.judged_by, j.game_date, j.game_id, j.player_id, j.target, j.system, l.line,
               {p_over_sql('j.dist_mean', 'j.dist_sigma', 'j.dist_alpha', 'l.line')}, l.market_p_over
        FROM judged j JOIN reference_lines l USING (game_date, game_id, player_id, target)
    ),
    {calibration.ctes('SELECT * FROM calibration_pool', 'SELECT * FROM benched')},
    calibrated AS (
        SELECT v.*, c.calibration_b0, c.calibration_b1, c.calibration_b2
        FROM verdict v LEFT JOIN cal_fit c ON c.day = v.game_date AND c.system = v.system AND c.target = v.target
    ),
    scored AS ({recommendation_sql('SELECT * FROM calibrated')})
    SELECT player_id, game_date, game_id, season, team_id, opponent_team_id, target, system, predicted_value,
           line_value, line_source, bookmaker, over_odds, under_odds, market_p_over, dist_mean, dist_sigma, dist_alpha,
           model_p_over, calibration_b0, calibration_b1, calibration_b2, p_over, edge, ev, confidence, recommendation, system_version, model_version, components,
           training_cutoff, training_rows, '{FEATURE_VERSION}' AS feature_version, form_age_days, form_quality,
           games_played_season
    FROM scored"""

PLAYER_PROP_PREDICTIONS = ProcessorSpec(
    name=PREDICTIONS_TABLE,
    phase=5,
    inputs=(InputSpec(_FEATURES), InputSpec(PROVIDER_LINES_TABLE, required=False),
            InputSpec(_SUMMARY, required=False, lag_days=1),
            InputSpec(STAGES_TABLE, date_column="from_date", required=False)),
    entity_key="player_id",
    description="Per player-game and target: each system's prediction, the line, P(over), EV and OVER/UNDER/PASS.",
    # a row's features, and its date's benched books (they change the calibration it is served with)
    signature_sql=f"""SELECT f.player_id AS entity_id, f.game_date, md5(f.row_hash || b.benched::VARCHAR) AS part_hash
                      FROM {_FEATURES} f JOIN {BENCHED_AT_CUTOFF} b USING (game_date)
                      WHERE f.game_date BETWEEN $start AND $end""",
    transform_sql=_PREDICTIONS_TRANSFORM,
    parts=SYSTEM_PARTS,
    patterns=GAME_DAY_PATTERNS,
    kind="as_of",
    checks=(
        OutputCheck("predictions are never negative", "predicted_value < 0", invariant=True),
        OutputCheck("confidence is a probability, at least ½ on a PASS",
                    "confidence < 0 OR confidence > 1 OR (recommendation = 'PASS' AND confidence < 0.5)", invariant=True),
        OutputCheck("a line has its source", "(line_value IS NULL) <> (line_source IS NULL)", invariant=True),
        OutputCheck("a call only on a real line with a positive EV",
                    "recommendation <> 'PASS' AND (line_source <> 'prop_consensus' OR NOT ev > 0)", invariant=True),
        OutputCheck("gbm trains only on games before the date", "training_cutoff > game_date", invariant=True),
        OutputCheck("no call on stale or missing form",
                    "form_quality IN ('stale', 'none') AND recommendation <> 'PASS'", invariant=True),
    ),
)


# -- predictions.evaluation ----------------------------------------------------------------------

# The player-games that have both predictions and a result; each is signed by its prediction rows,
# its result row and its feature row (the baseline's source).
_EVALUATED = f"""
    WITH p AS (SELECT player_id, game_date, game_id, row_hash FROM {PREDICTIONS_TABLE}
               WHERE game_date BETWEEN $start AND $end),
    a AS (SELECT player_id, game_id, row_hash FROM {_SUMMARY} WHERE game_date BETWEEN $start AND $end),
    evaluated AS (SELECT DISTINCT p.player_id, p.game_date, a.row_hash AS actual_hash
                  FROM p JOIN a ON a.player_id = p.player_id AND a.game_id = p.game_id)"""

_EVALUATION_SIGNATURE = f"""{_EVALUATED}
    SELECT p.player_id AS entity_id, p.game_date, p.row_hash AS part_hash
    FROM p SEMI JOIN evaluated e ON e.player_id = p.player_id AND e.game_date = p.game_date
    UNION ALL
    SELECT player_id, game_date, 'actual:' || actual_hash FROM evaluated
    UNION ALL
    SELECT f.player_id, f.game_date, 'features:' || f.row_hash
    FROM {_FEATURES} f SEMI JOIN evaluated e ON e.player_id = f.player_id AND e.game_date = f.game_date
    WHERE f.game_date BETWEEN $start AND $end"""

_ACTUAL = _per_target({t: f"a.{t}" for t in TARGETS}, "p.target")
_CONSENSUS_SIDE = "CASE WHEN p.market_p_over > 0.5 THEN 'OVER' WHEN p.market_p_over < 0.5 THEN 'UNDER' END"
_SIDE_ODDS = ("CASE {side} WHEN 'OVER' THEN " + decimal_odds_sql("p.over_odds") + " WHEN 'UNDER' THEN "
              + decimal_odds_sql("p.under_odds") + " END")

_EVALUATION_TRANSFORM = f"""
    SELECT *, {profit_sql('recommendation', 'actual_value', 'line_value', 'side_odds')} AS profit,
           {profit_sql('consensus_side', 'actual_value', 'line_value', 'consensus_odds')} AS consensus_profit
    FROM (
        SELECT p.player_id, p.game_date, p.game_id, p.season, p.target, p.system, p.predicted_value,
               {_ACTUAL} AS actual_value, p.predicted_value - actual_value AS error, abs(error) AS abs_error,
               p.line_value, p.line_source, p.confidence, p.recommendation, p.bookmaker,
               CASE WHEN actual_value = p.line_value THEN NULL
                    WHEN p.recommendation = 'OVER' THEN actual_value > p.line_value
                    WHEN p.recommendation = 'UNDER' THEN actual_value < p.line_value END AS hit,
               {_per_target({t: f"f.pg_s_{t}" for t in TARGETS}, "p.target")} AS baseline_value,
               {_SIDE_ODDS.format(side='p.recommendation')} AS side_odds,
               {_CONSENSUS_SIDE} AS consensus_side, {_SIDE_ODDS.format(side=_CONSENSUS_SIDE)} AS consensus_odds,
               p.games_played_season,
               EXISTS (SELECT 1 FROM {_SUMMARY}_history h WHERE h.player_id = a.player_id AND h.game_id = a.game_id
                       AND {_per_target({t: f"h.{t}" for t in TARGETS}, "p.target")} IS DISTINCT FROM {_ACTUAL})
                   AS actual_revised,
               a.known_at
        FROM {PREDICTIONS_TABLE} p
        JOIN _scope s ON cast(p.player_id AS VARCHAR) = s.entity_id AND p.game_date = s.game_date
        JOIN {_SUMMARY} a ON a.player_id = p.player_id AND a.game_id = p.game_id
        LEFT JOIN {_FEATURES} f ON f.player_id = p.player_id AND f.game_date = p.game_date
        WHERE p.game_date BETWEEN $start AND $end)"""

EVALUATION = ProcessorSpec(
    name="predictions.evaluation",
    phase=5,
    inputs=(InputSpec(PREDICTIONS_TABLE), InputSpec(_SUMMARY), InputSpec(_FEATURES, required=False)),
    entity_key="player_id",
    description="Every prediction of a finished player-game: result, error, baseline, and profit at the real odds.",
    signature_sql=_EVALUATION_SIGNATURE,
    transform_sql=_EVALUATION_TRANSFORM,
    patterns=RESULTS_PATTERNS,
    checks=(
        OutputCheck("abs_error is |error|", "abs_error <> abs(error)", invariant=True),
        OutputCheck("a hit needs a recommendation", "hit IS NOT NULL AND recommendation = 'PASS'", invariant=True),
        OutputCheck("a bet's profit is at its odds", "profit IS NOT NULL AND (profit < -1 OR profit > side_odds - 1)",
                    invariant=True),
    ),
)

PREDICTION_PROCESSORS: tuple[ProcessorSpec, ...] = (PLAYER_PROP_PREDICTIONS, EVALUATION)
