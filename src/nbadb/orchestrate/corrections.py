"""Publish a stat correction: record it as a source revision and re-publish that game's raw rows.

A correction the source cannot stage is taken back before the error is raised, so it never
stays behind to break the next ingest."""

from __future__ import annotations

import math
import uuid

from nbadb.errors import ConfigError
from nbadb.orchestrate.ingest import IngestOutcome, publish, stage
from nbadb.orchestrate.workspace import Workspace
from nbadb.sources.archive import CORRECTABLE_STATS


def publish_correction(ws: Workspace, game_id: str, player_id: int, values: dict[str, float]) -> IngestOutcome:
    unknown = [s for s in values if s.upper() not in CORRECTABLE_STATS]
    if unknown:
        raise ConfigError(
            f"cannot correct {', '.join(unknown)}; correctable stats: {', '.join(s.lower() for s in CORRECTABLE_STATS)}"
        )
    _check_values(values)
    found = ws.con.execute(
        "SELECT game_date FROM raw.player_boxscores WHERE game_id = ? AND player_id = ?", [game_id, player_id]
    ).fetchall()
    if not found:
        raise ConfigError(f"no box score for player {player_id} in game {game_id}; ingest that game first")
    game_date = found[0][0]
    ids = [uuid.uuid4().hex[:12] for _ in values]
    ws.con.executemany(
        "INSERT INTO ops.source_corrections VALUES (?, ?, ?, ?, ?, now()::TIMESTAMP)",
        [[i, game_id, player_id, stat.upper(), value] for i, (stat, value) in zip(ids, values.items())],
    )
    try:  # staging applies the correction; the raw processors then run (and record their own failures)
        staged = stage(ws.source, game_date, game_date, [game_id])
    except Exception as exc:
        ws.con.execute("DELETE FROM ops.source_corrections WHERE list_contains($ids, correction_id)", {"ids": ids})
        raise ConfigError(f"correction of game {game_id} player {player_id} rejected: {exc}") from exc
    return publish(ws.engine, ws.source, game_date, game_date, game_ids=[game_id], trigger_source="correction",
                   staged=staged)


def _check_values(values: dict[str, float]) -> None:
    """Stats are finite and never negative; every stat but minutes is a whole number."""
    for stat, value in values.items():
        if not math.isfinite(value) or value < 0:
            raise ConfigError(f"{stat}={value}: a stat is a finite number, never negative")
        if stat.upper() != "MIN" and value != int(value):
            raise ConfigError(f"{stat}={value}: {stat} counts events, a whole number")
