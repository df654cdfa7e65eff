"""As-of snapshots: each date's cutoff, the run's snapshots, and the dates that are frozen.

An as-of processor's rows for date D use only what was published before cutoff(D) (engine.clock).
It reads a current-truth input through `known_view(table)` (engine.spec) as if it were a plain
table, filtering on dates only ("games before D"), so it can use windows and ASOF joins freely;
the engine makes that view hold exactly the versions published at the cutoffs being computed.

A run's dates are computed in snapshots (`Snapshot`): consecutive dates at whose cutoffs every
input row has the same visibility. A row version is visible at cutoff c when
known_at < c <= superseded_at (no superseded_at: still current). A version published in time
(before the cutoff of the first date that reads it: its date + the input's lag_days) and never
superseded is visible to every date that reads it, so only the other versions' publication and
supersession instants ("transitions") can set two dates apart: dates whose cutoffs have the same
transitions before them share a snapshot. An input read only on its row's own date
(`InputSpec.read_on_its_date`) is checked row by row against that date's cutoff instead, and
never splits a run. A backfill of history published on time is one snapshot;
a correction published mid-season splits the run at its publication. For each snapshot the engine
recreates temp table `_as_of(game_date, cutoff)` with the snapshot's dates and the known views, and
runs the processor's SQL over the snapshot's dates.

Frozen: a date whose cutoff the run's clock has passed and for which the processor has written
rows. What was said before tip-off stays said: a frozen date is never written again, whatever
changes later (a correction reaches only the dates after its publication). A past date the
processor never wrote (a gap, a backfill) is computed, from what was known at its cutoff.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import duckdb

from nbadb.engine.calendar import LeagueCalendar
from nbadb.engine.spec import InputSpec, ProcessorSpec, known_view


@dataclass(frozen=True)
class Snapshot:
    """Consecutive dates of a run whose inputs are read in one published state (module docstring)."""

    start: date
    end: date
    cutoffs: tuple[datetime, ...]  # of each date from start to end

    @property
    def params(self) -> dict[str, date]:
        return {"start": self.start, "end": self.end}


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def prepare_cutoffs(con: duckdb.DuckDBPyConnection, calendar: LeagueCalendar, start: date, end: date) -> None:
    """(Re)create temp table _as_of with the cutoff of every date in [start, end]."""
    dates = days(start, end)
    _write_cutoffs(con, dates, [calendar.cutoff(d) for d in dates])


def _write_cutoffs(con: duckdb.DuckDBPyConnection, dates: list[date], cutoffs: list[datetime]) -> None:
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _as_of AS SELECT unnest($d)::DATE AS game_date, unnest($c)::TIMESTAMP AS cutoff",
        {"d": dates, "c": cutoffs},
    )


def _transitions_sql(table: InputSpec) -> str:
    """The transition instants of one input among the rows the run's dates read (module docstring).
    `_first_reader` gives each date of the run the earliest cutoff of the dates from it on."""
    read_from = f'v."{table.date_column}" + {table.lag_days}'
    return f"""
        SELECT v.known_at AS instant FROM {table.table}_versions v
        LEFT JOIN _first_reader r ON r.game_date = greatest({read_from}, $start)
        WHERE {read_from} <= $end AND v.known_at >= $first
          AND (v.superseded_at IS NOT NULL OR v.known_at >= r.cutoff)
        UNION ALL
        SELECT v.superseded_at FROM {table.table}_versions v
        WHERE v.superseded_at >= $first AND {read_from} <= $end"""


def snapshots(con: duckdb.DuckDBPyConnection, spec: ProcessorSpec, start: date, end: date) -> list[Snapshot]:
    """The run's dates [start, end] split into snapshots (reads `_as_of` as prepare_cutoffs left it)."""
    rows = con.execute("SELECT game_date, cutoff FROM _as_of ORDER BY game_date").fetchall()
    dates, cutoffs = [d for d, _ in rows], [c for _, c in rows]
    instants: list[datetime] = []
    spanning = [i for i in spec.known_inputs if not i.read_on_its_date]
    if spanning and len(dates) > 1:
        con.execute("""CREATE OR REPLACE TEMP TABLE _first_reader AS
            SELECT game_date, min(cutoff) OVER (ORDER BY game_date DESC ROWS UNBOUNDED PRECEDING) AS cutoff
            FROM _as_of""")
        found = con.execute(
            f"SELECT DISTINCT instant FROM ({' UNION ALL '.join(_transitions_sql(i) for i in spanning)}) t "
            "WHERE instant < $last ORDER BY instant",
            {"start": start, "end": end, "first": min(cutoffs), "last": max(cutoffs)},
        ).fetchall()
        instants = [t for (t,) in found]
    split: list[Snapshot] = []
    first = 0
    for i in range(1, len(dates) + 1):
        if i == len(dates) or bisect_left(instants, cutoffs[i]) != bisect_left(instants, cutoffs[first]):
            split.append(Snapshot(dates[first], dates[i - 1], tuple(cutoffs[first:i])))
            first = i
    return split


def prepare_snapshot(con: duckdb.DuckDBPyConnection, spec: ProcessorSpec, snapshot: Snapshot) -> None:
    """`_as_of` holds the snapshot's dates and each known view the versions visible at its cutoffs
    (all alike for the rows its dates read; the latest cutoff stands for them)."""
    _write_cutoffs(con, days(snapshot.start, snapshot.end), list(snapshot.cutoffs))
    latest = f"TIMESTAMP '{max(snapshot.cutoffs).isoformat(sep=' ')}'"
    for i in spec.known_inputs:
        source, cutoff = f"{i.table}_versions v", latest
        if i.read_on_its_date:
            source += f' JOIN _as_of a ON a.game_date = v."{i.date_column}" + {i.lag_days}'
            cutoff = "a.cutoff"
        con.execute(
            f"""CREATE OR REPLACE TEMP VIEW {known_view(i.table)} AS
            SELECT v.* EXCLUDE (superseded_at, superseded_by) FROM {source}
            WHERE v.known_at < {cutoff} AND (v.superseded_at IS NULL OR v.superseded_at >= {cutoff})"""
        )


def frozen_dates(
    con: duckdb.DuckDBPyConnection, spec: ProcessorSpec, calendar: LeagueCalendar, start: date, end: date,
    clock: datetime,
) -> list[date]:
    """Dates in [start, end] whose cutoff is at or before `clock` and that already have rows, or that
    have no game scheduled and no line: an as-of row is a game's, so nothing was said for such a
    date and nothing can be said once its cutoff has passed (a game scheduled on it later makes it
    a game date with no rows, computed like any other)."""
    past = [d for d in days(start, end) if calendar.cutoff(d) <= clock]
    if not past:
        return []
    rows = con.execute(
        f'SELECT DISTINCT "{spec.date_column}" FROM {spec.output_table} WHERE "{spec.date_column}" BETWEEN $s AND $e',
        {"s": past[0], "e": past[-1]},
    ).fetchall()
    no_game = {d for d in past if not calendar.games_between(d, d) and d not in calendar.line_dates}
    return sorted({d for (d,) in rows} | no_game)
