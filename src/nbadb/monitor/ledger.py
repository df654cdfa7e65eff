"""Ledger look-ups: recent runs with filters (orphaned starts and interrupted runs among them), and
one run explained."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import duckdb

from nbadb.errors import UnknownRunError
from nbadb.monitor.orphans import orphans

RUN_COLUMNS = (
    "run_id", "processor", "phase", "start_date", "end_date", "status", "skip_reason", "processing_mode",
    "trigger_source", "entities_in_scope", "entities_changed", "entities_processed", "waste_pct",
    "rows_written", "rows_quarantined", "entities_held", "dates_frozen", "duration_ms", "finished_at",
)
ORPHANED = "orphaned"  # the status `runs` shows for a start a crash left behind (monitor.orphans)
INTERRUPTED = "interrupted"  # the status `runs` shows for a run a Ctrl-C stopped before it wrote anything


def recent_runs(
    con: duckdb.DuckDBPyConnection,
    *,
    processor: str | None = None,
    status: str | None = None,
    since: date | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """The newest ledger rows and unresolved orphaned starts that match the filters."""
    rows = con.execute(
        f"""SELECT {', '.join(RUN_COLUMNS)} FROM ops.processor_runs
        WHERE ($processor IS NULL OR processor = $processor) AND ($status IS NULL OR status = $status)
          AND ($since IS NULL OR end_date >= $since)
        ORDER BY finished_at DESC, run_id LIMIT $limit""",
        {"processor": processor, "status": status, "since": since, "limit": limit},
    ).fetchall()
    found = [dict(zip(RUN_COLUMNS, r)) for r in rows]
    if status in (None, ORPHANED):
        for o in orphans(con):
            if o.resolved_by or (processor and o.processor != processor) or (since and o.end_date and o.end_date < since):
                continue
            found.append({c: None for c in RUN_COLUMNS} | {
                "run_id": o.run_id, "processor": o.processor, "start_date": o.start_date, "end_date": o.end_date,
                "status": ORPHANED, "finished_at": o.started_at})
    if status in (None, INTERRUPTED):
        found += [{c: None for c in RUN_COLUMNS} | dict(zip(
            ("run_id", "processor", "start_date", "end_date", "status", "finished_at"), row)) for row in con.execute(
            """SELECT run_id, processor, start_date, end_date, event, event_at FROM ops.run_events
            WHERE event = $interrupted AND ($processor IS NULL OR processor = $processor)
              AND ($since IS NULL OR end_date >= $since)
            ORDER BY event_at DESC LIMIT $limit""",
            {"interrupted": INTERRUPTED, "processor": processor, "since": since, "limit": limit}).fetchall()]
    return sorted(found, key=lambda r: r["finished_at"], reverse=True)[:limit]


def _decision_text(decision: object) -> str:
    """A stored decision as a sentence (records since the typed vocabulary; plain text before)."""
    return decision["text"] if isinstance(decision, dict) else str(decision)


def explain_run(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    cur = con.execute("SELECT * FROM ops.processor_runs WHERE run_id = ?", [run_id])
    names = [d[0] for d in cur.description]
    rows = cur.fetchall()
    if not rows:
        orphan = orphans(con, run_id)
        if orphan:
            return {"run_id": run_id, "status": ORPHANED, **orphan[0].as_dict()}
        raise UnknownRunError(f"no run {run_id!r} in the ledger; list runs with `nbadb runs`")
    run = dict(zip(names, rows[0]))
    for key in ("timings", "trigger_chain", "decisions_made", "optimizations_used"):
        run[key] = json.loads(run[key]) if run[key] else None
    run["decisions"] = [_decision_text(d) for d in run["decisions_made"] or []]
    run["events"] = [
        {"event": e, "status": s, "at": str(at)}
        for e, s, at in con.execute(
            "SELECT event, status, event_at FROM ops.run_events WHERE run_id = ? ORDER BY event_at", [run_id]
        ).fetchall()
    ]
    run["consumed_events"] = [
        {"event_id": e, "producer": p, "game_dates": [str(d) for d in ds], "entities": len(ids)}
        for e, p, ds, ids in con.execute(
            """SELECT e.event_id, e.producer, e.game_dates, e.entity_ids FROM ops.event_consumption c
            JOIN ops.events e USING (event_id) WHERE c.run_id = ?""",
            [run_id],
        ).fetchall()
    ]
    produced = con.execute("SELECT event_id, len(entity_ids) FROM ops.events WHERE run_id = ?", [run_id]).fetchall()
    run["produced_event"] = {"event_id": produced[0][0], "entities": produced[0][1]} if produced else None
    return run
