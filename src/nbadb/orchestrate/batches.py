"""One backfill batch, set-based: the interface a distributed backfill drives (`BatchRunner`) and
its default (`set_based_batch`). The Prefect backfill calls a batch twice — phases 2-4, then, once
its models are trained elsewhere, phase 5 — and a lead's own batch runner can take its place as
long as it honours `phases`."""

from __future__ import annotations

from datetime import date
from typing import Protocol

from nbadb.engine.request import RunResult
from nbadb.orchestrate.daily import DOWNSTREAM_PHASES, run_pipeline
from nbadb.orchestrate.ingest import publish
from nbadb.orchestrate.workspace import Workspace

ALL_PHASES = frozenset({2}) | DOWNSTREAM_PHASES
RAW_PHASE = 2


class BatchRunner(Protocol):
    def __call__(self, ws: Workspace, start: date, end: date, phases: frozenset[int]) -> list[RunResult]:
        """Write [start, end] for `phases` (2: publish the source's files; 3-5: the pipeline)."""


def set_based_batch(ws: Workspace, start: date, end: date, phases: frozenset[int] = ALL_PHASES) -> list[RunResult]:
    """Publish [start, end] (phase 2), then run the downstream phases asked for over the whole window
    at once, in backfill mode (each row still computed from what was known before its own date)."""
    results = publish(ws, start, end).results if RAW_PHASE in phases else []
    downstream = phases & DOWNSTREAM_PHASES
    if downstream:
        results += run_pipeline(ws, (start, end), mode="backfill", as_of=end, phases=downstream)
    return results
