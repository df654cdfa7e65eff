"""Publish a stat correction: record it as a source revision and re-publish that game's raw rows."""

from __future__ import annotations

import uuid

from nbadb.errors import ConfigError
from nbadb.orchestrate.ingest import IngestOutcome, publish
from nbadb.orchestrate.workspace import Workspace
from nbadb.sources.archive import CORRECTABLE_STATS


def publish_correction(ws: Workspace, game_id: str, player_id: int, values: dict[str, float]) -> IngestOutcome:
    unknown = [s for s in values if s.upper() not in CORRECTABLE_STATS]
    if unknown:
        raise ConfigError(
            f"cannot correct {', '.join(unknown)}; correctable stats: {', '.join(s.lower() for s in CORRECTABLE_STATS)}"
        )
    found = ws.con.execute(
        "SELECT game_date FROM raw.player_boxscores WHERE game_id = ? AND player_id = ?", [game_id, player_id]
    ).fetchall()
    if not found:
        raise ConfigError(f"no box score for player {player_id} in game {game_id}; ingest that game first")
    game_date = found[0][0]
    ws.con.executemany(
        "INSERT INTO ops.source_corrections VALUES (?, ?, ?, ?, ?, now()::TIMESTAMP)",
        [[uuid.uuid4().hex[:12], game_id, player_id, stat.upper(), value] for stat, value in values.items()],
    )
    return publish(ws.engine, ws.source, game_date, game_date, game_ids=[game_id], trigger_source="correction")
