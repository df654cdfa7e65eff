"""The decision report: how much work each processor wasted and whether entity-level pays off.

Reads only the ledger. Time is measured on the runs' game dates (so a replayed season counts
as the weeks it simulates): wasted hours = Σ duration × waste% over runs that processed entities;
weeks-to-ROI = 15 engineering hours / wasted hours per week.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

import duckdb

ROI_HOURS = 15.0
# Weeks spanned by the game dates of a group of ledger rows (at least one): the time base of the
# decision reports, so a replayed season counts as the weeks it simulates.
SPAN_WEEKS_SQL = "greatest(date_diff('day', min(start_date), max(end_date)) / 7.0, 1.0)"


@dataclass
class WasteRow:
    processor: str
    processing_mode: str
    runs: int
    avg_waste_pct: float
    wasted_hours: float
    weeks: float
    wasted_hours_per_week: float
    weeks_to_roi: float | None
    recommendation: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def recommend(avg_waste_pct: float, wasted_per_week: float, runs: int, weeks_to_roi: float | None) -> str:
    if avg_waste_pct > 30 and wasted_per_week > 2 and runs > 10 and weeks_to_roi is not None and weeks_to_roi < 8:
        return "implement entity-level"
    if avg_waste_pct > 20 and wasted_per_week > 1:
        return "monitor closely"
    return "date-level sufficient"


def waste_report(con: duckdb.DuckDBPyConnection, since: date | None) -> list[WasteRow]:
    rows = con.execute(
        f"""SELECT processor, processing_mode, count(*) AS runs, avg(waste_pct),
                  sum(duration_ms * waste_pct / 100.0) / 3600000.0,
                  {SPAN_WEEKS_SQL}
        FROM ops.processor_runs
        WHERE status IN ('success', 'partial') AND entities_processed > 0
          AND ($since IS NULL OR start_date >= $since)
        GROUP BY ALL ORDER BY processor, processing_mode""",
        {"since": since},
    ).fetchall()
    report = []
    for processor, mode, runs, avg_waste, wasted, weeks in rows:
        per_week = wasted / weeks
        to_roi = ROI_HOURS / per_week if per_week > 0 else None
        report.append(
            WasteRow(processor, mode, runs, round(avg_waste, 2), wasted, round(weeks, 2), per_week, to_roi,
                     recommend(avg_waste, per_week, runs, to_roi))
        )
    return report
