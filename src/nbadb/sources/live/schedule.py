"""Parsers for the schedule feeds: ScheduleLeagueV2 (a season, in the `schedule_*.parquet`
layout, result fields left out) and the scoreboard (the games on one date, their status and tip
times: what a day's fetch is planned from)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from nbadb.sources.live.payload import Payload, PayloadShapeError, field, game_date, result_rows, typed_rows
from nbadb.sources.live.seasons import season_type_of_game

SCHEDULE_SCHEMA = pl.Schema({
    "GAME_ID": pl.String, "GAME_CODE": pl.String, "SEASON": pl.String, "SEASON_TYPE": pl.String,
    "GAME_DATE_EST": pl.Date, "GAME_DATETIME_EST": pl.String, "GAME_DATETIME_UTC": pl.String, "DAY": pl.String,
    "WEEK_NUMBER": pl.Int64, "WEEK_NAME": pl.String, "GAME_LABEL": pl.String, "GAME_SUB_LABEL": pl.String,
    "GAME_SUBTYPE": pl.String, "IS_NEUTRAL": pl.Boolean, "POSTPONED_STATUS": pl.String, "ARENA_NAME": pl.String,
    "ARENA_CITY": pl.String, "ARENA_STATE": pl.String, "HOME_TEAM_ID": pl.Int64, "HOME_TEAM_TRICODE": pl.String,
    "HOME_TEAM_CITY": pl.String, "HOME_TEAM_NAME": pl.String, "AWAY_TEAM_ID": pl.Int64,
    "AWAY_TEAM_TRICODE": pl.String, "AWAY_TEAM_CITY": pl.String, "AWAY_TEAM_NAME": pl.String,
    "NATIONAL_TV": pl.String,
})

SCOREBOARD_SCHEMA = pl.Schema({
    "GAME_ID": pl.String, "GAME_DATE_EST": pl.Date, "STATUS": pl.String, "GAME_STATUS_TEXT": pl.String,
    "GAME_DATETIME_UTC": pl.String, "HOME_TEAM_ID": pl.Int64, "HOME_TEAM_TRICODE": pl.String,
    "AWAY_TEAM_ID": pl.Int64, "AWAY_TEAM_TRICODE": pl.String,
})
STATUSES = {1: "scheduled", 2: "live", 3: "final"}

# Fields copied as they are: output column -> key of a scheduleleaguev2 game.
_SCHEDULE_FIELDS = {
    "GAME_ID": "gameId", "GAME_CODE": "gameCode", "GAME_DATETIME_EST": "gameDateTimeEst",
    "GAME_DATETIME_UTC": "gameDateTimeUTC", "DAY": "day", "WEEK_NUMBER": "weekNumber", "WEEK_NAME": "weekName",
    "GAME_LABEL": "gameLabel", "GAME_SUB_LABEL": "gameSubLabel", "GAME_SUBTYPE": "gameSubtype",
    "IS_NEUTRAL": "isNeutral", "POSTPONED_STATUS": "postponedStatus", "ARENA_NAME": "arenaName",
    "ARENA_CITY": "arenaCity", "ARENA_STATE": "arenaState",
}
_SCHEDULE_TEAM_FIELDS = {"TEAM_ID": "teamId", "TEAM_TRICODE": "teamTricode", "TEAM_CITY": "teamCity",
                         "TEAM_NAME": "teamName"}
_SCOREBOARD_TEAM_FIELDS = {"TEAM_ID": "teamId", "TEAM_TRICODE": "teamTricode"}
_NBA_GAME_ID = r"^00[1-6]\d{7}$"
_EASTERN = ZoneInfo("America/New_York")


def _team_columns(game: dict[str, Any], fields: dict[str, str]) -> dict[str, Any]:
    """HOME_<column> and AWAY_<column> from a v3-style game's homeTeam / awayTeam objects."""
    return {f"{side.upper()}_{column}": field(game, f"{side}Team", key)
            for side in ("home", "away") for column, key in fields.items()}


def _one_row_per_game(frame: pl.DataFrame) -> pl.DataFrame:
    """Games listed more than once (scoreboardv2 repeats some) kept once, first listing first."""
    strangers = frame.filter(~pl.col("GAME_ID").str.contains(_NBA_GAME_ID))["GAME_ID"]
    if strangers.len():
        raise PayloadShapeError(f"{strangers[0]!r} is not an NBA GAME_ID")
    return frame.unique(subset="GAME_ID", keep="first", maintain_order=True)


def parse_schedule(payload: Payload) -> pl.DataFrame:
    """ScheduleLeagueV2 → one row per game. `GAME_DATETIME_EST` ends in Z but is Eastern local
    time, as the feed writes it; `GAME_DATETIME_UTC` is UTC. No status, score or record."""
    season = field(payload, "leagueSchedule", "seasonYear")
    rows = []
    for day in field(payload, "leagueSchedule", "gameDates"):
        for game in field(day, "games"):
            row = {column: field(game, key) for column, key in _SCHEDULE_FIELDS.items()}
            row |= _team_columns(game, _SCHEDULE_TEAM_FIELDS)
            national = field(game, "broadcasters", "nationalTvBroadcasters")
            row |= {
                "SEASON": season, "SEASON_TYPE": season_type_of_game(row["GAME_ID"]),
                "GAME_DATE_EST": game_date(field(game, "gameDateEst")),
                "NATIONAL_TV": "/".join(b["broadcasterAbbreviation"] for b in national) or None,
            }
            rows.append(row)
    return _one_row_per_game(typed_rows(rows, SCHEDULE_SCHEMA))


def parse_scoreboard(payload: Payload) -> pl.DataFrame:
    """A scoreboard → one row per game: status (scheduled / live / final) and tip time (UTC, ISO).
    Reads ScoreboardV3 (`scoreboard.games`) and the ScoreboardV2 result sets older archives hold."""
    if "scoreboard" in payload:
        rows = _scoreboard_v3_rows(payload)
    elif "resultSets" in payload:
        rows = _scoreboard_v2_rows(payload)
    else:
        raise PayloadShapeError("neither 'scoreboard' (scoreboardv3) nor 'resultSets' (scoreboardv2)")
    for row in rows:
        if row["STATUS"] not in STATUSES:
            raise PayloadShapeError(f"game {row['GAME_ID']} has unknown status {row['STATUS']!r}")
        row["STATUS"] = STATUSES[row["STATUS"]]
    return _one_row_per_game(typed_rows(rows, SCOREBOARD_SCHEMA))


def _scoreboard_v3_rows(payload: Payload) -> list[dict[str, Any]]:
    day = game_date(field(payload, "scoreboard", "gameDate"))
    rows = []
    for game in field(payload, "scoreboard", "games"):
        rows.append({
            "GAME_ID": field(game, "gameId"), "GAME_DATE_EST": day, "STATUS": field(game, "gameStatus"),
            "GAME_STATUS_TEXT": field(game, "gameStatusText").strip(), "GAME_DATETIME_UTC": field(game, "gameTimeUTC"),
            **_team_columns(game, _SCOREBOARD_TEAM_FIELDS),
        })
    return rows


def _scoreboard_v2_rows(payload: Payload) -> list[dict[str, Any]]:
    """GameHeader rows; tricodes from GAMECODE ("20240115/HOUPHI": away then home), the tip time
    from a scheduled game's status text ("7:30 pm ET"; v2 gives no time once a game started)."""
    rows = []
    for game in result_rows(payload, "GameHeader"):
        day = game_date(game["GAME_DATE_EST"])
        teams = game["GAMECODE"].split("/")[1]
        text = game["GAME_STATUS_TEXT"].strip()
        rows.append({
            "GAME_ID": game["GAME_ID"], "GAME_DATE_EST": day, "STATUS": game["GAME_STATUS_ID"],
            "GAME_STATUS_TEXT": text, "GAME_DATETIME_UTC": _tip_time_utc(day, text),
            "HOME_TEAM_ID": game["HOME_TEAM_ID"], "HOME_TEAM_TRICODE": teams[3:6],
            "AWAY_TEAM_ID": game["VISITOR_TEAM_ID"], "AWAY_TEAM_TRICODE": teams[:3],
        })
    return rows


def _tip_time_utc(day: date, status_text: str) -> str | None:
    """"7:30 pm ET" on `day` as UTC ISO text ("2024-01-16T00:30:00Z"); None for other texts."""
    try:
        clock = datetime.strptime(status_text.upper(), "%I:%M %p ET").time()
    except ValueError:
        return None
    eastern = datetime.combine(day, clock, tzinfo=_EASTERN)
    return eastern.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")
