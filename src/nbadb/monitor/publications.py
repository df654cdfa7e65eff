"""Unpublished days: days inside a season's published span that no publication covered.

A table is *published* on a day when a run of its raw processor covered the day (start_date <= day
<= end_date) without failing or being held back (an open breaker, a stale input); a skip for
"nothing of its kind that day" counts, the source was asked. Corrections do not count: they publish
one game of a day, not the day. Only the day's own publications are looked at (the morning's
schedule and lines, the night's box scores and injury moves: pipeline.raw MORNING_TABLES and
NIGHT_TABLES).

A season's *published span* runs from its first to its last published day (any of those tables;
seasons as point_in_time.season_of_date_sql labels them), and a table belongs to a season once it
was published on one of its days. An *unpublished day* is a day of the span whose night has passed
at the warehouse clock and on which a table of its season was never published: a replay started a
day late, a publication whose file was rejected and never retried, a serve that was down overnight.
Whatever the source released that day is not in the warehouse and no form, feature or evaluation
knows of it; `gaps` cannot see it either, since it looks for dates whose upstream rows exist.
The days between seasons are no one's span, so the off-season is never an unpublished day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import duckdb

from nbadb.engine.clock import night_sql
from nbadb.engine.vocabulary import SkipReason
from nbadb.pipeline.point_in_time import season_of_date_sql
from nbadb.pipeline.raw import MORNING_TABLES, NIGHT_TABLES, SAME_PUBLICATION

DAY_TABLES = tuple(sorted(MORNING_TABLES | NIGHT_TABLES))


def _publication(processor: str) -> str:
    """SQL: the day's table a processor publishes (the box scores under either contract are one)."""
    return f"CASE {processor} " + " ".join(f"WHEN '{a}' THEN '{b}'" for a, b in SAME_PUBLICATION.items()) \
        + f" ELSE {processor} END"
_HELD_BACK = tuple(r.value for r in SkipReason if r.deferred)


@dataclass(frozen=True)
class UnpublishedDay:
    """A day of `season`'s published span on which `tables` were never published (`all_tables`: every
    table of the season, so nothing at all was published that day)."""

    season: str
    day: date
    tables: tuple[str, ...]
    all_tables: bool


# (processor, day) for every day a table of DAY_TABLES was published on (parameters $tables, $held_back).
_COVERED = f"""SELECT DISTINCT {_publication('processor')} AS processor,
           unnest(range(start_date::TIMESTAMP, end_date::TIMESTAMP + INTERVAL 1 DAY, INTERVAL 1 DAY))::DATE AS day
    FROM ops.processor_runs
    WHERE list_contains($tables, processor) AND start_date IS NOT NULL AND status <> 'failed'
      AND NOT list_contains($held_back, coalesce(skip_reason, ''))
      AND trigger_source IS DISTINCT FROM 'correction'"""
_PARAMS = {"tables": list(DAY_TABLES), "held_back": list(_HELD_BACK)}


def published_days(con: duckdb.DuckDBPyConnection, first: date, last: date) -> set[date]:
    """The days of [first, last] on which any of the day's tables was published."""
    rows = con.execute(f"SELECT DISTINCT day FROM ({_COVERED}) WHERE day BETWEEN $first AND $last",
                       {**_PARAMS, "first": first, "last": last}).fetchall()
    return {d for (d,) in rows}


def unpublished_days(con: duckdb.DuckDBPyConnection, clock: datetime) -> list[UnpublishedDay]:
    """Every unpublished day whose night has passed at `clock`, in date order."""
    rows = con.execute(
        f"""WITH covered AS ({_COVERED}),
        seasoned AS (SELECT *, {season_of_date_sql('day')} AS season FROM covered),
        spans AS (SELECT season, min(day) AS first_day, max(day) AS last_day FROM seasoned GROUP BY season),
        fed AS (SELECT DISTINCT season, processor FROM seasoned),
        expected AS (
            SELECT f.season, f.processor,
                   unnest(range(p.first_day::TIMESTAMP, p.last_day::TIMESTAMP + INTERVAL 1 DAY,
                                INTERVAL 1 DAY))::DATE AS day
            FROM fed f JOIN spans p USING (season))
        SELECT e.season, e.day, list(e.processor ORDER BY e.processor),
               count(*) = (SELECT count(*) FROM fed f WHERE f.season = e.season)
        FROM expected e ANTI JOIN covered c USING (processor, day)
        WHERE {night_sql('e.day')} <= $clock
        GROUP BY e.season, e.day ORDER BY e.day""",
        {**_PARAMS, "clock": clock},
    ).fetchall()
    return [UnpublishedDay(season, day, tuple(tables), every) for season, day, tables, every in rows]
