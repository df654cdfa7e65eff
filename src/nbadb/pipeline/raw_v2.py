"""The box scores' contract v2 (the schema track, rollout.schema): `raw.boxscore_players_v2`, what
v1's `raw.boxscore_players` says, with two facts typed instead of left in prose or rounded:

- `seconds_played`: the exact time on the floor, in whole seconds, from the box score's "MM:SS"
  (v1: `minutes`, a DOUBLE rounded to four decimals); null for a player who did not play;
- `status` and `status_reason`: played, or why not, as codes (`STATUSES`, `REASONS`) read from the
  box score's comment ("DNP - Coach's Decision", "NWT_LEAGUE_SUSPENSION", …). v1 has `availability`
  (a short code) and the comment as published; v2 keeps the comment too.

Contracts (`Contract`): "v1" the pipeline as it was; "v1+v2" both tables written side by side (the
track's shadow and dual write); "v2" v1's processor retired and v2 the one written (phase 3).

The mapping both ways is exact (tests/test_rollout_schema.py: every box score row of 2017-22 maps
v1 → v2 → v1 and v2 → v1 → v2 to itself): `v1_from_v2_sql` and `v2_from_v1_sql`.
"""

from __future__ import annotations

from typing import Literal

from nbadb.engine.spec import OutputCheck, ProcessorSpec
from nbadb.pipeline.common import box_stats_sql, season_type_sql
from nbadb.pipeline.raw import BOXSCORE_PLAYERS, BOXSCORES_V2, RAW_PROCESSORS, _source

Contract = Literal["v1", "v1+v2", "v2"]
CONTRACTS: tuple[Contract, ...] = ("v1", "v1+v2", "v2")
V1_TABLE, V2_TABLE = BOXSCORE_PLAYERS.name, BOXSCORES_V2

# v2 status ↔ v1 availability, one to one.
STATUS_OF_AVAILABILITY = {"played": "played", "dnp": "did_not_play", "dnd": "did_not_dress", "nwt": "not_with_team",
                          "inactive": "inactive", "other": "unlisted"}
STATUSES = tuple(STATUS_OF_AVAILABILITY.values())
# Why a player did not play, from the words after the comment's code (first match wins).
_REASON_WORDS = (("coach", "coach_decision"), ("injury", "injury_illness"), ("suspen", "suspension"),
                 ("health", "health_and_safety_protocols"), ("recondition", "return_to_competition_reconditioning"),
                 ("personal", "personal"), ("trade", "trade_pending"), ("not with team", "not_with_team"))
REASONS = (*(code for _, code in _REASON_WORDS), "rest", "other")
# The columns both contracts hold alike: who played which game, and the box score's stats with when it
# became known. Between them each contract says in its own way whether and how long the player played.
IDENTITY = ("game_id", "game_date", "season", "season_type", "player_id", "player_name", "team_id", "team_abbr",
            "start_position", "is_starter")
STATS = ("fgm", "fga", "fg_pct", "fg3m", "fg3a", "fg3_pct", "ftm", "fta", "ft_pct", "oreb", "dreb", "reb", "ast",
         "stl", "blk", "tov", "pf", "pts", "plus_minus", "known_at")
V1_COLUMNS = (*IDENTITY, "availability", "comment", "minutes", *STATS)
V2_COLUMNS = (*IDENTITY, "status", "status_reason", "seconds_played", "comment", *STATS)


def _one_of(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _case(column: str, mapping: dict[str, str]) -> str:
    whens = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in mapping.items())
    return f"CASE {column} {whens} END"


def status_reason_sql(comment: str, status: str) -> str:
    """SQL: the reason code of a comment, null for a player who played or a comment without words."""
    words = f"lower({comment})"
    whens = " ".join(f"WHEN {words} LIKE '%{w}%' THEN '{code}'" for w, code in _REASON_WORDS)
    rest = f"regexp_matches({words}, '(^|[^a-z])rest($|[^a-z])')"
    return (f"CASE WHEN {status} = 'played' OR coalesce({comment}, '') = '' THEN NULL {whens} "
            f"WHEN {rest} THEN 'rest' ELSE 'other' END")


def v2_from_v1_sql(table: str) -> str:
    """SQL: v1 rows of `table` as v2 rows (lineage left out)."""
    status = _case("availability", STATUS_OF_AVAILABILITY)
    return f"""SELECT {', '.join(IDENTITY)}, {status} AS status,
                      {status_reason_sql('comment', status)} AS status_reason,
                      round(minutes * 60)::INTEGER AS seconds_played, comment, {', '.join(STATS)}
               FROM {table}"""


def v1_from_v2_sql(table: str) -> str:
    """SQL: v2 rows of `table` as v1 rows (lineage left out)."""
    availability = _case("status", {v: k for k, v in STATUS_OF_AVAILABILITY.items()})
    return f"""SELECT {', '.join(IDENTITY)}, {availability} AS availability, comment,
                      round(seconds_played / 60, 4) AS minutes, {', '.join(STATS)}
               FROM {table}"""


# "MM:SS"; no other text is a time. The feed writes a time it rounded up to the minute as "MM:60"
# (315 rows of the 2017-22 box scores, e.g. "32:60"): MM minutes and 60 seconds, as published.
_CLOCK = "regexp_extract(MIN, '^(\\d+):([0-5]\\d|60)$', ['m', 's'])"
_PLAYED = "coalesce(MIN, '') <> ''"
_COMMENT = "nullif(COMMENT, '')"
_STATUS = (f"CASE WHEN {_PLAYED} THEN 'played' WHEN upper(COMMENT) LIKE 'DNP%' THEN 'did_not_play' "
           "WHEN upper(COMMENT) LIKE 'DND%' THEN 'did_not_dress' WHEN upper(COMMENT) LIKE 'NWT%' THEN 'not_with_team' "
           "WHEN upper(COMMENT) LIKE 'INACTIVE%' THEN 'inactive' ELSE 'unlisted' END")

BOXSCORE_PLAYERS_V2 = ProcessorSpec(
    name=V2_TABLE,
    phase=2,
    inputs=_source("stage_boxscores", "GAME_DATE"),
    entity_key="game_id",
    checks=(OutputCheck("played rows have their seconds", "status = 'played' AND seconds_played IS NULL"),
            OutputCheck("only played rows have seconds", "status <> 'played' AND seconds_played IS NOT NULL"),
            OutputCheck("status and reason are codes of the contract",
                        f"status NOT IN ({_one_of(STATUSES)}) OR status_reason NOT IN ({_one_of(REASONS)})",
                        invariant=True)),
    description="Box scores, contract v2: exact seconds played, a typed status and the reason a player did not play.",
    transform_sql=f"""
        SELECT GAME_ID AS game_id, GAME_DATE AS game_date, SEASON AS season,
               {season_type_sql('GAME_ID')} AS season_type, PLAYER_ID AS player_id, PLAYER_NAME AS player_name,
               TEAM_ID AS team_id, TEAM_ABBREVIATION AS team_abbr, nullif(START_POSITION, '') AS start_position,
               coalesce(START_POSITION, '') <> '' AS is_starter, {_STATUS} AS status,
               {status_reason_sql(_COMMENT, _STATUS)} AS status_reason,
               CASE WHEN {_PLAYED} THEN try_cast(struct_extract({_CLOCK}, 'm') AS INTEGER) * 60
                                        + try_cast(struct_extract({_CLOCK}, 's') AS INTEGER) END AS seconds_played,
               {_COMMENT} AS comment, {box_stats_sql(tov='"TO"', cast='::INTEGER')},
               PLUS_MINUS AS plus_minus, KNOWN_AT AS known_at
        FROM stage_boxscores""",
)


def raw_processors(contract: Contract) -> tuple[ProcessorSpec, ...]:
    """The raw processors a contract writes (module docstring), in RAW_PROCESSORS' order."""
    if contract == "v1":
        return RAW_PROCESSORS
    if contract == "v2":
        return tuple(BOXSCORE_PLAYERS_V2 if spec is BOXSCORE_PLAYERS else spec for spec in RAW_PROCESSORS)
    at = RAW_PROCESSORS.index(BOXSCORE_PLAYERS) + 1
    return (*RAW_PROCESSORS[:at], BOXSCORE_PLAYERS_V2, *RAW_PROCESSORS[at:])
