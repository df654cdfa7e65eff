"""The league calendar early exit reads: the game dates raw.schedule lists.

The engine loads it once and loads it again after any run that writes raw.schedule (every write
to a processor's output goes through the engine, and DuckDB lets one process write the file), so
the pre-check answers from memory instead of scanning the schedule before every run.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date

import duckdb

SCHEDULE_TABLE = "raw.schedule"


@dataclass(frozen=True)
class LeagueCalendar:
    dates: tuple[date, ...]  # distinct scheduled dates, ascending
    cumulative_games: tuple[int, ...]  # games on dates[0..i]

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection) -> LeagueCalendar:
        rows = con.execute(f"SELECT game_date, count(*) FROM {SCHEDULE_TABLE} GROUP BY 1 ORDER BY 1").fetchall()
        total, cumulative = 0, []
        for _, games in rows:
            total += games
            cumulative.append(total)
        return cls(tuple(d for d, _ in rows), tuple(cumulative))

    def games_between(self, start: date, end: date) -> int:
        lo, hi = bisect_left(self.dates, start), bisect_right(self.dates, end)
        if hi <= lo:
            return 0
        return self.cumulative_games[hi - 1] - (self.cumulative_games[lo - 1] if lo else 0)

    def last_before(self, day: date) -> date | None:
        i = bisect_left(self.dates, day)
        return self.dates[i - 1] if i else None

    def first_after(self, day: date) -> date | None:
        i = bisect_right(self.dates, day)
        return self.dates[i] if i < len(self.dates) else None

    def latest_on_or_before(self, day: date) -> date | None:
        i = bisect_right(self.dates, day)
        return self.dates[i - 1] if i else None
