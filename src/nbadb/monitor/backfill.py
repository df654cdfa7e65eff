"""A backfill read back from its checkpoints (`ops.backfill_runs`, `ops.backfill_dates`,
`ops.backfill_checks`, `ops.backfill_batches`; written by orchestrate.backfill): its plan, dates by
status, each batch's counts and seconds per phase, failed checks grouped by error signature, and the
game days whose sources published nothing (a day's missing sources, grouped by which). One reader
for `nbadb backfill status`, the dashboard's backfill page and the alerts.

A date's status: pending, validated, warned (a non-blocking check failed), failed, no_games.
An error signature is a failed check's text with its numbers, dates and ids blanked, so that one
cause groups one way.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import duckdb

PLAN_COLUMNS = ("backfill_id", "start_date", "end_date", "seasons", "phases", "levels", "blocking_levels", "batch_days",
                "status", "stopped_on", "stop_reason", "started_at", "finished_at")
DATE_COLUMNS = ("game_date", "status", "attempts", "games", "missing_sources", "rows_complete", "rows_partial",
                "rows_without_form", "error")
BATCH_COLUMNS = ("batch_start", "batch_end", "attempt", "dates", "dates_validated", "dates_warned", "dates_failed",
                 "dates_without_games", "publish_seconds", "analytics_seconds", "precompute_seconds",
                 "predictions_seconds", "validation_seconds")
FAILED = "failed"
# A backfill's status until it ends ('finished', or 'stopped' on a blocking failure): also the status a
# killed one keeps, so a reader cannot tell the two apart (`backfill --resume` continues a killed one).
RUNNING = "running"
# A number of its own (an id, a count, a value), not one inside a name such as pts_avg_last_5.
_NUMBERS = re.compile(r"(?<![A-Za-z_])\d+(\.\d+)?")


def error_signature(text: str) -> str:
    return _NUMBERS.sub("#", text)


def latest_backfill_id(con: duckdb.DuckDBPyConnection) -> str | None:
    row = con.execute("SELECT backfill_id FROM ops.backfill_runs ORDER BY started_at DESC LIMIT 1").fetchall()
    return row[0][0] if row else None


def grouped_errors(con: duckdb.DuckDBPyConnection, backfill_id: str) -> list[tuple[str, int, date, date]]:
    """Failed checks of the backfill's latest attempts by error signature: (signature, dates, first, last)."""
    rows = con.execute(
        """SELECT game_date, level, subject, coalesce(detail, check_name)
        FROM ops.backfill_checks c WHERE backfill_id = ? AND NOT passed
          AND attempt = (SELECT attempts FROM ops.backfill_dates d WHERE d.backfill_id = c.backfill_id
                         AND d.game_date = c.game_date)""", [backfill_id]).fetchall()
    groups: dict[str, list[date]] = {}
    for day, level, subject, text in rows:
        groups.setdefault(f"level {level} {error_signature(subject)}: {error_signature(text)}", []).append(day)
    return sorted(((s, len(set(ds)), min(ds), max(ds)) for s, ds in groups.items()), key=lambda g: (-g[1], g[0]))


def missing_sources(con: duckdb.DuckDBPyConnection, backfill_id: str) -> list[dict[str, Any]]:
    """Game days (a day with games) that some source published nothing for, grouped by which sources:
    why such a day's counts fall short (e.g. the archive's box scores end before its schedule does)."""
    return [{"sources": sources, "dates": n, "first": first, "last": last} for sources, n, first, last in con.execute(
        """SELECT list_sort(missing_sources), count(*), min(game_date), max(game_date) FROM ops.backfill_dates
        WHERE backfill_id = ? AND games > 0 AND len(missing_sources) > 0 GROUP BY 1 ORDER BY 2 DESC, 3""",
        [backfill_id]).fetchall()]


def backfill_progress(con: duckdb.DuckDBPyConnection, backfill_id: str) -> dict[str, Any]:
    """The backfill's plan and state, and its dates counted by status."""
    plan = con.execute(f"SELECT {', '.join(PLAN_COLUMNS)} FROM ops.backfill_runs WHERE backfill_id = ?",
                       [backfill_id]).fetchall()[0]
    progress: dict[str, Any] = dict(zip(PLAN_COLUMNS, plan))
    counts = dict(con.execute("SELECT status, count(*) FROM ops.backfill_dates WHERE backfill_id = ? GROUP BY ALL",
                              [backfill_id]).fetchall())
    progress["dates_by_status"] = counts
    progress["dates_total"] = sum(counts.values())
    progress["dates_done"] = sum(n for s, n in counts.items() if s != "pending")
    return progress


def backfill_summary(con: duckdb.DuckDBPyConnection, backfill_id: str, *, with_dates: bool = False) -> dict[str, Any]:
    """The backfill's progress, batches, grouped errors (and, when asked, every date's row)."""
    summary = backfill_progress(con, backfill_id)
    summary["batches"] = [dict(zip(BATCH_COLUMNS, r)) for r in con.execute(
        f"SELECT {', '.join(BATCH_COLUMNS)} FROM ops.backfill_batches WHERE backfill_id = ? ORDER BY batch_start, attempt",
        [backfill_id]).fetchall()]
    summary["errors"] = [{"signature": s, "dates": n, "first": f, "last": la}
                         for s, n, f, la in grouped_errors(con, backfill_id)]
    summary["missing_sources"] = missing_sources(con, backfill_id)
    if with_dates:
        summary["dates"] = [dict(zip(DATE_COLUMNS, r)) for r in con.execute(
            f"SELECT {', '.join(DATE_COLUMNS)} FROM ops.backfill_dates WHERE backfill_id = ? ORDER BY game_date",
            [backfill_id]).fetchall()]
    return summary


def latest_backfill(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    """The latest backfill with every date's row, or None when no backfill ever ran."""
    backfill_id = latest_backfill_id(con)
    return None if backfill_id is None else backfill_summary(con, backfill_id, with_dates=True)


def failed_validations(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Dates of the latest backfill whose validation failed (a blocking check, or a failed run)."""
    backfill_id = latest_backfill_id(con)
    if backfill_id is None:
        return []
    return [{"backfill_id": backfill_id, **dict(zip(DATE_COLUMNS, r))} for r in con.execute(
        f"SELECT {', '.join(DATE_COLUMNS)} FROM ops.backfill_dates WHERE backfill_id = ? AND status = ? "
        "ORDER BY game_date", [backfill_id, FAILED]).fetchall()]
