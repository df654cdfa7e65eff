"""The daily pipeline: every processor past the raw phase, in graph order, fed by the outbox."""

from __future__ import annotations

from datetime import date
from typing import Callable

from nbadb.engine.dispatch import plan_run
from nbadb.engine.request import ProcessingMode, RunMode, RunResult
from nbadb.orchestrate.workspace import Workspace

DOWNSTREAM_PHASES = {3, 4, 5}


def run_pipeline(
    ws: Workspace,
    requested: tuple[date, date] | None,
    *,
    processor: str | None = None,
    force: bool = False,
    processing_mode: ProcessingMode | None = None,
    mode: RunMode = "incremental",
    trigger_source: str = "manual",
    on_run: Callable[[RunResult], None] | None = None,
) -> list[RunResult]:
    """Run each downstream processor once: for the requested dates and for whatever changed upstream."""
    producers = frozenset(ws.graph.specs)
    results = []
    for spec in ws.graph.in_phases(DOWNSTREAM_PHASES):
        if processor and spec.name != processor:
            continue
        request = plan_run(
            ws.con, spec, producers, requested,
            trigger_source=trigger_source, mode=mode, processing_mode=processing_mode, force=force,
        )
        if request is None:
            continue
        result = ws.engine.run(request)
        results.append(result)
        if on_run:
            on_run(result)
    return results
