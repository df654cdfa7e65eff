"""A processor's large queries as temp table macros, defined once per connection.

DuckDB parses a statement's whole text every time it runs, at about a microsecond a character.
A processor's hashed transform and its signature query run every game day and are thousands of
characters each, so the engine defines each once per connection as a table macro and then calls
it by name: the call is a few dozen characters, and DuckDB binds the macro's stored parse tree.
The date parameters `$start` and `$end` become the macro's arguments.
"""

from __future__ import annotations

import hashlib
import re

import duckdb

# Query parameters a macro body may use, and the macro argument each becomes.
_ARGUMENTS = {"start": "nbadb_start_", "end": "nbadb_end_"}
_PARAMETER = re.compile(r"\$(start|end)\b")
_OTHER_PARAMETER = re.compile(r"\$(?!start\b|end\b)[A-Za-z_]\w*")


class TableMacros:
    """The table macros defined on one connection (temp macros live and die with it)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self._calls: dict[tuple[str, str], str] = {}  # (label, body) -> the call, once defined

    def call(self, label: str, body: str) -> str:
        """SQL selecting from `body` as a macro (defined now if this connection lacks it); the
        caller passes `$start` and `$end` as it would have to `body`. The name carries a digest
        of the body, so a changed query is a new macro."""
        known = self._calls.get((label, body))
        if known is not None:
            return known
        stray = _OTHER_PARAMETER.search(body)
        if stray:
            raise ValueError(f"{label}: a table macro takes only $start and $end, not {stray.group(0)}")
        digest = hashlib.md5(body.encode()).hexdigest()[:12]
        name = f"_nbadb_{re.sub(r'[^a-z0-9]+', '_', label.lower())}_{digest}"
        self.con.execute(
            f"CREATE OR REPLACE TEMP MACRO {name}({', '.join(_ARGUMENTS.values())}) AS TABLE "
            + _PARAMETER.sub(lambda m: _ARGUMENTS[m.group(1)], body)
        )
        self._calls[(label, body)] = call = f"SELECT * FROM {name}($start, $end)"
        return call
