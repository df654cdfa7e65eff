"""A stage transition's criteria judged against the provider's own measurements.

The evidence for leaving a stage is what the provider showed in it: its game days (telemetry rows
with games) at that stage since the transition that put it there, up to the last game day whose
cutoff had passed at the instant of the decision (a day still open may change). Every criterion
guarding the next stage is judged on the metrics pooled over those days (rollout.providers.metrics);
one fails when its metric was not measured, when the provider has fewer game days in the stage than
it asks, or when the measured value does not meet it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import duckdb

from nbadb.engine.calendar import LeagueCalendar
from nbadb.engine.clock import eastern_date
from nbadb.pipeline.provider_telemetry import PROVIDER_TELEMETRY
from nbadb.rollout.providers import metrics
from nbadb.rollout.providers.audit import ProviderState
from nbadb.rollout.providers.criteria import Criterion, criteria_for


@dataclass(frozen=True)
class Judgement:
    criterion: Criterion
    measured: float | None
    game_days: int

    @property
    def passed(self) -> bool:
        c = self.criterion
        return (self.measured is not None and self.game_days >= c.min_game_days
                and c.comparator.holds(self.measured, c.threshold))

    def as_dict(self) -> dict[str, object]:
        return {**self.criterion.as_dict(), "measured": self.measured, "game_days": self.game_days,
                "passed": self.passed}

    def __str__(self) -> str:
        c = self.criterion
        value = "not measured" if self.measured is None else f"{self.measured:.4g}"
        days = f"{self.game_days} game days" + ("" if self.game_days >= c.min_game_days else f" (needs {c.min_game_days})")
        return f"{c.metric} = {value} (needs {c.comparator} {c.threshold:g}) over {days}"


def last_final_day(calendar: LeagueCalendar, instant: datetime) -> date:
    """The last game date whose cutoff is at or before `instant`: what is known of it no longer changes."""
    day = eastern_date(instant)
    while calendar.cutoff(day) > instant:
        day -= timedelta(days=1)
    return day


def stage_days(con: duckdb.DuckDBPyConnection, state: ProviderState, last_day: date) -> list[date]:
    """The provider's game days at its current stage since it entered it, up to `last_day`."""
    rows = con.execute(
        f"""SELECT game_date FROM {PROVIDER_TELEMETRY.name}
        WHERE bookmaker = ? AND stage = ? AND games > 0 AND game_date BETWEEN ? AND ? ORDER BY game_date""",
        [state.bookmaker, state.stage.label, state.since_date, last_day],
    ).fetchall()
    return [d for (d,) in rows]


def judge(con: duckdb.DuckDBPyConnection, state: ProviderState, calendar: LeagueCalendar,
          instant: datetime) -> list[Judgement]:
    """Every criterion guarding the provider's next stage, judged at `instant` (none at full_active)."""
    target = state.stage.next
    if target is None:
        return []
    days = stage_days(con, state, last_final_day(calendar, instant))
    measured = metrics.measure(con, state.bookmaker, days)
    return [Judgement(c, measured[c.metric], len(days)) for c in criteria_for(con, target)]
