"""Publish stat corrections: each a new version of one player's row (and his team's), known from
the moment it is published.

A correction is recorded in ops.source_corrections with its publication time, then its game is
republished at that time: the raw processors see the corrected rows and supersede the stored
versions (engine.output), and the next pipeline run carries it forward — to the current-truth
tables, and to as-of snapshots from its publication on (engine.snapshots).

Manual corrections (`nbadb correct`) are published at the warehouse clock, or at an instant given
for a replay's simulated day (never before the latest publication: what was known cannot change);
an archive's corrections files at their PUBLISHED_AT, once an ingest, a replay or a backfill
reaches it (`correct`: each instant's corrections, then the current-truth processors rerun at that
instant, as a live warehouse does when a correction arrives, so the restated versions carry the
same times however the work was batched). The corrected row must keep the player logs' row rules;
a correction refused by the rules or by the source is taken back before the error is raised, so
nothing of it stays behind. An archive's correction that cannot be published (it breaks a row rule
of its file's contract, names a player the game's rows do not have, or was published before the box
score it corrects was known) goes to ops.quarantine with the reason, once, and the publication goes on.
"""

from __future__ import annotations

import math
import uuid
from datetime import date, datetime

import polars as pl

from nbadb.contracts.quarantine import normalise_types, row_reasons
from nbadb.contracts.source_contracts import CONTRACTS, CORRECTABLE_STATS
from nbadb.engine.clock import latest_publication
from nbadb.engine.request import RunResult
from nbadb.errors import ArchiveFileError, ConfigError
from nbadb.orchestrate.daily import DOWNSTREAM_PHASES, run_pipeline
from nbadb.orchestrate.ingest import IngestOutcome, publish, stage
from nbadb.orchestrate.workspace import Workspace
from nbadb.pipeline.raw import BOXSCORES_V2
from nbadb.warehouse.transactions import committed

Correction = tuple[str, str, int, str, float, datetime]  # id, game id, player id, stat, value, published at

# The table a refused archive correction is quarantined against (the one it would have been recorded in).
CORRECTIONS_TABLE = "ops.source_corrections"
GAME_TABLES = frozenset({"raw.player_boxscores", "raw.team_boxscores", "raw.boxscore_players", BOXSCORES_V2})
# raw.player_boxscores' column of a correctable stat whose name differs from it (the others: its name)
_RAW_COLUMN = {"MIN": "minutes"}


def check_values(values: dict[str, float]) -> None:
    """Stats are known, finite and never negative; every stat but minutes is a whole number."""
    unknown = [s for s in values if s.upper() not in CORRECTABLE_STATS]
    if unknown:
        raise ConfigError(
            f"cannot correct {', '.join(unknown)}; correctable stats: {', '.join(s.lower() for s in CORRECTABLE_STATS)}"
        )
    for stat, value in values.items():
        if not math.isfinite(value) or value < 0:
            raise ConfigError(f"{stat}={value}: a stat is a finite number, never negative")
        if stat.upper() != "MIN" and value != int(value):
            raise ConfigError(f"{stat}={value}: {stat} counts events, a whole number")


def publish_correction(
    ws: Workspace, game_id: str, player_id: int, values: dict[str, float], at: datetime | None = None
) -> IngestOutcome:
    """Record and publish a manual correction at `at` (default: the warehouse clock)."""
    check_values(values)
    latest = latest_publication(ws.con)
    published_at = at or ws.engine.now()
    if latest is not None and published_at < latest:
        raise ConfigError(f"a correction published at {published_at} would come before what the warehouse already "
                          f"knows (latest publication {latest}); publish it at {latest} or later")
    columns = [_RAW_COLUMN.get(stat.upper(), stat.lower()) for stat in values]
    found = ws.con.execute(
        f"SELECT game_date, {', '.join(columns)} FROM raw.player_boxscores WHERE game_id = ? AND player_id = ?",
        [game_id, player_id]).fetchall()
    if not found:
        raise ConfigError(f"no box score for player {player_id} in game {game_id}; ingest that game first")
    game_date, *current = found[0]
    if all(now is not None and float(now) == value for now, value in zip(current, values.values())):
        stated = ", ".join(f"{stat}={value:g}" for stat, value in values.items())
        raise ConfigError(f"nothing to correct: player {player_id} in game {game_id} already has {stated}; "
                          "nothing was published")
    rows = [(uuid.uuid4().hex[:12], game_id, player_id, stat.upper(), value, published_at, "manual")
            for stat, value in values.items()]
    return _publish(ws, rows, game_date)


def publish_due_corrections(ws: Workspace, until: datetime) -> list[IngestOutcome]:
    """Record and publish, each at its own time, the archive's corrections due by `until` that were
    not published (or refused) yet (games the warehouse does not hold take them when they are first
    published)."""
    done = _recorded(ws) | _refused(ws)
    return [o for _, outcomes in _by_instant(ws, [c for c in _due(ws, None, until) if c[0] not in done])
            for o in outcomes]


def correct(ws: Workspace, until: datetime, *, after: datetime | None = None, again: bool = False,
            phases: frozenset[int] = DOWNSTREAM_PHASES) -> list[RunResult]:
    """The archive's corrections published by `until` (after `after`), instant by instant: each
    published at its time, then the current-truth processors of `phases` run at that instant. Only
    corrections not recorded yet, unless `again` (a resumed backfill: one published before a crash
    is published again and changes nothing, one cut short is completed)."""
    refused = _refused(ws)
    found = [c for c in _due(ws, after, until) if c[0] not in refused]
    if not again:
        recorded = _recorded(ws)
        found = [c for c in found if c[0] not in recorded]
    results: list[RunResult] = []
    for instant, outcomes in _by_instant(ws, found):
        results += [r for o in outcomes for r in o.results] + carry(ws, instant, phases)
    return results


def carry(ws: Workspace, instant: datetime, phases: frozenset[int] = DOWNSTREAM_PHASES) -> list[RunResult]:
    """The current-truth processors of `phases` on what a correction published at `instant` changed,
    at that instant (the as-of ones pick it up in their next pass, for the dates it reaches)."""
    current_truth = frozenset(s.name for s in ws.graph.in_phases(set(phases & DOWNSTREAM_PHASES)) if s.versioned)
    if not current_truth:
        return []
    return run_pipeline(ws, None, processors=current_truth, trigger_source="correction", clock=instant)


def _by_instant(ws: Workspace, corrections: list[Correction]) -> list[tuple[datetime, list[IngestOutcome]]]:
    """Publish `corrections` game by game, in time order; the outcomes per publication instant."""
    published = []
    for published_at in sorted({c[5] for c in corrections}):
        now = [c for c in corrections if c[5] == published_at]
        outcomes = []
        for game_id in sorted({c[1] for c in now}):
            rows = [(cid, game, player, stat, value, at, "archive") for cid, game, player, stat, value, at in now
                    if game == game_id]
            held, first_known, players = ws.con.execute(
                """SELECT any_value(game_date), min(known_at), list(DISTINCT player_id)
                FROM raw.player_boxscores_versions WHERE game_id = ?""", [game_id]).fetchall()[0]
            if held is None:
                _record(ws, rows)
                continue
            if published_at < first_known:
                refused = {r[0]: f"published at {published_at} before the box score it corrects was known "
                                 f"({first_known})" for r in rows}
            else:
                refused = {r[0]: f"game {game_id} has no row of player {r[2]}" for r in rows if r[2] not in players}
            _quarantine(ws, [(cid, why, None, published_at.date()) for cid, why in refused.items()])
            rows = [r for r in rows if r[0] not in refused]
            if not rows:
                continue
            try:
                outcomes.append(_publish(ws, rows, held))
            except ConfigError as exc:  # the corrected rows would break a row rule
                _quarantine(ws, [(r[0], str(exc), None, published_at.date()) for r in rows])
        published.append((published_at, outcomes))
    return published


def _due(ws: Workspace, after: datetime | None, until: datetime) -> list[Correction]:
    """The archive's valid corrections published in (after, until]; those breaking a row rule by
    `until` quarantined (each once)."""
    _quarantine(ws, ws.source.refused_corrections(until))
    return ws.source.corrections(after, until)


def _recorded(ws: Workspace) -> set[str]:
    return {cid for (cid,) in ws.con.execute("SELECT correction_id FROM ops.source_corrections").fetchall()}


def _refused(ws: Workspace) -> set[str]:
    return {key for (key,) in ws.con.execute("SELECT DISTINCT record_key FROM ops.quarantine WHERE table_name = ?",
                                            [CORRECTIONS_TABLE]).fetchall()}


def _quarantine(ws: Workspace, refused: list[tuple[str, str, str | None, date | None]]) -> None:
    """Archive corrections that cannot be published: (correction id, why, file, publication day),
    each kept once in ops.quarantine at the source stage."""
    if not refused:
        return
    committed(ws.con, lambda: ws.con.executemany(
        """INSERT INTO ops.quarantine (table_name, record_key, reason, source_file, record_date, stage, ingested_at)
        SELECT $table, $key, $reason, $file, $day, 'source', now()::TIMESTAMP
        WHERE NOT EXISTS (SELECT 1 FROM ops.quarantine WHERE table_name = $table AND record_key = $key AND reason = $reason)""",
        [{"table": CORRECTIONS_TABLE, "key": key, "reason": reason, "file": file, "day": day}
         for key, reason, file, day in refused]))


def _record(ws: Workspace, rows: list[tuple]) -> None:
    """Record corrections not recorded yet (a correction published again is recorded once)."""
    ws.con.executemany(
        """INSERT INTO ops.source_corrections (correction_id, game_id, player_id, stat, value, published_at, source)
        SELECT ?, ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM ops.source_corrections WHERE correction_id = ?)""",
        [[*r, r[0]] for r in rows],
    )


def _publish(ws: Workspace, rows: list[tuple], game_date: object) -> IngestOutcome:
    """Record the corrections of one game, check the corrected rows, republish the game at their time."""
    ids = [r[0] for r in rows]
    new = [i for (i,) in ws.con.execute("SELECT unnest($ids) EXCEPT SELECT correction_id FROM ops.source_corrections",
                                        {"ids": ids}).fetchall()]
    _record(ws, rows)
    game_id, published_at = rows[0][1], rows[0][5]
    try:
        staged = stage(ws, game_date, game_date, [game_id], clock=published_at)  # type: ignore[arg-type]
        _check_corrected(ws, game_id, sorted({r[2] for r in rows}))
    except (ConfigError, ArchiveFileError) as exc:
        ws.con.execute("DELETE FROM ops.source_corrections WHERE list_contains($ids, correction_id)", {"ids": new})
        raise ConfigError(f"correction of game {game_id} refused: {exc}") from None
    return publish(ws, game_date, game_date, game_ids=[game_id], trigger_source="correction",  # type: ignore[arg-type]
                   processors=GAME_TABLES, staged=staged, clock=published_at)


def _check_corrected(ws: Workspace, game_id: str, players: list[int]) -> None:
    """The corrected player rows still keep every row rule of the player logs."""
    contract = CONTRACTS["player_logs"]
    frame = ws.source.con.execute(
        "SELECT * EXCLUDE (KNOWN_AT, _source_file) FROM stage_player_logs WHERE GAME_ID = ? AND list_contains(?, PLAYER_ID)",
        [game_id, players],
    ).pl()
    if frame.is_empty():
        raise ConfigError(f"the archive publishes no row of player {', '.join(map(str, players))} in game {game_id}")
    frame = normalise_types(frame.with_columns(pl.col("MIN").cast(pl.Int64, strict=False)), contract)
    broken = row_reasons(frame.with_row_index("_row"), contract, ws.source.folder)
    if broken.height:
        raise ConfigError(f"the corrected row would break: {'; '.join(sorted(set(broken['reason'])))}")
