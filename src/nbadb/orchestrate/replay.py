"""Replay a season day by day, as the day happened: a straight line per day.

1. morning publication: the day's schedule and prop lines;
2. pre-tip pass, the last look before the day's first tip-off (its cutoff): the pipeline for the
   day's games (upcoming context, form, features, predictions), told which tables were just
   published (smart skip reads that);
3. night publication: the box scores of the day's finished games and the day's injury moves (known
   at the night of their date, engine.clock);
4. downstream pass: the pipeline on the events the night caused (summaries, evaluation).

Steps 1-2 are `morning_of` and steps 3-4 `night_of`: `nbadb serve` runs the same two functions at
the hours the game calendar sets.

The archive's corrections come in at their own instants between these steps (corrections.correct:
each published at its time and carried to the current-truth tables there and then).

"Today" for every run is the simulated day, and its clock (engine.clock) the step's instant: what
the day publishes is known from then, the day's as-of snapshots are taken just before tip-off
with everything published by then, and frozen from the cutoff on. Every pass goes through the
workspace's executor.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Callable

from nbadb.engine.clock import morning, night
from nbadb.engine.request import ProcessingMode, RunResult
from nbadb.orchestrate.corrections import correct
from nbadb.orchestrate.daily import DOWNSTREAM_PHASES, run_pipeline
from nbadb.orchestrate.ingest import publish, stage
from nbadb.orchestrate.workspace import Workspace
from nbadb.pipeline.raw import MORNING_TABLES, NIGHT_TABLES
from nbadb.sources.archive import StageReport
from nbadb.warehouse.connection import duckdb_threads

PRE_TIP_MARGIN = timedelta(seconds=1)  # the pre-tip pass runs this long before the first tip-off


@dataclass
class DayOutcome:
    day: date
    games: int
    runs: int
    skips: int
    failed: int
    entities_changed: int
    seconds: float

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "day": str(self.day)}


def morning_of(ws: Workspace, day: date, *, processing_mode: ProcessingMode | None = None,
               phases: frozenset[int] = DOWNSTREAM_PHASES) -> tuple[StageReport, list[RunResult], list[RunResult]]:
    """The day until tip-off: corrections due by the morning, the morning publication (schedule,
    injuries, lines), corrections due before the cutoff, and the pre-tip pass just before it.
    Returns (what was staged, publication runs, pipeline runs)."""
    dawn = morning(day)
    published = correct(ws, dawn, phases=phases)
    staged = stage_day(ws, day)
    published += publish(ws, day, day, processors=MORNING_TABLES, staged=staged, clock=dawn).results
    tip = ws.engine.calendar().cutoff(day)  # the day's schedule and lines are in
    published += correct(ws, tip - PRE_TIP_MARGIN, phases=phases)
    changed = tuple(r.processor for r in published if r.metrics.entities_changed)
    pre_tip = run_pipeline(ws, (day, day), trigger_source="schedule", trigger_sources=changed,
                           processing_mode=processing_mode, as_of=day, clock=max(dawn, tip - PRE_TIP_MARGIN),
                           phases=phases)
    return staged, published, pre_tip


def night_of(ws: Workspace, day: date, staged: StageReport | None = None, *,
             processing_mode: ProcessingMode | None = None,
             phases: frozenset[int] = DOWNSTREAM_PHASES) -> tuple[list[RunResult], list[RunResult]]:
    """The day's night: corrections published during the day, the box scores, and the downstream
    pass on the events they caused; from the morning's staging when given (else staged again, as of
    the same morning); then the store compacted (a lake's small files merged, Store.compact).
    Returns (publication runs, pipeline runs)."""
    dusk = night(day)
    staged = staged or stage_day(ws, day)
    published = correct(ws, dusk, phases=phases)
    published += publish(ws, day, day, processors=NIGHT_TABLES, staged=staged, clock=dusk).results
    downstream = run_pipeline(ws, None, trigger_source="archive", processing_mode=processing_mode, as_of=day,
                              clock=dusk, phases=phases)
    ws.store.compact(ws.con)  # the day's writes done: a lake's small files merged
    return published, downstream


def stage_day(ws: Workspace, day: date) -> StageReport:
    """What the source published for `day`, as known at its morning (both halves publish from it)."""
    return stage(ws, day, day, clock=morning(day))


def replay_day(ws: Workspace, day: date, *, processing_mode: ProcessingMode | None = None,
               phases: frozenset[int] = DOWNSTREAM_PHASES) -> DayOutcome:
    """One simulated day: morning publication, pre-tip pass, night publication, downstream pass."""
    t0 = time.perf_counter()
    staged, morning_runs, pre_tip = morning_of(ws, day, processing_mode=processing_mode, phases=phases)
    night_runs, downstream = night_of(ws, day, staged, processing_mode=processing_mode, phases=phases)
    results = morning_runs + pre_tip + night_runs + downstream
    return DayOutcome(day=day, games=staged.rows.get("stage_schedule", 0),
                      runs=sum(r.status in ("success", "partial") for r in results),
                      skips=sum(r.status == "skipped" for r in results),
                      failed=sum(r.status == "failed" for r in results),
                      entities_changed=sum(r.metrics.entities_changed for r in pre_tip + downstream),
                      seconds=round(time.perf_counter() - t0, 3))


DayWork = Callable[[Workspace], DayOutcome]
DayCycle = Callable[[date, DayWork], DayOutcome]


def replay(ws: Workspace, start: date, end: date, *, processing_mode: ProcessingMode | None = None,
           on_day: Callable[[DayOutcome], None] | None = None, phases: frozenset[int] = DOWNSTREAM_PHASES,
           cycle: DayCycle | None = None) -> list[DayOutcome]:
    """Replay [start, end] day by day; `phases` limits the downstream phases run (benchmarks compare
    them); `cycle` runs each day's work (default: on `ws`; the migration control plane's runs it on
    the serving store and beside it, rollout.storage)."""
    outcomes: list[DayOutcome] = []
    run_cycle: DayCycle = cycle or (lambda _, work: work(ws))
    with duckdb_threads(ws.con, 1):  # day-sized statements finish sooner on one thread
        day = start
        while day <= end:
            outcomes.append(run_cycle(day, lambda on: replay_day(on, day, processing_mode=processing_mode,
                                                                  phases=phases)))
            if on_day:
                on_day(outcomes[-1])
            day += timedelta(days=1)
    return outcomes
