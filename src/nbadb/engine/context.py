"""What one run carries through the lifecycle: its spec, request, decisions and timings."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

import duckdb

from nbadb.engine.request import RunRequest, utc_now
from nbadb.engine.spec import ProcessorSpec


@dataclass
class RunContext:
    con: duckdb.DuckDBPyConnection
    spec: ProcessorSpec
    request: RunRequest
    decisions: list[str] = field(default_factory=list)
    optimizations: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    started_at: object = field(default_factory=utc_now)
    started_logged: bool = False
    t0: float = field(default_factory=time.perf_counter)

    @contextmanager
    def timed(self, step: str) -> Iterator[None]:
        t = time.perf_counter()
        try:
            yield
        finally:
            self.timings[step] = round((time.perf_counter() - t) * 1000, 3)

    def elapsed_ms(self) -> float:
        return round((time.perf_counter() - self.t0) * 1000, 3)
