"""The storage track's tables: every table of the warehouse, and for each how it is keyed (for
parity) and how a run's write reaches the other store (for dual writes, rollout.replicate).

Kinds of table (`TableRole`):
- `output`: a processor's output table; keyed by its entity and date; a run's write is the rows of
  the entities and dates its outbox event names;
- `history`: an output's `<table>_history`; keyed like it plus `superseded_at`; a run's write is
  the rows it superseded (`superseded_by`);
- `signatures`: ops.entity_signatures; keyed by (processor, entity, date); written like outputs;
- `run_rows`: any other table with a `run_id` column; a run's write is its rows (rows no run wrote,
  without a run id or with a publication's, are the source's and copied whole);
- `whole`: every other table (breakers, the publication clock, source files, corrections); small,
  copied whole each time.
Lineage columns (`run_id`, `ingested_at`) say who wrote a row, not what it says: parity of content
leaves them out for outputs and histories.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import duckdb

from nbadb.engine.spec import ProcessorSpec
from nbadb.rollout.diff import TableShape

TableRole = Literal["output", "history", "signatures", "run_rows", "whole"]
LINEAGE = ("run_id", "ingested_at")
SIGNATURES = "ops.entity_signatures"
# Tables no store copies: each store records its own schema version.
NOT_REPLICATED = frozenset({"ops.schema_migrations"})
# Keys of the engine's bookkeeping tables; any other table is compared as a set of rows.
OPS_KEYS = {
    "ops.processor_runs": ("run_id",),
    "ops.run_events": ("run_id", "event"),
    "ops.events": ("event_id",),
    "ops.event_consumption": ("event_id", "consumer"),
    SIGNATURES: ("processor", "entity_id", "game_date"),
    "ops.circuit_breakers": ("breaker_key",),
}


@dataclass(frozen=True)
class StoreTable:
    name: str
    role: TableRole
    columns: tuple[str, ...]
    spec: ProcessorSpec | None = None  # the producer of an output or history table

    @property
    def shape(self) -> TableShape:
        """How parity compares it (rollout.diff)."""
        if self.spec is not None:
            key = (self.spec.entity_key, self.spec.date_column) + (("superseded_at",) if self.role == "history" else ())
            columns = tuple(c for c in self.columns if c not in LINEAGE)
            return TableShape(self.name, key, columns, ("row_hash",))
        key = OPS_KEYS.get(self.name, self.columns)
        return TableShape(self.name, key, self.columns, self.columns)


def store_tables(con: duckdb.DuckDBPyConnection, specs: dict[str, ProcessorSpec]) -> list[StoreTable]:
    """Every base table of the warehouse `con` serves (its default database), with its role."""
    rows = con.execute(
        """SELECT schema_name || '.' || table_name, list(column_name ORDER BY column_index)
        FROM duckdb_columns() WHERE database_name = current_database()
          AND (schema_name, table_name) IN (SELECT (schema_name, table_name) FROM duckdb_tables()
                                           WHERE database_name = current_database())
        GROUP BY ALL ORDER BY 1""").fetchall()
    producers = {spec.output_table: spec for spec in specs.values()}
    tables = []
    for name, columns in rows:
        if name in NOT_REPLICATED:
            continue
        base = name.removesuffix("_history")
        if name in producers:
            tables.append(StoreTable(name, "output", tuple(columns), producers[name]))
        elif base != name and base in producers:
            tables.append(StoreTable(name, "history", tuple(columns), producers[base]))
        elif name == SIGNATURES:
            tables.append(StoreTable(name, "signatures", tuple(columns)))
        else:
            tables.append(StoreTable(name, "run_rows" if "run_id" in columns else "whole", tuple(columns)))
    return tables
