"""Season labels ("2023-24") and season types, from a GAME_ID or a date.

A GAME_ID is `0TTYYNNNNN`: TT the game type (01 pre-season, 02 regular season, 03 All-Star,
04 playoffs, 05 play-in, 06 NBA Cup final), YY the season's start year."""

from __future__ import annotations

from datetime import date

# The labels nbadb's archive files and raw tables use (pipeline.common.season_type_sql).
SEASON_TYPES = {"1": "Pre Season", "2": "Regular Season", "3": "All Star", "4": "Playoffs", "5": "PlayIn",
                "6": "NBA Cup"}
# LeagueGameLog's SeasonType parameter for each game type: the same, but the Cup final is "IST".
GAME_LOG_SEASON_TYPES = {**SEASON_TYPES, "6": "IST"}


def season_label(start_year: int) -> str:
    return f"{start_year}-{(start_year + 1) % 100:02d}"


def season_of_game(game_id: str) -> str:
    """The season a game belongs to (a 1946-47 … 2045-46 season)."""
    yy = int(game_id[3:5])
    return season_label(1900 + yy if yy >= 46 else 2000 + yy)


def season_type_of_game(game_id: str) -> str:
    return SEASON_TYPES.get(game_id[2], "Unknown")


def game_log_season_type(game_id: str) -> str:
    """The LeagueGameLog SeasonType that returns this game's rows."""
    return GAME_LOG_SEASON_TYPES[game_id[2]]


def season_of_day(day: date) -> str:
    """The season a date without games belongs to: the league year starts on July 1, so an
    off-season day looks ahead to the coming season's schedule and rosters."""
    return season_label(day.year if day.month >= 7 else day.year - 1)
