"""How often stats.nba.com is called: a minimum gap between calls and jittered exponential backoff
between retries. Both wait on an injectable clock, so tests never actually sleep."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from nbadb.engine.request import utc_now

MIN_INTERVAL_SECONDS = 0.6


class Clock(Protocol):
    """Time as the live source sees it: a monotonic clock to pace calls, a sleeper, and the wall
    time (naive UTC, like every ops table) that archive entries and breakers are stamped with."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...

    def utc_now(self) -> datetime: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def utc_now(self) -> datetime:
        return utc_now()


class Throttle:
    """Keeps at least `min_interval` seconds between the starts of two calls."""

    def __init__(self, clock: Clock, min_interval: float = MIN_INTERVAL_SECONDS) -> None:
        self.clock = clock
        self.min_interval = min_interval
        self._last_start: float | None = None

    def wait(self) -> None:
        """Sleep until the next call may start, then mark it started."""
        if self._last_start is not None:
            remaining = self._last_start + self.min_interval - self.clock.monotonic()
            if remaining > 0:
                self.clock.sleep(remaining)
        self._last_start = self.clock.monotonic()


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded attempts with exponential backoff: before retry n the wait is drawn from
    [c/2, c] where c = min(max_seconds, base_seconds * 2**(n-1)) ("equal jitter")."""

    attempts: int = 4
    base_seconds: float = 1.0
    max_seconds: float = 30.0

    def backoff(self, retry: int, rng: random.Random) -> float:
        """Seconds to wait before retry number `retry` (1 for the first retry)."""
        ceiling = min(self.max_seconds, self.base_seconds * 2 ** (retry - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


DEFAULT_RETRY = RetryPolicy()
