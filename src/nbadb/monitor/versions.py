"""What was known when: every published version of a row, and the version an as-of run read.

Current-truth tables keep each superseded version in `<table>_history` (engine.output), so the
versions of a fact are a query over `<table>_versions`: each with the time it became known and the
time a newer version superseded it.
"""

from __future__ import annotations

from typing import Any

import duckdb

from nbadb.pipeline.point_in_time import versions

_STATS = ("pts", "reb", "ast", "fg3m", "minutes")
VERSIONED_PLAYER_ROWS = ("raw.player_boxscores", "raw.boxscore_players", "analytics.player_game_summary")


def row_history(con: duckdb.DuckDBPyConnection, game_id: str, player_id: int) -> list[dict[str, Any]]:
    """Every version of the player's row in the game, raw and summarised, oldest first per table."""
    columns = ("table", "known_at", "superseded_at", *_STATS, "run_id", "superseded_by")
    rows = con.execute(
        " UNION ALL ".join(
            f"SELECT '{t}', known_at, superseded_at, {', '.join(_STATS)}, run_id, superseded_by "
            f"FROM {versions(t)} WHERE game_id = $game AND player_id = $player"
            for t in VERSIONED_PLAYER_ROWS
        ) + " ORDER BY 1, 2, 3 NULLS LAST",  # a version superseded the instant it was known comes first
        {"game": game_id, "player": player_id},
    ).fetchall()
    return [dict(zip(columns, r)) for r in rows]


def game_label(con: duckdb.DuckDBPyConnection, game_id: str) -> str | None:
    """The game as a reader names it ("2024-10-22, NYK at BOS") when the warehouse's schedule holds it."""
    rows = con.execute("SELECT game_date, away_team_abbr, home_team_abbr FROM raw.schedule WHERE game_id = ?",
                       [game_id]).fetchall()
    return f"{rows[0][0]}, {rows[0][1]} at {rows[0][2]}" if rows else None
