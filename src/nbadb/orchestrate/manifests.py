"""Manifests: one JSON file per run and per pipeline pass under `<data dir>/manifests/`, each written
to a temp file and renamed into place, so a reader never sees half of one.

- a run's manifest (`runs/<run_id>.json`): run_id, processor, run_as_of_ts, trigger (source, chain,
  event ids), dates and modes, the inputs read with their versions, the output with its row counts
  and content hash, code versions, status, skip reason and error;
- a pass's manifest (`passes/<pass_id>.json`): what a cycle of `nbadb serve` ran, its runs' ids and
  statuses.

Words defined here:
- input version: what an input table held when the run started: its row count, its newest
  `known_at` (current-truth tables) and the latest run that wrote rows to it (the warehouse's
  ledger, then the runs this writer saw);
- content hash: md5 over the sorted `row_hash` of the rows the run wrote (warehouse.hashing's
  canonical hash, never DuckDB's `hash()`); null for a run that wrote none.

The writer is an executor listener (engine.executors): it observes runs once they committed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import duckdb

from nbadb import __version__
from nbadb.engine.request import RunRequest, RunResult, utc_now
from nbadb.engine.spec import ProcessorSpec
from nbadb.errors import ConfigError, UnknownRunError
from nbadb.warehouse.snapshot import write_atomically
from nbadb.warehouse.transactions import read_transaction

MANIFEST_DIR = "manifests"
RUNS, PASSES = "runs", "passes"
MANIFEST_ID = re.compile(r"[0-9a-f]{16}")


def manifest_dir(data_dir: Path) -> Path:
    return data_dir / MANIFEST_DIR


def _write(path: Path, document: dict[str, Any]) -> None:
    write_atomically(path, json.dumps(document, indent=2, default=str).encode())


class ManifestWriter:
    """Writes a run's manifest when the executor reports it. Input versions are read once per table
    and read again only after a run wrote rows to that table."""

    def __init__(self, con: duckdb.DuckDBPyConnection, specs: dict[str, ProcessorSpec], folder: Path) -> None:
        self.con = con
        self.specs = specs
        self.folder = folder
        self._versions: dict[str, dict[str, Any]] = {}
        self._writers: dict[str, str] | None = None
        self._with_known_at: set[tuple[str, str]] | None = None

    def __call__(self, request: RunRequest, result: RunResult) -> None:
        spec = self.specs[request.processor]
        with read_transaction(self.con):
            inputs = {table: self._version(table) for table in sorted(spec.input_tables)}
            output = self._output(spec, result)
        document = {
            "run_id": result.run_id, "processor": spec.name, "phase": spec.phase,
            "run_as_of_ts": request.run_as_of_ts,
            "trigger": {"source": request.trigger.source, "chain": list(request.trigger.chain),
                        "event_ids": list(request.trigger.event_ids), "sources": list(request.trigger.sources)},
            "dates": {"start": request.start_date, "end": request.end_date, "as_of": request.as_of},
            "run_mode": request.mode, "processing_mode": result.processing_mode,
            "inputs": inputs, "output": output,
            "code_versions": {"processor": spec.code_version, "nbadb": __version__},
            "status": str(result.status), "skip_reason": result.skip_reason and str(result.skip_reason),
            "error": result.error, "duration_ms": result.duration_ms,
            "written_at": utc_now().isoformat(timespec="seconds"),
        }
        _write(self.folder / RUNS / f"{result.run_id}.json", document)
        if result.metrics.rows_written:
            self._versions.pop(spec.output_table, None)
            self._latest_writers()[spec.output_table] = result.run_id

    def _latest_writers(self) -> dict[str, str]:
        if self._writers is None:
            rows = self.con.execute(
                "SELECT processor, arg_max(run_id, finished_at) FROM ops.processor_runs WHERE rows_written > 0 GROUP BY 1"
            ).fetchall()
            self._writers = {self.specs[p].output_table: run_id for p, run_id in rows if p in self.specs}
        return self._writers

    def _version(self, table: str) -> dict[str, Any]:
        if table not in self._versions:
            known_at = "max(known_at)" if self._has_known_at(table) else "NULL"
            rows, newest = self.con.execute(f"SELECT count(*), {known_at} FROM {table}").fetchall()[0]
            self._versions[table] = {"rows": rows, "max_known_at": newest,
                                     "latest_run_id": self._latest_writers().get(table)}
        return self._versions[table]

    def _has_known_at(self, table: str) -> bool:
        """Whether `table` carries publication times: every table's columns read in one catalog query
        per writer (a lake's catalog answers each such query slowly)."""
        if self._with_known_at is None:
            self._with_known_at = set(self.con.execute(
                "SELECT schema_name, table_name FROM duckdb_columns() WHERE column_name = 'known_at'").fetchall())
        schema, _, name = table.rpartition(".")
        return (schema or "main", name) in self._with_known_at

    def _output(self, spec: ProcessorSpec, result: RunResult) -> dict[str, Any]:
        table = spec.output_table
        written, content_hash = 0, None
        if result.metrics.rows_written:
            written, content_hash = self.con.execute(
                f"SELECT count(*), md5(string_agg(row_hash, '' ORDER BY row_hash)) FROM {table} WHERE run_id = ?",
                [result.run_id]).fetchall()[0]
        return {"table": table, "rows_written": result.metrics.rows_written, "rows_held_by_run": written,
                "rows_quarantined": result.metrics.rows_quarantined, "content_hash": content_hash}


def write_pass_manifest(folder: Path, pass_id: str, document: dict[str, Any]) -> Path:
    path = folder / PASSES / f"{pass_id}.json"
    _write(path, {"pass_id": pass_id, **document})
    return path


def read_manifest(folder: Path, manifest_id: str) -> dict[str, Any]:
    """The manifest of a run or a pass by its id (16 hex digits, as `new_run_id` makes them)."""
    if not MANIFEST_ID.fullmatch(manifest_id):
        raise ConfigError(f"{manifest_id!r} is not a run or pass id (16 hex digits, e.g. from `nbadb runs`)")
    for kind in (RUNS, PASSES):
        path = folder / kind / f"{manifest_id}.json"
        if path.is_file():
            return json.loads(path.read_text())
    raise UnknownRunError(f"no manifest {manifest_id!r} under {folder}; run ids are in `nbadb runs`, "
                          "pass ids in the serve dashboard's schedule page")
