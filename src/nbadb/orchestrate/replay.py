"""Replay a season day by day, as the day happened.

Morning: the schedule, injury moves and prop lines published that day go in, and the pipeline
runs for the day's games before tip-off (upcoming context, form, features, predictions), told
which tables were just published (smart skip reads that). Night: the box scores of the day's
finished games go in and the pipeline runs on the events they caused. "Today" for every run is
the simulated day. A day's files are staged (read from the archive and checked, not published)
while the previous night's pipeline runs, on the source's own connection; the day's `seconds`
leave that staging out.

A replay of a season's last days can start from the season so far (`load_history`): the days
before the window are published and run in one backfill pass, so the window's form, features and
models learn from the whole season, as they would have live.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Callable

from nbadb.engine.request import ProcessingMode, RunResult
from nbadb.orchestrate.daily import DOWNSTREAM_PHASES, run_pipeline
from nbadb.orchestrate.ingest import publish, stage
from nbadb.orchestrate.workspace import Workspace
from nbadb.sources.archive import StageReport
from nbadb.warehouse.connection import duckdb_threads


# Published before tip-off / once the day's games are final.
MORNING_TABLES = frozenset({"raw.schedule", "raw.injuries", "raw.prop_lines"})
NIGHT_TABLES = frozenset({"raw.player_boxscores", "raw.boxscore_players", "raw.team_boxscores"})


def _changed(results: list[RunResult]) -> tuple[str, ...]:
    return tuple(r.processor for r in results if r.metrics.entities_changed)


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
    with duckdb_threads(ws.con, 1), ThreadPoolExecutor(1, thread_name_prefix="nbadb-stage") as stager:
        day, staging = start, stager.submit(stage, ws.source, start, start)
        while staging is not None:
            following = day + timedelta(days=1)

            def stage_next(d: date = following) -> Future[StageReport] | None:
                return stager.submit(stage, ws.source, d, d) if d <= end else None

            outcome, staging = _replay_day(ws, day, staging.result(), stage_next, processing_mode, phases)
            outcomes.append(outcome)
            if on_day:
                on_day(outcome)
            day = following
    return outcomes


def load_history(ws: Workspace, start: date, end: date) -> list[RunResult]:
    """Publish [start, end] and run every downstream phase over it at once (a backfill). Each row is
    still computed from what was known before its own date; only the morning/night split and the
    per-day ledger rows of a day-by-day replay are missing."""
    published = publish(ws.engine, ws.source, start, end)
    return published.results + run_pipeline(ws, (start, end), mode="backfill", as_of=end)


def _replay_day(
    ws: Workspace,
    day: date,
    staged: StageReport,
    stage_next: Callable[[], Future[StageReport] | None],
    processing_mode: ProcessingMode | None,
    phases: frozenset[int],
) -> tuple[DayOutcome, Future[StageReport] | None]:
    """The morning pass before tip-off, then the night pass once the games are final. Once the
    night's files are published, `stage_next` starts staging the next day; its future is returned."""
    t0 = time.perf_counter()
    morning = publish(ws.engine, ws.source, day, day, processors=MORNING_TABLES, staged=staged)
    before_tip = run_pipeline(
        ws, (day, day), trigger_source="schedule", trigger_sources=_changed(morning.results),
        processing_mode=processing_mode, as_of=day, phases=phases,
    )
    night = publish(ws.engine, ws.source, day, day, processors=NIGHT_TABLES, staged=staged)
    next_staging = stage_next()
    after_games = run_pipeline(
        ws, None, trigger_source="archive", processing_mode=processing_mode, as_of=day, phases=phases
    )
    downstream = before_tip + after_games
    results: list[RunResult] = morning.results + night.results + downstream
    outcome = DayOutcome(
        day=day,
        games=staged.rows.get("stage_schedule", 0),
        runs=sum(r.status in ("success", "partial") for r in results),
        skips=sum(r.status == "skipped" for r in results),
        failed=sum(r.status == "failed" for r in results),
        entities_changed=sum(r.metrics.entities_changed for r in downstream),
        seconds=round(time.perf_counter() - t0, 3),
    )
    return outcome, next_staging
