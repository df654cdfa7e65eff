"""As-of snapshots: each date's cutoff for the transforms, and the dates that are frozen.

An as-of processor's rows for date D use only what was published before cutoff(D) (engine.clock).
Before its change detection the engine gives the run a temp table `_as_of(game_date, cutoff)` with
the cutoff of every date of the run; the processor's SQL reads its versioned inputs through
`<table>_versions` restricted to the rows known at that cutoff (pipeline.point_in_time.known_at).

Frozen: a date whose cutoff the run's clock has passed and for which the processor has written
rows. What was said before tip-off stays said: a frozen date is never written again, whatever
changes later (a correction reaches only the dates after its publication). A past date the
processor never wrote (a gap, a backfill) is computed, from what was known at its cutoff.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb

from nbadb.engine.calendar import LeagueCalendar
from nbadb.engine.spec import ProcessorSpec


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def prepare_cutoffs(con: duckdb.DuckDBPyConnection, calendar: LeagueCalendar, start: date, end: date) -> None:
    """(Re)create temp table _as_of with the cutoff of every date in [start, end]."""
    dates = days(start, end)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _as_of AS SELECT unnest($d)::DATE AS game_date, unnest($c)::TIMESTAMP AS cutoff",
        {"d": dates, "c": [calendar.cutoff(d) for d in dates]},
    )


def frozen_dates(
    con: duckdb.DuckDBPyConnection, spec: ProcessorSpec, calendar: LeagueCalendar, start: date, end: date,
    clock: datetime,
) -> list[date]:
    """Dates in [start, end] whose cutoff is at or before `clock` and that already have rows."""
    past = [d for d in days(start, end) if calendar.cutoff(d) <= clock]
    if not past:
        return []
    rows = con.execute(
        f'SELECT DISTINCT "{spec.date_column}" FROM {spec.output_table} WHERE "{spec.date_column}" BETWEEN $s AND $e',
        {"s": past[0], "e": past[-1]},
    ).fetchall()
    return sorted(d for (d,) in rows)
