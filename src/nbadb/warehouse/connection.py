"""Open the warehouse file, apply pending migrations, refuse databases newer than this code."""

from __future__ import annotations

import logging
import re
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

from nbadb.errors import WarehouseError
from nbadb.warehouse.migrations import LATEST_VERSION, apply_migrations, current_version, is_newer
from nbadb.warehouse.pandas_on_demand import defer_pandas

LOCK_WAIT_SECONDS = 30.0
_log = logging.getLogger(__name__)
# An in-memory catalog for what a source staged: every connection to the warehouse sees it (temp
# tables would be one connection's), and nothing in it is ever written to the warehouse file.
STAGE_CATALOG = "nbadb_stage"
# The name a lake (warehouse.lake) is attached under in a session where it is the warehouse.
LAKE_CATALOG = "lake"
# The write-ahead log's size past which a commit also checkpoints (DuckDB's default is 16 MB, which
# every month-sized commit of a backfill passed: one season's backfill took 63 s, 52 s at 1 GB, A/B
# alternated). Commits stay durable in the log (a kill -9 replays it at the next open).
CHECKPOINT_THRESHOLD = "1GB"
# The log's size from which closing a warehouse checkpoints it (close_warehouse). A checkpoint
# rewrites the file's metadata: 0.15 s even for the fourteen ledger rows (20 kB) of a no-op run. A
# log is replayed by every open until a checkpoint: 20 kB in a few ms, a two-day ingest's 0.5 MB in
# 0.05 s, a day's run's 7 MB in 0.25 s (so that one is folded at once). The log is part of the
# warehouse: copy the folder, or the file with its `.wal` beside it.
CLOSE_CHECKPOINT_BYTES = 2**20


def _connect_with_retry(path: Path, read_only: bool, lock_wait: float) -> duckdb.DuckDBPyConnection:
    """DuckDB lets one process write a file at a time; wait politely for the other one, saying so once
    (a warning on the log, which a command shows on stderr) instead of sitting silent."""
    defer_pandas()
    deadline = time.monotonic() + lock_wait
    said = False
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise WarehouseError(f"{path} is not a readable nbadb warehouse ({_first_line(exc)})") from None
            if not said and lock_wait > 0:
                _log.warning("%s is held by another process (a replay, a run, `nbadb serve`): waiting up to %.0f s "
                             "for it", path, lock_wait)
                said = True
            if time.monotonic() > deadline:
                raise WarehouseError(
                    f"cannot open warehouse {path}: another process holds it ({_first_line(exc)}). "
                    "While `nbadb serve` runs, ask it (read commands do) or stop it first."
                ) from None
            time.sleep(0.05)
        except duckdb.Error as exc:
            raise WarehouseError(f"{path} is not a readable nbadb warehouse ({_first_line(exc)})") from None


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def open_warehouse(path: Path, *, read_only: bool = False, lock_wait: float = LOCK_WAIT_SECONDS) -> duckdb.DuckDBPyConnection:
    """Open the warehouse at `path` at this code's schema version: creating and migrating it when
    writing; refusing a missing file, or one of another schema version, when only reading."""
    if read_only and not path.is_file():
        raise WarehouseError(f"no warehouse at {path}. Run `nbadb ingest` or `nbadb replay` first "
                             "(or point NBADB_DATA_DIR at the folder that holds nba.duckdb).")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        why = "it is a file, not a folder" if path.parent.is_file() else exc.strerror or str(exc)
        raise WarehouseError(f"cannot make the warehouse's folder {path.parent} (NBADB_DATA_DIR): {why}; "
                             "nothing was written") from None
    con = _connect_with_retry(path, read_only, lock_wait)
    try:
        configure_session(con, read_only=read_only)
        if not read_only:
            apply_migrations(con, path)
        elif (version := current_version(con)) != LATEST_VERSION:
            newer = is_newer(version)
            raise WarehouseError(
                f"{path} has schema version {version}, " + (
                    f"newer than this nbadb understands ({LATEST_VERSION}); upgrade nbadb" if newer else
                    f"older than this nbadb's ({LATEST_VERSION}); run a write command (`nbadb ingest`, "
                    "`nbadb run`) once to migrate it"))
    except duckdb.Error as exc:
        con.close()
        raise WarehouseError(f"{path} is not a readable nbadb warehouse ({_first_line(exc)})") from None
    except BaseException:
        con.close()
        raise
    return con


def current_catalog(con: duckdb.DuckDBPyConnection) -> str:
    """The name of the session's default database (the warehouse file's, or the lake's catalog)."""
    return con.execute("SELECT current_database()").fetchall()[0][0]


def configure_session(con: duckdb.DuckDBPyConnection, *, read_only: bool = False) -> None:
    """Settings every connection to the warehouse runs with: timestamps in UTC, the lake as the
    default database when the warehouse is one (a cursor starts in the session's in-memory one)
    and, where it may write (a read-only database cannot attach one), the stage catalog's tables
    found by their bare names and checkpoints at CHECKPOINT_THRESHOLD."""
    con.execute("SET TimeZone = 'UTC'")
    if con.execute("SELECT count(*) FROM duckdb_databases() WHERE database_name = ?", [LAKE_CATALOG]).fetchall()[0][0]:
        con.execute(f"USE {LAKE_CATALOG}")
    if not read_only:
        con.execute(f"ATTACH IF NOT EXISTS ':memory:' AS {STAGE_CATALOG}")
        con.execute(f"SET search_path = 'main,{STAGE_CATALOG}.main'")
        con.execute(f"SET checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'")


def close_warehouse(con: duckdb.DuckDBPyConnection) -> None:
    """Close a session, checkpointing its warehouse file only when the write-ahead log has reached
    CLOSE_CHECKPOINT_BYTES (a lake, or a read-only session, has no log of its own to fold)."""
    rows = con.execute("SELECT path, readonly FROM duckdb_databases() "
                       "WHERE database_name = current_database() AND type = 'duckdb'").fetchall()
    if rows and rows[0][0] and not rows[0][1]:
        log = Path(f"{rows[0][0]}.wal")
        if not log.exists() or log.stat().st_size < CLOSE_CHECKPOINT_BYTES:
            con.execute("PRAGMA disable_checkpoint_on_shutdown")
    con.close()


@contextmanager
def warehouse(path: Path, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    con = open_warehouse(path, read_only=read_only)
    try:
        yield con
    finally:
        close_warehouse(con)


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
