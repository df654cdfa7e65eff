"""The daily pipeline: every processor past the raw phase, in graph order, fed by the outbox."""

from __future__ import annotations

from datetime import date
from typing import Any

from nbadb.engine.dispatch import DispatchCycle
from nbadb.engine.request import ProcessingMode, RunMode, RunResult
from nbadb.engine.runner import Engine
from nbadb.orchestrate.workspace import Workspace

DOWNSTREAM_PHASES = frozenset({3, 4, 5})


class PipelinePass:
    """One pass of the downstream processors, wave by wave in graph order: for the requested dates
    and for whatever changed upstream. Its dispatch cycle reads the pending events and the dates
    scheduled when the pass is created, so what it runs does not depend on writes made after that
    (by a pass of other processors running beside it on another engine: orchestrate.replay)."""

    def __init__(
        self,
        ws: Workspace,
        requested: tuple[date, date] | None,
        *,
        engine: Engine | None = None,
        processors: frozenset[str] | None = None,
        force: bool = False,
        processing_mode: ProcessingMode | None = None,
        mode: RunMode = "incremental",
        trigger_source: str = "manual",
        trigger_sources: tuple[str, ...] = (),
        as_of: date | None = None,
        phases: frozenset[int] = DOWNSTREAM_PHASES,
    ) -> None:
        self.engine = engine or ws.engine
        self.specs = [s for s in ws.graph.in_phases(set(phases & DOWNSTREAM_PHASES))
                      if processors is None or s.name in processors]
        self.waves = ws.graph.waves(self.specs)
        self.requested = requested
        self.options: dict[str, Any] = {"trigger_source": trigger_source, "trigger_sources": trigger_sources,
                                        "mode": mode, "processing_mode": processing_mode, "force": force,
                                        "as_of": as_of}
        self.cycle = DispatchCycle(self.engine.con, self.specs, frozenset(ws.graph.specs), self.engine.calendar(),
                                   window_seconds=ws.settings.coalesce_window_seconds)

    def run(self) -> list[RunResult]:
        results = []
        for wave in self.waves:  # a wave's processors run side by side (engine.lanes)
            batches = [self.cycle.plan(spec, self.requested, **self.options) for spec in wave]
            for batch in self.engine.lanes.run([b for b in batches if b]):
                for result in batch:
                    self.cycle.published(result.event)
                    results.append(result)
        return results


def run_pipeline(ws: Workspace, requested: tuple[date, date] | None, **options: Any) -> list[RunResult]:
    """Run the downstream processors wave by wave in graph order, for the requested dates and for
    whatever changed upstream: one PipelinePass, created and run at once (`options` are its own:
    `processors` to run only those, `trigger_sources` the tables whose publication asked for the
    requested dates (smart skip reads them), `as_of` "today" for early exit (a replay's simulated
    day), ...)."""
    return PipelinePass(ws, requested, **options).run()
