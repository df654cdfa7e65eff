"""Pre-checks the engine runs, in order, before any work: each may end the run as skipped."""

from __future__ import annotations

from typing import Callable

from nbadb.engine.context import RunContext

Precheck = Callable[[RunContext], "str | None"]


def missing_dependency(ctx: RunContext) -> str | None:
    """Every required input must hold rows for the run's dates; else skip naming the table."""
    required = [i for i in ctx.spec.inputs if i.required]
    if not required:
        return None
    parts = " UNION ALL ".join(
        f"SELECT '{i.table}' AS t, count(*) > 0 AS ok FROM (SELECT 1 FROM {i.table} "
        f"WHERE {i.date_column} BETWEEN $start AND $end LIMIT 1)"
        for i in required
    )
    rows = ctx.con.execute(parts, {"start": ctx.request.start_date, "end": ctx.request.end_date}).fetchall()
    missing = [t for t, ok in rows if not ok]
    if missing:
        ctx.decisions.append(f"missing input rows for the dates in: {', '.join(missing)}")
        return "missing_dependency"
    return None


PRECHECKS: tuple[Precheck, ...] = (missing_dependency,)
