"""Stable content hashes: md5 over a canonical text serialisation, never DuckDB's hash().

The serialisation is versioned (SCHEME_VERSION). Every value is rendered by its type so the
text does not depend on DuckDB's float or date printing: integers in decimal, doubles with
12 significant digits, dates ISO, timestamps ISO to the microsecond, NULL as a marker.
"""

from __future__ import annotations

SCHEME_VERSION = 1
SEPARATOR = "chr(31)"
NULL_MARKER = "'\\N'"


def canonical_value_sql(column: str, duckdb_type: str) -> str:
    """SQL rendering one column as canonical text."""
    quoted = f'"{column}"'
    kind = duckdb_type.upper()
    if kind in {"DOUBLE", "FLOAT", "REAL"} or kind.startswith("DECIMAL"):
        rendered = f"printf('%.12g', {quoted})"
    elif kind == "DATE":
        rendered = f"strftime({quoted}, '%Y-%m-%d')"
    elif kind.startswith("TIMESTAMP"):
        rendered = f"strftime({quoted}, '%Y-%m-%dT%H:%M:%S.%f')"
    elif kind == "BOOLEAN":
        rendered = f"CASE WHEN {quoted} THEN 't' ELSE 'f' END"
    elif kind.endswith("[]"):
        rendered = f"array_to_string(list_transform({quoted}, lambda x: coalesce(cast(x AS VARCHAR), {NULL_MARKER})), ',')"
    else:
        rendered = f"cast({quoted} AS VARCHAR)"
    return f"coalesce({rendered}, {NULL_MARKER})"


def cast_columns_sql(columns: list[tuple[str, str]] | tuple[tuple[str, str], ...]) -> str:
    """SELECT list casting each (name, duckdb type) column to its type under its own name."""
    return ", ".join(f'cast("{c}" AS {t}) AS "{c}"' for c, t in columns)


def row_hash_sql(columns: list[tuple[str, str]]) -> str:
    """SQL expression hashing a row given (name, duckdb type) pairs in a fixed order."""
    parts = ", ".join(canonical_value_sql(name, kind) for name, kind in columns)
    return f"md5(concat_ws({SEPARATOR}, {parts}))"


def combine_hashes_sql(hash_column: str) -> str:
    """Aggregate SQL: one order-independent signature over a group's row hashes."""
    # the same text as string_agg(h, '' ORDER BY h), without an ordered aggregate's per-group sort
    return f"md5(array_to_string(list_sort(list({hash_column})), ''))"
