"""Replay a season day by day, as the day happened.

Morning: the schedule, injury moves and prop lines published that day go in, and the pipeline
runs for the day's games before tip-off (upcoming context, form, features, predictions), told
which tables were just published (smart skip reads that). Night: the box scores of the day's
finished games go in and the pipeline runs on the events they caused. "Today" for every run is
the simulated day.

Two engines (connections) share the work where nothing of one side needs the other, in one of
two shapes (with a single lane the same passes run one after the other, so a replay runs and
records the same work whatever the lanes):
- with form, features and predictions among the phases (`beside_tonight_processors`: they read
  only earlier games' summaries), they run while the other engine publishes and summarises the
  day's games (`after_games_processors`) and then publishes the next morning (its files and the
  upcoming contexts, `before_tip_processors`); the evaluation, which needs both, comes after;
- without them, tonight's pass runs while the next morning is published.
Each pass plans its runs as it starts (orchestrate.daily.PipelinePass), before anything beside it
publishes what would change its plan, and two passes running at once never share a processor.

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
from typing import Callable, Iterator, TypeVar

from nbadb.engine.dag import ProcessorGraph
from nbadb.engine.request import ProcessingMode, RunResult
from nbadb.engine.runner import Engine
from nbadb.orchestrate.daily import DOWNSTREAM_PHASES, PipelinePass, run_pipeline
from nbadb.orchestrate.ingest import IngestOutcome, publish, stage
from nbadb.orchestrate.workspace import Workspace
from nbadb.sources.archive import StageReport
from nbadb.warehouse.connection import duckdb_threads


# Published before tip-off / once the day's games are final.
MORNING_TABLES = frozenset({"raw.schedule", "raw.injuries", "raw.prop_lines"})
NIGHT_TABLES = frozenset({"raw.player_boxscores", "raw.boxscore_players", "raw.team_boxscores"})

A = TypeVar("A")
B = TypeVar("B")


def _changed(results: list[RunResult]) -> tuple[str, ...]:
    return tuple(r.processor for r in results if r.metrics.entities_changed)


def _published_readers(graph: ProcessorGraph, tables: frozenset[str], exclude: frozenset[str]) -> frozenset[str]:
    """The downstream processors (but `exclude`) reading only published (raw) tables and each
    other, one of `tables` or of each other among them."""
    published = {name for name, spec in graph.specs.items() if spec.phase not in DOWNSTREAM_PHASES}
    found: set[str] = set()
    for spec in graph.in_phases(set(DOWNSTREAM_PHASES)):  # producers first
        if spec.name not in exclude and spec.input_tables <= published | found and spec.input_tables & (tables | found):
            found.add(spec.name)
    return frozenset(found)


def before_tip_processors(graph: ProcessorGraph) -> frozenset[str]:
    """The downstream processors a morning runs first, needing nothing from the night before (so
    they can run beside it): those reading only published tables and each other, a morning table
    among them."""
    return _published_readers(graph, MORNING_TABLES, frozenset())


def after_games_processors(graph: ProcessorGraph) -> frozenset[str]:
    """The first processors of a night (the game summaries): the others reading only published
    tables and each other, a night table among them."""
    return _published_readers(graph, NIGHT_TABLES, before_tip_processors(graph))


def beside_tonight_processors(graph: ProcessorGraph) -> frozenset[str]:
    """The rest of a morning that can run while that night's first processors run: those reading
    tonight's tables only from earlier dates (`lag_days`: as-of form, features, predictions) and
    nothing that waits for tonight (the evaluation of the day's predictions waits)."""
    early, tonight = before_tip_processors(graph), after_games_processors(graph)
    waiting: set[str] = set()
    for spec in graph.in_phases(set(DOWNSTREAM_PHASES)):  # producers first
        if any((i.table in tonight and not i.lag_days) or i.table in waiting for i in spec.inputs):
            waiting.add(spec.name)
    return frozenset(s.name for s in graph.in_phases(set(DOWNSTREAM_PHASES))) - early - tonight - waiting


@dataclass
class DayOutcome:
    day: date
    games: int
    runs: int
    skips: int
    failed: int
    entities_changed: int
    seconds: float  # since the day before ended: the next morning's publication beside this day counts here

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
    days = _Days.of(ws, processing_mode, phases)
    step = days.beside_the_rest_of_morning if days.has_work_beside_tonight else days.beside_the_next_morning
    with duckdb_threads(ws.con, 1), _beside(ws) as (night_engine, night_thread):
        side = night_thread if ws.settings.lane_count > 1 else None  # one lane: one run at a time
        t0 = time.perf_counter()
        day, morning = start, days.early_morning(start, ws.engine)
        while morning is not None:
            tomorrow = day + timedelta(days=1) if day < end else None
            night, downstream, next_morning = step(day, morning, tomorrow, night_engine, side)
            outcomes.append(_outcome(day, morning, night, downstream, t0))
            if on_day:
                on_day(outcomes[-1])
            t0, day, morning = time.perf_counter(), day + timedelta(days=1), next_morning
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


# A day's step: the night's raw runs, the downstream runs of the day, the next morning (if any).
_Step = tuple[list[RunResult], list[RunResult], _Morning | None]


@dataclass
class _Days:
    """The passes of a replayed day over its processor groups: `early` (before tip-off), `beside`
    (the rest of the morning, which needs nothing from the day's games), `tonight` (the games'
    summaries) and the rest (what waits for tonight: the evaluation)."""

    ws: Workspace
    early: frozenset[str]
    beside: frozenset[str]
    tonight: frozenset[str]
    processing_mode: ProcessingMode | None
    phases: frozenset[int]

    @classmethod
    def of(cls, ws: Workspace, processing_mode: ProcessingMode | None, phases: frozenset[int]) -> _Days:
        graph = ws.graph
        return cls(ws, before_tip_processors(graph), beside_tonight_processors(graph), after_games_processors(graph),
                   processing_mode, phases)

    @property
    def after_tip(self) -> frozenset[str]:
        """Every processor but the early ones: what a night's passes may run."""
        return frozenset(self.ws.graph.specs) - self.early

    @property
    def has_work_beside_tonight(self) -> bool:
        return any(self.ws.graph.specs[name].phase in self.phases for name in self.beside)

    def beside_the_rest_of_morning(
        self, day: date, morning: _Morning, tomorrow: date | None, engine: Engine, side: ThreadPoolExecutor | None
    ) -> _Step:
        """Form, features and predictions here, while the other engine takes the night and the next
        morning's publication; then what waits for both (the evaluation)."""
        rest = self._morning(day, morning.published, self.beside, self.ws.engine)
        later, (night, summaries, next_morning) = _meanwhile(
            side, rest.run, lambda: self._night_and_next_morning(day, morning, tomorrow, engine))
        waiting = self.after_tip - self.tonight
        if tomorrow is not None:  # tonight's events for form, features, predictions: tomorrow's morning takes them
            waiting -= self.beside
        return night, later + summaries + self._night(day, self.ws.engine, waiting).run(), next_morning

    def beside_the_next_morning(
        self, day: date, morning: _Morning, tomorrow: date | None, engine: Engine, side: ThreadPoolExecutor | None
    ) -> _Step:
        """The rest of the morning and the night's publication here; then tonight's pass (on the
        other engine) while the next morning is published."""
        later = self._morning(day, morning.published, self.beside | self.tonight, self.ws.engine).run()
        night = self._publish_night(day, morning, self.ws.engine)
        tonight = self._night(day, engine, self.after_tip)  # planned before tomorrow publishes
        after_games, next_morning = _meanwhile(
            side, tonight.run, lambda: self.early_morning(tomorrow, self.ws.engine) if tomorrow else None)
        return night.results, later + after_games, next_morning

    def early_morning(self, day: date, engine: Engine) -> _Morning:
        staged = stage(self.ws.source, day, day)
        published = publish(engine, self.ws.source, day, day, processors=MORNING_TABLES, staged=staged)
        return _Morning(staged, published.results, self._morning(day, published.results, self.early, engine).run())

    def _night_and_next_morning(self, day: date, morning: _Morning, tomorrow: date | None, engine: Engine) -> _Step:
        """The morning's request to tonight's processors (made before the games end), the day's box
        scores published and summarised, then tomorrow's morning published: all on `engine`."""
        asked = self._morning(day, morning.published, self.tonight, engine).run()
        night = self._publish_night(day, morning, engine)
        summaries = self._night(day, engine, self.tonight).run()
        return night.results, asked + summaries, self.early_morning(tomorrow, engine) if tomorrow else None

    def _publish_night(self, day: date, morning: _Morning, engine: Engine) -> IngestOutcome:
        return publish(engine, self.ws.source, day, day, processors=NIGHT_TABLES, staged=morning.staged)

    def _night(self, day: date, engine: Engine, processors: frozenset[str]) -> PipelinePass:
        return PipelinePass(self.ws, None, engine=engine, processors=processors, trigger_source="archive",
                            processing_mode=self.processing_mode, as_of=day, phases=self.phases)

    def _morning(
        self, day: date, published: list[RunResult], processors: frozenset[str], engine: Engine
    ) -> PipelinePass:
        return PipelinePass(
            self.ws, (day, day), engine=engine, processors=processors, trigger_source="schedule",
            trigger_sources=_changed(published), processing_mode=self.processing_mode, as_of=day,
            phases=self.phases,
        )


def _meanwhile(side: ThreadPoolExecutor | None, here: Callable[[], A], beside: Callable[[], B]) -> tuple[A, B]:
    """`here` in this thread while `beside` runs in the `side` thread; without one, `here` first."""
    if side is None:
        return here(), beside()
    running = side.submit(beside)
    return here(), running.result()


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
