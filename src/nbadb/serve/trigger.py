"""The APScheduler trigger of `nbadb serve`: it fires when the next cycle of the game calendar is
due (serve.plan), so one job runs every cycle at its time without re-arming itself."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Callable, Mapping

from apscheduler.triggers.base import BaseTrigger

from nbadb.serve.calendar import GameDay
from nbadb.serve.plan import upcoming

# The planner looks this far ahead for the next cycle (the health check makes one every day).
HORIZON_DAYS = 3


class CalendarTrigger(BaseTrigger):
    def __init__(self, calendar: Mapping[date, GameDay], clock: Callable[[], datetime]) -> None:
        self.calendar = calendar
        self.clock = clock

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        """The first cycle due after the previous firing (the first one after now when the job is new)."""
        after = self.clock() if previous_fire_time is None else max(
            self.clock(), previous_fire_time.astimezone(timezone.utc).replace(tzinfo=None))
        following = upcoming(self.calendar, after, 1, HORIZON_DAYS)
        return following[0].due_at.replace(tzinfo=timezone.utc) if following else None

    def __str__(self) -> str:
        return "game calendar"
