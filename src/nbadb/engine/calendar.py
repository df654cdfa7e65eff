"""The league calendar the engine reads: game dates, games per date and each date's cutoff.

The engine loads it once and again after any run that writes the tables it comes from
(raw.schedule, raw.prop_lines: every write to a processor's output goes through the engine), so
early exit answers from memory instead of scanning the schedule before every run, and as-of
processors get each date's cutoff (engine.clock) without a query.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import duckdb

from nbadb.engine.clock import OFF_SEASON_GAP_DAYS, default_cutoff

SCHEDULE_TABLE = "raw.schedule"
PROP_LINES_TABLE = "raw.prop_lines"
CALENDAR_TABLES = frozenset({SCHEDULE_TABLE, PROP_LINES_TABLE})


@dataclass(frozen=True)
class LeagueCalendar:
    dates: tuple[date, ...]  # distinct scheduled dates, ascending
    cumulative_games: tuple[int, ...]  # games on dates[0..i]
    first_tips: dict[date, datetime] = field(default_factory=dict)  # first known tip-off per date
    line_dates: frozenset[date] = frozenset()  # dates with prop lines for their games

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection) -> LeagueCalendar:
        rows = con.execute(
            f"SELECT game_date, count(*), min(tip_time_utc) FROM {SCHEDULE_TABLE} GROUP BY 1 ORDER BY 1"
        ).fetchall()
        lines = con.execute(f"SELECT game_date, min(tip_time_utc) FROM {PROP_LINES_TABLE} GROUP BY 1").fetchall()
        total, cumulative = 0, []
        for _, games, _ in rows:
            total += games
            cumulative.append(total)
        tips = {d: tip for d, tip in lines if tip is not None}
        tips.update({d: tip for d, _, tip in rows if tip is not None and (d not in tips or tip < tips[d])})
        return cls(tuple(d for d, _, _ in rows), tuple(cumulative), tips, frozenset(d for d, _ in lines))

    def games_between(self, start: date, end: date) -> int:
        lo, hi = bisect_left(self.dates, start), bisect_right(self.dates, end)
        if hi <= lo:
            return 0
        return self.cumulative_games[hi - 1] - (self.cumulative_games[lo - 1] if lo else 0)

    def lines_between(self, start: date, end: date) -> bool:
        return any(start <= d <= end for d in self.line_dates)

    def last_before(self, day: date) -> date | None:
        i = bisect_left(self.dates, day)
        return self.dates[i - 1] if i else None

    def first_after(self, day: date) -> date | None:
        i = bisect_right(self.dates, day)
        return self.dates[i] if i < len(self.dates) else None

    def latest_on_or_before(self, day: date) -> date | None:
        i = bisect_right(self.dates, day)
        return self.dates[i - 1] if i else None

    def cutoff(self, day: date) -> datetime:
        """Before this instant a snapshot for `day` is taken (engine.clock)."""
        return self.first_tips.get(day) or default_cutoff(day)

    def is_live(self, today: date) -> bool:
        """A scheduled game within OFF_SEASON_GAP_DAYS of `today`: the season is on."""
        gap = timedelta(days=OFF_SEASON_GAP_DAYS)
        before, after = self.latest_on_or_before(today), self.first_after(today)
        return (before is not None and today - before <= gap) or (after is not None and after - today <= gap)
