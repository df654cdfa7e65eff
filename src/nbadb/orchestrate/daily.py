"""The daily pipeline: every processor past the raw phase, in graph order, fed by the outbox."""

from __future__ import annotations

from datetime import date
from typing import Callable

from nbadb.engine.dispatch import DispatchCycle
from nbadb.engine.request import ProcessingMode, RunMode, RunResult
from nbadb.orchestrate.workspace import Workspace

DOWNSTREAM_PHASES = frozenset({3, 4, 5})


def run_pipeline(
    ws: Workspace,
    requested: tuple[date, date] | None,
    *,
    processor: str | None = None,
    force: bool = False,
    processing_mode: ProcessingMode | None = None,
    mode: RunMode = "incremental",
    trigger_source: str = "manual",
    trigger_sources: tuple[str, ...] = (),
    as_of: date | None = None,
    phases: frozenset[int] = DOWNSTREAM_PHASES,
    on_run: Callable[[RunResult], None] | None = None,
) -> list[RunResult]:
    """Run the downstream processors wave by wave in graph order: for the requested dates and for
    whatever changed upstream. `trigger_sources` names the tables whose publication asked for the
    requested dates (smart skip reads them); `as_of` is "today" for early exit (a replay's
    simulated day)."""
    specs = [s for s in ws.graph.in_phases(set(phases & DOWNSTREAM_PHASES)) if not processor or s.name == processor]
    cycle = DispatchCycle(ws.con, specs, frozenset(ws.graph.specs), ws.engine.calendar,
                          window_seconds=ws.settings.coalesce_window_seconds)
    results = []
    for wave in ws.graph.waves(specs):  # a wave's processors run side by side (engine.lanes)
        batches = [
            cycle.plan(
                spec, requested, trigger_source=trigger_source, trigger_sources=trigger_sources, mode=mode,
                processing_mode=processing_mode, force=force, as_of=as_of,
            )
            for spec in wave
        ]
        for batch in ws.engine.lanes.run([b for b in batches if b]):
            for result in batch:
                cycle.published(result.event)
                results.append(result)
                if on_run:
                    on_run(result)
    return results
