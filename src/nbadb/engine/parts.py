"""Processors made of independent parts (e.g. prediction systems), each behind its own breaker.

The runner calls `run_parts` before the transform: every part whose durable breaker allows it
runs its pure compute over the frames its queries read (each read when the compute first asks for
it; a query shared by several parts runs once); its output becomes temp view `_part_<name>`. A part that raises — or is named in
NBADB_FAULT_SYSTEMS — is caught, its message kept; a part whose breaker is OPEN is skipped. Either
way its view is left empty, the other parts go on, and the run ends `partial`. A part that raises
`NotReady` (it cannot work yet, e.g. too little history to train on) is skipped with its reason:
not a failure, no breaker counts it, the run is not partial for it. When no part succeeds the run
fails when one failed, else is skipped `breaker_open` when one was refused by its breaker.

`record` runs inside the run's terminal transaction (success or failure): it moves each part's
breaker and writes the run's `ops.prediction_worker_runs` row, so breakers, worker row and ledger
row commit together or not at all.
Breakers measure time on the run's clock (a replay's simulated instant), so a replayed season
sees an opened breaker time out and probe again on a later day, as the live season would.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Mapping

import duckdb

from nbadb.config import Settings
from nbadb.engine import breakers
from nbadb.engine.context import PartOutcome, RunContext
from nbadb.engine.request import RunResult
from nbadb.engine.spec import PartSpec, ProcessorSpec
from nbadb.engine.vocabulary import DecisionKind, SkipReason, Status
from nbadb.warehouse.connection import used_params
from nbadb.warehouse.transactions import interrupted
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


class NotReady(RuntimeError):
    """Raised by a part's compute that cannot work yet (its message says why); see the module docstring."""


def breaker_key(spec: ProcessorSpec, part: PartSpec) -> str:
    return f"{spec.name}:{part.name}"


def run_parts(ctx: RunContext, settings: Settings) -> SkipReason | None:
    """Run every part into its temp view, recording outcomes on ctx.parts.

    Returns a skip reason when every part was skipped by an open breaker; raises PartsFailed
    when parts ran and all of them failed."""
    con, spec = ctx.con, ctx.spec
    params = {"start": ctx.request.start_date, "end": ctx.request.end_date}
    frames: dict[str, pl.DataFrame] = {}  # query text -> frame, shared by the parts of this run
    now = ctx.clock
    for part in spec.parts:
        breaker = breakers.read(con, breaker_key(spec, part))
        if not breaker.allows(now):
            _store(con, part, None)
            ctx.parts.append(PartOutcome(part.name, "skipped_open"))
            ctx.decide(DecisionKind.PART_SKIPPED_OPEN,
                       f"part {part.name} skipped: breaker {breaker.key} is OPEN until "
                       f"{breaker.retry_at:%Y-%m-%d %H:%M:%S} UTC (last error: {breaker.last_error})",
                       part=part.name, retry_at=str(breaker.retry_at))
            continue
        with ctx.timed(f"part:{part.name}"):
            try:
                if part.name in settings.faulty_parts:
                    raise InjectedFault(f"fault injected into part {part.name} by NBADB_FAULT_SYSTEMS")
                _store(con, part, part.compute(PartInputs(con, dict(part.reads), params, frames, settings.models_dir,
                                                       settings.model_fit_width)))
            except NotReady as exc:  # nothing went wrong: it cannot work yet
                _store(con, part, None)
                ctx.parts.append(PartOutcome(part.name, "not_ready", error=str(exc)))
                ctx.decide(DecisionKind.PART_NOT_READY, f"part {part.name} not ready: {exc}", part=part.name)
                continue
            except Exception as exc:  # the part fails, the processor goes on with the others
                if interrupted(exc):
                    raise
                message = f"{type(exc).__name__}: {exc}"
                _store(con, part, None)
                ctx.parts.append(PartOutcome(part.name, "failed", error=message))
                ctx.decide(DecisionKind.PART_FAILED, f"part {part.name} failed: {message}", part=part.name)
                continue
        ctx.parts.append(PartOutcome(part.name, "succeeded"))
    if any(o.status == "succeeded" for o in ctx.parts):
        return None
    failed = [f"{o.part}: {o.error}" for o in ctx.parts if o.status == "failed"]
    if failed:
        raise PartsFailed("every part that ran failed: " + "; ".join(failed))
    if any(o.status == "skipped_open" for o in ctx.parts):
        return SkipReason.BREAKER_OPEN
    return None


def status(ctx: RunContext) -> Status:
    """`partial` when some part failed or was refused by its breaker, else `success`."""
    incomplete = [o.part for o in ctx.parts if o.status in ("failed", "skipped_open")]
    if not incomplete:
        return Status.SUCCESS
    ctx.decide(DecisionKind.PARTIAL, f"partial: {len(ctx.parts) - len(incomplete)} of {len(ctx.parts)} parts "
               f"succeeded; missing {', '.join(incomplete)}", missing=incomplete)
    return Status.PARTIAL


def record(con: duckdb.DuckDBPyConnection, ctx: RunContext, result: RunResult, settings: Settings) -> None:
    """Inside the run's transaction: move each part's breaker, write the worker-runs row."""
    if not ctx.parts:
        return
    specs = {p.name: p for p in ctx.spec.parts}
    now, policy = ctx.clock, breakers.BreakerPolicy.from_settings(settings)
    opened = []
    for outcome in ctx.parts:
        if outcome.status in ("skipped_open", "not_ready"):
            continue
        part = specs[outcome.part]
        key = breaker_key(ctx.spec, part)
        t = breakers.record(con, key, policy, ok=outcome.status == "succeeded",
                            error=outcome.error, now=now)
        if t.opened:
            opened.append(part.name)
            ctx.decide(DecisionKind.BREAKER_OPENED,
                       f"breaker {key} opened after {t.after.consecutive_failures} consecutive failures; "
                       f"retry at {t.after.retry_at:%Y-%m-%d %H:%M:%S} UTC", breaker=key)
        elif t.closed:
            ctx.decide(DecisionKind.BREAKER_CLOSED,
                       f"breaker {key} closed after {t.after.consecutive_successes} successful probes", breaker=key)
    by_status = {s: [o.part for o in ctx.parts if o.status == s]
                 for s in ("succeeded", "failed", "skipped_open", "not_ready")}
    con.execute(
        """INSERT INTO ops.prediction_worker_runs (run_id, processor, start_date, end_date, status, systems_attempted,
            systems_succeeded, systems_failed, systems_skipped_open, systems_not_ready, breakers_opened, errors,
            recorded_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now()::TIMESTAMP)""",
        [
            result.run_id, ctx.spec.name, ctx.request.start_date, ctx.request.end_date, str(result.status),
            [o.part for o in ctx.parts if o.status != "skipped_open"], by_status["succeeded"], by_status["failed"],
            by_status["skipped_open"], by_status["not_ready"], opened,
            json.dumps({o.part: o.error for o in ctx.parts if o.error}),
        ],
    )


class PartInputs(Mapping[str, "pl.DataFrame"]):
    """A part's input frames, each read when the compute first asks for it (a part that finds what it
    needs elsewhere, e.g. a stored model, never pays for the read) and once per run (`cache`, by query);
    `models_dir`, the workspace's folder for what parts fit (Settings.models_dir), and `fit_width`, how
    many models a part may fit at once (Settings.model_fit_width)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, reads: dict[str, str], params: dict[str, object],
                 cache: dict[str, pl.DataFrame], models_dir: Path, fit_width: int) -> None:
        self._con, self._reads, self._params, self._cache = con, reads, params, cache
        self.models_dir, self.fit_width = models_dir, fit_width

    def __getitem__(self, name: str) -> pl.DataFrame:
        sql = self._reads[name]
        if sql not in self._cache:
            self._cache[sql] = self._con.execute(sql, used_params(sql, self._params)).pl()
        return self._cache[sql]

    def __iter__(self) -> Iterator[str]:
        return iter(self._reads)

    def __len__(self) -> int:
        return len(self._reads)


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
