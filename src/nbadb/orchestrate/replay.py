"""Replay a season day by day, as the day happened.

Morning: the schedule, injury moves and prop lines published that day go in, and the pipeline
runs for the day's games before tip-off (upcoming context, form, features, predictions), told
which tables were just published (smart skip reads that). Night: the box scores of the day's
finished games go in and the pipeline runs on the events they caused. "Today" for every run is
the simulated day.

Two days overlap where nothing of one needs the other (unless the engine has a single lane):
while tonight's pipeline runs (on an engine of its own, in a second thread), the next morning's
files are staged and published and the processors that read only published tables run (the
upcoming contexts: `before_tip_processors`). The rest of that morning (form, features,
predictions, which read tonight's summaries) waits for tonight to finish. Each pass plans its
runs as it starts (orchestrate.daily.PipelinePass), and the two never run the same processor, so
a replay runs and records the same work as one that takes the passes one after the other.

A replay of a season's last days can start from the season so far (`load_history`): the days
before the window are published and run in one backfill pass, so the window's form, features and
models learn from the whole season, as they would have live.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Callable, Iterator

from nbadb.engine.dag import ProcessorGraph
from nbadb.engine.request import ProcessingMode, RunResult
from nbadb.engine.runner import Engine
from nbadb.orchestrate.daily import DOWNSTREAM_PHASES, PipelinePass, run_pipeline
from nbadb.orchestrate.ingest import publish, stage
from nbadb.orchestrate.workspace import Workspace
from nbadb.sources.archive import StageReport
from nbadb.warehouse.connection import duckdb_threads


# Published before tip-off / once the day's games are final.
MORNING_TABLES = frozenset({"raw.schedule", "raw.injuries", "raw.prop_lines"})
NIGHT_TABLES = frozenset({"raw.player_boxscores", "raw.boxscore_players", "raw.team_boxscores"})


def _changed(results: list[RunResult]) -> tuple[str, ...]:
    return tuple(r.processor for r in results if r.metrics.entities_changed)


def before_tip_processors(graph: ProcessorGraph) -> frozenset[str]:
    """The downstream processors a morning can run while the night before is still running: those
    reading only published (raw) tables and each other, a morning table among them."""
    published = {name for name, spec in graph.specs.items() if spec.phase not in DOWNSTREAM_PHASES}
    early: set[str] = set()
    for spec in graph.in_phases(set(DOWNSTREAM_PHASES)):  # producers first
        if spec.input_tables <= published | early and spec.input_tables & (MORNING_TABLES | early):
            early.add(spec.name)
    return frozenset(early)


@dataclass
class DayOutcome:
    day: date
    games: int
    runs: int
    skips: int
    failed: int
    entities_changed: int
    seconds: float  # since the day before ended: the next morning's work beside tonight's pipeline counts here

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "day": str(self.day)}


def regular_season_window(ws: Workspace, season: str) -> tuple[date, date]:
    lo, hi = ws.source.season_range(season)
    days = ws.source.game_dates(lo, hi, regular_season_only=True)
    return (days[0], days[-1]) if days else (lo, hi)


def replay(
    ws: Workspace,
    start: date,
    end: date,
    *,
    processing_mode: ProcessingMode | None = None,
    on_day: Callable[[DayOutcome], None] | None = None,
    phases: frozenset[int] = DOWNSTREAM_PHASES,
) -> list[DayOutcome]:
    """Replay [start, end]; `phases` limits the downstream phases run (benchmarks compare them)."""
    outcomes: list[DayOutcome] = []
    if start > end:
        return outcomes
    early = before_tip_processors(ws.graph)
    side_by_side = ws.settings.lane_count > 1  # one lane: one run at a time, nights included
    days = _Days(ws, early, frozenset(ws.graph.specs) - early, processing_mode, phases)
    with duckdb_threads(ws.con, 1), _beside(ws) as (night_engine, night_thread):
        t0 = time.perf_counter()
        day, morning = start, days.early_morning(start)
        while morning is not None:
            following = day + timedelta(days=1)
            later = days.rest_of_morning(day, morning)
            night = publish(ws.engine, ws.source, day, day, processors=NIGHT_TABLES, staged=morning.staged)
            tonight = days.night(day, night_engine)  # planned now, before the next morning publishes
            next_morning: _Morning | None = None
            if following <= end and side_by_side:
                running = night_thread.submit(tonight.run)
                next_morning = days.early_morning(following)
                after_games = running.result()
            else:
                after_games = tonight.run()
                if following <= end:
                    next_morning = days.early_morning(following)
            outcomes.append(_outcome(day, morning, night.results, later + after_games, t0))
            if on_day:
                on_day(outcomes[-1])
            t0, day, morning = time.perf_counter(), following, next_morning
    return outcomes


def load_history(ws: Workspace, start: date, end: date) -> list[RunResult]:
    """Publish [start, end] and run every downstream phase over it at once (a backfill). Each row is
    still computed from what was known before its own date; only the morning/night split and the
    per-day ledger rows of a day-by-day replay are missing."""
    published = publish(ws.engine, ws.source, start, end)
    return published.results + run_pipeline(ws, (start, end), mode="backfill", as_of=end)


@dataclass
class _Morning:
    """What a day's morning did before it needed the night before: its files staged, the morning
    tables published, the processors before tip-off run."""

    staged: StageReport
    published: list[RunResult]
    before_tip: list[RunResult]


@dataclass
class _Days:
    """The passes of a replayed day, over the processors before tip-off (`early`) and the others."""

    ws: Workspace
    early: frozenset[str]
    others: frozenset[str]
    processing_mode: ProcessingMode | None
    phases: frozenset[int]

    def early_morning(self, day: date) -> _Morning:
        staged = stage(self.ws.source, day, day)
        published = publish(self.ws.engine, self.ws.source, day, day, processors=MORNING_TABLES, staged=staged)
        return _Morning(staged, published.results, self._morning(day, published.results, self.early))

    def rest_of_morning(self, day: date, morning: _Morning) -> list[RunResult]:
        return self._morning(day, morning.published, self.others)

    def night(self, day: date, engine: Engine) -> PipelinePass:
        return PipelinePass(self.ws, None, engine=engine, processors=self.others, trigger_source="archive",
                            processing_mode=self.processing_mode, as_of=day, phases=self.phases)

    def _morning(self, day: date, published: list[RunResult], processors: frozenset[str]) -> list[RunResult]:
        return run_pipeline(
            self.ws, (day, day), processors=processors, trigger_source="schedule",
            trigger_sources=_changed(published), processing_mode=self.processing_mode, as_of=day,
            phases=self.phases,
        )


@contextmanager
def _beside(ws: Workspace) -> Iterator[tuple[Engine, ThreadPoolExecutor]]:
    """An engine on its own connection and a thread to run a pipeline pass on it, beside the main one."""
    engine = ws.engine.lane()
    try:
        with ThreadPoolExecutor(1, thread_name_prefix="nbadb-night") as thread:
            yield engine, thread
    finally:
        engine.close()
        engine.con.close()


def _outcome(
    day: date, morning: _Morning, night: list[RunResult], downstream: list[RunResult], t0: float
) -> DayOutcome:
    downstream = morning.before_tip + downstream
    results = morning.published + night + downstream
    return DayOutcome(
        day=day,
        games=morning.staged.rows.get("stage_schedule", 0),
        runs=sum(r.status in ("success", "partial") for r in results),
        skips=sum(r.status == "skipped" for r in results),
        failed=sum(r.status == "failed" for r in results),
        entities_changed=sum(r.metrics.entities_changed for r in downstream),
        seconds=round(time.perf_counter() - t0, 3),
    )
