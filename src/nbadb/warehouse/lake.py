"""DuckLake, the storage track's strategic store: Parquet data files plus a catalog database
(SQLite on one machine, PostgreSQL across machines) that many processes read and write at once.

A lake is reached through an in-memory DuckDB session with the lake attached as its default
database, so every table name the engine uses (`raw.schedule`, `ops.processor_runs`) resolves in
the lake, while temp tables, views and macros stay in the session (DuckDB's `temp` catalog) and
what a source stages stays in the stage catalog, as on the file.

DuckLake's DDL is a subset of DuckDB's (no PRIMARY KEY, literal defaults only, no SET NOT NULL),
so a new lake is born at this code's schema version by reflection: the migrations run on an
in-memory DuckDB (`schema_model`), and the lake gets its schemas, tables (columns, types, NOT NULL,
defaults as literals) and views from that catalog, with every migration recorded as applied.
Migrations newer than a lake run on it statement by statement, as on the file.

The extensions come from the registry packages `duckdb-ext-ducklake`, `duckdb-ext-sqlite` and
`duckdb-ext-postgres` (the `lake` extra): their files sit under `duckdb_ext/extensions/` in
site-packages, so nothing is downloaded at run time.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import duckdb

from nbadb.warehouse.transactions import committed
from nbadb.errors import ConfigError, WarehouseError
from nbadb.warehouse.connection import LAKE_CATALOG, configure_session
from nbadb.warehouse.migrations import LATEST_VERSION, MIGRATIONS, apply_migrations, current_version
from nbadb.warehouse.pandas_on_demand import defer_pandas

CATALOG_KINDS = ("sqlite", "postgres")


def extension_directory() -> Path:
    """Where the registry's DuckDB extension packages put their files."""
    spec = importlib.util.find_spec("duckdb_ext")
    folder = Path(next(iter(spec.submodule_search_locations))) / "extensions" if spec and spec.submodule_search_locations else None
    if folder is None or not folder.is_dir():
        raise ConfigError("DuckLake needs the `lake` extra: pip install -e '.[lake]' "
                          "(duckdb-ext-ducklake, duckdb-ext-sqlite, duckdb-ext-postgres)")
    return folder


# A data file under SMALL_FILE_BYTES is small. DuckLake writes a Parquet file per insert, so every run
# adds one to each table it writes (the ledger's tables get a file per row), and a scan opens every
# file: a lake written day by day reads slower each day until its small files are merged (`compact`).
SMALL_FILE_BYTES = 1_000_000
SMALL_FILES_PER_TABLE = 16  # a table gathers this many before `compact` merges them

_METADATA = f"__ducklake_metadata_{LAKE_CATALOG}"
_TABLES_TO_COMPACT = f"""
    SELECT s.schema_name, t.table_name
    FROM {_METADATA}.ducklake_data_file f
    JOIN {_METADATA}.ducklake_table t ON t.table_id = f.table_id AND t.end_snapshot IS NULL
    JOIN {_METADATA}.ducklake_schema s ON s.schema_id = t.schema_id AND s.end_snapshot IS NULL
    WHERE f.end_snapshot IS NULL AND f.file_size_bytes < {SMALL_FILE_BYTES}
    GROUP BY ALL HAVING count(*) > {SMALL_FILES_PER_TABLE} ORDER BY ALL"""

# How long a SQLite catalog's writer waits for the catalog lock another process holds (SQLite's
# busy_timeout, passed by DuckLake to the catalog's attach) before its commit fails.
SQLITE_BUSY_TIMEOUT_MS = 60_000


@dataclass(frozen=True)
class LakeLocation:
    """A lake: its catalog (`sqlite:<file>` or `postgres:<libpq conninfo>`) and its data folder."""

    catalog: str
    data_path: Path

    @classmethod
    def parse(cls, catalog: str, data_path: Path) -> LakeLocation:
        kind, sep, rest = catalog.partition(":")
        if not sep or kind not in CATALOG_KINDS or not rest.strip():
            raise ConfigError(f"NBADB_LAKE_CATALOG={catalog!r}: use sqlite:<file> or postgres:<conninfo>, "
                              "e.g. postgres:dbname=nbadb host=127.0.0.1")
        return cls(catalog, data_path)

    @property
    def kind(self) -> str:
        return self.catalog.partition(":")[0]

    def exists(self) -> bool:
        """False only for a SQLite catalog file that is not there yet; a PostgreSQL catalog is taken to
        exist (attaching it creates DuckLake's tables in the database when they are missing)."""
        return self.kind != "sqlite" or Path(self.catalog.partition(":")[2]).is_file()

    def attach_sql(self, alias: str, *, read_only: bool) -> str:
        """The ATTACH of this lake. A SQLite catalog travels with its data folder (one machine), so the
        configured folder wins over the one the catalog recorded when the lake was made
        (OVERRIDE_DATA_PATH; the files' paths are relative to it): a data folder copied, moved or
        restored from a backup opens where it is now. A PostgreSQL catalog is shared by machines
        that must all write to the folder it recorded, so a different one is refused."""
        options = [f"DATA_PATH '{_quoted(str(self.data_path))}/'"] + (["READ_ONLY"] if read_only else [])
        if self.kind == "sqlite":
            options.append("OVERRIDE_DATA_PATH true")
            # a writer waits for another's commit to the catalog file instead of failing
            options.append(f"METADATA_PARAMETERS MAP {{'busy_timeout': {SQLITE_BUSY_TIMEOUT_MS}}}")
        return f"ATTACH IF NOT EXISTS 'ducklake:{_quoted(self.catalog)}' AS {alias} ({', '.join(options)})"


def _quoted(text: str) -> str:
    return text.replace("'", "''")


def session() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB session that loads the extensions from the installed packages only."""
    defer_pandas()
    return duckdb.connect(config={"extension_directory": str(extension_directory()),
                                  "autoinstall_known_extensions": False, "autoload_known_extensions": True,
                                  })


def attach(con: duckdb.DuckDBPyConnection, location: LakeLocation, alias: str, *, read_only: bool) -> None:
    """Attach the lake to a session (of the lake or of the file) under `alias`."""
    if location.kind == "sqlite":
        location.data_path.mkdir(parents=True, exist_ok=True)
    try:
        con.execute(f"SET extension_directory = '{_quoted(str(extension_directory()))}'")
        con.execute(location.attach_sql(alias, read_only=read_only))
    except duckdb.Error as exc:
        raise WarehouseError(f"cannot attach the lake {location.catalog}: {str(exc).strip().splitlines()[0]}") from None


def compact(con: duckdb.DuckDBPyConnection) -> None:
    """Merge the small data files of each table that has gathered more than SMALL_FILES_PER_TABLE,
    in one transaction. DuckLake's merge keeps what every snapshot sees, so nothing read as of an
    earlier snapshot changes; the merged files stay on disk until `ducklake_cleanup_old_files`. When
    another writer's commit conflicts with it, it gives way: nothing is merged, and the next call
    merges."""
    tables = con.execute(_TABLES_TO_COMPACT).fetchall()

    def merge() -> None:
        for schema, table in tables:
            con.execute(f"CALL ducklake_merge_adjacent_files('{LAKE_CATALOG}', '{table}', schema => '{schema}', "
                        f"max_file_size => {SMALL_FILE_BYTES})").fetchall()

    if tables:
        try:
            committed(con, merge)
        except duckdb.TransactionException:  # a conflict with another writer's commit
            pass


def open_lake(location: LakeLocation, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    """A session whose default database is the lake, at this code's schema version (created or
    migrated when writing; refused when reading a missing lake or one of another version)."""
    if read_only and not location.exists():
        raise WarehouseError(f"no lake at {location.catalog}. The storage track creates it "
                             "(`nbadb rollout advance storage`), or a write command with the lake serving.")
    con = session()
    try:
        attach(con, location, LAKE_CATALOG, read_only=read_only)
        configure_session(con, read_only=read_only)
        if read_only:
            version = current_version(con)
            if version != LATEST_VERSION:
                raise WarehouseError(f"the lake {location.catalog} has schema version {version}, this nbadb "
                                     f"{LATEST_VERSION}; run a write command on it once to migrate it")
        elif current_version(con) == 0:
            create_schema(con)
        else:
            apply_migrations(con, location.catalog)
    except BaseException:
        con.close()
        raise
    return con


def schema_model() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB at this code's schema version: what a lake is created from."""
    model = duckdb.connect()
    apply_migrations(model, "the schema model")
    return model


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """In one transaction: every schema, table and view of the model in the lake, and every
    migration recorded as applied."""
    model = schema_model()
    try:
        statements = _schema_statements(model)
    finally:
        model.close()

    def write() -> None:
        for statement in statements:
            con.execute(statement)
        con.executemany("INSERT INTO ops.schema_migrations (version, name, applied_at) VALUES (?, ?, now()::TIMESTAMP)",
                        [[m.version, m.name] for m in MIGRATIONS])

    committed(con, write)


def _schema_statements(model: duckdb.DuckDBPyConnection) -> list[str]:
    schemas = [s for (s,) in model.execute(
        "SELECT schema_name FROM duckdb_schemas() WHERE database_name = current_database() AND NOT internal "
        "AND schema_name <> 'main' ORDER BY 1").fetchall()]
    columns = model.execute(
        """SELECT schema_name, table_name, column_name, data_type, is_nullable, column_default,
                  CASE WHEN column_default IS NOT NULL AND data_type NOT LIKE '%[]' THEN column_default END
           FROM duckdb_columns() WHERE database_name = current_database()
             AND table_name IN (SELECT table_name FROM duckdb_tables() t WHERE t.schema_name = schema_name)
           ORDER BY schema_name, table_name, column_index""").fetchall()
    tables: dict[str, list[str]] = {}
    for schema, table, column, data_type, nullable, _, default in columns:
        text = f'"{column}" {data_type}' + ("" if nullable else " NOT NULL")
        if default is not None:
            literal = model.execute(f"SELECT CAST({default} AS VARCHAR)").fetchall()[0][0]
            text += f" DEFAULT '{_quoted(literal)}'"
        tables.setdefault(f"{schema}.{table}", []).append(text)
    views = [sql for (sql,) in model.execute(
        "SELECT sql FROM duckdb_views() WHERE database_name = current_database() AND NOT internal "
        "ORDER BY schema_name, view_name").fetchall()]
    return ([f"CREATE SCHEMA IF NOT EXISTS {s}" for s in schemas]
            + [f"CREATE TABLE {name} ({', '.join(cols)})" for name, cols in tables.items()]
            + views)
