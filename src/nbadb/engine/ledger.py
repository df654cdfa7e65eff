"""The one run ledger: a row per run at its terminal state, plus append-only run events.

Run events: `started` (committed before a run writes anything), `finished` (in the run's terminal
transaction) and `interrupted` (a Ctrl-C stopped the run before it wrote anything). A `started`
without either is a run a crash left behind: an orphaned start (monitor.health shows it). The runs
of a publication are announced together (`announce`: a `started` each) before the first of them
runs, so a crash between two of them leaves the ones that never ran as orphaned starts too.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import duckdb

from nbadb.engine.request import RunRequest, RunResult
from nbadb.engine.spec import ProcessorSpec
from nbadb.warehouse.transactions import committed

if TYPE_CHECKING:
    from nbadb.engine.context import RunContext

_EVENT_COLUMNS = "(run_id, processor, event, status, event_at, start_date, end_date)"
_RUN_COLUMNS = (
    "run_id", "processor", "phase", "start_date", "end_date", "status", "skip_reason", "processing_mode",
    "trigger_source", "run_mode", "entities_in_scope", "entities_changed", "entities_processed", "waste_pct",
    "rows_written", "duration_ms", "timings", "trigger_chain", "decisions_made", "optimizations_used",
    "change_signature", "error", "code_version", "run_as_of_ts", "as_of_date", "triggers", "duplicate_triggers",
    "rows_quarantined", "entities_held", "dates_frozen", "started_at", "finished_at",
)


def record_started(con: duckdb.DuckDBPyConnection, request: RunRequest) -> None:
    """Committed on its own before a run writes anything, so a crash leaves an orphaned 'started' behind.

    Runs that end in a pre-check or change detection write nothing but their terminal
    transaction, which carries both events; a crash before it leaves no trace because no work
    had been done."""
    _events(con, [request], "started")


def announce(con: duckdb.DuckDBPyConnection, requests: list[RunRequest]) -> None:
    """A `started` event for each of `requests`, committed together before the first of them runs."""
    _events(con, requests, "started")


def record_interrupted(con: duckdb.DuckDBPyConnection, *requests: RunRequest) -> None:
    """A Ctrl-C stopped started (or announced) runs before they committed anything: say so, so they are no orphans."""
    _events(con, list(requests), "interrupted")


def unended(con: duckdb.DuckDBPyConnection, requests: list[RunRequest]) -> list[RunRequest]:
    """Those of `requests` with neither a `finished` nor an `interrupted` event."""
    ended = {run_id for (run_id,) in con.execute(
        "SELECT DISTINCT run_id FROM ops.run_events WHERE list_contains($ids, run_id) AND event IN ('finished', 'interrupted')",
        {"ids": [r.run_id for r in requests]}).fetchall()}
    return [r for r in requests if r.run_id not in ended]


def _events(con: duckdb.DuckDBPyConnection, requests: list[RunRequest], kind: str) -> None:
    """Run events in a transaction of their own (committed: a lake's busy catalog is waited out)."""
    if requests:
        committed(con, lambda: con.executemany(
            f"INSERT INTO ops.run_events {_EVENT_COLUMNS} VALUES (?, ?, ?, NULL, now()::TIMESTAMP, ?, ?)",
            [[r.run_id, r.processor, kind, r.start_date, r.end_date] for r in requests]))


def record_quarantined(con: duckdb.DuckDBPyConnection, spec: ProcessorSpec, request: RunRequest) -> None:
    """Inside the run's transaction: the output rows a row rule removed (temp table _quarantined)."""
    con.execute(
        """INSERT INTO ops.quarantine (table_name, record_key, column_name, reason, source_file, record_date,
                                       stage, run_id, row_values, ingested_at)
        SELECT $table, entity_id, NULL, rule, NULL, record_date, 'output', $run_id, row_values, now()::TIMESTAMP
        FROM _quarantined""",
        {"table": spec.output_table, "run_id": request.run_id},
    )


def advance_publication_clock(con: duckdb.DuckDBPyConnection) -> None:
    """Inside a raw run's transaction: record the latest publication time among what it wrote (_out).
    Append-only, so raw runs committing side by side never conflict; the clock is the maximum."""
    con.execute("INSERT INTO ops.publication_clock (latest_known_at) SELECT max(known_at) FROM _out "
                "HAVING max(known_at) IS NOT NULL")


def write_terminal(con: duckdb.DuckDBPyConnection, ctx: RunContext, result: RunResult) -> None:
    """Write the ledger row and the 'finished' event. Call inside the run's transaction. The dates are
    those the run was asked for (its frozen dates, left as they were, count as covered)."""
    spec, request, m = ctx.spec, ctx.request, result.metrics
    values = [
        result.run_id, spec.name, spec.phase, ctx.asked.start_date, ctx.asked.end_date, str(result.status),
        result.skip_reason and str(result.skip_reason), result.processing_mode, request.trigger.source,
        request.mode, m.entities_in_scope, m.entities_changed, m.entities_processed, m.waste_pct, m.rows_written,
        result.duration_ms, json.dumps(ctx.timings), json.dumps(list(request.trigger.chain) + [spec.name]),
        json.dumps([d.as_json() for d in result.decisions]), json.dumps([str(o) for o in ctx.optimizations]),
        result.changes.digest, result.error, spec.code_version, ctx.clock, request.as_of,
        m.triggers, m.duplicate_triggers, m.rows_quarantined, m.entities_held, m.dates_frozen, ctx.started_at,
    ]
    con.execute(
        f"INSERT INTO ops.processor_runs ({', '.join(_RUN_COLUMNS)}) "
        f"VALUES ({', '.join('?' * (len(_RUN_COLUMNS) - 1))}, now()::TIMESTAMP)",
        values,
    )
    finished = "(?, ?, 'finished', ?, now()::TIMESTAMP, ?, ?)"
    dates = [ctx.asked.start_date, ctx.asked.end_date]
    status = str(result.status)
    if ctx.started_logged:
        con.execute(f"INSERT INTO ops.run_events {_EVENT_COLUMNS} VALUES {finished}",
                    [result.run_id, spec.name, status, *dates])
    else:  # a run that did no work records its start and finish together
        con.execute(
            f"INSERT INTO ops.run_events {_EVENT_COLUMNS} VALUES (?, ?, 'started', NULL, ?, ?, ?), {finished}",
            [result.run_id, spec.name, ctx.started_at, *dates, result.run_id, spec.name, status, *dates],
        )
