"""The serving track at work: what a consumer reads of the pipeline's tables, through the legacy path
(the file exports, orchestrate.exports) and the strategic one (the API's table reads, serve.tables),
behind the flags. A track cycle is a replayed day or a served morning or night.

- phase 0, or the phase's flag off: exports as before (`nbadb serve` publishes one after each write
  when NBADB_EXPORT_DIR is set); nothing compared;
- phase 1 with the shadow flag: after each cycle an export is published (to NBADB_EXPORT_DIR, else
  `<data dir>/exports`), and for every table an outbox event of the cycle touched, the API's answer
  for each date the event named is compared row by row with the export's rows of that date. Both
  are compared as the API's JSON writes them, so what differs is what a consumer would read
  differently: divergences with samples (key, column, export value, API value);
- phase 2 with the dual-write flag: the export published after each cycle, and every table's row
  parity taken between the export and the warehouse the API reads (rollout.diff, in DuckDB);
  `nbadb read` sends NBADB_STRATEGIC_READ_SHARE percent of consumers to the API, sticky per consumer
  (rollout.routing);
- phase 3: the exports retired: no cycle publishes one, and the API alone serves.

Transitions (rollout.transitions): entering phase 1 or 2, and leaving phase 3, publish an export of
the warehouse as it stands, so the legacy path is current whenever it serves or is compared.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Callable, TypeVar

import duckdb

from nbadb.engine.request import utc_now
from nbadb.engine.spec import ProcessorSpec
from nbadb.orchestrate.exports import export_folder, export_tables, exportable_tables, exported_files
from nbadb.orchestrate.workspace import Workspace
from nbadb.rollout import control, replicate
from nbadb.rollout.diff import TableDiff, TableShape, table_diff
from nbadb.serve.http import json_body
from nbadb.serve.tables import MAX_LIMIT, table_answer
from nbadb.warehouse.connection import current_catalog

T = TypeVar("T")
TRACK = "serving"
EXPORT_SIDE, API_SIDE = "serving_export", "serving_api"  # in-memory catalogs the comparisons attach


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    schema, name = table.split(".")
    return [c for (c,) in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() AND schema_name = ? "
        "AND table_name = ? ORDER BY column_index", [schema, name]).fetchall()]


def export_relation(con: duckdb.DuckDBPyConnection, export: Path, table: str, columns: list[str]) -> str:
    """SQL: the table's rows as the export at `export` holds them, in the warehouse's columns (an
    empty table exported as an empty folder reads as no rows)."""
    projected = ", ".join(map(_quoted, columns))
    files = exported_files(export, table)
    if files is None:
        return f"SELECT {projected} FROM {current_catalog(con)}.{table} LIMIT 0"
    return f"SELECT {projected} FROM read_parquet('{files}', hive_partitioning = true)"


def _shape(spec: ProcessorSpec, columns: list[str]) -> TableShape:
    return TableShape(spec.output_table, (spec.entity_key, spec.date_column), tuple(columns), ("row_hash",))


def api_rows(con: duckdb.DuckDBPyConnection, ws: Workspace, table: str, day: date) -> tuple[list[str], list[list]]:
    """The API's answer for `table` on `day`, every page, as a consumer decodes it."""
    columns: list[str] = []
    rows: list[list] = []
    offset: int | None = 0
    while offset is not None:
        answer = json.loads(json_body(table_answer(con, ws.graph, table, day, day, MAX_LIMIT, offset)))
        columns, offset = answer["columns"], answer["next_offset"]
        rows += answer["rows"]
    return columns, rows


def _text(value: object) -> str | None:
    """A decoded JSON value as the comparison's text: a string as it is, null as None, else its JSON."""
    return value if isinstance(value, str) or value is None else json.dumps(value)


def _as_text(rows: list[list], width: int) -> list[list[str | None]]:
    """Each column's values as text (`_text`), column by column."""
    return [[_text(r[i]) for r in rows] for i in range(width)]


def _load(con: duckdb.DuckDBPyConnection, catalog: str, table: str, columns: list[str], rows: list[list]) -> None:
    schema = table.split(".")[0]
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {catalog}.{schema}")
    values = _as_text(rows, len(columns))
    select = ", ".join(f"unnest(${i + 1}::VARCHAR[]) AS {_quoted(c)}" for i, c in enumerate(columns))
    con.execute(f"CREATE OR REPLACE TABLE {catalog}.{table} AS SELECT {select}", values)


def compare_answers(ws: Workspace, answers: duckdb.DuckDBPyConnection, export: Path,
                    touched: dict[str, set[date]]) -> list[TableDiff]:
    """Shadow: for each output table touched, the export's rows and the API's answer on each date
    named, compared as the API's JSON writes them (module docstring)."""
    con = ws.con
    diffs = []
    for catalog in (EXPORT_SIDE, API_SIDE):
        con.execute(f"ATTACH ':memory:' AS {catalog}")
    try:
        for name in ws.graph.order:
            if name not in touched:
                continue
            spec = ws.graph.specs[name]
            table, columns = spec.output_table, _columns(con, spec.output_table)
            served: list[list] = []
            for day in sorted(touched[name]):
                columns, rows = api_rows(answers, ws, table, day)
                served += rows
            days = ", ".join(f"DATE '{d}'" for d in sorted(touched[name]))
            exported = con.execute(f"SELECT * FROM ({export_relation(con, export, table, columns)}) "
                                   f"WHERE {_quoted(spec.date_column)} IN ({days})").fetchall()
            _load(con, EXPORT_SIDE, table, columns, json.loads(json_body([list(r) for r in exported])))
            _load(con, API_SIDE, table, columns, served)
            diffs.append(table_diff(con, EXPORT_SIDE, API_SIDE, _shape(spec, columns)))
    finally:
        for catalog in (EXPORT_SIDE, API_SIDE):
            con.execute(f"DETACH {catalog}")
    return diffs


def parity(ws: Workspace, export: Path) -> list[TableDiff]:
    """Dual write: every output table's row parity between the export and the warehouse the API reads."""
    con = ws.con
    warehouse = current_catalog(con)
    con.execute(f"ATTACH ':memory:' AS {EXPORT_SIDE}")
    try:
        diffs = []
        for name in ws.graph.order:
            spec = ws.graph.specs[name]
            table, columns = spec.output_table, _columns(con, spec.output_table)
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {EXPORT_SIDE}.{table.split('.')[0]}")
            con.execute(f"CREATE VIEW {EXPORT_SIDE}.{table} AS {export_relation(con, export, table, columns)}")
            diffs.append(table_diff(con, EXPORT_SIDE, warehouse, _shape(spec, columns)))
        return diffs
    finally:
        con.execute(f"DETACH {EXPORT_SIDE}")


def publish_export(ws: Workspace, folder: Path, now: datetime) -> Path:
    """The legacy path's write: every pipeline table exported and published under `folder`."""
    outcome = export_tables(ws.con, ws.graph, exportable_tables(ws.graph), "parquet", folder, now)
    return Path(outcome.path)


class ServingCycles(control.TrackCycles):
    """The serving track's part of each track cycle of a driver (`nbadb replay`, `nbadb serve`, which
    looks again before each write's part)."""

    track = TRACK

    @property
    def folder(self) -> Path | None:
        """Where this driver publishes exports: none unless the track needs one or NBADB_EXPORT_DIR asks."""
        if self.mode in ("shadow", "dual_write"):
            return export_folder(self.settings)
        return None if self.mode == "strategic" else self.settings.export_dir

    def around(self, ws: Workspace, cycle: Callable[[date, Callable[[Workspace], T]], T]
               ) -> Callable[[date, Callable[[Workspace], T]], T]:
        """A replay's day cycle with the serving track's part after it (the API reads the warehouse)."""
        def run(day: date, work: Callable[[Workspace], T]) -> T:
            since = utc_now()
            answer = cycle(day, work)
            if self.mode is not None:
                self.after_write(ws, ws.con, day, since, utc_now())
            return answer

        return run

    def after_write(self, ws: Workspace, answers: duckdb.DuckDBPyConnection, day: date | None, since: datetime,
                    now: datetime) -> None:
        """After the driver wrote (a cycle of game day `day`, or None for a control action): the export
        the phase asks for, and for a game day's cycle the evidence of the phase's mode. `answers`: the
        connection the API's table reads go through (a reader of the served warehouse, or the warehouse
        itself); `since`: when the cycle began."""
        folder = self.folder
        export = publish_export(ws, folder, now) if folder is not None else None
        if day is None or self.mode is None:
            return
        diffs: list[TableDiff] = []
        if self.mode == "shadow" and export is not None:
            diffs = compare_answers(ws, answers, export, replicate.touched_dates(
                ws.con, current_catalog(ws.con), since))
        elif self.mode == "dual_write" and export is not None:
            diffs = parity(ws, export)
        games = ws.engine.calendar().games_between(day, day)
        control.record_evidence(self.settings, TRACK, day, self.phase, self.mode, games, diffs,
                                parity=self.mode == "dual_write")
