"""The game calendar `nbadb serve` plans from: per date, how many games and when they tip off.

It comes from the source's files, not from the warehouse, which learns a date's schedule only at
that date's morning publication: schedule rows (with tip times), team game logs for seasons without
a schedule file, and prop lines (whose events carry tip times). The control plane's gates count
game-weeks on the same calendar (rollout.gates).

Words defined here:
- game day: a date (US Eastern, as `game_date` everywhere) with at least one game;
- first tip / last tip: the earliest and latest known tip-off of the day, in UTC. A day whose tip
  times are unknown tips first at engine.clock's default cutoff and last at LATEST_TIP.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import duckdb
import polars as pl

from nbadb.engine.clock import default_cutoff
from nbadb.sources.archive import ArchiveSource

# The latest regular tip-off of an NBA evening, 10:30 pm Eastern (02:30/03:30 UTC the next day).
LATEST_TIP = time(3, 30)


@dataclass(frozen=True)
class GameDay:
    day: date
    games: int
    first_tip: datetime  # UTC, naive like every instant in the warehouse
    last_tip: datetime


def latest_tip(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), LATEST_TIP)


def _per_day(frames: list[pl.DataFrame], name: str) -> pl.DataFrame:
    """Distinct games per day of (day, game) frames."""
    if not frames:
        return pl.DataFrame(schema={"day": pl.Date, name: pl.UInt32})
    return pl.concat(frames).drop_nulls().unique().group_by("day").agg(pl.len().alias(name))


def archive_game_days(source: ArchiveSource) -> dict[date, GameDay]:
    """Every game day of the archive: games counted from the schedule and team logs (else from the
    prop lines' events), tips from the schedule and the prop lines."""
    games: list[pl.DataFrame] = []
    events: list[pl.DataFrame] = []
    tips: list[pl.DataFrame] = []
    for kind in ("schedule", "team_logs"):
        for _, rows in source.checked(kind) if source.available(kind) else ():
            games.append(rows.select(pl.col("_date").alias("day"), pl.col("GAME_ID").alias("game")))
            if kind == "schedule":
                tips.append(rows.select(
                    pl.col("_date").alias("day"),
                    pl.col("GAME_DATETIME_UTC").str.replace("Z", "").str.to_datetime(strict=False).alias("tip")))
    for _, rows in source.checked("props") if source.available("props") else ():
        events.append(rows.select(pl.col("_date").alias("day"), pl.col("GAME").alias("game")))
        tips.append(rows.select(pl.col("_date").alias("day"), pl.col("GAME_TIME").dt.replace_time_zone(None).alias("tip")))
    counted = _per_day(games, "games").join(_per_day(events, "events"), on="day", how="full", coalesce=True)
    known = (pl.concat(tips).drop_nulls().group_by("day").agg(pl.col("tip").min().alias("first"),
                                                               pl.col("tip").max().alias("last"))
             if tips else pl.DataFrame(schema={"day": pl.Date, "first": pl.Datetime, "last": pl.Datetime}))
    days = {}
    for day, count, lined, first, last in counted.join(known, on="day", how="left").iter_rows():
        days[day] = GameDay(day, count or lined, first or default_cutoff(day), last or latest_tip(day))
    return days


def archive_calendar(folder: Path, cache_dir: Path) -> dict[date, GameDay]:
    """`archive_game_days` of the archive at `folder`, read on a session of its own (its files'
    checks kept in `cache_dir`, as a workspace keeps them)."""
    with duckdb.connect() as con:
        return archive_game_days(ArchiveSource(folder, con, cache_dir=cache_dir))
