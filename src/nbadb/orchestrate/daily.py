"""A pipeline pass: every processor past the raw phase, wave by wave in graph order, fed by the outbox."""

from __future__ import annotations

from datetime import date, datetime

from nbadb.engine.dispatch import DispatchCycle
from nbadb.engine.request import ProcessingMode, RunMode, RunResult
from nbadb.orchestrate.workspace import Workspace
from nbadb.warehouse.transactions import read_transaction

DOWNSTREAM_PHASES = frozenset({3, 4, 5})


def run_pipeline(
    ws: Workspace,
    requested: tuple[date, date] | None,
    *,
    processors: frozenset[str] | None = None,
    force: bool = False,
    processing_mode: ProcessingMode | None = None,
    mode: RunMode = "incremental",
    trigger_source: str = "manual",
    trigger_sources: tuple[str, ...] = (),
    as_of: date | None = None,
    clock: datetime | None = None,
    phases: frozenset[int] = DOWNSTREAM_PHASES,
) -> list[RunResult]:
    """Run the downstream processors (only `processors` when given) for the `requested` dates and
    for whatever changed upstream. The dispatch cycle reads the pending events and the scheduled
    dates once as the pass starts, and adds the events its own runs publish; each wave of the graph
    goes to the workspace's executor. `trigger_sources`: the tables whose publication asked for the
    requested dates (smart skip reads them); `as_of`: "today" for early exit (a replay's day);
    `clock`: the runs' instant (engine.clock; the warehouse clock when None)."""
    specs = [s for s in ws.graph.in_phases(set(phases & DOWNSTREAM_PHASES)) if processors is None or s.name in processors]
    with read_transaction(ws.con):
        cycle = DispatchCycle(ws.con, specs, frozenset(ws.graph.specs), ws.engine.calendar(),
                              window_seconds=ws.settings.coalesce_window_seconds)
    results: list[RunResult] = []
    for wave in ws.graph.waves(specs):
        batches = [cycle.plan(spec, requested, trigger_source=trigger_source, trigger_sources=trigger_sources,
                              mode=mode, processing_mode=processing_mode, force=force, as_of=as_of, clock=clock)
                   for spec in wave]
        for batch in ws.executor.run_wave(batches):
            for result in batch:
                cycle.published(result.event)
                results.append(result)
    return results


def regular_season_window(ws: Workspace, season: str) -> tuple[date, date]:
    lo, hi = ws.source.season_range(season)
    days = ws.source.game_dates(lo, hi, regular_season_only=True)
    return (days[0], days[-1]) if days else (lo, hi)
