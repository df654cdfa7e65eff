"""One transaction run whole (and again when a lake's catalog refused it for a moment), reads
grouped in one read transaction, ending transactions, and reading DuckDB's way of saying a query was
interrupted.

Words defined here:
- read transaction: statements run in one transaction that writes no held table (`read_transaction`),
  so they all read one state of the warehouse. On a lake every transaction fetches the catalog's
  latest snapshot, and the file list of each table it touches, from the catalog database (a few
  milliseconds each), and a statement outside a transaction is a transaction of its own, even one that
  reads only temp tables. Grouped, they pay once. On the DuckDB file a transaction costs nothing.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Callable, Iterator, TypeVar

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


def committed(con: duckdb.DuckDBPyConnection, write: Callable[[], T]) -> T:
    """`write` in one transaction on `con`: begun, committed, rolled back when it fails; run again
    while the commit fails because a lake's catalog was busy (CATALOG_BUSY), up to
    CATALOG_BUSY_ATTEMPTS times. Any other error, or the last busy one, is raised."""
    attempt = 1
    while True:
        con.execute("BEGIN TRANSACTION")
        try:
            value = write()
            con.execute("COMMIT")
            return value
        except BaseException as exc:
            rollback(con)
            if not isinstance(exc, duckdb.Error) or CATALOG_BUSY not in str(exc) or attempt == CATALOG_BUSY_ATTEMPTS:
                raise
        time.sleep(CATALOG_BUSY_WAIT_SECONDS * attempt)
        attempt += 1


@contextmanager
def read_transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """The block's statements as one read transaction: committed at the end (temp
    tables the block made stay), rolled back when the block raises. For reads and temp tables only:
    what writes held tables goes through `committed`, which waits out a busy catalog. Not for a block
    that catches a failed statement and goes on, since DuckDB ends the transaction at the failure."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        rollback(con)
        raise
    con.execute("COMMIT")
