"""Exports: warehouse tables as Parquet or CSV files, Hive-partitioned by season, published whole.

An export is written under `<dest>/.tmp-<export id>-<pid>/`, renamed to `<dest>/<export id>/` with
`os.replace` once every file is complete, and only then named by `<dest>/latest.json` (itself
replaced atomically). A reader that follows `latest.json` never sees half a file: an export killed
midway leaves its temp folder (removed by the next export once its process is gone) and the
previous export and pointer as they were. The newest KEEP_EXPORTS exports are kept.

Layout: `<export id>/<schema.table>/season=<2023-24>/data_0.<format>` (an empty table: an empty
folder); the season of a row is its
`season` column where it has one, else the label of its date (the league year starts July 1).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

import duckdb

from nbadb.config import Settings
from nbadb.engine.dag import ProcessorGraph
from nbadb.errors import ConfigError
from nbadb.warehouse.snapshot import write_atomically

ExportFormat = Literal["parquet", "csv"]
FORMATS: tuple[ExportFormat, ...] = ("parquet", "csv")
LATEST = "latest.json"
TEMP_PREFIX = ".tmp-"
KEEP_EXPORTS = 3
EXPORT_ID = re.compile(r"\d{8}T\d{6}-[0-9a-f]{6}")  # when it was taken, then a random tail


@dataclass
class ExportOutcome:
    export_id: str
    path: str
    export_format: str
    created_at: str
    tables: dict[str, int] = field(default_factory=dict)  # rows per table
    columns: dict[str, list[str]] = field(default_factory=dict)  # each table's own columns (no `season` added)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def export_folder(settings: Settings) -> Path:
    """Where exports go when no folder is named: NBADB_EXPORT_DIR, else `<data dir>/exports`."""
    return settings.export_dir or settings.data_dir / "exports"


def season_sql(date_column: str) -> str:
    """SQL: the season label ("2023-24") of a DATE column."""
    year = f'(year("{date_column}") - CASE WHEN month("{date_column}") < 7 THEN 1 ELSE 0 END)'
    return f"printf('%d-%02d', {year}, ({year} + 1) % 100)"


def exportable_tables(graph: ProcessorGraph) -> list[str]:
    return [graph.specs[name].output_table for name in graph.order]


def check_tables(graph: ProcessorGraph, tables: list[str] | None) -> list[str]:
    """The tables asked for, each once in the order first named (all of them when none is)."""
    known = exportable_tables(graph)
    unknown = [t for t in tables or [] if t not in known]
    if unknown:
        raise ConfigError(f"--tables: {', '.join(unknown)} not a pipeline table; see `nbadb processors`")
    return list(dict.fromkeys(tables)) if tables else known


def _select(con: duckdb.DuckDBPyConnection, graph: ProcessorGraph, table: str) -> str:
    spec = next(s for s in graph.specs.values() if s.output_table == table)
    schema, name = table.split(".")
    has_season = con.execute("SELECT count(*) FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? "
                             "AND column_name = 'season'", [schema, name]).fetchall()[0][0]
    derived = season_sql(spec.date_column)
    if has_season:
        return f"SELECT * REPLACE (coalesce(season, {derived}) AS season) FROM {table}"
    return f"SELECT *, {derived} AS season FROM {table}"


def _gone(pid_text: str) -> bool:
    try:
        os.kill(int(pid_text), 0)
    except (ValueError, ProcessLookupError):
        return True
    except PermissionError:
        return False
    return False


def _tidy(dest: Path, keep: str) -> None:
    """Remove temp folders of exports whose process is gone, and exports older than the newest kept."""
    for tmp in dest.glob(f"{TEMP_PREFIX}*"):
        if _gone(tmp.name.rsplit("-", 1)[-1]):
            shutil.rmtree(tmp, ignore_errors=True)
    done = sorted((p for p in dest.iterdir() if p.is_dir() and EXPORT_ID.fullmatch(p.name)), key=lambda p: p.name)
    for old in done[:-KEEP_EXPORTS]:
        if old.name != keep:
            shutil.rmtree(old, ignore_errors=True)


def export_tables(con: duckdb.DuckDBPyConnection, graph: ProcessorGraph, tables: list[str], export_format: ExportFormat,
                  dest: Path, now: datetime) -> ExportOutcome:
    """Export `tables` to a new folder under `dest` and point `dest/latest.json` at it. ConfigError
    when `dest` cannot be written (no such parent, no permission, a full disk): nothing is published."""
    export_id = f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    tmp = dest / f"{TEMP_PREFIX}{export_id}-{os.getpid()}"
    outcome = ExportOutcome(export_id, str(dest / export_id), export_format, now.isoformat(timespec="seconds"))
    options = "FORMAT parquet" if export_format == "parquet" else "FORMAT csv, HEADER true"
    try:
        dest.mkdir(parents=True, exist_ok=True)
        tmp.mkdir()
        for table in tables:
            select = _select(con, graph, table)
            outcome.tables[table] = con.execute(f"SELECT count(*) FROM ({select})").fetchall()[0][0]
            outcome.columns[table] = [d[0] for d in con.execute(f"SELECT * FROM {table} LIMIT 0").description]
            (tmp / table).mkdir()  # an empty table is an empty folder
            if outcome.tables[table]:
                con.execute(f"COPY ({select}) TO '{tmp / table}' "
                            f"({options}, PARTITION_BY (season), OVERWRITE_OR_IGNORE)")
    except (OSError, duckdb.IOException) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).strip().splitlines()[0]
        raise ConfigError(f"cannot write the export to {dest}: {reason}; nothing was published") from None
    os.replace(tmp, dest / export_id)
    write_atomically(dest / LATEST, json.dumps(outcome.as_dict(), indent=2).encode())
    _tidy(dest, export_id)
    return outcome


def exported_files(export: Path, table: str) -> str | None:
    """The glob of `table`'s files in the export at `export`; None when it exported no rows."""
    folder = export / table
    if not any(folder.rglob("*.parquet")):
        return None
    return str(folder / "**" / "*.parquet")


def latest_export(dest: Path) -> dict[str, object] | None:
    try:
        return json.loads((dest / LATEST).read_text())
    except (OSError, ValueError):
        return None
