"""Quarantined rows, the latest quarantined first (then the latest record dates): the rows a source
rule or a processor's row rule kept out."""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb

COLUMNS = ("table_name", "record_key", "column_name", "reason", "source_file", "record_date", "stage", "run_id",
           "row_values", "ingested_at")


def quarantined_rows(con: duckdb.DuckDBPyConnection, *, table: str | None = None, since: date | None = None,
                     limit: int = 50) -> list[dict[str, Any]]:
    rows = con.execute(
        f"""SELECT {', '.join(COLUMNS)} FROM ops.quarantine
        WHERE ($table IS NULL OR table_name = $table) AND ($since IS NULL OR record_date >= $since)
        ORDER BY ingested_at DESC, record_date DESC NULLS LAST, table_name, record_key LIMIT $limit""",
        {"table": table, "since": since, "limit": limit},
    ).fetchall()
    return [dict(zip(COLUMNS, r)) for r in rows]
