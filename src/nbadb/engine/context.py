"""What one run carries through the lifecycle: its spec, request, decisions and timings."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Callable, Iterator, Literal

import duckdb

from nbadb.engine.request import RunRequest, utc_now
from nbadb.engine.breakers import Breaker
from nbadb.engine.calendar import LeagueCalendar
from nbadb.engine.spec import ProcessorSpec


@dataclass(frozen=True)
class PartOutcome:
    """How one part of a processor ended in this run (see engine.parts)."""

    part: str
    status: Literal["succeeded", "failed", "skipped_open"]
    error: str | None = None


@dataclass
class RunContext:
    con: duckdb.DuckDBPyConnection
    spec: ProcessorSpec
    request: RunRequest
    calendar: Callable[[], LeagueCalendar]  # the engine's league calendar (read once, dropped on schedule writes)
    decisions: list[str] = field(default_factory=list)
    optimizations: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    started_at: object = field(default_factory=utc_now)
    started_logged: bool = False
    parts: list[PartOutcome] = field(default_factory=list)
    known_tables: frozenset[str] = frozenset()  # every table of the graph, sources included
    produced_tables: frozenset[str] = frozenset()  # the tables processors write (each write leaves an event)
    breaker: Breaker | None = None  # the processor's breaker as the pre-check read it
    replaces_signatures: bool = False  # some changed entity has a stored signature to replace
    t0: float = field(default_factory=time.perf_counter)

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

    def elapsed_ms(self) -> float:
        return round((time.perf_counter() - self.t0) * 1000, 3)
