"""predictions.provider_telemetry [bookmaker, game_date]: what each prop-line provider's own data
looked like on game day D, as known before D's cutoff (frozen with it).

One row per book that the feed offered lines from for D's games, that has lines for D, or whose
stage at D's cutoff is above disabled (none on a day the feed offered no line at all); every measure
is a count (the rollout's metrics divide them, over a
day or over many, in rollout.providers.metrics):
- stage at D's cutoff (pipeline.provider_stages);
- coverage: the day's games (analytics.upcoming_team_game_context) and those it has a line for;
  the players we predict on D (predictions.player_prop_predictions) and those it has a line for;
- its lines (analytics.provider_lines) and how many the consensus used;
- freshness: median and largest age of its lines at their game's tip-off, in minutes;
- agreement with the consensus of the served books: lines compared, lines within 0.5 of it, median
  absolute difference;
- the feed (ops.provider_feed, counted as each publication was staged): lines offered, lines not
  read (the book was disabled), lines quarantined for bad odds, for other rules, for a player name
  matching no NBA player;
- shadow: served recommendations it was judged against and how many the shadow verdict matched
  (predictions.provider_shadow).
Results come later and are not frozen: hit rate and closing-line value are measured when asked
(rollout.providers.metrics).
"""

from __future__ import annotations

from nbadb.engine.spec import InputSpec, OutputCheck, ProcessorSpec
from nbadb.pipeline.common import GAME_DAY_PATTERNS
from nbadb.pipeline.predictions import PREDICTIONS_TABLE
from nbadb.pipeline.provider_lines import PROVIDER_LINES_TABLE
from nbadb.pipeline.provider_shadow import PROVIDER_SHADOW_TABLE
from nbadb.pipeline.provider_stages import SPORT, STAGE_LABELS_SQL, STAGES_AT_CUTOFF, STAGES_TABLE, Stage, stage_sql
from nbadb.pipeline.upcoming import UPCOMING_TEAM_GAME_CONTEXT
from nbadb.sources.provider_feed import FEED_TABLE

AGREEMENT_TOLERANCE = 0.5  # a line within this of the consensus agrees with it
FEED_COUNTS = ("lines_offered", "lines_not_read", "lines_bad_odds", "lines_other_rules", "lines_unmatched")

_IN_DATES = "game_date BETWEEN $start AND $end"

_TELEMETRY = f"""
    WITH stages AS {STAGES_AT_CUTOFF},
    games AS (SELECT game_date, count(DISTINCT game_id) AS games FROM {UPCOMING_TEAM_GAME_CONTEXT.name}
              WHERE {_IN_DATES} GROUP BY ALL),
    predicted AS (SELECT DISTINCT game_date, player_id FROM {PREDICTIONS_TABLE} WHERE {_IN_DATES}),
    lines AS (SELECT * FROM {PROVIDER_LINES_TABLE} WHERE {_IN_DATES}),
    feed AS (  -- what the publications staged before the cutoff counted of its lines for games on D
        SELECT f.game_date, f.bookmaker, {', '.join(f'sum(f.{c}) AS {c}' for c in FEED_COUNTS)}
        FROM {FEED_TABLE} f JOIN _as_of a ON a.game_date = f.game_date AND f.known_at < a.cutoff
        WHERE f.sport = '{SPORT}' GROUP BY ALL
    ),
    shadow AS (SELECT game_date, bookmaker, count(*) AS shadow_compared, count(*) FILTER (WHERE agrees) AS shadow_agreed
               FROM {PROVIDER_SHADOW_TABLE} WHERE {_IN_DATES} GROUP BY ALL),
    measured AS (
        SELECT l.game_date, l.bookmaker, count(DISTINCT l.game_id) AS games_with_line,
               count(DISTINCT p.player_id) AS predicted_players_with_line, count(*) AS lines,
               count(*) FILTER (WHERE l.served) AS served_lines,
               median(l.snapshot_age_minutes) AS snapshot_age_median_minutes,
               max(l.snapshot_age_minutes) AS snapshot_age_max_minutes,
               count(l.consensus_line) AS lines_compared,
               count(*) FILTER (WHERE abs(l.line - l.consensus_line) <= {AGREEMENT_TOLERANCE}) AS lines_within_half,
               median(abs(l.line - l.consensus_line)) AS median_abs_diff
        FROM lines l LEFT JOIN predicted p ON p.game_date = l.game_date AND p.player_id = l.player_id
        GROUP BY ALL
    ),
    books AS (
        SELECT game_date, bookmaker FROM lines
        UNION SELECT game_date, bookmaker FROM feed
        UNION SELECT game_date, bookmaker FROM stages WHERE stage <> {Stage.DISABLED.sql}
    )
    SELECT b.game_date, b.bookmaker, {stage_sql('st')} AS stage, coalesce(g.games, 0) AS games,
           coalesce(m.games_with_line, 0) AS games_with_line,
           (SELECT count(*) FROM predicted p WHERE p.game_date = b.game_date) AS predicted_players,
           coalesce(m.predicted_players_with_line, 0) AS predicted_players_with_line, coalesce(m.lines, 0) AS lines,
           coalesce(m.served_lines, 0) AS served_lines, m.snapshot_age_median_minutes, m.snapshot_age_max_minutes,
           coalesce(m.lines_compared, 0) AS lines_compared, coalesce(m.lines_within_half, 0) AS lines_within_half,
           m.median_abs_diff, {', '.join(f'coalesce(f.{c}, 0) AS {c}' for c in FEED_COUNTS)},
           coalesce(s.shadow_compared, 0) AS shadow_compared, coalesce(s.shadow_agreed, 0) AS shadow_agreed
    FROM books b
    LEFT JOIN stages st ON st.game_date = b.game_date AND st.bookmaker = b.bookmaker
    LEFT JOIN games g ON g.game_date = b.game_date
    LEFT JOIN measured m ON m.game_date = b.game_date AND m.bookmaker = b.bookmaker
    LEFT JOIN feed f ON f.game_date = b.game_date AND f.bookmaker = b.bookmaker
    LEFT JOIN shadow s ON s.game_date = b.game_date AND s.bookmaker = b.bookmaker"""

PROVIDER_TELEMETRY = ProcessorSpec(
    name="predictions.provider_telemetry",
    phase=5,
    inputs=(
        InputSpec(FEED_TABLE),  # no line offered for D's games: nothing to measure
        InputSpec(UPCOMING_TEAM_GAME_CONTEXT.name),
        InputSpec(PROVIDER_LINES_TABLE, required=False),
        InputSpec(PREDICTIONS_TABLE, required=False),
        InputSpec(PROVIDER_SHADOW_TABLE, required=False),
        InputSpec(STAGES_TABLE, date_column="from_date", required=False),
    ),
    entity_key="bookmaker",
    propagation="following_dates",  # a stage published for one date holds for the dates after it
    patterns=GAME_DAY_PATTERNS,
    kind="as_of",
    description="Per prop-line provider and game day: stage, coverage, freshness, agreement, feed quality, shadow.",
    transform_sql=_TELEMETRY,  # a row is the facts it is built from: its own signature
    checks=(
        OutputCheck("a stage is one of the enum's", f"stage NOT IN {STAGE_LABELS_SQL}", invariant=True),
        OutputCheck("parts never exceed their whole",
                    "games_with_line > games OR predicted_players_with_line > predicted_players "
                    "OR served_lines > lines OR lines_within_half > lines_compared OR lines_compared > lines "
                    "OR shadow_agreed > shadow_compared OR lines_not_read > lines_offered", invariant=True),
    ),
)
