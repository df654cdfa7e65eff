"""Contracts for archive files, one per kind: required columns and their types (else the file is
rejected whole) and row rules, the plausibility rules of the source boundary (rows that break one
go to quarantine with the rule as the reason; the valid rows land).

Each rule is declared once, here, as a pandera check named by the sentence it enforces. Rules that
need another kind's rows (a team row equals the sum of its players) are declared here too
(`CROSS_RULES`) and applied by the source once both kinds are staged (sources.archive).

Words: a season label is "2023-24"; a season spans July of its first year to October of the next
(the 2019-20 bubble ended in October 2020, 2020-21 began in December 2020).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Callable

import pandera.polars as pa
import polars as pl

from nbadb.contracts.teams import NBA_TEAM_IDS

INT, FLOAT, STR, DATE, TS, BOOL = "int", "float", "str", "date", "timestamp", "bool"

_FAMILIES = {
    INT: lambda d: d.is_integer() or d == pl.Null,
    FLOAT: lambda d: d.is_numeric() or d == pl.Null,
    STR: lambda d: d in (pl.String, pl.Categorical, pl.Null),
    DATE: lambda d: d in (pl.Date, pl.String) or isinstance(d, pl.Datetime),
    TS: lambda d: isinstance(d, pl.Datetime) or d == pl.String,
    BOOL: lambda d: d == pl.Boolean,
}
_TARGET = {INT: pl.Int64, FLOAT: pl.Float64, STR: pl.String, DATE: pl.Date, BOOL: pl.Boolean}
SEASON_TYPES = ("Pre Season", "Regular Season", "All Star", "Playoffs", "PlayIn", "NBA Cup")


@dataclass(frozen=True)
class SourceContract:
    """One kind of archive file: its columns by type family, its row rules, its key, the column that
    dates a row, and how a quarantined row names the raw entity it belonged to (None: it cannot)."""

    kind: str
    columns: dict[str, str]
    schema: pa.DataFrameSchema
    key: tuple[str, ...]
    date_column: str
    entity: Callable[[pl.DataFrame], pl.Series] | None = None
    # False when files of this kind are separate observations (e.g. prop snapshots from two feeds)
    # whose rows may legitimately share a key; the key is then only checked within each file.
    unique_across_files: bool = True


def _range(column: str, low: float, high: float, *, nullable: bool = False, dtype: type = pl.Int64) -> pa.Column:
    return pa.Column(dtype, pa.Check.in_range(low, high, error=f"{column} within {low:g}..{high:g}"),
                     nullable=nullable)


def _frame_rule(sentence: str, predicate: pl.Expr) -> pa.Check:
    """A rule over several columns of a row (null operands pass: the column rules judge nulls)."""
    return pa.Check(lambda data: data.lazyframe.select(predicate.fill_null(True)), error=sentence)


def _made_not_above_attempted(*pairs: tuple[str, str]) -> pa.Check:
    return _frame_rule("made shots never exceed attempts",
                       pl.all_horizontal([pl.col(made) <= pl.col(attempts) for made, attempts in pairs]))


# Points never exceed what the attempts allow: every shot made, each three a three, every free throw.
_POINTS_WITHIN_ATTEMPTS = _frame_rule("points never exceed what the attempts allow (2·FGA + FG3A + FTA)",
                                      pl.col("PTS") <= 2 * pl.col("FGA") + pl.col("FG3A") + pl.col("FTA"))


def _pct(*names: str) -> dict[str, pa.Column]:
    return {n: pa.Column(pl.Float64, pa.Check.in_range(0, 1, error=f"{n} within 0..1"), nullable=True) for n in names}


def _season_start() -> pl.Expr:
    return pl.col("SEASON").str.slice(0, 4).cast(pl.Int32, strict=False)


_SEASON_LABEL = pa.Column(pl.String, pa.Check.str_matches(r"^\d{4}-\d{2}$", error="SEASON reads like 2023-24"))
_DATE_IN_SEASON = _frame_rule(
    "the game date lies in its season",
    pl.col("GAME_DATE").is_between(pl.date(_season_start(), 7, 1), pl.date(_season_start() + 1, 10, 31)),
)
_GAME_ID_OF_SEASON = _frame_rule(
    "GAME_ID belongs to its season",
    pl.col("GAME_ID").str.slice(3, 2).cast(pl.Int32, strict=False) == _season_start() % 100,
)
_GAME_ID = pa.Column(pl.String, pa.Check.str_matches(r"^\d{10}$", error="GAME_ID is 10 digits"))
_GAME_DATE = pa.Column(pl.Date, nullable=False)
_TEAM = pa.Column(pl.Int64, pa.Check.isin(NBA_TEAM_IDS, error="TEAM_ID is one of the 30 NBA teams"))
_MATCHUP = pa.Column(pl.String, pa.Check.str_matches(r"^[A-Z]{2,4} (vs\.|@) [A-Z]{2,4}$",
                                                     error="MATCHUP reads 'AAA vs. BBB' or 'AAA @ BBB'"))
_WL = pa.Column(pl.String, pa.Check.isin(["W", "L"], error="WL is W or L"), nullable=True)
_SHOTS = (("FGM", "FGA"), ("FG3M", "FG3A"), ("FTM", "FTA"), ("FG3M", "FGM"), ("FG3A", "FGA"))


def _game_of(frame: pl.DataFrame) -> pl.Series:
    """The raw entity (a game) of a game-keyed row: its GAME_ID when well formed."""
    ids = frame["GAME_ID"].cast(pl.String)
    return ids.set(~ids.str.contains(r"^\d{10}$").fill_null(False), None)  # type: ignore[arg-type]


# Plausible per-game ranges (far beyond anything recorded, short of impossible).
PLAYER_RANGES = {"MIN": 70, "FGM": 40, "FGA": 60, "FG3M": 20, "FG3A": 35, "FTM": 35, "FTA": 40, "OREB": 25,
                 "DREB": 35, "REB": 45, "AST": 35, "STL": 15, "BLK": 20, "TOV": 20, "PF": 6, "PTS": 100}
TEAM_RANGES = {"MIN": 400, "FGM": 80, "FGA": 160, "FG3M": 40, "FG3A": 90, "FTM": 70, "FTA": 90, "OREB": 50,
               "DREB": 80, "REB": 100, "AST": 70, "STL": 30, "BLK": 30, "TOV": 50, "PF": 60, "PTS": 250}
BOX_COUNTS = ("FGM", "FGA", "FG3M", "FG3A", "FTM", "FTA", "OREB", "DREB", "REB", "AST", "STL", "BLK", "PF", "PTS")


def _log_columns(extra: dict[str, str]) -> dict[str, str]:
    base = {
        "GAME_ID": STR, "GAME_DATE": DATE, "TEAM_ID": INT, "TEAM_ABBREVIATION": STR, "MATCHUP": STR,
        "WL": STR, "MIN": INT, "FG_PCT": FLOAT, "FG3_PCT": FLOAT, "FT_PCT": FLOAT, "TOV": INT,
        "PLUS_MINUS": FLOAT, "SEASON": STR,
    }
    base.update({c: INT for c in BOX_COUNTS})
    base.update(extra)
    return base


def _log_rules(ranges: dict[str, int]) -> dict[str, pa.Column]:
    return {
        "GAME_ID": _GAME_ID, "GAME_DATE": _GAME_DATE, "TEAM_ID": _TEAM, "MATCHUP": _MATCHUP, "SEASON": _SEASON_LABEL,
        **{c: _range(c, 0, high) for c, high in ranges.items()},
        **_pct("FG_PCT", "FG3_PCT", "FT_PCT"),
    }


_LOG_CHECKS = [_made_not_above_attempted(*_SHOTS), _POINTS_WITHIN_ATTEMPTS, _DATE_IN_SEASON, _GAME_ID_OF_SEASON]

PLAYER_LOGS = SourceContract(
    kind="player_logs",
    columns=_log_columns({"PLAYER_ID": INT, "PLAYER_NAME": STR}),
    schema=pa.DataFrameSchema(
        {
            **_log_rules(PLAYER_RANGES), "WL": _WL,
            "PLAYER_ID": pa.Column(pl.Int64, pa.Check.gt(0, error="PLAYER_ID is positive")),
            "PLAYER_NAME": pa.Column(pl.String, pa.Check.str_length(min_value=2, error="PLAYER_NAME is named")),
            "PLUS_MINUS": _range("PLUS_MINUS", -80, 80, nullable=True, dtype=pl.Float64),
        },
        checks=_LOG_CHECKS,
        strict=False,
    ),
    key=("GAME_ID", "PLAYER_ID"),
    date_column="GAME_DATE",
    entity=_game_of,
)

TEAM_LOGS = SourceContract(
    kind="team_logs",
    columns=_log_columns({"TEAM_NAME": STR, "SEASON_TYPE": STR}),
    schema=pa.DataFrameSchema(
        {
            **_log_rules(TEAM_RANGES),
            "WL": pa.Column(pl.String, pa.Check.isin(["W", "L"], error="WL is W or L (ghost duplicate row)"),
                            nullable=False),
            "SEASON_TYPE": pa.Column(pl.String, pa.Check.isin(SEASON_TYPES, error="SEASON_TYPE is a known type")),
            "PLUS_MINUS": _range("PLUS_MINUS", -100, 100, nullable=True, dtype=pl.Float64),
        },
        checks=_LOG_CHECKS,
        strict=False,
    ),
    key=("GAME_ID", "TEAM_ID"),
    date_column="GAME_DATE",
    entity=_game_of,
)

_MINUTES_TEXT = r"^\d{1,3}(:\d{2})?(\.\d+)?$|^$"
BOXSCORES = SourceContract(
    kind="boxscores",
    columns={
        "GAME_ID": STR, "TEAM_ID": INT, "TEAM_ABBREVIATION": STR, "PLAYER_ID": INT, "PLAYER_NAME": STR,
        "START_POSITION": STR, "COMMENT": STR, "MIN": STR, "TO": FLOAT, "PLUS_MINUS": FLOAT,
        "FG_PCT": FLOAT, "FG3_PCT": FLOAT, "FT_PCT": FLOAT, **{c: FLOAT for c in BOX_COUNTS},
    },
    schema=pa.DataFrameSchema(
        {
            "GAME_ID": _GAME_ID, "TEAM_ID": _TEAM,
            "PLAYER_ID": pa.Column(pl.Int64, pa.Check.gt(0, error="PLAYER_ID is positive")),
            "MIN": pa.Column(pl.String, pa.Check.str_matches(_MINUTES_TEXT, error="MIN reads M:SS"), nullable=True),
            **{c: _range(c, 0, PLAYER_RANGES[c], nullable=True, dtype=pl.Float64) for c in BOX_COUNTS},
            "TO": _range("TO", 0, PLAYER_RANGES["TOV"], nullable=True, dtype=pl.Float64),
            **_pct("FG_PCT", "FG3_PCT", "FT_PCT"),
        },
        checks=[
            _made_not_above_attempted(*_SHOTS), _POINTS_WITHIN_ATTEMPTS,
            _frame_rule("played minutes within 0..70",
                        pl.col("MIN").str.extract(r"^(\d+)", 1).cast(pl.Int32, strict=False) <= PLAYER_RANGES["MIN"]),
        ],
        strict=False,
    ),
    key=("GAME_ID", "PLAYER_ID"),
    date_column="",
    entity=_game_of,
)

# Exhibition games (pre-season, All-Star) may be against clubs outside the NBA; other games may not.
_EXHIBITION = pl.col("SEASON_TYPE").is_in(["Pre Season", "All Star"])
SCHEDULE = SourceContract(
    kind="schedule",
    columns={
        "GAME_ID": STR, "SEASON": STR, "SEASON_TYPE": STR, "GAME_DATE_EST": DATE, "GAME_DATETIME_UTC": STR,
        "HOME_TEAM_ID": INT, "HOME_TEAM_TRICODE": STR, "AWAY_TEAM_ID": INT, "AWAY_TEAM_TRICODE": STR,
    },
    schema=pa.DataFrameSchema(
        {
            "GAME_ID": _GAME_ID, "GAME_DATE_EST": _GAME_DATE, "SEASON": _SEASON_LABEL,
            "SEASON_TYPE": pa.Column(pl.String, pa.Check.isin(SEASON_TYPES, error="SEASON_TYPE is a known type")),
            # placeholder games (teams not known yet: Cup knockouts, play-in) have no team ids
            "HOME_TEAM_ID": pa.Column(pl.Int64, pa.Check.gt(0, error="HOME_TEAM_ID is positive"), nullable=True),
            "AWAY_TEAM_ID": pa.Column(pl.Int64, pa.Check.gt(0, error="AWAY_TEAM_ID is positive"), nullable=True),
            "GAME_DATETIME_UTC": pa.Column(
                pl.String, pa.Check.str_matches(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?(\.\d+)?Z?$",
                                                error="GAME_DATETIME_UTC is an ISO time"), nullable=True),
        },
        checks=[
            _frame_rule("a game's teams are NBA teams unless it is an exhibition",
                        _EXHIBITION | (pl.col("HOME_TEAM_ID").is_in(NBA_TEAM_IDS)
                                       & pl.col("AWAY_TEAM_ID").is_in(NBA_TEAM_IDS))),
            _frame_rule("a game's two teams differ", pl.col("HOME_TEAM_ID") != pl.col("AWAY_TEAM_ID")),
            _frame_rule("the tip-off falls on the game date (US Eastern)",
                        pl.col("GAME_DATETIME_UTC").str.replace("Z$", "")
                        .str.to_datetime(strict=False, time_zone="UTC").dt.convert_time_zone("America/New_York")
                        .dt.date() == pl.col("GAME_DATE_EST")),
        ],
        strict=False,
    ),
    key=("GAME_ID",),
    date_column="GAME_DATE_EST",
    entity=_game_of,
)

INJURIES = SourceContract(
    kind="injuries",
    columns={"DATE": DATE, "TEAM": STR, "PLAYER": STR, "ACQUIRED": STR, "RELINQUISHED": STR, "NOTES": STR},
    schema=pa.DataFrameSchema(
        {"DATE": _GAME_DATE,
         "PLAYER": pa.Column(pl.String, pa.Check.str_length(min_value=3, error="PLAYER is named"), nullable=False)},
        strict=False,
    ),
    key=("DATE", "TEAM", "PLAYER", "ACQUIRED", "RELINQUISHED", "NOTES"),
    date_column="DATE",
)

# Lines beyond these are not lines for that market (the books' real lines stay far below).
LINE_BOUNDS = {"player_points": 80, "player_rebounds": 35, "player_assists": 30, "player_threes": 15,
               "player_points_rebounds_assists": 120, "player_blocks": 12, "player_steals": 12}
_DEFAULT_LINE_BOUND = 150


def _event_of(frame: pl.DataFrame) -> pl.Series:
    """The raw entity of a prop line: its feed's event id, else the id raw.prop_lines derives from the
    game title and tip-off (md5 of "GAME|YYYY-MM-DDTHH:MM" in UTC)."""
    derived = pl.concat_str([pl.col("GAME"), pl.col("GAME_TIME").dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M")],
                            separator="|").map_elements(lambda text: hashlib.md5(text.encode()).hexdigest(),
                                                        return_dtype=pl.String)
    given = pl.col("EVENT_ID") if "EVENT_ID" in frame.columns else pl.lit(None, pl.String)
    return frame.select(pl.coalesce(given, derived)).to_series()


def _odds_rule(column: str) -> str:
    return f"{column} is American odds (|odds| 100..100000, finite)"


def _odds(column: str) -> pa.Check:
    return _frame_rule(_odds_rule(column), pl.col(column).abs().is_between(100, 100_000))


# The rules a prop line with unusable prices breaks (a provider's feed quality counts them apart).
ODDS_RULES = (_odds_rule("OVER_ODDS"), _odds_rule("UNDER_ODDS"))


PROPS = SourceContract(
    kind="props",
    columns={"PLAYER": STR, "MARKET": STR, "LINE": FLOAT, "BOOKMAKER": STR, "GAME": STR, "GAME_TIME": TS,
             "OVER_ODDS": FLOAT, "UNDER_ODDS": FLOAT, "SNAPSHOT_TS": TS},
    schema=pa.DataFrameSchema(
        {
            "PLAYER": pa.Column(pl.String, pa.Check.str_length(min_value=2, error="PLAYER is named"), nullable=False),
            "BOOKMAKER": pa.Column(pl.String, pa.Check.str_length(min_value=2, error="BOOKMAKER is named")),
            "MARKET": pa.Column(pl.String, pa.Check.str_length(min_value=2, error="MARKET is named")),
            "GAME": pa.Column(pl.String, pa.Check.str_contains(" @ ", error="GAME reads 'Away @ Home'")),
            "GAME_TIME": pa.Column(pl.Datetime("us", "UTC"), nullable=False),
            "SNAPSHOT_TS": pa.Column(pl.Datetime("us", "UTC"), nullable=False),
            "LINE": pa.Column(pl.Float64, pa.Check.ge(0, error="LINE is not negative"), nullable=True),
        },
        checks=[
            _odds("OVER_ODDS"), _odds("UNDER_ODDS"),
            _frame_rule("LINE is finite and within its market's bounds",
                        pl.col("LINE").is_finite()
                        & (pl.col("LINE") <= pl.col("MARKET").replace_strict(
                            LINE_BOUNDS, default=_DEFAULT_LINE_BOUND, return_dtype=pl.Float64))),
            _frame_rule("a pre-game line is taken before tip-off",
                        pl.col("SNAPSHOT_TS") < pl.col("GAME_TIME")),
        ],
        strict=False,
    ),
    # One line per snapshot: books quote alternate lines for the same player and market, and one
    # feed repeats a game's market in every snapshot it was taken in.
    key=("SNAPSHOT_TS", "PLAYER", "MARKET", "BOOKMAKER", "GAME", "LINE"),
    date_column="SNAPSHOT_DATE",
    entity=_event_of,
    unique_across_files=False,
)

CORRECTABLE_STATS = ("MIN", "FGM", "FGA", "FG3M", "FG3A", "FTM", "FTA", "OREB", "DREB", "REB", "AST", "STL", "BLK",
                     "TOV", "PF", "PTS")
CORRECTIONS = SourceContract(
    kind="corrections",
    columns={"GAME_ID": STR, "PLAYER_ID": INT, "STAT": STR, "VALUE": FLOAT, "PUBLISHED_AT": TS},
    schema=pa.DataFrameSchema(
        {
            "GAME_ID": _GAME_ID,
            "PLAYER_ID": pa.Column(pl.Int64, pa.Check.gt(0, error="PLAYER_ID is positive")),
            "STAT": pa.Column(pl.String, pa.Check.isin(CORRECTABLE_STATS, error="STAT is a correctable stat")),
            "VALUE": pa.Column(pl.Float64),
            "PUBLISHED_AT": pa.Column(pl.Datetime("us", "UTC"), nullable=False),
        },
        checks=[_frame_rule("VALUE is a finite number, never negative",
                            pl.col("VALUE").is_finite() & (pl.col("VALUE") >= 0))],
        strict=False,
    ),
    key=("GAME_ID", "PLAYER_ID", "STAT", "PUBLISHED_AT"),
    date_column="",
)

CONTRACTS = {c.kind: c for c in (PLAYER_LOGS, TEAM_LOGS, BOXSCORES, SCHEDULE, INJURIES, PROPS, CORRECTIONS)}


@dataclass(frozen=True)
class CrossRule:
    """A rule between two kinds' staged rows, as SQL over stage tables: `violations_sql` selects the
    GAME_ID and TEAM_ID of the `kind` rows that break it."""

    kind: str
    name: str
    violations_sql: str


_SUMMED = (*BOX_COUNTS, "TOV")
TEAM_EQUALS_ITS_PLAYERS = CrossRule(
    kind="team_logs",
    name="a team row equals the sum of its players' rows",
    violations_sql=f"""
        SELECT t.GAME_ID, t.TEAM_ID FROM stage_team_logs t
        JOIN (SELECT GAME_ID, TEAM_ID, {', '.join(f'sum({c}) AS {c}' for c in _SUMMED)}
              FROM stage_player_logs GROUP BY ALL) p USING (GAME_ID, TEAM_ID)
        WHERE {' OR '.join(f't.{c} IS DISTINCT FROM p.{c}' for c in _SUMMED)}""",
)
CROSS_RULES = (TEAM_EQUALS_ITS_PLAYERS,)
