"""Open the warehouse file, apply pending migrations, refuse databases newer than this code."""

from __future__ import annotations

import re
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

from nbadb.errors import WarehouseError
from nbadb.warehouse.migrations import apply_migrations

LOCK_WAIT_SECONDS = 30.0
# An in-memory catalog for what a source staged: every connection to the warehouse sees it (temp
# tables would be one connection's), and nothing in it is ever written to the warehouse file.
STAGE_CATALOG = "nbadb_stage"


def _connect_with_retry(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    """DuckDB lets one process write a file at a time; wait politely for the other one."""
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise WarehouseError(
                    f"cannot open warehouse {path}: {exc}. Is another nbadb process still writing it?"
                ) from exc
            time.sleep(0.05)


def open_warehouse(path: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the warehouse at `path`, migrated to this code's schema."""
    if read_only and not path.exists():
        raise WarehouseError(f"no warehouse at {path}. Run `nbadb ingest` first (or set NBADB_DATA_DIR).")
    path.parent.mkdir(parents=True, exist_ok=True)
    con = _connect_with_retry(path, read_only)
    configure_session(con, read_only=read_only)
    if not read_only:
        apply_migrations(con, path)
    return con


def configure_session(con: duckdb.DuckDBPyConnection, *, read_only: bool = False) -> None:
    """Settings every connection to the warehouse runs with: timestamps in UTC and, where it may
    write (a read-only database cannot attach one), the stage catalog's tables found by their
    bare names."""
    con.execute("SET TimeZone = 'UTC'")
    if not read_only:
        con.execute(f"ATTACH IF NOT EXISTS ':memory:' AS {STAGE_CATALOG}")
        con.execute(f"SET search_path = 'main,{STAGE_CATALOG}.main'")


@contextmanager
def warehouse(path: Path, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    con = open_warehouse(path, read_only=read_only)
    try:
        yield con
    finally:
        con.close()


@contextmanager
def duckdb_threads(con: duckdb.DuckDBPyConnection, threads: int) -> Iterator[None]:
    """Run a block with `threads` DuckDB worker threads. Day-sized statements finish sooner on one
    thread (no hand-off between workers); whole-archive loads want them all."""
    before = con.execute("SELECT current_setting('threads')").fetchall()[0][0]
    con.execute(f"SET threads = {int(threads)}")
    try:
        yield
    finally:
        con.execute(f"SET threads = {int(before)}")


_PARAM = re.compile(r"\$([A-Za-z_]\w*)")


def used_params(sql: str, params: dict[str, object]) -> dict[str, object]:
    """The named parameters `sql` references (DuckDB rejects unused ones)."""
    used = set(_PARAM.findall(sql))
    return {k: v for k, v in params.items() if k in used}


def execute(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object] | None = None) -> duckdb.DuckDBPyConnection:
    """Run SQL with only the named parameters it references."""
    return con.execute(sql, used_params(sql, params)) if params else con.execute(sql)
