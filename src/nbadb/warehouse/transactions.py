"""Ending transactions, retrying one a lake's catalog refused for a moment, and reading DuckDB's
way of saying a query was interrupted."""

from __future__ import annotations

import time
from typing import Callable, TypeVar

import duckdb

T = TypeVar("T")
# A lake's SQLite catalog lets one process write at a time. A commit that must turn its reading
# transaction into a writing one while another writer holds the lock gets SQLITE_BUSY at once
# (SQLite does not wait there, whatever its busy_timeout): the whole transaction is run again.
CATALOG_BUSY = "database is locked"
CATALOG_BUSY_ATTEMPTS = 30
CATALOG_BUSY_WAIT_SECONDS = 0.2  # times the attempt number, between attempts


def rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back the open transaction; when DuckDB already ended it (an interrupted or failed
    statement aborts it), there is nothing to undo."""
    try:
        con.execute("ROLLBACK")
    except duckdb.TransactionException:
        pass


def interrupted(exc: BaseException) -> bool:
    """True when `exc` is how DuckDB reports a Ctrl-C that stopped a query (it raises no
    KeyboardInterrupt itself): an InterruptException, or a RuntimeError saying so."""
    return isinstance(exc, (KeyboardInterrupt, duckdb.InterruptException)) or (
        isinstance(exc, RuntimeError) and "interrupted" in str(exc).lower())


def retried_while_catalog_busy(transaction: Callable[[], T]) -> T:
    """Run `transaction` (one whole transaction: it begins, writes, commits, and rolls back when it
    fails), again while it fails because a lake's catalog was busy (CATALOG_BUSY), up to
    CATALOG_BUSY_ATTEMPTS times; any other error, or the last busy one, is raised."""
    attempt = 1
    while True:
        try:
            return transaction()
        except duckdb.Error as exc:
            if CATALOG_BUSY not in str(exc) or attempt == CATALOG_BUSY_ATTEMPTS:
                raise
        time.sleep(CATALOG_BUSY_WAIT_SECONDS * attempt)
        attempt += 1
