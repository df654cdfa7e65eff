"""A run's output on its way to the table: its rules, the entities it must leave alone, its write.

The transform's rows wait in temp table `_out` (hashed, cut to the run's `_scope`), then:

1. rules (`check_rules`): an invariant broken fails the run (a defect of the transform); rows
   breaking a row rule move to `_quarantined` with the rule's name and the rest is written;
2. held entities (`hold_shrinking`): a republished entity that would lose rows while some rows
   were quarantined (by its source or by a row rule) keeps its stored version, whatever rule
   removed the row;
3. the write (`write`, inside the run's one transaction): a current-truth table keeps versions —
   each stored row the new output no longer has moves to `<table>_history` with `superseded_at`
   (the run's clock), each new row is inserted with its `known_at` (no earlier than the clock when
   it restates a stored entity), and unchanged rows stay as they are; an as-of table has the
   scoped entities' rows replaced. A stored row known after the run's clock never held before it
   was replaced (a backfill of an older window restating a newer one): it is replaced, not kept as
   history, so the history is the one an in-order build writes. (One known at the clock itself is
   kept: a correction published the instant its box score was keeps the figure it corrects.)
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from nbadb.engine.request import RunRequest
from nbadb.engine.spec import OutputCheck, ProcessorSpec
from nbadb.warehouse.connection import execute

KNOWN_AT = "known_at"  # when a current-truth row's version became known (engine.clock)


class ContractViolation(Exception):
    """Transform output broke an invariant of its processor's contract; the run fails and nothing is written."""


def _entity(spec: ProcessorSpec, alias: str) -> str:
    return f'cast({alias}."{spec.entity_key}" AS VARCHAR)'


def _same_entity(spec: ProcessorSpec, a: str, b: str) -> str:
    return f'{_entity(spec, a)} = {_entity(spec, b)} AND {a}."{spec.date_column}" = {b}."{spec.date_column}"'


def entity_named(spec: ProcessorSpec) -> OutputCheck:
    """The engine's own row rule: a row names the entity it belongs to (a placeholder game with no
    team yet names none, and cannot be an entity)."""
    return OutputCheck(f"the row names its {spec.entity_key}", f'"{spec.entity_key}" IS NULL')


def check_rules(con: duckdb.DuckDBPyConnection, spec: ProcessorSpec) -> tuple[int, int]:
    """Apply the declared checks to _out; returns (rows kept, rows quarantined). When the transform
    reads `_scope` itself, every row must belong to a scoped entity (an invariant)."""
    invariants = [c for c in spec.checks if c.invariant]
    rules = [entity_named(spec), *(c for c in spec.checks if not c.invariant)]
    counts = ["count(*)"] + [f"count(*) FILTER (WHERE {c.violation_sql})" for c in (*invariants, *rules)]
    if not spec.signed_by_output:
        counts.append(f"count(*) FILTER (WHERE ({_entity(spec, '_out')}, \"{spec.date_column}\") "
                      "NOT IN (SELECT (entity_id, game_date) FROM _scope))")
    total, *found = con.execute(f"SELECT {', '.join(counts)} FROM _out").fetchall()[0]
    if not spec.signed_by_output and found[-1]:
        raise ContractViolation(f"{spec.name} produced {found[-1]} rows outside the entities it was asked for")
    broken = [f"{c.name} ({n} rows)" for c, n in zip(invariants, found) if n]
    if broken:
        raise ContractViolation(f"{spec.name} output breaks an invariant of its contract: {'; '.join(broken)}")
    violated = [c for c, n in zip(rules, found[len(invariants):]) if n]
    if not violated:
        return total, 0
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _quarantined AS "
        + " UNION ALL ".join(
            f"SELECT {_entity(spec, '_out')} AS entity_id, \"{spec.date_column}\" AS record_date, "
            f"'{c.name.replace(chr(39), chr(39) * 2)}' AS rule, to_json(_out) AS row_values "
            f"FROM _out WHERE {c.violation_sql}"
            for c in violated
        )
    )
    removed = con.execute(
        f"DELETE FROM _out WHERE {' OR '.join(f'coalesce({c.violation_sql}, false)' for c in violated)}"
    ).fetchall()[0][0]
    return total - removed, removed


def hold_shrinking(con: duckdb.DuckDBPyConnection, spec: ProcessorSpec, request: RunRequest, quarantined: bool) -> int:
    """Drop from the run the stored entities that would lose rows while rows were quarantined;
    returns how many. Entities a source could not attribute rows to make every such entity a suspect."""
    source = request.source_quarantine
    if not (source or quarantined):
        return 0
    suspects = ["$unattributed"]
    if source.entity_ids:
        suspects.append("list_contains($ids, c.entity_id)")
    if quarantined:
        suspects.append("c.entity_id IN (SELECT entity_id FROM _quarantined)")
    held = con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _held AS
        WITH stored AS (
            SELECT {_entity(spec, 't')} AS entity_id, t."{spec.date_column}" AS game_date, count(*) AS n
            FROM {spec.output_table} t JOIN _changes c ON {_entity(spec, 't')} = c.entity_id
                                                      AND t."{spec.date_column}" = c.game_date
            WHERE c.change <> 'new' AND ({' OR '.join(suspects)}) GROUP BY ALL),
        fresh AS (SELECT {_entity(spec, '_out')} AS entity_id, "{spec.date_column}" AS game_date, count(*) AS n
                  FROM _out GROUP BY ALL)
        SELECT s.entity_id, s.game_date FROM stored s LEFT JOIN fresh f USING (entity_id, game_date)
        WHERE coalesce(f.n, 0) < s.n""",
        {"unattributed": source.unattributed, "ids": sorted(source.entity_ids)} if source.entity_ids
        else {"unattributed": source.unattributed},
    ).fetchall()[0][0]
    if held:
        con.execute("DELETE FROM _changes WHERE (entity_id, game_date) IN (SELECT (entity_id, game_date) FROM _held)")
        con.execute(f"DELETE FROM _out WHERE ({_entity(spec, '_out')}, \"{spec.date_column}\") "
                    "IN (SELECT (entity_id, game_date) FROM _held)")
    return held


def published_at(con: duckdb.DuckDBPyConnection, spec: ProcessorSpec, clock: datetime) -> datetime:
    """When what the run changed became known (its outbox event's publication instant, engine.events):
    the latest publication time among its changed rows where the table records one (a raw or
    current-truth table: a publication stamped later than its facts, as an ingest on the wall clock
    is, still publishes them at their time), else the run's clock."""
    if not spec.versioned:
        return clock
    latest = con.execute(
        f"""SELECT max(o.{KNOWN_AT}) FROM _out o
        JOIN _changes c ON {_entity(spec, 'o')} = c.entity_id AND o."{spec.date_column}" = c.game_date"""
    ).fetchall()[0][0]
    return latest or clock


def write(con: duckdb.DuckDBPyConnection, spec: ProcessorSpec, request: RunRequest, clock: datetime) -> None:
    """Inside the run's transaction: put _out into the output table for the scoped entities."""
    table, date_col = spec.output_table, spec.date_column
    params = {"start": request.start_date, "end": request.end_date, "run_id": request.run_id, "clock": clock}
    scoped = (f'FROM {table} t JOIN _scope s ON {_entity(spec, "t")} = s.entity_id AND t."{date_col}" = s.game_date '
              f'WHERE t."{date_col}" BETWEEN $start AND $end')  # the range lets DuckDB skip row groups
    if not spec.versioned:
        execute(con, f"DELETE FROM {table} WHERE rowid IN (SELECT t.rowid {scoped})", params)
        execute(con, f"INSERT INTO {table} BY NAME SELECT *, $run_id AS run_id, now()::TIMESTAMP AS ingested_at "
                     "FROM _out", params)
        return
    gone = f"{scoped} AND NOT EXISTS (SELECT 1 FROM _out o WHERE o.row_hash = t.row_hash AND {_same_entity(spec, 'o', 't')})"
    execute(con, f"INSERT INTO {table}_history BY NAME SELECT t.*, $clock AS superseded_at, $run_id AS superseded_by "
                 f"{gone} AND t.{KNOWN_AT} <= $clock", params)
    execute(con, f"DELETE FROM {table} WHERE rowid IN (SELECT t.rowid {gone})", params)
    execute(
        con,
        f"""INSERT INTO {table} BY NAME
        SELECT o.* REPLACE (CASE WHEN c.change = 'new' THEN o.{KNOWN_AT} ELSE greatest(o.{KNOWN_AT}, $clock) END
                            AS {KNOWN_AT}),
               $run_id AS run_id, now()::TIMESTAMP AS ingested_at
        FROM _out o JOIN _changes c ON {_entity(spec, 'o')} = c.entity_id AND o."{date_col}" = c.game_date
        WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE t."{date_col}" BETWEEN $start AND $end
                          AND t.row_hash = o.row_hash AND {_same_entity(spec, 't', 'o')})""",
        params,
    )
