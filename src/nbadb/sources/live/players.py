"""Parser for PlayerIndex: the season's player directory that prop-line and injury names are
matched against (PLAYER_ID, PLAYER_NAME, TEAM_NAME, SEASON; TEAM_NAME as "City Nickname", the
form the archive's commonallplayers directory uses)."""

from __future__ import annotations

import polars as pl

from nbadb.sources.live.payload import Payload, column, result_rows, typed_frame

PLAYERS_SCHEMA = pl.Schema(
    {"PLAYER_ID": pl.Int64, "PLAYER_NAME": pl.String, "TEAM_NAME": pl.String, "SEASON": pl.String})


def _joined(*parts: str | None) -> str:
    return " ".join(part.strip() for part in parts if part and part.strip())


def parse_player_index(payload: Payload, season: str) -> pl.DataFrame:
    """PlayerIndex of `season` → one row per player."""
    rows = result_rows(payload, "PlayerIndex")
    firsts, lasts = column(rows, "PLAYER_FIRST_NAME"), column(rows, "PLAYER_LAST_NAME")
    cities, nicknames = column(rows, "TEAM_CITY"), column(rows, "TEAM_NAME")
    columns = {
        "PLAYER_ID": column(rows, "PERSON_ID"),
        "PLAYER_NAME": [_joined(first, last) for first, last in zip(firsts, lasts, strict=True)],
        "TEAM_NAME": [_joined(city, nickname) for city, nickname in zip(cities, nicknames, strict=True)],
        "SEASON": [season] * len(rows),
    }
    return typed_frame(columns, PLAYERS_SCHEMA)
