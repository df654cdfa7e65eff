"""Pre-checks the engine runs, in order, before any work: each may end the run as skipped."""

from __future__ import annotations

from typing import Callable

from nbadb.engine.context import RunContext
from nbadb.engine.events import has_pending

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


def upstream_unchanged(ctx: RunContext) -> str | None:
    """Data-version shortcut: no input event since a run of this same code covered these dates.

    Every write to an input goes through the engine and leaves an outbox event; when none is
    pending for this processor and an earlier run of the same code version covered the dates,
    its stored signatures are still current and recomputing them would only confirm it.
    """
    spec, request = ctx.spec, ctx.request
    if spec.signature_sql is None or request.force or request.trigger.event_ids or request.entity_ids is not None:
        return None
    if has_pending(ctx.con, spec.name, spec.input_tables):
        return None
    covering = ctx.con.execute(
        """SELECT run_id FROM ops.processor_runs
        WHERE processor = $p AND code_version = $v AND start_date <= $start AND end_date >= $end
          AND (status = 'success' OR skip_reason = 'no_changes')
        LIMIT 1""",
        {"p": spec.name, "v": spec.code_version, "start": request.start_date, "end": request.end_date},
    ).fetchall()
    if not covering:
        return None
    ctx.decisions.append(
        f"no input event since run {covering[0][0]} of this code version covered these dates; signatures still current"
    )
    ctx.optimizations.append("data_version_shortcut")
    return "no_changes"


PRECHECKS: tuple[Precheck, ...] = (upstream_unchanged, missing_dependency)
