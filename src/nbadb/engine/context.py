"""What one run carries through the lifecycle: its spec, request, clock, decisions, counts and timings."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Callable, Iterator, Literal

import duckdb

from nbadb.engine.breakers import Breaker
from nbadb.engine.calendar import LeagueCalendar
from nbadb.engine.request import RunMetrics, RunRequest, utc_now
from nbadb.engine.snapshots import Snapshot
from nbadb.engine.spec import ProcessorSpec
from nbadb.engine.vocabulary import Decision, DecisionKind, Optimization


@dataclass(frozen=True)
class PartOutcome:
    """How one part of a processor ended in this run (see engine.parts). `not_ready`: the part
    cannot work yet (e.g. too little history to train on); it says why and counts on no breaker."""

    part: str
    status: Literal["succeeded", "failed", "skipped_open", "not_ready"]
    error: str | None = None


@dataclass
class RunContext:
    con: duckdb.DuckDBPyConnection
    spec: ProcessorSpec
    request: RunRequest
    calendar: Callable[[], LeagueCalendar]  # the engine's league calendar (read once, dropped on writes)
    clock: datetime  # the run's instant in the warehouse's world (engine.clock)
    decisions: list[Decision] = field(default_factory=list)
    optimizations: list[Optimization] = field(default_factory=list)
    metrics: RunMetrics = field(default_factory=RunMetrics)
    timings: dict[str, float] = field(default_factory=dict)
    started_at: datetime = field(default_factory=utc_now)
    started_logged: bool = False
    parts: list[PartOutcome] = field(default_factory=list)
    known_tables: frozenset[str] = frozenset()  # every table of the graph, sources included
    produced_tables: frozenset[str] = frozenset()  # the tables processors write (each write leaves an event)
    breaker: Breaker | None = None  # the processor's breaker as the pre-check read it
    replaces_signatures: bool = False  # some changed entity has a stored signature to replace
    frozen: list[date] = field(default_factory=list)  # frozen as-of dates inside the run's narrowed range
    snapshots: list[Snapshot] = field(default_factory=list)  # an as-of run's dates split by publication
    prepared: Snapshot | None = None  # the snapshot whose `_as_of` and known views are in place
    t0: float = field(default_factory=time.perf_counter)

    def decide(self, kind: DecisionKind, text: str, **facts: Any) -> None:
        self.decisions.append(Decision(kind, text, facts))

    def saved_by(self, optimization: Optimization) -> None:
        self.optimizations.append(optimization)

    @contextmanager
    def timed(self, step: str) -> Iterator[None]:
        t = time.perf_counter()
        try:
            yield
        finally:
            self.timings[step] = round((time.perf_counter() - t) * 1000, 3)

    def drop_consumed_triggers(self, fresh: tuple[str, ...]) -> None:
        """Keep only the trigger events this processor has not consumed yet."""
        self.request = replace(self.request, trigger=replace(self.request.trigger, event_ids=fresh))

    def narrow_dates(self, start: date, end: date) -> None:
        """Run only [start, end] of the requested dates (as-of dates left frozen are cut off)."""
        self.request = replace(self.request, start_date=start, end_date=end)

    def elapsed_ms(self) -> float:
        return round((time.perf_counter() - self.t0) * 1000, 3)
