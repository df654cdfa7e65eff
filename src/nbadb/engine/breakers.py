"""Durable circuit breakers: one table (`ops.circuit_breakers`), one writer, state read fresh.

A breaker guards something that can fail repeatedly (a prediction system, a processor, an endpoint
of a live source). Its state machine (after pybreaker / resilience4j):

- CLOSED: calls go through; `failures_to_open` consecutive failures open it.
- OPEN: calls are refused until `retry_at`; then it is HALF_OPEN (derived from the clock, so two
  processes reading the table at the same moment agree without either writing).
- HALF_OPEN: calls go through as probes; `successes_to_close` consecutive successes close it, one
  failure re-opens it with the timeout doubled (capped at `max_timeout_seconds`).

Every decision reads the row from the table (never a cached copy), and every outcome is written
with one upsert inside the caller's transaction, so the state survives restarts and is the same
for every process that opens the warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Callable, Literal

import duckdb

from nbadb.config import Settings
from nbadb.engine.request import utc_now
from nbadb.errors import ConfigError
from nbadb.warehouse.transactions import committed

# The longest an operator may force a breaker open for (`nbadb breakers open --minutes`): a year,
# a season off at most; `breakers reset` closes it sooner.
OPERATOR_OPEN_MAX_MINUTES = 366 * 24 * 60

State = Literal["CLOSED", "OPEN", "HALF_OPEN"]
Kind = Literal["system", "processor", "source"]


@dataclass(frozen=True)
class BreakerPolicy:
    """Thresholds of one breaker. Defaults come from Settings (NBADB_BREAKER_*)."""

    failures_to_open: int
    successes_to_close: int
    timeout_seconds: float
    max_timeout_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> BreakerPolicy:
        """The configured policy (NBADB_BREAKER_*)."""
        return cls(
            failures_to_open=settings.breaker_failures_to_open,
            successes_to_close=settings.breaker_successes_to_close,
            timeout_seconds=settings.breaker_timeout_seconds,
            max_timeout_seconds=settings.breaker_max_timeout_seconds,
        )


@dataclass(frozen=True)
class Breaker:
    """One row of ops.circuit_breakers (a key never seen is a fresh CLOSED breaker)."""

    key: str
    kind: str
    state: State = "CLOSED"
    consecutive_failures: int = 0
    consecutive_successes: int = 0
    times_opened: int = 0
    opened_at: datetime | None = None
    retry_at: datetime | None = None
    last_error: str | None = None
    updated_at: datetime | None = None

    def state_at(self, now: datetime) -> State:
        """The state a decision at `now` sees: an OPEN breaker whose timeout passed is HALF_OPEN."""
        if self.state == "OPEN" and self.retry_at is not None and now >= self.retry_at:
            return "HALF_OPEN"
        return self.state

    def allows(self, now: datetime) -> bool:
        return self.state_at(now) != "OPEN"


@dataclass(frozen=True)
class Transition:
    """What recording one outcome did: the state before (as decided) and the row after."""

    before: State
    after: Breaker

    @property
    def opened(self) -> bool:
        return self.after.state == "OPEN" and self.before != "OPEN"

    @property
    def closed(self) -> bool:
        return self.after.state == "CLOSED" and self.before != "CLOSED"


_COLUMNS = (
    "breaker_key, kind, state, consecutive_failures, consecutive_successes, times_opened, "
    "opened_at, retry_at, last_error, updated_at"
)


def read(con: duckdb.DuckDBPyConnection, key: str, kind: Kind = "system") -> Breaker:
    """The breaker's current row, read from the table (CLOSED when it was never written)."""
    rows = con.execute(f"SELECT {_COLUMNS} FROM ops.circuit_breakers WHERE breaker_key = ?", [key]).fetchall()
    return Breaker(*rows[0]) if rows else Breaker(key, kind)


def list_breakers(con: duckdb.DuckDBPyConnection, kind: Kind | None = None) -> list[Breaker]:
    """Every breaker row (of one kind when given), by key."""
    where, params = ("WHERE kind = ?", [kind]) if kind else ("", [])
    rows = con.execute(f"SELECT {_COLUMNS} FROM ops.circuit_breakers {where} ORDER BY breaker_key", params).fetchall()
    return [Breaker(*r) for r in rows]


def next_state(
    current: Breaker, policy: BreakerPolicy, *, ok: bool, error: str | None, now: datetime
) -> Transition:
    """Pure state machine: the row after one outcome observed at `now`."""
    before = current.state_at(now)
    b = replace(current, updated_at=now)
    if ok:
        successes = current.consecutive_successes + 1 if before == current.state else 1
        if before == "CLOSED" or successes >= policy.successes_to_close:
            b = replace(b, state="CLOSED", consecutive_failures=0, consecutive_successes=successes,
                        opened_at=None, retry_at=None)
        else:
            b = replace(b, state="HALF_OPEN", consecutive_failures=0, consecutive_successes=successes)
        return Transition(before, b)
    failures = current.consecutive_failures + 1
    b = replace(b, consecutive_failures=failures, consecutive_successes=0, last_error=error)
    if before == "CLOSED" and failures < policy.failures_to_open:
        return Transition(before, b)
    if before == "CLOSED":
        timeout = policy.timeout_seconds
    else:  # a failed probe (or a call forced through an open breaker): back off
        opened_for = current.retry_at - current.opened_at if current.opened_at and current.retry_at else None
        previous = opened_for.total_seconds() if opened_for else 0
        timeout = min(max(2 * previous, policy.timeout_seconds), policy.max_timeout_seconds)
    b = replace(b, state="OPEN", times_opened=current.times_opened + 1, opened_at=now,
                retry_at=now + timedelta(seconds=timeout))
    return Transition(before, b)


def _upsert(con: duckdb.DuckDBPyConnection, b: Breaker) -> None:
    """Write breaker row `b` (insert, or replace the row with its key). A MERGE, not ON CONFLICT:
    DuckLake tables (the storage track's lake) have no primary key to conflict on."""
    con.execute(
        f"""MERGE INTO ops.circuit_breakers t
        USING (SELECT ? AS breaker_key, ? AS kind, ? AS state, ? AS consecutive_failures,
                      ? AS consecutive_successes, ? AS times_opened, ?::TIMESTAMP AS opened_at,
                      ?::TIMESTAMP AS retry_at, ?::VARCHAR AS last_error, ?::TIMESTAMP AS updated_at) s
        ON t.breaker_key = s.breaker_key
        WHEN MATCHED THEN UPDATE SET
            kind = s.kind, state = s.state, consecutive_failures = s.consecutive_failures,
            consecutive_successes = s.consecutive_successes, times_opened = s.times_opened,
            opened_at = s.opened_at, retry_at = s.retry_at, last_error = s.last_error, updated_at = s.updated_at
        WHEN NOT MATCHED THEN INSERT ({_COLUMNS}) VALUES (s.breaker_key, s.kind, s.state, s.consecutive_failures,
            s.consecutive_successes, s.times_opened, s.opened_at, s.retry_at, s.last_error, s.updated_at)""",
        [b.key, b.kind, b.state, b.consecutive_failures, b.consecutive_successes, b.times_opened,
         b.opened_at, b.retry_at, b.last_error, b.updated_at],
    )


def record(
    con: duckdb.DuckDBPyConnection,
    key: str,
    policy: BreakerPolicy,
    *,
    ok: bool,
    error: str | None = None,
    kind: Kind = "system",
    now: datetime | None = None,
) -> Transition:
    """Record one outcome: read the row fresh, apply the state machine, upsert it. A success on a
    recorded CLOSED breaker without failures writes nothing: there is nothing to remember.

    Call inside the caller's transaction (the run's terminal transaction), so the breaker moves
    exactly when the run's ledger row is written."""
    now = now or utc_now()
    current = read(con, key, kind)
    transition = next_state(current, policy, ok=ok, error=error, now=now)
    if not (ok and current.updated_at is not None and current.state == "CLOSED" and not current.consecutive_failures):
        _upsert(con, transition.after)
    return transition


# -- operator actions (`nbadb breakers reset|open`) ---------------------------------------------


def _operator_write(
    con: duckdb.DuckDBPyConnection, key: str, kind: Kind, change: Callable[[Breaker, datetime], Breaker],
    now: datetime,
) -> Breaker:
    """Read the row, apply `change` at `now`, upsert it: one transaction of its own (call outside any other)."""

    def write() -> Breaker:
        after = change(read(con, key, kind), now)
        _upsert(con, after)
        return after

    return committed(con, write)


def reset(con: duckdb.DuckDBPyConnection, key: str, now: datetime) -> Breaker:
    """Close breaker `key` at `now` (the warehouse clock) and zero its consecutive counters;
    `times_opened` and `last_error` stay as history. Raises ConfigError when no breaker `key` was
    ever recorded."""

    def close(current: Breaker, now: datetime) -> Breaker:
        if current.updated_at is None:
            raise ConfigError(f"no breaker {key!r} in ops.circuit_breakers; see `nbadb breakers list`")
        return replace(current, state="CLOSED", consecutive_failures=0, consecutive_successes=0,
                       opened_at=None, retry_at=None, updated_at=now)

    return _operator_write(con, key, "system", close, now)


def force_open(con: duckdb.DuckDBPyConnection, key: str, kind: Kind, minutes: float, now: datetime) -> Breaker:
    """Open breaker `key` at `now` (the warehouse clock: the clock its runs count on) for `minutes`
    whatever its state (creating it with `kind` if new). After that it is HALF_OPEN like any
    other: the next run is a probe."""

    def open_(current: Breaker, now: datetime) -> Breaker:
        return replace(current, state="OPEN", consecutive_successes=0, times_opened=current.times_opened + 1,
                       opened_at=now, retry_at=now + timedelta(minutes=minutes),
                       last_error=f"opened by an operator for {minutes:g} minutes", updated_at=now)

    return _operator_write(con, key, kind, open_, now)
