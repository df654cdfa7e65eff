"""Publish what a source released for some dates into the raw tables, through the engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Callable

import duckdb

from nbadb.engine.request import RunRequest, RunResult, Trigger
from nbadb.engine.runner import Engine
from nbadb.pipeline.raw import RAW_PROCESSORS, SOURCE_KIND_OF
from nbadb.sources.archive import ArchiveSource, StageReport

if TYPE_CHECKING:
    from nbadb.orchestrate.workspace import Workspace


@dataclass
class IngestOutcome:
    start: date
    end: date
    stage: StageReport
    results: list[RunResult] = field(default_factory=list)
    prop_match: tuple[int, int] = (0, 0)
    skipped_processors: dict[str, str] = field(default_factory=dict)

    @property
    def failed(self) -> list[RunResult]:
        return [r for r in self.results if r.status == "failed"]

    def as_dict(self) -> dict[str, object]:
        return {
            "start": str(self.start),
            "end": str(self.end),
            "runs": [
                {
                    "processor": r.processor, "run_id": r.run_id, "status": r.status, "skip_reason": r.skip_reason,
                    "error": r.error, "entities_changed": r.metrics.entities_changed,
                    "rows_written": r.metrics.rows_written, "duration_ms": r.duration_ms,
                }
                for r in self.results
            ],
            "staged_rows": self.stage.rows,
            "missing_files": self.stage.missing,
            "rejected_files": self.stage.rejected,
            "not_run": self.skipped_processors,
            "quarantined": self.stage.quarantined,
            "prop_match": list(self.prop_match),
        }


def persist_quarantine(con: duckdb.DuckDBPyConnection, start: date, end: date) -> int:
    """Copy the source's quarantine rows for the dates into ops.quarantine, once each."""
    con.execute("BEGIN TRANSACTION")
    try:
        n = con.execute(
            """INSERT INTO ops.quarantine
            SELECT DISTINCT q.*, now()::TIMESTAMP FROM src_quarantine q
            WHERE (q.record_date BETWEEN $start AND $end OR q.record_date IS NULL)
              AND NOT EXISTS (SELECT 1 FROM ops.quarantine o WHERE o.table_name = q.table_name
                  AND o.record_key IS NOT DISTINCT FROM q.record_key AND o.reason = q.reason)""",
            {"start": start, "end": end},
        ).fetchall()[0][0]
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return n


def stage(source: ArchiveSource, start: date, end: date, game_ids: list[str] | None = None) -> StageReport:
    """Stage what the source published for [start, end] and keep its quarantined rows (on the
    source's connection, which holds them)."""
    report = source.stage(start, end, game_ids)
    persist_quarantine(source.con, start, end)
    return report


def publish(
    engine: Engine,
    source: ArchiveSource,
    start: date,
    end: date,
    *,
    game_ids: list[str] | None = None,
    trigger_source: str = "archive",
    run_mode: str = "incremental",
    on_run: Callable[[RunResult], None] | None = None,
    processors: frozenset[str] | None = None,
    staged: StageReport | None = None,
) -> IngestOutcome:
    """Stage [start, end] from the source (unless `staged` says it already is) and run every raw
    processor whose files exist (only `processors` when given)."""
    report = staged or stage(source, start, end, game_ids)
    outcome = IngestOutcome(start, end, report, prop_match=source.prop_match_rate())
    requests = []
    for spec in RAW_PROCESSORS:
        if processors is not None and spec.name not in processors:
            continue
        kinds = SOURCE_KIND_OF[spec.name]
        rejected = [source.rejection(k) for k in kinds if source.rejection(k)]
        if not any(source.available(k) for k in kinds):
            outcome.skipped_processors[spec.name] = str(rejected[0]) if rejected else f"no {'/'.join(kinds)} file in the archive"
            continue
        filtered = game_ids is not None and spec.entity_key == "game_id"
        if game_ids is not None and not filtered:
            continue  # a partial publication concerns games only
        requests.append(RunRequest(
            processor=spec.name,
            start_date=start,
            end_date=end,
            trigger=Trigger(source=trigger_source, chain=(f"source:{trigger_source}",)),
            mode=run_mode,  # type: ignore[arg-type]
            entity_ids=tuple(game_ids) if filtered else None,
            hold_entity_ids=source.incomplete_games(spec.name) if spec.entity_key == "game_id" else (),
        ))
    # each raw processor reads only its own stage table: one wave, side by side (engine.lanes),
    # the largest staged input first so that no lane waits behind the little ones
    staged_rows = {spec.name: report.rows.get(spec.inputs[0].table, 0) for spec in RAW_PROCESSORS}
    requests.sort(key=lambda request: -staged_rows[request.processor])
    for batch in engine.lanes.run([[request] for request in requests]):
        outcome.results += batch
        if on_run:
            for result in batch:
                on_run(result)
    return outcome


def ingest_dates(
    ws: Workspace, start: date, end: date, *, game_ids: list[str] | None = None, progress: bool = False
) -> IngestOutcome:
    """Publish [start, end] from the workspace's archive, with a progress bar when asked."""
    if not progress:
        return publish(ws.engine, ws.source, start, end, game_ids=game_ids)
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task(f"ingest {start}..{end}", total=len(RAW_PROCESSORS))
        return publish(ws.engine, ws.source, start, end, game_ids=game_ids, on_run=lambda _: bar.advance(task))
