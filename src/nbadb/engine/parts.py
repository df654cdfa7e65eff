"""Processors made of independent parts (e.g. prediction systems), each behind its own breaker.

The runner calls `run_parts` before the transform: every part whose durable breaker allows it
runs its pure compute over the frames its queries read (a query shared by several parts runs
once); its output becomes temp view `_part_<name>`. A part that raises — or is named in
NBADB_FAULT_SYSTEMS — is caught, its message kept; a part whose breaker is OPEN is skipped. Either
way its view is left empty, the other parts go on, and the run ends `partial`. When no part
succeeds the run fails (or, when every part was skipped by an open breaker, is skipped
`breaker_open`).

`record` runs inside the run's terminal transaction (success or failure): it moves each part's
breaker and writes the run's `ops.prediction_worker_runs` row, so breakers, worker row and ledger
row commit together or not at all.
"""

from __future__ import annotations

import json
from datetime import datetime, time
from typing import TYPE_CHECKING

import duckdb

from nbadb.config import Settings
from nbadb.engine import breakers
from nbadb.engine.context import PartOutcome, RunContext
from nbadb.engine.request import RunRequest, RunResult, utc_now
from nbadb.engine.spec import PartSpec, ProcessorSpec
from nbadb.warehouse.connection import used_params
from nbadb.warehouse.hashing import cast_columns_sql

if TYPE_CHECKING:
    import polars as pl


class InjectedFault(RuntimeError):
    """Raised in place of a part named in NBADB_FAULT_SYSTEMS, or of the transform of a processor named
    in NBADB_FAULT_PROCESSORS (fault injection for drills and tests)."""


class PartOutputError(RuntimeError):
    """A part's compute returned a frame whose columns differ from its declaration."""


class PartsFailed(RuntimeError):
    """Every part that ran failed: the run has nothing to write."""


def breaker_key(spec: ProcessorSpec, part: PartSpec) -> str:
    return f"{spec.name}:{part.name}"


def breaker_clock(request: RunRequest) -> datetime:
    """"Now" for the parts' breakers: noon UTC of the run's simulated day when it has one (a replay,
    `nbadb predict`), else the wall clock. A replayed season thus sees an open breaker time out and
    probe again day by day, as the live season would have, instead of staying open for the whole
    replay because the replay is fast."""
    return datetime.combine(request.as_of, time(12)) if request.as_of else utc_now()


def run_parts(ctx: RunContext, settings: Settings) -> str | None:
    """Run every part into its temp view, recording outcomes on ctx.parts.

    Returns a skip reason when every part was skipped by an open breaker; raises PartsFailed
    when parts ran and all of them failed."""
    con, spec = ctx.con, ctx.spec
    params = {"start": ctx.request.start_date, "end": ctx.request.end_date}
    frames: dict[str, pl.DataFrame] = {}  # query text -> frame, shared by the parts of this run
    now = breaker_clock(ctx.request)
    for part in spec.parts:
        breaker = breakers.read(con, breaker_key(spec, part))
        if not breaker.allows(now):
            _store(con, part, None)
            ctx.parts.append(PartOutcome(part.name, "skipped_open"))
            ctx.decisions.append(f"part {part.name} skipped: breaker {breaker.key} is OPEN until "
                                 f"{breaker.retry_at:%Y-%m-%d %H:%M:%S} UTC (last error: {breaker.last_error})")
            continue
        with ctx.timed(f"part:{part.name}"):
            try:
                if part.name in settings.faulty_parts:
                    raise InjectedFault(f"fault injected into part {part.name} by NBADB_FAULT_SYSTEMS")
                inputs = {name: _frame(con, sql, params, frames) for name, sql in part.reads}
                _store(con, part, part.compute(inputs))
            except Exception as exc:  # the part fails, the processor goes on with the others
                message = f"{type(exc).__name__}: {exc}"
                _store(con, part, None)
                ctx.parts.append(PartOutcome(part.name, "failed", error=message))
                ctx.decisions.append(f"part {part.name} failed: {message}")
                continue
        ctx.parts.append(PartOutcome(part.name, "succeeded"))
    if any(o.status == "succeeded" for o in ctx.parts):
        return None
    failed = [f"{o.part}: {o.error}" for o in ctx.parts if o.status == "failed"]
    if failed:
        raise PartsFailed("every part that ran failed: " + "; ".join(failed))
    return "breaker_open"


def status(ctx: RunContext) -> str:
    """`partial` when some part failed or was skipped, else `success`."""
    incomplete = [o.part for o in ctx.parts if o.status != "succeeded"]
    if not incomplete:
        return "success"
    ctx.decisions.append(f"partial: {len(ctx.parts) - len(incomplete)} of {len(ctx.parts)} parts succeeded; "
                         f"missing {', '.join(incomplete)}")
    return "partial"


def record(con: duckdb.DuckDBPyConnection, ctx: RunContext, result: RunResult, settings: Settings) -> None:
    """Inside the run's transaction: move each part's breaker, write the worker-runs row."""
    if not ctx.parts:
        return
    specs = {p.name: p for p in ctx.spec.parts}
    now, policy = breaker_clock(ctx.request), breakers.BreakerPolicy.from_settings(settings)
    opened = []
    for outcome in ctx.parts:
        if outcome.status == "skipped_open":
            continue
        part = specs[outcome.part]
        key = breaker_key(ctx.spec, part)
        t = breakers.record(con, key, policy, ok=outcome.status == "succeeded",
                            error=outcome.error, now=now)
        if t.opened:
            opened.append(part.name)
            ctx.decisions.append(f"breaker {key} opened after {t.after.consecutive_failures} consecutive failures; "
                                 f"retry at {t.after.retry_at:%Y-%m-%d %H:%M:%S} UTC")
        elif t.closed:
            ctx.decisions.append(f"breaker {key} closed after {t.after.consecutive_successes} successful probes")
    by_status = {s: [o.part for o in ctx.parts if o.status == s] for s in ("succeeded", "failed", "skipped_open")}
    con.execute(
        "INSERT INTO ops.prediction_worker_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now()::TIMESTAMP)",
        [
            result.run_id, ctx.spec.name, ctx.request.start_date, ctx.request.end_date, result.status,
            [o.part for o in ctx.parts if o.status != "skipped_open"], by_status["succeeded"], by_status["failed"],
            by_status["skipped_open"], opened,
            json.dumps({o.part: o.error for o in ctx.parts if o.error}),
        ],
    )


def _frame(
    con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object], cache: dict[str, pl.DataFrame]
) -> pl.DataFrame:
    """The query's rows as a polars frame (read once per run)."""
    if sql not in cache:
        cache[sql] = con.sql(sql, params=used_params(sql, params)).pl()
    return cache[sql]


def _store(con: duckdb.DuckDBPyConnection, part: PartSpec, frame: pl.DataFrame | None) -> None:
    """Expose `frame` as the part's temp view `_part_<name>` with its declared column types, without
    copying it (None: an empty view). The frame stays registered until the part's next run."""
    typed = cast_columns_sql(part.columns)
    if frame is None:
        source = "(SELECT " + ", ".join(f'NULL AS "{c}"' for c, _ in part.columns) + ") WHERE false"
    else:
        want = sorted(c for c, _ in part.columns)
        if sorted(frame.columns) != want:
            raise PartOutputError(f"part {part.name} returned columns {sorted(frame.columns)}, declared {want}")
        con.register(f"{part.table}_frame", frame)
        source = f"{part.table}_frame"
    con.execute(f"CREATE OR REPLACE TEMP VIEW {part.table} AS SELECT {typed} FROM {source}")
