"""analytics.provider_lines [player_id, game_date]: each read book's main line for every player
expected on D, marked with the book's stage at D's cutoff and whether the consensus used it.

One row per (player, game on D, market, book) for the consensus markets (upcoming.PROP_MARKETS) and
every book whose stage at D's cutoff is not disabled (pipeline.provider_stages): the book's main
line from its latest snapshot known before the cutoff (upcoming.MAIN_LINE_ORDER, as the consensus
picks it), its prices, when it was taken and the game's tip-off (snapshot_age_minutes: how old the
line was at tip-off), `served` when the consensus used it, and the consensus it is measured against
(the player's line_<target> and books_<target> of analytics.upcoming_player_game_context, made of
the served books only). Only players the context places in that game are here: a line nobody can
be predicted against measures nothing.

This is what "its lines land marked dark" means: a dark or shadow book's lines are here, measured
(predictions.provider_telemetry) and judged (predictions.provider_shadow), and never in a consensus.
"""

from __future__ import annotations

from nbadb.engine.spec import InputSpec, OutputCheck, ProcessorSpec
from nbadb.pipeline.common import GAME_DAY_PATTERNS
from nbadb.pipeline.provider_stages import STAGE_LABELS_SQL, STAGES_AT_CUTOFF, STAGES_TABLE, Stage, serves_sql, stage_sql
from nbadb.pipeline.upcoming import (
    LINES_WITH_GAMES,
    MAIN_LINE_ORDER,
    PROP_MARKETS,
    UPCOMING_PLAYER_GAME_CONTEXT,
    UPCOMING_TEAM_GAME_CONTEXT,
)

PROVIDER_LINES_TABLE = "analytics.provider_lines"


def _by_market(column: str) -> str:
    """SQL: the context's `<column>_<target>` for the row's market."""
    return "CASE m.market " + " ".join(f"WHEN '{m}' THEN c.{column}_{s}" for s, m in PROP_MARKETS.items()) + " END"


_TARGET = "CASE m.market " + " ".join(f"WHEN '{m}' THEN '{s}'" for s, m in PROP_MARKETS.items()) + " END"
_MAIN_LINE = "{'line': line, 'over_odds': over_odds, 'under_odds': under_odds, 'snapshot_ts': snapshot_ts, " \
             "'tip_time_utc': tip_time_utc}"

_PROVIDER_LINES = f"""
    WITH tc AS (SELECT * FROM {UPCOMING_TEAM_GAME_CONTEXT.name} WHERE game_date BETWEEN $start AND $end),
    stages AS {STAGES_AT_CUTOFF},
    main AS (  -- each book's main line per player, game and market
        SELECT game_date, player_id, game_id, market, bookmaker, arg_max({_MAIN_LINE}, {MAIN_LINE_ORDER}) AS main
        FROM ({LINES_WITH_GAMES}) l
        WHERE market IN ({', '.join(f"'{m}'" for m in PROP_MARKETS.values())}) AND line IS NOT NULL
        GROUP BY ALL
    )
    SELECT m.game_date, m.game_id, m.player_id, {_TARGET} AS target, m.market, m.bookmaker,
           {stage_sql('st')} AS stage, {serves_sql('st', 'm.bookmaker', 'm.game_id', 'm.market')} AS served,
           m.main.line AS line, m.main.over_odds AS over_odds, m.main.under_odds AS under_odds,
           m.main.snapshot_ts AS snapshot_ts, m.main.tip_time_utc AS tip_time_utc,
           date_diff('minute', m.main.snapshot_ts, m.main.tip_time_utc) AS snapshot_age_minutes,
           {_by_market('line')} AS consensus_line, {_by_market('books')} AS consensus_books
    FROM main m
    JOIN {UPCOMING_PLAYER_GAME_CONTEXT.name} c
      ON c.player_id = m.player_id AND c.game_date = m.game_date AND c.game_id = m.game_id
     AND c.game_date BETWEEN $start AND $end
    LEFT JOIN stages st ON st.game_date = m.game_date AND st.bookmaker = m.bookmaker
    WHERE {stage_sql('st')} <> {Stage.DISABLED.sql}"""

PROVIDER_LINES = ProcessorSpec(
    name=PROVIDER_LINES_TABLE,
    phase=3,
    inputs=(
        InputSpec(UPCOMING_TEAM_GAME_CONTEXT.name),
        InputSpec(UPCOMING_PLAYER_GAME_CONTEXT.name),
        InputSpec("raw.prop_lines", date_column="game_date", read_on_its_date=True),
        InputSpec(STAGES_TABLE, date_column="from_date", required=False),
    ),
    entity_key="player_id",
    propagation="following_dates",  # a stage published for one date holds for the dates after it
    patterns=GAME_DAY_PATTERNS,
    kind="as_of",
    description="Each read book's main line per expected player and market as of D, its stage, and the consensus.",
    transform_sql=_PROVIDER_LINES,  # a row is the facts it is built from: its own signature
    checks=(
        OutputCheck("a stage is one of the enum's", f"stage NOT IN {STAGE_LABELS_SQL}", invariant=True),
        OutputCheck("only a partial or full book is served",
                    f"served AND stage NOT IN ({Stage.PARTIAL_ACTIVE.sql}, {Stage.FULL_ACTIVE.sql})", invariant=True),
        OutputCheck("a served line is in its consensus", "served AND (consensus_line IS NULL OR consensus_books = 0)",
                    invariant=True),
    ),
)
