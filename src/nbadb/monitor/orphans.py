"""Orphaned starts: the runs a crash left behind.

A run commits a `started` run event before it writes anything and a `finished` one in its terminal
transaction (or `interrupted` when a Ctrl-C stopped it before that). A `started` without either is
an orphan: the process died mid-run, and its transaction rolled back, so the run wrote nothing.
An orphan is resolved once a later run of the same processor covering its dates ended (success,
partial or skipped): the work the crash interrupted is then done or known to be unnecessary.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

import duckdb


@dataclass(frozen=True)
class Orphan:
    run_id: str
    processor: str
    start_date: date | None
    end_date: date | None
    started_at: datetime
    resolved_by: str | None  # the later run that completed its dates

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "start_date": str(self.start_date), "end_date": str(self.end_date),
                "started_at": str(self.started_at)}


_ORPHANS_SQL = """
    WITH started AS (
        SELECT run_id, any_value(processor) AS processor, any_value(start_date) AS start_date,
               any_value(end_date) AS end_date, min(event_at) AS started_at
        FROM ops.run_events GROUP BY run_id
        HAVING count(*) FILTER (WHERE event IN ('finished', 'interrupted')) = 0
    )
    SELECT o.run_id, o.processor, o.start_date, o.end_date, o.started_at,
           (SELECT r.run_id FROM ops.processor_runs r
            WHERE r.processor = o.processor AND r.status <> 'failed' AND r.started_at >= o.started_at
              AND (o.start_date IS NULL OR (r.start_date <= o.start_date AND r.end_date >= o.end_date))
            ORDER BY r.finished_at LIMIT 1) AS resolved_by
    FROM started o WHERE $run_id IS NULL OR o.run_id = $run_id
    ORDER BY o.started_at"""


def orphans(con: duckdb.DuckDBPyConnection, run_id: str | None = None) -> list[Orphan]:
    """Every orphaned start (only `run_id`'s when given), oldest first, with the run that resolved it."""
    return [Orphan(*row) for row in con.execute(_ORPHANS_SQL, {"run_id": run_id}).fetchall()]
