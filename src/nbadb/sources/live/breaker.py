"""One durable circuit breaker per stats.nba.com endpoint (ops.circuit_breakers, kind "source",
key `source:nba_api:<endpoint>`), on the engine's breaker state machine."""

from __future__ import annotations

from datetime import datetime

import duckdb

from nbadb.engine import breakers
from nbadb.engine.breakers import BreakerPolicy
from nbadb.sources.live.errors import BreakerOpenError


def breaker_key(endpoint: str) -> str:
    return f"source:nba_api:{endpoint}"


class EndpointBreakers:
    """Refuses calls to an endpoint whose breaker is open, and records each call's outcome."""

    def __init__(self, con: duckdb.DuckDBPyConnection, policy: BreakerPolicy) -> None:
        self.con = con
        self.policy = policy

    def refuse_if_open(self, endpoint: str, now: datetime) -> None:
        """Raise BreakerOpenError when the endpoint's breaker is open at `now` (HALF_OPEN lets a probe through)."""
        key = breaker_key(endpoint)
        breaker = breakers.read(self.con, key, "source")
        if not breaker.allows(now):
            raise BreakerOpenError(
                f"breaker {key} is open until {breaker.retry_at:%Y-%m-%d %H:%M:%S} UTC after "
                f"{breaker.consecutive_failures} consecutive failures (last: {breaker.last_error}); no request "
                f"was made. Try again after that time, or close it with `nbadb breakers reset {key}`."
            )

    def record(self, endpoint: str, *, ok: bool, now: datetime, error: str | None = None) -> None:
        breakers.record(self.con, breaker_key(endpoint), self.policy, ok=ok, error=error, kind="source", now=now)
