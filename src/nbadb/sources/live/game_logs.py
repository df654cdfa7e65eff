"""Parsers for LeagueGameLog: player rows (PlayerOrTeam=P) in the `player_game_logs*.parquet`
layout and team rows (T) in the `team_game_logs*.parquet` layout. GAME_DATE becomes a date,
SEASON ("2023-24") and the team rows' SEASON_TYPE come from the GAME_ID, and a percentage is null
when its attempts are 0 (LeagueGameLog's own convention, enforced whatever the payload says)."""

from __future__ import annotations

import polars as pl

from nbadb.sources.live.payload import Payload, column, game_date, result_rows, typed_frame
from nbadb.sources.live.seasons import season_of_game, season_type_of_game

_STATS = ("FGM", "FGA", "FG_PCT", "FG3M", "FG3A", "FG3_PCT", "FTM", "FTA", "FT_PCT", "OREB", "DREB", "REB",
          "AST", "STL", "BLK", "TOV", "PF", "PTS")  # in LeagueGameLog order
_PERCENTAGES = {"FG_PCT": "FGA", "FG3_PCT": "FG3A", "FT_PCT": "FTA"}


def _log_schema(
    identity: dict[str, type[pl.DataType]], plus_minus: type[pl.DataType], extra: dict[str, type[pl.DataType]]
) -> pl.Schema:
    """The bundled log files' columns and types, in their order."""
    game = {"GAME_ID": pl.String, "GAME_DATE": pl.Date, "MATCHUP": pl.String, "WL": pl.String, "MIN": pl.Int32}
    stats = {name: pl.Float64 if name in _PERCENTAGES else pl.Int32 for name in _STATS}
    return pl.Schema({"SEASON_ID": pl.String, **identity, **game, **stats, "PLUS_MINUS": plus_minus,
                      "SEASON": pl.String, **extra})


PLAYER_LOG_SCHEMA = _log_schema(
    {"PLAYER_ID": pl.Int64, "PLAYER_NAME": pl.String, "TEAM_ID": pl.Int64, "TEAM_ABBREVIATION": pl.String,
     "TEAM_NAME": pl.String}, pl.Int32, {})
TEAM_LOG_SCHEMA = _log_schema(
    {"TEAM_ID": pl.Int64, "TEAM_ABBREVIATION": pl.String, "TEAM_NAME": pl.String}, pl.Float64,
    {"SEASON_TYPE": pl.String})
_DERIVED = {"GAME_DATE", "SEASON", "SEASON_TYPE"}


def _parse_logs(payload: Payload, schema: pl.Schema) -> pl.DataFrame:
    rows = result_rows(payload)
    columns = {name: column(rows, name) for name in schema if name not in _DERIVED}
    columns["GAME_DATE"] = [game_date(text) for text in column(rows, "GAME_DATE")]
    columns["SEASON"] = [season_of_game(game_id) for game_id in columns["GAME_ID"]]
    if "SEASON_TYPE" in schema:
        columns["SEASON_TYPE"] = [season_type_of_game(game_id) for game_id in columns["GAME_ID"]]
    frame = typed_frame(columns, schema)
    return frame.with_columns(
        pl.when(pl.col(attempts) > 0).then(pl.col(pct)).alias(pct) for pct, attempts in _PERCENTAGES.items()
    )


def parse_player_logs(payload: Payload) -> pl.DataFrame:
    """LeagueGameLog P (or any result set with its columns, e.g. LeagueGameFinder P) → player logs."""
    return _parse_logs(payload, PLAYER_LOG_SCHEMA)


def parse_team_logs(payload: Payload) -> pl.DataFrame:
    """LeagueGameLog T → team logs, with SEASON_TYPE from the GAME_ID prefix."""
    return _parse_logs(payload, TEAM_LOG_SCHEMA)
