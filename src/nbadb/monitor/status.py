"""Per-table row counts, date coverage and quarantine counts."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import duckdb

from nbadb.engine.dag import ProcessorGraph


@dataclass
class TableStatus:
    table: str
    rows: int
    min_date: str | None
    max_date: str | None
    quarantined: int

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def table_status(con: duckdb.DuckDBPyConnection, graph: ProcessorGraph) -> list[TableStatus]:
    quarantine = dict(con.execute("SELECT table_name, count(*) FROM ops.quarantine GROUP BY 1").fetchall())
    out = []
    for name in graph.order:
        spec = graph.specs[name]
        rows, lo, hi = con.execute(
            f'SELECT count(*), min("{spec.date_column}"), max("{spec.date_column}") FROM {spec.output_table}'
        ).fetchall()[0]
        out.append(TableStatus(name, rows, lo and str(lo), hi and str(hi), quarantine.get(name, 0)))
    return out
