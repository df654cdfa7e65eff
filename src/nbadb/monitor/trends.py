"""The monitoring `nbadb serve` takes on schedule, kept in ops with its date so trends over weeks can
be read: the health check every morning (`ops.health_checks`) and, every Monday, the waste and
pattern reports (`ops.weekly_reports`: headline figures in typed columns, the full reports as JSON).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import duckdb

from nbadb.monitor.health import HealthReport
from nbadb.monitor.patterns import PatternsReport
from nbadb.monitor.waste import WasteReport


def record_health(con: duckdb.DuckDBPyConnection, day: date, report: HealthReport) -> None:
    problems = sum(f.severity == "problem" for f in report.findings)
    warnings = sum(f.severity == "warning" for f in report.findings)
    con.execute(
        """INSERT INTO ops.health_checks (check_date, checked_at, healthy, problems, warnings, findings)
        VALUES (?, ?, ?, ?, ?, ?)""",
        [day, report.checked_at, report.healthy, problems, warnings, json.dumps(report.as_dict()["findings"])],
    )


def record_weekly(con: duckdb.DuckDBPyConnection, day: date, taken_at: datetime, waste: WasteReport,
                  patterns: PatternsReport) -> None:
    work = sum(p.work_seconds for p in waste.processors)
    wasted = sum(p.wasted_seconds for p in waste.processors)
    processed = sum(p.entities_processed for p in waste.processors)
    changed = sum(p.entities_changed for p in waste.processors)
    con.execute(
        """INSERT INTO ops.weekly_reports (report_date, taken_at, runs, work_seconds, wasted_seconds, waste_pct,
                                           runs_saved, patterns_fired, waste, patterns)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [day, taken_at, patterns.runs, work, wasted, 100.0 * (processed - changed) / processed if processed else None,
         sum(p.runs_saved or 0 for p in patterns.patterns), sum(p.fired for p in patterns.patterns),
         json.dumps(waste.as_dict(), default=str), json.dumps(patterns.as_dict(), default=str)],
    )


def health_trend(con: duckdb.DuckDBPyConnection, limit: int = 120) -> list[dict[str, Any]]:
    rows = con.execute(
        """SELECT check_date, checked_at, healthy, problems, warnings FROM ops.health_checks
        ORDER BY check_date DESC, checked_at DESC LIMIT ?""", [limit]).fetchall()
    return [dict(zip(("check_date", "checked_at", "healthy", "problems", "warnings"), r)) for r in reversed(rows)]


def latest_health(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    rows = con.execute(
        "SELECT check_date, checked_at, healthy, problems, warnings, findings FROM ops.health_checks "
        "ORDER BY check_date DESC, checked_at DESC LIMIT 1").fetchall()
    if not rows:
        return None
    keys = ("check_date", "checked_at", "healthy", "problems", "warnings", "findings")
    found = dict(zip(keys, rows[0]))
    found["findings"] = json.loads(found["findings"])
    return found


WEEKLY_COLUMNS = ("report_date", "taken_at", "runs", "work_seconds", "wasted_seconds", "waste_pct", "runs_saved",
                  "patterns_fired")


def weekly_trend(con: duckdb.DuckDBPyConnection, limit: int = 52) -> list[dict[str, Any]]:
    rows = con.execute(
        f"SELECT {', '.join(WEEKLY_COLUMNS)} FROM ops.weekly_reports ORDER BY report_date DESC, taken_at DESC LIMIT ?",
        [limit]).fetchall()
    return [dict(zip(WEEKLY_COLUMNS, r)) for r in reversed(rows)]


def processor_waste_trend(con: duckdb.DuckDBPyConnection, limit: int = 52) -> list[dict[str, Any]]:
    """Per weekly report and processor: its waste % (from the stored waste report)."""
    rows = con.execute(
        """WITH recent AS (SELECT report_date, waste FROM ops.weekly_reports ORDER BY report_date DESC LIMIT ?)
        SELECT report_date, p->>'processor', TRY_CAST(p->>'waste_pct' AS DOUBLE)
        FROM recent, unnest(from_json(waste->'processors', '["JSON"]')) AS t(p) ORDER BY report_date""",
        [limit]).fetchall()
    return [{"report_date": d, "processor": p, "waste_pct": w} for d, p, w in rows]


def pattern_trend(con: duckdb.DuckDBPyConnection, limit: int = 52) -> list[dict[str, Any]]:
    """Per weekly report and processing pattern: the runs it fired in."""
    rows = con.execute(
        """WITH recent AS (SELECT report_date, patterns FROM ops.weekly_reports ORDER BY report_date DESC LIMIT ?)
        SELECT report_date, p->>'pattern', TRY_CAST(p->>'fired' AS INTEGER)
        FROM recent, unnest(from_json(patterns->'patterns', '["JSON"]')) AS t(p) ORDER BY report_date""",
        [limit]).fetchall()
    return [{"report_date": d, "pattern": p, "fired": n} for d, p, n in rows]
