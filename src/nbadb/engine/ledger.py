"""The one run ledger: a row per run at its terminal state, plus append-only run events."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

import duckdb

from nbadb.engine.request import RunRequest, RunResult
from nbadb.engine.spec import ProcessorSpec


def record_started(con: duckdb.DuckDBPyConnection, request: RunRequest) -> None:
    """Autocommitted before a run writes anything, so a crash leaves an orphaned 'started' behind.

    Runs that end in a pre-check or change detection write nothing but their terminal
    transaction, which carries both events; a crash before it leaves no trace because no work
    had been done."""
    con.execute(
        "INSERT INTO ops.run_events VALUES (?, ?, 'started', NULL, now()::TIMESTAMP)",
        [request.run_id, request.processor],
    )


def change_signature(changed: list[tuple[str, object]]) -> str | None:
    if not changed:
        return None
    text = "\n".join(f"{e}|{d}" for e, d in sorted(changed, key=lambda x: (str(x[1]), x[0])))
    return hashlib.md5(text.encode()).hexdigest()


def write_terminal(
    con: duckdb.DuckDBPyConnection,
    spec: ProcessorSpec,
    request: RunRequest,
    result: RunResult,
    *,
    started_at: datetime,
    timings: dict[str, float],
    optimizations: list[str],
    started_logged: bool,
) -> None:
    """Write the ledger row and the 'finished' event. Call inside the run's transaction."""
    m = result.metrics
    con.execute(
        """INSERT INTO ops.processor_runs VALUES
        (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now()::TIMESTAMP)""",
        [
            result.run_id, spec.name, spec.phase, request.start_date, request.end_date,
            result.status, result.skip_reason, result.processing_mode, request.trigger.source,
            request.mode, m.entities_in_scope, m.entities_changed, m.entities_processed,
            m.waste_pct, m.rows_written, result.duration_ms, json.dumps(timings),
            json.dumps(list(request.trigger.chain) + [spec.name]), json.dumps(result.decisions),
            json.dumps(optimizations), change_signature(result.changed_entities), result.error,
            spec.code_version, request.run_as_of_ts, started_at,
        ],
    )
    finished = "(?, ?, 'finished', ?, now()::TIMESTAMP)"
    if started_logged:
        con.execute(f"INSERT INTO ops.run_events VALUES {finished}", [result.run_id, spec.name, result.status])
    else:  # a run that did no work records its start and finish together
        con.execute(
            f"INSERT INTO ops.run_events VALUES (?, ?, 'started', NULL, ?), {finished}",
            [result.run_id, spec.name, started_at, result.run_id, spec.name, result.status],
        )
