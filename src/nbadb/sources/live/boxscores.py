"""Parser for BoxScoreTraditionalV3 (nested camelCase) into the `boxscores_traditional_v2*.parquet`
layout: one row per listed player, away team first, non-playing players included with COMMENT
set and MIN and every stat null; MIN as "M:SS"; turnovers as `TO`."""

from __future__ import annotations

import re
from typing import Any

import polars as pl

from nbadb.sources.live.payload import Payload, PayloadShapeError, field, typed_rows
from nbadb.sources.live.seasons import season_of_game

# v2 column -> v3 statistics key, in the v2 column order.
_STATS = {
    "FGM": "fieldGoalsMade", "FGA": "fieldGoalsAttempted", "FG_PCT": "fieldGoalsPercentage",
    "FG3M": "threePointersMade", "FG3A": "threePointersAttempted", "FG3_PCT": "threePointersPercentage",
    "FTM": "freeThrowsMade", "FTA": "freeThrowsAttempted", "FT_PCT": "freeThrowsPercentage",
    "OREB": "reboundsOffensive", "DREB": "reboundsDefensive", "REB": "reboundsTotal", "AST": "assists",
    "STL": "steals", "BLK": "blocks", "TO": "turnovers", "PF": "foulsPersonal", "PTS": "points",
    "PLUS_MINUS": "plusMinusPoints",
}
BOXSCORE_SCHEMA = pl.Schema({
    "GAME_ID": pl.String, "TEAM_ID": pl.Int64, "TEAM_ABBREVIATION": pl.String, "TEAM_CITY": pl.String,
    "PLAYER_ID": pl.Int64, "PLAYER_NAME": pl.String, "NICKNAME": pl.String, "START_POSITION": pl.String,
    "COMMENT": pl.String, "MIN": pl.String, **{name: pl.Float64 for name in _STATS}, "SEASON": pl.String,
})
_ISO_DURATION = re.compile(r"^PT(\d+)M(\d+(?:\.\d+)?)S$")  # "PT36M12.00S"
_CLOCK = re.compile(r"^(\d+):(\d{1,2})$")  # "36:12"


def minutes_text(raw: str | None) -> str | None:
    """v3 minutes ("PT36M12.00S" or "36:12") as the v2 box scores write them ("36:12"); None when empty."""
    if not raw:
        return None
    if match := _ISO_DURATION.match(raw):
        seconds = int(match[1]) * 60 + round(float(match[2]))
    elif match := _CLOCK.match(raw):
        seconds = int(match[1]) * 60 + int(match[2])
    else:
        raise PayloadShapeError(f"unrecognised minutes {raw!r}")
    return f"{seconds // 60}:{seconds % 60:02d}"


def _player_row(game_id: str, team: dict[str, Any], player: dict[str, Any]) -> dict[str, Any]:
    comment = (player.get("comment") or "").strip()
    played = comment == ""
    stats = field(player, "statistics")
    first, family = field(player, "firstName"), field(player, "familyName")
    row = {
        "GAME_ID": game_id, "TEAM_ID": field(team, "teamId"), "TEAM_ABBREVIATION": field(team, "teamTricode"),
        "TEAM_CITY": field(team, "teamCity"), "PLAYER_ID": field(player, "personId"),
        "PLAYER_NAME": f"{first} {family}".strip(), "NICKNAME": first, "START_POSITION": player.get("position") or "",
        "COMMENT": comment, "MIN": minutes_text(field(stats, "minutes")) if played else None,
        "SEASON": season_of_game(game_id),
    }
    return row | {name: field(stats, key) if played else None for name, key in _STATS.items()}


def parse_boxscore(payload: Payload) -> pl.DataFrame:
    """BoxScoreTraditionalV3 → the v2 box-score rows of one game."""
    box = field(payload, "boxScoreTraditional")
    game_id = field(box, "gameId")
    rows = [
        _player_row(game_id, team, player)
        for team in (field(box, "awayTeam"), field(box, "homeTeam"))
        for player in field(team, "players")
    ]
    return typed_rows(rows, BOXSCORE_SCHEMA)
