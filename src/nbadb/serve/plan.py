"""When each cycle of `nbadb serve` is due: a pure function of the game calendar and the time.

Words defined here:
- cycle: one job of the schedule for one date (US Eastern). Its kinds:
  - `morning`: the morning publication and the pre-tip pass (orchestrate.replay.morning_of), due
    PRE_TIP_LEAD before the day's first tip-off, never before the morning publication
    (engine.clock.morning);
  - `night`: the night publication and the downstream pass (orchestrate.replay.night_of), due
    GAME_LENGTH after the day's last tip-off;
  - `health`: the health check, every day at HEALTH_AT Eastern;
  - `weekly`: the waste and pattern reports, every Monday at WEEKLY_AT Eastern.
  A day without games has no morning or night cycle.
- due: a cycle whose time has come and that no record says was done. Every due `morning` and
  `night` runs, oldest first (catch-up after a restart); of the monitoring cycles only the latest
  due one of each kind runs (a health check of a past morning says nothing about now).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum
from typing import Collection, Mapping
from zoneinfo import ZoneInfo

from nbadb.engine.clock import morning
from nbadb.serve.calendar import GameDay

EASTERN = ZoneInfo("America/New_York")
PRE_TIP_LEAD = timedelta(hours=2)
GAME_LENGTH = timedelta(hours=3)
HEALTH_AT = time(9, 0)
WEEKLY_AT = time(9, 30)
MONDAY = 0


class CycleKind(StrEnum):
    MORNING = "morning"
    NIGHT = "night"
    HEALTH = "health"
    WEEKLY = "weekly"

    @property
    def pipeline(self) -> bool:
        return self in (CycleKind.MORNING, CycleKind.NIGHT)


@dataclass(frozen=True, order=True)
class Cycle:
    due_at: datetime  # UTC, naive
    kind: CycleKind
    day: date

    @property
    def key(self) -> tuple[str, date]:
        return str(self.kind), self.day

    def as_dict(self) -> dict[str, str]:
        return {"kind": str(self.kind), "day": str(self.day), "due_at": f"{self.due_at:%Y-%m-%dT%H:%M:%S}Z",
                "due_at_eastern": f"{eastern(self.due_at):%Y-%m-%d %H:%M %Z}"}


def eastern(instant: datetime) -> datetime:
    """A naive UTC instant on the Eastern wall clock."""
    return instant.replace(tzinfo=timezone.utc).astimezone(EASTERN)


def eastern_today(now: datetime) -> date:
    return eastern(now).date()


def at_eastern(day: date, clock_time: time) -> datetime:
    """`clock_time` on `day` in Eastern time, as a naive UTC instant."""
    return datetime.combine(day, clock_time, EASTERN).astimezone(timezone.utc).replace(tzinfo=None)


def cycles_of_day(day: date, game_day: GameDay | None) -> list[Cycle]:
    cycles = [Cycle(at_eastern(day, HEALTH_AT), CycleKind.HEALTH, day)]
    if day.weekday() == MONDAY:
        cycles.append(Cycle(at_eastern(day, WEEKLY_AT), CycleKind.WEEKLY, day))
    if game_day is not None:
        cycles.append(Cycle(max(morning(day), game_day.first_tip - PRE_TIP_LEAD), CycleKind.MORNING, day))
        cycles.append(Cycle(game_day.last_tip + GAME_LENGTH, CycleKind.NIGHT, day))
    return cycles


def planned(calendar: Mapping[date, GameDay], first: date, last: date) -> list[Cycle]:
    """Every cycle of the days [first, last], in the order they are due."""
    cycles: list[Cycle] = []
    day = first
    while day <= last:
        cycles += cycles_of_day(day, calendar.get(day))
        day += timedelta(days=1)
    return sorted(cycles)


def due_cycles(calendar: Mapping[date, GameDay], now: datetime, done: Collection[tuple[str, date]],
               since: date) -> list[Cycle]:
    """The cycles of the days from `since` to today that are due at `now`, in the order to run them."""
    past = [c for c in planned(calendar, since, eastern_today(now)) if c.due_at <= now]
    latest_checks = {c.kind: c for c in past if not c.kind.pipeline}  # the latest of each monitoring kind
    return sorted(c for c in [*(c for c in past if c.kind.pipeline), *latest_checks.values()] if c.key not in done)


def upcoming(calendar: Mapping[date, GameDay], now: datetime, count: int, horizon_days: int = 14) -> list[Cycle]:
    """The next `count` cycles due after `now` (within `horizon_days`)."""
    today = eastern_today(now)
    return [c for c in planned(calendar, today, today + timedelta(days=horizon_days)) if c.due_at > now][:count]
