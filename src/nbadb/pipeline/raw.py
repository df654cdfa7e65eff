"""Phase 2: the raw tables, normalised from what a source staged. One row per source fact,
snake_case columns, float minutes, null percentages without attempts, US Eastern game dates, and
the time the fact became known (`known_at`, staged by the source: engine.clock). Every raw table is
current truth: a republished fact that differs supersedes the stored version, which is kept."""

from __future__ import annotations

from nbadb.engine.spec import InputSpec, OutputCheck, ProcessorSpec
from nbadb.pipeline.common import box_stats_sql, opponent_sql, season_type_sql
from nbadb.sources.names import name_key_sql

SOURCE_TABLES = frozenset(
    {"stage_schedule", "stage_player_logs", "stage_boxscores", "stage_team_logs", "stage_injuries", "stage_props"}
)
_NON_NEGATIVE = OutputCheck("counting stats are never negative", "least(fga, fgm, fta, ftm, reb, ast, pts) < 0")
_KNOWN = "KNOWN_AT AS known_at"


def _source(table: str, date_column: str) -> tuple[InputSpec, ...]:
    return (InputSpec(table, date_column=date_column, required=True),)


SCHEDULE = ProcessorSpec(
    name="raw.schedule",
    phase=2,
    inputs=_source("stage_schedule", "game_date"),
    entity_key="game_id",
    description="Games scheduled per date (schedule file, else derived from team logs).",
    transform_sql=f"""
        SELECT game_id, game_date, season, coalesce(season_type, {season_type_sql('game_id')}) AS season_type,
               home_team_id, away_team_id, home_team_abbr, away_team_abbr, tip_time_utc, schedule_source, {_KNOWN}
        FROM stage_schedule""",
)

PLAYER_BOXSCORES = ProcessorSpec(
    name="raw.player_boxscores",
    phase=2,
    inputs=_source("stage_player_logs", "GAME_DATE"),
    entity_key="game_id",
    checks=(_NON_NEGATIVE,),
    description="Player box scores of finished games (LeagueGameLog rows; played minutes only).",
    transform_sql=f"""
        SELECT GAME_ID AS game_id, GAME_DATE AS game_date, SEASON AS season,
               {season_type_sql('GAME_ID')} AS season_type, PLAYER_ID AS player_id, PLAYER_NAME AS player_name,
               TEAM_ID AS team_id, TEAM_ABBREVIATION AS team_abbr, {opponent_sql()} AS opponent_team_id,
               MATCHUP LIKE '% vs. %' AS is_home, WL AS wl, MIN::DOUBLE AS minutes, {box_stats_sql()},
               PLUS_MINUS::DOUBLE AS plus_minus, {_KNOWN}
        FROM stage_player_logs""",
)

BOXSCORE_PLAYERS = ProcessorSpec(
    name="raw.boxscore_players",
    phase=2,
    inputs=_source("stage_boxscores", "GAME_DATE"),
    entity_key="game_id",
    checks=(OutputCheck("played rows have minutes", "availability = 'played' AND minutes IS NULL"),),
    description="Traditional box scores including players who did not play (DNP/DND/NWT/inactive).",
    transform_sql=f"""
        SELECT GAME_ID AS game_id, GAME_DATE AS game_date, SEASON AS season,
               {season_type_sql('GAME_ID')} AS season_type, PLAYER_ID AS player_id, PLAYER_NAME AS player_name,
               TEAM_ID AS team_id, TEAM_ABBREVIATION AS team_abbr, nullif(START_POSITION, '') AS start_position,
               coalesce(START_POSITION, '') <> '' AS is_starter,
               CASE WHEN MIN IS NOT NULL AND MIN <> '' THEN 'played'
                    WHEN upper(COMMENT) LIKE 'DNP%' THEN 'dnp'
                    WHEN upper(COMMENT) LIKE 'DND%' THEN 'dnd'
                    WHEN upper(COMMENT) LIKE 'NWT%' THEN 'nwt'
                    WHEN upper(COMMENT) LIKE 'INACTIVE%' THEN 'inactive'
                    ELSE 'other' END AS availability,
               nullif(COMMENT, '') AS comment,
               CASE WHEN MIN IS NOT NULL AND MIN <> '' THEN
                    round(try_cast(split_part(MIN, ':', 1) AS DOUBLE)
                          + coalesce(try_cast(nullif(split_part(MIN, ':', 2), '') AS DOUBLE), 0) / 60, 4) END AS minutes,
               {box_stats_sql(tov='"TO"', cast='::INTEGER')}, PLUS_MINUS AS plus_minus, {_KNOWN}
        FROM stage_boxscores""",
)

TEAM_BOXSCORES = ProcessorSpec(
    name="raw.team_boxscores",
    phase=2,
    inputs=_source("stage_team_logs", "GAME_DATE"),
    entity_key="game_id",
    checks=(_NON_NEGATIVE,),
    description="Team box scores of finished games, every game type, NBA teams only.",
    transform_sql=f"""
        SELECT GAME_ID AS game_id, GAME_DATE AS game_date, SEASON AS season,
               {season_type_sql('GAME_ID')} AS season_type, TEAM_ID AS team_id, TEAM_ABBREVIATION AS team_abbr,
               TEAM_NAME AS team_name, {opponent_sql()} AS opponent_team_id,
               MATCHUP LIKE '% vs. %' AS is_home, WL AS wl, MIN::DOUBLE AS minutes, {box_stats_sql()},
               PLUS_MINUS::DOUBLE AS plus_minus, {_KNOWN}
        FROM stage_team_logs""",
)

INJURIES = ProcessorSpec(
    name="raw.injuries",
    phase=2,
    inputs=_source("stage_injuries", "DATE"),
    entity_key="player_key",
    date_column="move_date",
    description="Injured-list moves (placed / activated) with a status read from the notes.",
    transform_sql=f"""
        SELECT DATE AS move_date, TEAM AS team_name, {name_key_sql('PLAYER')} AS player_key,
               PLAYER AS player_name, matched_player_id AS player_id,
               CASE WHEN ACQUIRED IS NOT NULL THEN 'activated' ELSE 'placed' END AS action,
               CASE WHEN ACQUIRED IS NOT NULL THEN 'available'
                    WHEN NOTES ILIKE '%DTD%' OR NOTES ILIKE '%day-to-day%' THEN 'day_to_day'
                    WHEN NOTES ILIKE '%out for season%' THEN 'out_for_season'
                    ELSE 'out' END AS status,
               NOTES AS notes, ESTIMATED_DAYS_OUT AS estimated_days_out, {_KNOWN}
        FROM stage_injuries""",
)

PROP_LINES = ProcessorSpec(
    name="raw.prop_lines",
    phase=2,
    inputs=_source("stage_props", "SNAPSHOT_DATE"),
    entity_key="event_id",
    date_column="snapshot_date",
    checks=(OutputCheck("every line has a player id", "player_id IS NULL", invariant=True),),
    description="Sportsbook player-prop lines per snapshot, matched to NBA player ids.",
    transform_sql=f"""
        SELECT SNAPSHOT_DATE AS snapshot_date, SNAPSHOT_TS AS snapshot_ts,
               cast(timezone('America/New_York', GAME_TIME) AS DATE) AS game_date,
               timezone('UTC', GAME_TIME) AS tip_time_utc, EVENT_KEY AS event_id,
               split_part(GAME, ' @ ', 2) AS home_team_name, split_part(GAME, ' @ ', 1) AS away_team_name,
               PLAYER AS player_name, matched_player_id AS player_id, MARKET AS market, BOOKMAKER AS bookmaker,
               LINE AS line, OVER_ODDS AS over_odds, UNDER_ODDS AS under_odds,
               CASE WHEN EVENT_ID IS NULL THEN 'odds_api_historical' ELSE 'odds_api_snapshot' END AS feed, {_KNOWN}
        FROM stage_props WHERE matched_player_id IS NOT NULL""",
)

RAW_PROCESSORS = (SCHEDULE, PLAYER_BOXSCORES, BOXSCORE_PLAYERS, TEAM_BOXSCORES, INJURIES, PROP_LINES)
# A day's publications (orchestrate.replay, serve), each publishing what became known by its instant
# (engine.clock): the morning the day's schedule and lines; the night the box scores of the day's
# finished games and the day's injury moves (known at the night of their date).
# The box scores under contract v2 (pipeline.raw_v2, the schema track): the same publication as
# raw.boxscore_players, written beside it or instead of it.
BOXSCORES_V2 = "raw.boxscore_players_v2"
SAME_PUBLICATION = {BOXSCORES_V2: "raw.boxscore_players"}
MORNING_TABLES = frozenset({"raw.schedule", "raw.prop_lines"})
NIGHT_TABLES = frozenset({"raw.player_boxscores", "raw.boxscore_players", BOXSCORES_V2, "raw.team_boxscores",
                          "raw.injuries"})
SOURCE_KIND_OF = {
    "raw.schedule": ("schedule", "team_logs"),
    "raw.player_boxscores": ("player_logs",),
    "raw.boxscore_players": ("boxscores",),
    BOXSCORES_V2: ("boxscores",),
    "raw.team_boxscores": ("team_logs",),
    "raw.injuries": ("injuries",),
    "raw.prop_lines": ("props",),
}
