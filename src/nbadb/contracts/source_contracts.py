"""Contracts for archive files: required columns and types (else the file is rejected whole)
and row rules (rows that break them go to quarantine with the rule as the reason)."""

from __future__ import annotations

from dataclasses import dataclass

import pandera.polars as pa
import polars as pl

NBA_TEAM_IDS = list(range(1610612737, 1610612767))
INT, FLOAT, STR, DATE, TS, BOOL = "int", "float", "str", "date", "timestamp", "bool"

_FAMILIES = {
    INT: lambda d: d.is_integer() or d == pl.Null,
    FLOAT: lambda d: d.is_numeric() or d == pl.Null,
    STR: lambda d: d in (pl.String, pl.Categorical, pl.Null),
    DATE: lambda d: d in (pl.Date, pl.Datetime, pl.String) or isinstance(d, pl.Datetime),
    TS: lambda d: isinstance(d, pl.Datetime) or d == pl.String,
    BOOL: lambda d: d == pl.Boolean,
}
_TARGET = {INT: pl.Int64, FLOAT: pl.Float64, STR: pl.String, DATE: pl.Date, BOOL: pl.Boolean}


@dataclass(frozen=True)
class SourceContract:
    """One kind of archive file: its columns by type family, its row rules and its key."""

    kind: str
    columns: dict[str, str]
    schema: pa.DataFrameSchema
    key: tuple[str, ...]
    date_column: str
    # False when files of this kind are separate observations (e.g. prop snapshots from two feeds)
    # whose rows may legitimately share a key; the key is then only checked within each file.
    unique_across_files: bool = True


def _counting(*names: str) -> dict[str, pa.Column]:
    return {n: pa.Column(pl.Int64, pa.Check.ge(0, error=f"{n} must not be negative"), nullable=True) for n in names}


def _pct(*names: str) -> dict[str, pa.Column]:
    return {n: pa.Column(pl.Float64, pa.Check.in_range(0, 1, error=f"{n} must be within 0..1"), nullable=True) for n in names}


_BOX_COUNTS = ("FGM", "FGA", "FG3M", "FG3A", "FTM", "FTA", "OREB", "DREB", "REB", "AST", "STL", "BLK", "PF", "PTS")
_GAME_ID = pa.Column(pl.String, pa.Check.str_matches(r"^\d{10}$", error="GAME_ID must be 10 digits"))
_GAME_DATE = pa.Column(pl.Date, nullable=False)
_TEAM = pa.Column(pl.Int64, pa.Check.isin(NBA_TEAM_IDS, error="TEAM_ID must be one of the 30 NBA teams"))


def _log_columns(extra: dict[str, str]) -> dict[str, str]:
    base = {
        "GAME_ID": STR, "GAME_DATE": DATE, "TEAM_ID": INT, "TEAM_ABBREVIATION": STR, "MATCHUP": STR,
        "WL": STR, "MIN": INT, "FG_PCT": FLOAT, "FG3_PCT": FLOAT, "FT_PCT": FLOAT, "TOV": INT,
        "PLUS_MINUS": FLOAT, "SEASON": STR,
    }
    base.update({c: INT for c in _BOX_COUNTS})
    base.update(extra)
    return base


PLAYER_LOGS = SourceContract(
    kind="player_logs",
    columns=_log_columns({"PLAYER_ID": INT, "PLAYER_NAME": STR}),
    schema=pa.DataFrameSchema(
        {
            "GAME_ID": _GAME_ID, "GAME_DATE": _GAME_DATE, "TEAM_ID": _TEAM,
            "PLAYER_ID": pa.Column(pl.Int64, pa.Check.gt(0, error="PLAYER_ID must be positive")),
            "MIN": pa.Column(pl.Int64, pa.Check.ge(0, error="MIN must not be negative"), nullable=True),
            **_counting(*_BOX_COUNTS, "TOV"), **_pct("FG_PCT", "FG3_PCT", "FT_PCT"),
        },
        strict=False,
    ),
    key=("GAME_ID", "PLAYER_ID"),
    date_column="GAME_DATE",
)

TEAM_LOGS = SourceContract(
    kind="team_logs",
    columns=_log_columns({"TEAM_NAME": STR, "SEASON_TYPE": STR}),
    schema=pa.DataFrameSchema(
        {
            "GAME_ID": _GAME_ID, "GAME_DATE": _GAME_DATE, "TEAM_ID": _TEAM,
            "WL": pa.Column(pl.String, pa.Check.isin(["W", "L"], error="WL must be W or L (ghost duplicate row)"),
                            nullable=False),
            **_counting(*_BOX_COUNTS, "TOV", "MIN"), **_pct("FG_PCT", "FG3_PCT", "FT_PCT"),
        },
        strict=False,
    ),
    key=("GAME_ID", "TEAM_ID"),
    date_column="GAME_DATE",
)

BOXSCORES = SourceContract(
    kind="boxscores",
    columns={
        "GAME_ID": STR, "TEAM_ID": INT, "TEAM_ABBREVIATION": STR, "PLAYER_ID": INT, "PLAYER_NAME": STR,
        "START_POSITION": STR, "COMMENT": STR, "MIN": STR, "TO": FLOAT, "PLUS_MINUS": FLOAT,
        "FG_PCT": FLOAT, "FG3_PCT": FLOAT, "FT_PCT": FLOAT, **{c: FLOAT for c in _BOX_COUNTS},
    },
    schema=pa.DataFrameSchema(
        {
            "GAME_ID": _GAME_ID, "TEAM_ID": _TEAM,
            "PLAYER_ID": pa.Column(pl.Int64, pa.Check.gt(0, error="PLAYER_ID must be positive")),
            "MIN": pa.Column(pl.String, pa.Check.str_matches(r"^\d{1,3}(:\d{2})?(\.\d+)?$|^$",
                                                            name="MIN must be M:SS"), nullable=True),
            **{c: pa.Column(pl.Float64, pa.Check.ge(0, error=f"{c} must not be negative"), nullable=True)
               for c in (*_BOX_COUNTS, "TO")},
        },
        strict=False,
    ),
    key=("GAME_ID", "PLAYER_ID"),
    date_column="",
)

SCHEDULE = SourceContract(
    kind="schedule",
    columns={
        "GAME_ID": STR, "SEASON": STR, "SEASON_TYPE": STR, "GAME_DATE_EST": DATE, "GAME_DATETIME_UTC": STR,
        "HOME_TEAM_ID": INT, "HOME_TEAM_TRICODE": STR, "AWAY_TEAM_ID": INT, "AWAY_TEAM_TRICODE": STR,
    },
    schema=pa.DataFrameSchema(
        {"GAME_ID": _GAME_ID, "GAME_DATE_EST": _GAME_DATE,
         "HOME_TEAM_ID": pa.Column(pl.Int64, pa.Check.gt(0, error="HOME_TEAM_ID must be positive")),
         "AWAY_TEAM_ID": pa.Column(pl.Int64, pa.Check.gt(0, error="AWAY_TEAM_ID must be positive"))},
        strict=False,
    ),
    key=("GAME_ID",),
    date_column="GAME_DATE_EST",
)

INJURIES = SourceContract(
    kind="injuries",
    columns={"DATE": DATE, "TEAM": STR, "PLAYER": STR, "ACQUIRED": STR, "RELINQUISHED": STR, "NOTES": STR},
    schema=pa.DataFrameSchema(
        {"DATE": _GAME_DATE,
         "PLAYER": pa.Column(pl.String, pa.Check.str_length(min_value=3, error="PLAYER must be named"), nullable=False)},
        strict=False,
    ),
    key=("DATE", "TEAM", "PLAYER", "ACQUIRED", "RELINQUISHED", "NOTES"),
    date_column="DATE",
)

PROPS = SourceContract(
    kind="props",
    columns={"PLAYER": STR, "MARKET": STR, "LINE": FLOAT, "BOOKMAKER": STR, "GAME": STR, "GAME_TIME": TS,
             "OVER_ODDS": FLOAT, "UNDER_ODDS": FLOAT},
    schema=pa.DataFrameSchema(
        {"PLAYER": pa.Column(pl.String, nullable=False),
         "GAME": pa.Column(pl.String, pa.Check.str_contains(" @ ", error="GAME must read 'Away @ Home'")),
         "LINE": pa.Column(pl.Float64, pa.Check.ge(0, error="LINE must not be negative"), nullable=True)},
        strict=False,
    ),
    # One line per snapshot day: books quote alternate lines for the same player and market, and
    # the daily files repeat a game's market on every day they were taken.
    key=("SNAPSHOT_DATE", "PLAYER", "MARKET", "BOOKMAKER", "GAME", "LINE"),
    date_column="SNAPSHOT_DATE",
    unique_across_files=False,
)

CONTRACTS = {c.kind: c for c in (PLAYER_LOGS, TEAM_LOGS, BOXSCORES, SCHEDULE, INJURIES, PROPS)}
