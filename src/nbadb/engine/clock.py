"""Time in the warehouse's world: when facts become known, and when a date's snapshot is due.

Words defined here:
- publication time (`known_at`): when a version of a fact became known. The archive's publication
  model, which a replay reveals day by day: a date's schedule at that date's morning, a finished
  game's box score at that date's night, an injury move at the night of its date, a prop line at
  its snapshot time, a correction when it is published.
- morning(D): 12:00 UTC of D (08:00 ET), before any tip-off; night(D): 06:00 UTC of D+1, after
  every game of D has ended.
- cutoff(D): the first tip-off on D (from the schedule, else from the prop lines' tip times), else
  23:00 UTC of D (7 pm ET). An as-of snapshot for D reads only what was published before its
  cutoff and is frozen once the clock has passed it (engine.calendar has the cutoffs).
- the warehouse clock: "now" for a run. A replay sets the simulated instant; otherwise it is the
  wall clock while the season is live (a scheduled game within OFF_SEASON_GAP_DAYS of today),
  else the latest publication time the warehouse holds: a historical warehouse's world stopped
  at its last publication, so a correction published today comes right after it.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import duckdb

MORNING = time(12)
NIGHT_NEXT_DAY = time(6)
DEFAULT_TIP = time(23)
# A date without games is off-season (not a mid-season break such as the All-Star break) when the
# league calendar has no game within this many days on either side of it.
OFF_SEASON_GAP_DAYS = 14


EASTERN = ZoneInfo("America/New_York")  # game dates are US Eastern dates


def eastern_date(instant: datetime) -> date:
    """The US Eastern date of a (naive, UTC) instant."""
    return instant.replace(tzinfo=timezone.utc).astimezone(EASTERN).date()


def morning(day: date) -> datetime:
    return datetime.combine(day, MORNING)


def night(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), NIGHT_NEXT_DAY)


def default_cutoff(day: date) -> datetime:
    return datetime.combine(day, DEFAULT_TIP)


def morning_sql(day: str) -> str:
    """SQL: morning(`day`) for a DATE expression."""
    return f"(CAST({day} AS TIMESTAMP) + INTERVAL {MORNING.hour} HOUR)"


def night_sql(day: str) -> str:
    """SQL: night(`day`) for a DATE expression."""
    return f"(CAST({day} AS TIMESTAMP) + INTERVAL 1 DAY + INTERVAL {NIGHT_NEXT_DAY.hour} HOUR)"


def latest_publication(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """The latest publication time the warehouse holds (ops.publication_clock, appended by raw runs)."""
    return con.execute("SELECT max(latest_known_at) FROM ops.publication_clock").fetchall()[0][0]


def warehouse_clock(con: duckdb.DuckDBPyConnection, live: bool, wall: datetime) -> datetime:
    """"Now" for a run nobody gave an instant: the wall clock when `live`, else the latest
    publication (never before it: a new fact cannot be older than what is already known)."""
    latest = latest_publication(con)
    if live or latest is None:
        return max(wall, latest) if latest else wall
    return latest
