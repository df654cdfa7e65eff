"""Replay a season day by day: each day, publish what the archive released, then run the pipeline."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Callable

from nbadb.engine.request import ProcessingMode, RunResult
from nbadb.orchestrate.daily import run_pipeline
from nbadb.orchestrate.ingest import publish
from nbadb.orchestrate.workspace import Workspace


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
) -> list[DayOutcome]:
    outcomes = []
    day = start
    while day <= end:
        t0 = time.perf_counter()
        published = publish(ws.engine, ws.source, day, day)
        downstream = run_pipeline(ws, (day, day), trigger_source="schedule", processing_mode=processing_mode)
        results: list[RunResult] = published.results + downstream
        outcome = DayOutcome(
            day=day,
            games=published.stage.rows.get("stage_schedule", 0),
            runs=sum(r.status in ("success", "partial") for r in results),
            skips=sum(r.status == "skipped" for r in results),
            failed=sum(r.status == "failed" for r in results),
            entities_changed=sum(r.metrics.entities_changed for r in downstream),
            seconds=round(time.perf_counter() - t0, 3),
        )
        outcomes.append(outcome)
        if on_day:
            on_day(outcome)
        day += timedelta(days=1)
    return outcomes
