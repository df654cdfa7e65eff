"""Publish what a source released for some dates into the raw tables, through the engine.

A publication is whole or nothing: when any archive file is rejected (malformed), nothing is
written — not even the tables other files feed — and the error names the file and the problem.
Otherwise its quarantined rows and its per-file reconciliation are kept in ops, and each raw
processor whose files exist runs, told which of its entities lost rows to quarantine.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Callable

import duckdb

from nbadb.engine import ledger
from nbadb.engine.spec import ProcessorSpec
from nbadb.engine.request import RunRequest, RunResult, SourceQuarantine, Trigger
from nbadb.engine.vocabulary import Status
from nbadb.errors import ConfigError
from nbadb.pipeline.provider_stages import SPORT
from nbadb.pipeline.raw import SOURCE_KIND_OF
from nbadb.rollout.providers.audit import disabled_spans
from nbadb.sources.provider_feed import COUNTS_TABLE, FEED_TABLE
from nbadb.warehouse.transactions import committed
from nbadb.sources.archive import StageReport
from nbadb.sources.files import KINDS

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
        return [r for r in self.results if r.status == Status.FAILED]

    def as_dict(self) -> dict[str, object]:
        return {
            "start": str(self.start),
            "end": str(self.end),
            "runs": [
                {
                    "processor": r.processor, "run_id": r.run_id, "status": str(r.status),
                    "skip_reason": r.skip_reason and str(r.skip_reason), "error": r.error,
                    "entities_changed": r.metrics.entities_changed, "rows_written": r.metrics.rows_written,
                    "rows_quarantined": r.metrics.rows_quarantined, "entities_held": r.metrics.entities_held,
                    "duration_ms": r.duration_ms,
                }
                for r in self.results
            ],
            "staged_rows": self.stage.rows,
            "missing_files": {kind: KINDS[kind].pattern for kind in self.stage.missing},
            "rejected_files": {kind: str(error) for kind, error in self.stage.rejected.items()},
            "not_run": self.skipped_processors,
            "quarantined": self.stage.quarantined,
            "quarantine_records": self.stage.quarantine_records,
            "files": [f.as_dict() for f in self.stage.files],
            "prop_match": list(self.prop_match),
        }


def stage(ws: Workspace, start: date, end: date, game_ids: list[str] | None = None,
          clock: datetime | None = None) -> StageReport:
    """Stage what the source published for [start, end] (corrections published by `clock` applied;
    by the warehouse clock when None), without the prop lines a provider published while it was
    disabled (rollout.providers). Nothing is written."""
    clock = clock or ws.engine.now()
    return ws.source.stage(start, end, game_ids, clock, disabled=disabled_spans(ws.con))


def persist_staging(con: duckdb.DuckDBPyConnection, report: StageReport, start: date, end: date) -> None:
    """One transaction, once per staging: its quarantined rows (each once), its per-file counts and
    each provider's line counts (sources.provider_feed; a staging of the same lines again replaces them)."""
    if report.recorded:
        return
    publication = uuid.uuid4().hex[:16]

    def write() -> None:
        con.execute(
            """INSERT INTO ops.quarantine (table_name, record_key, column_name, reason, source_file, record_date,
                                           stage, run_id, row_values, ingested_at)
            SELECT q.table_name, q.record_key, q.column_name, q.reason, q.source_file, q.record_date,
                   'source', $publication, min(q.row_values)::JSON, now()::TIMESTAMP  -- copies of a key: one of them
            FROM src_quarantine q
            WHERE NOT EXISTS (SELECT 1 FROM ops.quarantine o WHERE o.table_name = q.table_name
                  AND o.record_key IS NOT DISTINCT FROM q.record_key AND o.reason = q.reason)
            GROUP BY ALL""",
            {"publication": publication},
        )
        if report.files:
            con.executemany(
                """INSERT INTO ops.source_files (publication_id, kind, source_file, start_date, end_date, source_rows,
                                                 rows_accepted, rows_quarantined, recorded_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, now()::TIMESTAMP)""",
                [[publication, f.kind, f.source_file, start, end, f.source_rows, f.accepted, f.quarantined]
                 for f in report.files],
            )
        # replace the counts of the same keys; delete-then-insert, as a lake's tables have no key to conflict on
        con.execute(
            f"""DELETE FROM {FEED_TABLE} f USING {COUNTS_TABLE} c WHERE f.sport = '{SPORT}'
            AND f.bookmaker = c.bookmaker AND f.game_date = c.game_date AND f.snapshot_date = c.snapshot_date""")
        con.execute(
            f"""INSERT INTO {FEED_TABLE} BY NAME
            SELECT '{SPORT}' AS sport, *, now()::TIMESTAMP AS recorded_at FROM {COUNTS_TABLE}""")

    committed(con, write)
    report.recorded = True


def raw_specs(ws: Workspace) -> list[ProcessorSpec]:
    """The raw processors of the workspace's graph (the schema track's contract decides the box scores')."""
    return [ws.graph.specs[name] for name in ws.graph.order if name in SOURCE_KIND_OF]


def publish(
    ws: Workspace,
    start: date,
    end: date,
    *,
    game_ids: list[str] | None = None,
    trigger_source: str = "archive",
    run_mode: str = "incremental",
    on_run: Callable[[RunResult], None] | None = None,
    processors: frozenset[str] | None = None,
    staged: StageReport | None = None,
    clock: datetime | None = None,
) -> IngestOutcome:
    """Stage [start, end] from the source (unless `staged` says it already is) and run every raw
    processor whose files exist (only `processors` when given) at `clock` (the publication's
    instant: by default the warehouse clock, or the latest publication time among the staged rows
    when later)."""
    source = ws.source
    report = staged or stage(ws, start, end, game_ids, clock)
    if report.rejected:  # whole or nothing: a malformed file refuses the publication
        raise next(iter(report.rejected.values()))
    if staged is None and game_ids is not None and (unknown := sorted(set(game_ids) - source.staged_games())):
        raise ConfigError(f"--games: no game {', '.join(unknown)} in the archive's files for {start}..{end}; "
                          "nothing was published")
    persist_staging(source.con, report, start, end)
    if clock is None:
        clock = max(filter(None, (ws.engine.now(), report.latest_known_at)))
    outcome = IngestOutcome(start, end, report, prop_match=source.prop_match_rate())
    requests = []
    for spec in raw_specs(ws):
        if processors is not None and spec.name not in processors:
            continue
        kinds = SOURCE_KIND_OF[spec.name]
        if not any(source.available(k) for k in kinds):
            outcome.skipped_processors[spec.name] = f"no {' or '.join(KINDS[k].pattern for k in kinds)} file in the archive"
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
            source_quarantine=report.source_quarantine.get(spec.name, SourceQuarantine()),
            run_as_of_ts=clock,
            announced=True,
        ))
    try:
        ledger.announce(ws.con, requests)  # a crash between two of them leaves the rest as orphaned starts
        for batch in ws.executor.run_wave([[request] for request in requests]):  # each reads only its own stage table
            outcome.results += batch
            if on_run:
                for result in batch:
                    on_run(result)
    except KeyboardInterrupt:
        ledger.record_interrupted(ws.con, *ledger.unended(ws.con, requests))
        raise
    return outcome


def ingest_dates(
    ws: Workspace, start: date, end: date, *, game_ids: list[str] | None = None, progress: bool = False
) -> IngestOutcome:
    """Publish [start, end] from the workspace's archive (with a progress bar when asked), then the
    corrections the archive published by then, each at its own time (orchestrate.corrections)."""
    from nbadb.orchestrate.corrections import publish_due_corrections

    if not progress:
        outcome = publish(ws, start, end, game_ids=game_ids)
    else:
        from rich.progress import Progress

        with Progress(transient=True) as bar:
            task = bar.add_task(f"ingest {start}..{end}", total=len(raw_specs(ws)))
            outcome = publish(ws, start, end, game_ids=game_ids, on_run=lambda _: bar.advance(task))
    for corrected in publish_due_corrections(ws, ws.engine.now()):
        outcome.results += corrected.results
    return outcome
