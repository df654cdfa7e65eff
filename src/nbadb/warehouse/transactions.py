"""Ending transactions and reading DuckDB's way of saying a query was interrupted."""

from __future__ import annotations

import duckdb


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
