"""The API's table reads — the serving track's strategic path (rollout.serving): what the file exports
give a consumer, the API gives as JSON.

- GET /api/v1/tables: every pipeline output table with its date column and row count;
- GET /api/v1/tables/{table}?from=YYYY-MM-DD&to=YYYY-MM-DD&limit=N&offset=K: the table's rows whose
  date lies in [from, to] (either end open when left out), `limit` rows (1 to MAX_LIMIT, default
  DEFAULT_LIMIT) from `offset`, in a stable order (entity, date, row hash) so that paging through
  reads every row once.

An answer: {"table", "date_column", "from", "to", "columns", "rows" (lists in the columns' order),
"total" (rows in the span), "offset", "next_offset" (null on the last page)}; values as the API's JSON
writes them (dates and timestamps as ISO text).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb

from nbadb.engine.dag import ProcessorGraph
from nbadb.engine.spec import ProcessorSpec
from nbadb.errors import ConfigError

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10000


def spec_of(graph: ProcessorGraph, table: str) -> ProcessorSpec:
    for name in graph.order:
        if graph.specs[name].output_table == table:
            return graph.specs[name]
    raise ConfigError(f"table {table!r} is not a pipeline table (GET /api/v1/tables and `nbadb processors` list them)")


def table_list(con: duckdb.DuckDBPyConnection, graph: ProcessorGraph) -> list[dict[str, Any]]:
    """Each pipeline output table, its date column and rows."""
    found = []
    for name in graph.order:
        spec = graph.specs[name]
        rows = con.execute(f"SELECT count(*) FROM {spec.output_table}").fetchall()[0][0]
        found.append({"table": spec.output_table, "date_column": spec.date_column, "rows": rows})
    return found


def span_sql(spec: ProcessorSpec) -> str:
    """SQL: the spec's date column within [$first, $last], either end open when null."""
    return (f'"{spec.date_column}" BETWEEN coalesce($first, DATE \'0001-01-01\') '
            f"AND coalesce($last, DATE '9999-12-31')")


def page_order_sql(spec: ProcessorSpec) -> str:
    """SQL: the stable order pages are read in (entity, date, row hash)."""
    return f'"{spec.entity_key}", "{spec.date_column}", row_hash'


def check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise ConfigError(f"limit {limit}: give 1 to {MAX_LIMIT} rows")
    if offset < 0:
        raise ConfigError(f"offset {offset}: give 0 or more")


def table_answer(con: duckdb.DuckDBPyConnection, graph: ProcessorGraph, table: str, first: date | None,
                 last: date | None, limit: int = DEFAULT_LIMIT, offset: int = 0) -> dict[str, Any]:
    """One page of `table`'s rows dated in [first, last] (module docstring)."""
    spec = spec_of(graph, table)
    check_page(limit, offset)
    if first is not None and last is not None and first > last:
        raise ConfigError(f"from {first} is after to {last}")
    span, bounds = span_sql(spec), {"first": first, "last": last}
    total = con.execute(f"SELECT count(*) FROM {table} WHERE {span}", bounds).fetchall()[0][0]
    cursor = con.execute(f"SELECT * FROM {table} WHERE {span} ORDER BY {page_order_sql(spec)} "
                         f"LIMIT {limit} OFFSET {offset}", bounds)
    rows = [list(r) for r in cursor.fetchall()]
    more = offset + len(rows) < total
    return {"table": table, "date_column": spec.date_column, "from": first, "to": last,
            "columns": [d[0] for d in cursor.description], "rows": rows, "total": total, "offset": offset,
            "next_offset": offset + len(rows) if more else None}
