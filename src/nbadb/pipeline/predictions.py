"""Phase 5: player-prop predictions and their evaluation against the real outcomes.

predictions.player_prop_predictions [player_id, game_date]: for each upcoming player-game of the
feature store (precompute.ml_feature_store) and each target (pts, reb, ast, fg3m), one row per
system. The systems moving_average, similarity and gbm (pipeline.systems) are processor parts:
each runs behind its own durable breaker and a failing one leaves the others writing (the run is
then `partial`). The ensemble is computed here, in SQL, over the systems that produced a value
for the row: weights ENSEMBLE_WEIGHTS renormalised over those present.

The line: the real prop line as of D (the feature store's consensus: median of the books' main
lines) labelled `prop_consensus`; without one an estimated line labelled `estimated`:
floor(prior form) + 0.5, prior form = season average so far, else last season's (the half point a
book would add so that there is no push); null with neither. edge = predicted − line.

Confidence (0.5–1): the probability that the outcome lands on the predicted side of the line
under a normal error N(predicted, σ²) with σ² = DISPERSION[target] · max(predicted, 1) (variance
grows with the mean for counting stats; the factors are the squared errors per unit of mean that
moving_average left on 2022-23 games), i.e. Φ(|edge| / σ), computed with the logistic
approximation Φ(z) ≈ 1 / (1 + e^(−1.702 z)) (error < 0.01).
Recommendation: OVER when edge > 0 and confidence ≥ MIN_CONFIDENCE, UNDER when edge < 0 and
confidence ≥ MIN_CONFIDENCE, else PASS (always PASS without a line).

Form age and quality: form_age_days = days from the player's last game to D (null when he has none);
form_quality = the feature row's calculation_quality, or 'stale' when the form is older than
STALE_FORM_DAYS (a long absence) or 'none' without any game. Stale or missing form is never trusted
for a call: the confidence is capped just below MIN_CONFIDENCE, so the call is PASS.

Change detection: an entity's signature is its feature-store row (which carries the lines). A
prediction is not recomputed when only older games change; gbm picks those up at its next
retrain (its model_version names the exact training rows).

predictions.evaluation [player_id, game_date]: every prediction of a player-game that has a
result (analytics.player_game_summary), with the actual value, error (predicted − actual),
absolute error, hit (OVER: actual > line, UNDER: actual < line; null for PASS and pushes) and
the naive baseline's value for the same row: the target's season average so far from the same
feature-store row (null before his first game of the season).
"""

from __future__ import annotations

import hashlib
import json
from types import ModuleType

from nbadb.engine.spec import InputSpec, OutputCheck, PartSpec, ProcessorSpec
from nbadb.pipeline.common import GAME_DAY_PATTERNS, RESULTS_PATTERNS
from nbadb.pipeline.features import ML_FEATURE_STORE
from nbadb.pipeline.point_in_time import versions
from nbadb.pipeline.systems import common, gbm, moving_average, similarity
from nbadb.pipeline.systems.common import TARGETS

_FEATURES = ML_FEATURE_STORE.name
_SUMMARY = "analytics.player_game_summary"
PREDICTIONS_TABLE = "predictions.player_prop_predictions"

ENSEMBLE_WEIGHTS = {"gbm": 0.5, "similarity": 0.3, "moving_average": 0.2}
DISPERSION = {"pts": 3.5, "reb": 1.6, "ast": 1.3, "fg3m": 1.0}
MIN_CONFIDENCE = 0.6
STALE_FORM_DAYS = 45
UNTRUSTED_FORM_CONFIDENCE = 0.55  # the cap on confidence when the form is stale or missing
# History a prediction may learn from: gbm's training window plus the days back to its cutoff.
HISTORY_DAYS = gbm.TRAINING_DAYS + gbm.CADENCE_DAYS

# -- the parts' inputs -------------------------------------------------------------------------

_SCOPE_SQL = f"""
    SELECT f.* EXCLUDE (run_id, ingested_at, features_missing, features_partial, missing_sources), a.cutoff FROM {_FEATURES} f
    JOIN _scope s ON cast(f.player_id AS VARCHAR) = s.entity_id AND f.game_date = s.game_date
    JOIN _as_of a ON a.game_date = f.game_date
    WHERE f.game_date BETWEEN $start AND $end
    ORDER BY f.game_date, f.player_id  -- the systems see rows in one order: the same bits every time"""

# Usable feature rows of earlier games with every published version of their results; each system
# keeps only the rows of games strictly before the date it predicts, in the version known at its
# cutoff (systems.common.before).
_HISTORY_SQL = f"""
    SELECT f.* EXCLUDE (run_id, ingested_at, features_missing, features_partial, missing_sources),
           {', '.join(f'a.{t} AS actual_{t}' for t in TARGETS)}, a.row_hash AS actual_row_hash,
           a.known_at AS actual_known_at, a.superseded_at AS actual_superseded_at
    FROM {_FEATURES} f JOIN {versions(_SUMMARY)} a ON a.player_id = f.player_id AND a.game_id = f.game_id
    WHERE f.can_use_for_ml_training AND f.game_date < $end AND f.game_date >= $start - INTERVAL {HISTORY_DAYS} DAY
    ORDER BY f.game_date, f.player_id, a.known_at"""


def _part(module: ModuleType, reads: tuple[str, ...]) -> PartSpec:
    """The part of system `module` (named after it), reading `scope` and/or `history`."""
    sql = {"scope": _SCOPE_SQL, "history": _HISTORY_SQL}
    return PartSpec(
        name=module.__name__.rsplit(".", 1)[1],
        compute=module.compute,
        reads=tuple((r, sql[r]) for r in reads),
        columns=common.OUTPUT_COLUMNS,
        version=common.source_version(module, common),
    )


SYSTEM_PARTS = (
    _part(moving_average, ("scope",)),
    _part(similarity, ("scope", "history")),
    _part(gbm, ("scope", "history")),
)
ENSEMBLE_VERSION = hashlib.md5(json.dumps(ENSEMBLE_WEIGHTS, sort_keys=True).encode()).hexdigest()[:12]


# -- predictions.player_prop_predictions -------------------------------------------------------

def _per_target(values: dict[str, object], target: str = "r.target") -> str:
    """SQL CASE over the row's target picking that target's expression."""
    return f"CASE {target} " + " ".join(f"WHEN '{t}' THEN {values[t]}" for t in TARGETS) + " END"


_SYSTEM_ROWS = " UNION ALL BY NAME ".join(
    f"SELECT *, '{p.name}' AS system, '{p.version}' AS system_version FROM {p.table}" for p in SYSTEM_PARTS
)
_WEIGHTS = ", ".join(f"('{s}', {w})" for s, w in ENSEMBLE_WEIGHTS.items())

_PREDICTIONS_TRANSFORM = f"""
    WITH systems AS ({_SYSTEM_ROWS}),
    ensemble AS (
        SELECT player_id, game_date, target, 'ensemble' AS system, '{ENSEMBLE_VERSION}' AS system_version,
               -- summed in a fixed order: the same bits whatever order the rows arrive in
               list_sum(list(w.weight * s.predicted_value ORDER BY s.system))
                   / list_sum(list(w.weight ORDER BY s.system)) AS predicted_value,
               string_agg(s.system, '+' ORDER BY s.system) AS components,
               md5(string_agg(s.system || ':' || s.system_version || ':' || coalesce(s.model_version, '-'), ','
                              ORDER BY s.system))[:12] AS model_version
        FROM systems s JOIN (VALUES {_WEIGHTS}) w(system, weight) USING (system)
        GROUP BY player_id, game_date, target
    ),
    all_rows AS (SELECT * FROM systems UNION ALL BY NAME SELECT * FROM ensemble),
    lined AS (
        SELECT r.*, f.game_id, f.season, f.team_id, f.opponent_team_id, f.feature_version,
               {_per_target({t: f'f.line_{t}' for t in TARGETS})} AS real_line,
               {_per_target({t: f'coalesce(f.{t}_avg_season, f.{t}_avg_prev_season)' for t in TARGETS})} AS prior_form,
               sqrt({_per_target(DISPERSION)} * greatest(r.predicted_value, 1)) AS sigma,
               date_diff('day', f.last_game_date, f.game_date) AS form_age_days,
               CASE WHEN f.last_game_date IS NULL THEN 'none'
                    WHEN date_diff('day', f.last_game_date, f.game_date) > {STALE_FORM_DAYS} THEN 'stale'
                    ELSE f.calculation_quality END AS form_quality
        FROM all_rows r JOIN {_FEATURES} f ON f.player_id = r.player_id AND f.game_date = r.game_date
         AND f.game_date BETWEEN $start AND $end
    ),
    verdict AS (
        SELECT *, coalesce(real_line, floor(prior_form) + 0.5) AS line_value,
               CASE WHEN real_line IS NOT NULL THEN 'prop_consensus'
                    WHEN prior_form IS NOT NULL THEN 'estimated' END AS line_source
        FROM lined
    ),
    scored AS (
        SELECT *, predicted_value - line_value AS edge,
               CASE WHEN form_quality IN ('stale', 'none') THEN least({UNTRUSTED_FORM_CONFIDENCE}, raw_confidence)
                    ELSE raw_confidence END AS confidence
        FROM (SELECT *, 1 / (1 + exp(-1.702 * abs(predicted_value - line_value) / sigma)) AS raw_confidence
              FROM verdict)
    )
    SELECT player_id, game_date, game_id, season, team_id, opponent_team_id, target, system, predicted_value,
           line_value, line_source, edge, confidence,
           CASE WHEN confidence >= {MIN_CONFIDENCE} AND edge > 0 THEN 'OVER'
                WHEN confidence >= {MIN_CONFIDENCE} AND edge < 0 THEN 'UNDER'
                ELSE 'PASS' END AS recommendation,
           system_version, model_version, components, training_cutoff, training_rows, feature_version,
           form_age_days, form_quality
    FROM scored"""

PLAYER_PROP_PREDICTIONS = ProcessorSpec(
    name=PREDICTIONS_TABLE,
    phase=5,
    inputs=(InputSpec(_FEATURES), InputSpec(_SUMMARY, required=False, lag_days=1)),
    entity_key="player_id",
    description="Per player-game and target: each system's prediction, the line, edge, confidence and OVER/UNDER/PASS.",
    signature_sql=f"""SELECT player_id AS entity_id, game_date, row_hash AS part_hash FROM {_FEATURES}
                      WHERE game_date BETWEEN $start AND $end""",
    transform_sql=_PREDICTIONS_TRANSFORM,
    parts=SYSTEM_PARTS,
    patterns=GAME_DAY_PATTERNS,
    kind="as_of",
    checks=(
        OutputCheck("predictions are never negative", "predicted_value < 0", invariant=True),
        OutputCheck("confidence within 0.5..1", "confidence < 0.5 OR confidence > 1", invariant=True),
        OutputCheck("a line has its source", "(line_value IS NULL) <> (line_source IS NULL)", invariant=True),
        OutputCheck("no recommendation without a line", "line_value IS NULL AND recommendation <> 'PASS'",
                    invariant=True),
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

_EVALUATION_TRANSFORM = f"""
    SELECT p.player_id, p.game_date, p.game_id, p.season, p.target, p.system, p.predicted_value,
           {_ACTUAL} AS actual_value, p.predicted_value - actual_value AS error, abs(error) AS abs_error,
           p.line_value, p.line_source, p.confidence, p.recommendation,
           CASE WHEN actual_value = p.line_value THEN NULL
                WHEN p.recommendation = 'OVER' THEN actual_value > p.line_value
                WHEN p.recommendation = 'UNDER' THEN actual_value < p.line_value END AS hit,
           {_per_target({t: f"f.{t}_avg_season" for t in TARGETS}, "p.target")} AS baseline_value,
           EXISTS (SELECT 1 FROM {_SUMMARY}_history h WHERE h.player_id = a.player_id AND h.game_id = a.game_id)
               AS actual_revised,
           a.known_at
    FROM {PREDICTIONS_TABLE} p
    JOIN _scope s ON cast(p.player_id AS VARCHAR) = s.entity_id AND p.game_date = s.game_date
    JOIN {_SUMMARY} a ON a.player_id = p.player_id AND a.game_id = p.game_id
    LEFT JOIN {_FEATURES} f ON f.player_id = p.player_id AND f.game_date = p.game_date
    WHERE p.game_date BETWEEN $start AND $end"""

EVALUATION = ProcessorSpec(
    name="predictions.evaluation",
    phase=5,
    inputs=(InputSpec(PREDICTIONS_TABLE), InputSpec(_SUMMARY), InputSpec(_FEATURES, required=False)),
    entity_key="player_id",
    description="Every prediction of a finished player-game with the actual result, error, hit and baseline.",
    signature_sql=_EVALUATION_SIGNATURE,
    transform_sql=_EVALUATION_TRANSFORM,
    patterns=RESULTS_PATTERNS,
    checks=(
        OutputCheck("abs_error is |error|", "abs_error <> abs(error)", invariant=True),
        OutputCheck("a hit needs a recommendation", "hit IS NOT NULL AND recommendation = 'PASS'", invariant=True),
    ),
)

PREDICTION_PROCESSORS: tuple[ProcessorSpec, ...] = (PLAYER_PROP_PREDICTIONS, EVALUATION)
