"""Writes from one store to the other, since one transaction cannot span two databases.

- `replicate_runs`: the dual write. The runs the source committed and the target lacks (their run
  ids in the source's `ops.run_events`, the outbox of runs, and not in the target's) are applied to
  the target in one transaction: each run's output rows for the entities and dates its outbox event
  names (`ops.events`), the rows it superseded, its signatures, its ledger, events and consumption
  rows, the rows of run tables no run wrote (a publication's quarantined rows), and the small tables
  copied whole (rollout.store_tables). Applying a run twice is harmless
  and a crash leaves the target as it was, so the next cycle simply finds the runs pending again.
- `copy_all`: the target made an exact copy of the source, in one transaction (seeding the lake
  when a track enters shadow or dual write).

Both run in one session where both stores are attached (`source` and `target` are catalog names).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import duckdb

from nbadb.rollout.store_tables import SIGNATURES, StoreTable
from nbadb.warehouse.transactions import committed


@dataclass(frozen=True)
class Replicated:
    runs: int
    tables: int


def _copy_where(con: duckdb.DuckDBPyConnection, source: str, target: str, table: str, where: str) -> None:
    """Replace the target's rows matching `where` (over alias `t`) with the source's."""
    con.execute(f"DELETE FROM {target}.{table} AS t WHERE {where}")
    con.execute(f"INSERT INTO {target}.{table} BY NAME SELECT t.* FROM {source}.{table} AS t WHERE {where}")


def _event_keys(entity: str, day: str, producer: str) -> str:
    """Rows `t` whose (entity, date) an outbox event of `producer` (a SQL expression) names."""
    return (f"EXISTS (SELECT 1 FROM _replicated_keys k WHERE k.producer = {producer} "
            f"AND k.key_entity = cast(t.\"{entity}\" AS VARCHAR) AND k.key_date = t.\"{day}\")")


# Rows `t` no run of either store wrote (`_run_ids`: every run id of both outboxes of runs): without a
# run id, or with one no run event names (a publication's quarantined rows carry its publication id).
_NO_RUN_WROTE = "(t.run_id IS NULL OR NOT EXISTS (SELECT 1 FROM _run_ids r WHERE r.run_id = t.run_id))"


def touched_dates(con: duckdb.DuckDBPyConnection, catalog: str, since: datetime) -> dict[str, set[date]]:
    """Each producer an outbox event of `catalog` created at or after `since` names, with its dates."""
    return {producer: set(dates) for producer, dates in con.execute(
        f"SELECT producer, flatten(list(game_dates)) FROM {catalog}.ops.events WHERE created_at >= ? "
        "GROUP BY producer", [since]).fetchall()}


def pending_runs(con: duckdb.DuckDBPyConnection, source: str, target: str) -> list[str]:
    """Run ids the source's outbox of runs holds and the target's lacks."""
    return [r for (r,) in con.execute(
        f"SELECT DISTINCT run_id FROM {source}.ops.run_events "
        f"EXCEPT SELECT DISTINCT run_id FROM {target}.ops.run_events ORDER BY 1").fetchall()]


def replicate_runs(con: duckdb.DuckDBPyConnection, source: str, target: str, tables: list[StoreTable],
                   runs: list[str] | None = None) -> Replicated:
    """Apply the source's pending runs (or the `runs` given) to the target (module docstring)."""
    runs = pending_runs(con, source, target) if runs is None else runs
    con.execute("CREATE OR REPLACE TEMP TABLE _replicated_runs AS SELECT unnest($r::VARCHAR[]) AS run_id", {"r": runs})
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _replicated_keys AS
        SELECT DISTINCT e.producer, unnest(e.entity_ids) AS key_entity, d.key_date
        FROM {source}.ops.events e, unnest(e.game_dates) AS d(key_date)
        WHERE e.run_id IN (SELECT run_id FROM _replicated_runs)""")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _run_ids AS
        SELECT run_id FROM {source}.ops.run_events UNION SELECT run_id FROM {target}.ops.run_events""")
    producers = {p for (p,) in con.execute("SELECT DISTINCT producer FROM _replicated_keys").fetchall()}
    runs_of = "run_id IN (SELECT run_id FROM _replicated_runs)"

    def write() -> int:
        written = 0
        for table in tables:
            spec = table.spec
            if table.role == "output" and spec is not None and spec.name in producers:
                _copy_where(con, source, target, table.name,
                            _event_keys(spec.entity_key, spec.date_column, f"'{spec.name}'"))
            elif table.role == "history" and runs:
                con.execute(f"INSERT INTO {target}.{table.name} BY NAME SELECT * FROM {source}.{table.name} "
                            f"WHERE superseded_by IN (SELECT run_id FROM _replicated_runs)")
            elif table.role == "signatures" and producers:
                _copy_where(con, source, target, SIGNATURES, _event_keys("entity_id", "game_date", "t.processor"))
            elif table.role == "run_rows":
                if runs:
                    con.execute(f"INSERT INTO {target}.{table.name} BY NAME SELECT * FROM {source}.{table.name} "
                                f"WHERE {runs_of}")
                _copy_where(con, source, target, table.name, _NO_RUN_WROTE)
            elif table.role == "whole":
                _copy_where(con, source, target, table.name, "true")
            else:
                continue
            written += 1
        return written

    written = committed(con, write)
    return Replicated(len(runs), written)


def copy_all(con: duckdb.DuckDBPyConnection, source: str, target: str, tables: list[StoreTable]) -> int:
    """Make every table of the target equal to the source's, in one transaction; returns rows copied."""
    def write() -> int:
        copied = 0
        for table in tables:
            con.execute(f"DELETE FROM {target}.{table.name}")
            copied += con.execute(f"INSERT INTO {target}.{table.name} BY NAME SELECT * FROM {source}.{table.name}"
                                  ).fetchall()[0][0]
        return copied

    return committed(con, write)
