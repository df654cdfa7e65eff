"""predictions.provider_shadow [player_id, game_date]: what the served rule would say against a
shadow book's lines and prices, beside what was served.

For each book at stage shadow on D (its stage at D's cutoff, analytics.provider_lines) and each
served prediction row of a player it has a line for (every system, the same target and game): the
served line and recommendation, and the edge, confidence and recommendation the served rule
(predictions.recommendation_sql, so a new rule is judged the same way) gives with the shadow line
in place of the served one; `agrees` when the two recommendations are the same. Never served:
nothing reads this table but telemetry and the rollout's criteria.
"""

from __future__ import annotations

from nbadb.engine.spec import InputSpec, ProcessorSpec
from nbadb.pipeline.common import GAME_DAY_PATTERNS
from nbadb.pipeline.predictions import PREDICTIONS_TABLE, recommendation_sql
from nbadb.pipeline.probabilities import fair_over_sql
from nbadb.pipeline.provider_lines import PROVIDER_LINES_TABLE
from nbadb.pipeline.provider_stages import Stage

PROVIDER_SHADOW_TABLE = "predictions.provider_shadow"

_JUDGED = f"""
    SELECT p.game_date, p.game_id, p.player_id, p.target, l.bookmaker, p.system, p.predicted_value, p.form_quality,
           p.line_value AS served_line, p.line_source AS served_line_source,
           p.recommendation AS served_recommendation, l.line AS line_value, 'shadow' AS line_source,
           l.over_odds, l.under_odds, {fair_over_sql('l.over_odds', 'l.under_odds')} AS market_p_over,
           p.dist_mean, p.dist_sigma, p.dist_alpha, p.calibration_b0, p.calibration_b1, p.calibration_b2
    FROM {PREDICTIONS_TABLE} p
    JOIN {PROVIDER_LINES_TABLE} l
      ON l.player_id = p.player_id AND l.game_date = p.game_date AND l.game_id = p.game_id AND l.target = p.target
     AND l.game_date BETWEEN $start AND $end AND l.stage = {Stage.SHADOW.sql}
    WHERE p.game_date BETWEEN $start AND $end"""

PROVIDER_SHADOW = ProcessorSpec(
    name=PROVIDER_SHADOW_TABLE,
    phase=5,
    inputs=(InputSpec(PROVIDER_LINES_TABLE), InputSpec(PREDICTIONS_TABLE)),
    entity_key="player_id",
    patterns=GAME_DAY_PATTERNS,
    kind="as_of",
    description="The served rule against each shadow book's lines, beside the served recommendation.",
    transform_sql=f"""
        SELECT game_date, game_id, player_id, target, bookmaker, system, predicted_value, form_quality, served_line,
               served_line_source, served_recommendation, line_value AS shadow_line, edge AS shadow_edge,
               confidence AS shadow_confidence, recommendation AS shadow_recommendation,
               recommendation = served_recommendation AS agrees
        FROM ({recommendation_sql(_JUDGED)})""",  # a row is the facts it is built from: its own signature
)
