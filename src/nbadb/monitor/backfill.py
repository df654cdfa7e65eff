"""The latest backfill, read from `ops.backfill_runs` and `ops.backfill_dates` (issue 19 brings them;
until then there is no backfill to show and `latest_backfill` says so with None).

The shape read here is the one issue 19 plans: a backfill run (backfill_id, started_at,
finished_at, status, start_date, end_date) and per date of it (backfill_id, game_date, status,
attempts, validation, error), `validation` being 'passed' or 'failed'.
"""

from __future__ import annotations

from typing import Any

import duckdb

RUN_COLUMNS = ("backfill_id", "started_at", "finished_at", "status", "start_date", "end_date")
DATE_COLUMNS = ("game_date", "status", "attempts", "validation", "error")
VALIDATION_FAILED = "failed"


def backfill_tables_exist(con: duckdb.DuckDBPyConnection) -> bool:
    return con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'ops' AND table_name IN ('backfill_runs', 'backfill_dates')"
    ).fetchall()[0][0] == 2


def latest_backfill(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    """The latest backfill run with its dates, or None when no backfill ever ran."""
    if not backfill_tables_exist(con):
        return None
    runs = con.execute(f"SELECT {', '.join(RUN_COLUMNS)} FROM ops.backfill_runs ORDER BY started_at DESC LIMIT 1").fetchall()
    if not runs:
        return None
    run = dict(zip(RUN_COLUMNS, runs[0]))
    dates = con.execute(f"SELECT {', '.join(DATE_COLUMNS)} FROM ops.backfill_dates WHERE backfill_id = ? ORDER BY game_date",
                        [run["backfill_id"]]).fetchall()
    run["dates"] = [dict(zip(DATE_COLUMNS, d)) for d in dates]
    return run


def failed_validations(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Dates of the latest backfill whose validation failed."""
    latest = latest_backfill(con)
    if latest is None:
        return []
    return [{"backfill_id": latest["backfill_id"], **d} for d in latest["dates"] if d["validation"] == VALIDATION_FAILED]
