"""Row-level comparison of one table in two catalogs of one DuckDB session, computed in DuckDB: what
SQLMesh's table_diff shows — row counts on each side, rows joined on the key, rows on one side only,
rows that differ, each column's match percentage over the joined rows — plus samples of what
differs (key, column, legacy value, strategic value).

Rows are joined on the table's key columns and, since a key may hold several rows (a player's
predictions of one day), on their ordinal within the key ordered by `order_by` (the row hash for
the pipeline's tables: equal rows line up whatever order they were written in). A row present on one
side only shows as column `*` in the samples.

Each side's rows are first summed as 64-bit row hashes (with their count): where both sides agree,
the rows are the same multiset (but for a hash collision, about one chance in 2^64) and the table is
equal without joining it row by row; only a table whose sums differ is joined.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

MISSING_ROW = "*"  # the column named in a sample of a row one side lacks


@dataclass(frozen=True)
class Sample:
    row_key: str
    column: str
    legacy_value: str | None
    strategic_value: str | None


@dataclass
class TableDiff:
    table: str
    legacy_rows: int
    strategic_rows: int
    joined_rows: int
    only_legacy: int
    only_strategic: int
    differing_rows: int
    column_match: dict[str, float] = field(default_factory=dict)  # percent of joined rows equal
    samples: list[Sample] = field(default_factory=list)

    @property
    def divergent_rows(self) -> int:
        return self.only_legacy + self.only_strategic + self.differing_rows

    @property
    def compared_rows(self) -> int:
        return max(self.legacy_rows, self.strategic_rows)

    @property
    def equal(self) -> bool:
        return self.divergent_rows == 0


@dataclass(frozen=True)
class TableShape:
    """How to compare a table: its key columns, the columns compared and the ordinal's ordering."""

    table: str
    key: tuple[str, ...]
    columns: tuple[str, ...]
    order_by: tuple[str, ...]


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _same_rows(con: duckdb.DuckDBPyConnection, legacy: str, strategic: str, table: str, projected: str,
               where: str) -> int | None:
    """The rows each side holds when both hold the same (count and sum of row hashes agree); else None."""
    def side(catalog: str) -> str:
        return f"SELECT count(*) AS n, sum(hash({projected})::HUGEINT) AS h FROM {catalog}.{table} WHERE {where}"

    (n_legacy, h_legacy, n_strategic, h_strategic), = con.execute(
        f"SELECT l.n, l.h, s.n, s.h FROM ({side(legacy)}) l, ({side(strategic)}) s").fetchall()
    return n_legacy if (n_legacy, h_legacy) == (n_strategic, h_strategic) else None


def table_diff(con: duckdb.DuckDBPyConnection, legacy: str, strategic: str, shape: TableShape,
               where: str = "true", sample_limit: int = 10) -> TableDiff:
    """Compare `shape.table` in catalog `legacy` with the same table in catalog `strategic`,
    restricted to rows matching `where` on both sides."""
    key = [_ident(c) for c in shape.key]
    order = ", ".join(_ident(c) for c in shape.order_by) or "1"
    cols = [c for c in shape.columns if c not in shape.key]
    projected = ", ".join(key + [_ident(c) for c in cols])
    same_rows = _same_rows(con, legacy, strategic, shape.table, projected, where)
    if same_rows is not None:
        return TableDiff(shape.table, same_rows, same_rows, same_rows, 0, 0, 0, {c: 100.0 for c in cols})

    def side(catalog: str) -> str:
        return (f"SELECT {projected}, row_number() OVER (PARTITION BY {', '.join(key)} ORDER BY {order}) AS _n "
                f"FROM {catalog}.{shape.table} WHERE {where}")

    joined = " AND ".join(f"l.{k} IS NOT DISTINCT FROM s.{k}" for k in key + ["_n"])
    same = [f"l.{_ident(c)} IS NOT DISTINCT FROM s.{_ident(c)}" for c in cols]
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _diff AS
        SELECT l._n IS NOT NULL AS in_legacy, s._n IS NOT NULL AS in_strategic,
               concat_ws('|', {', '.join(f'coalesce(l.{k}, s.{k})::VARCHAR' for k in key)})
                   || CASE WHEN coalesce(l._n, s._n) > 1 THEN '#' || coalesce(l._n, s._n) ELSE '' END AS row_key,
               [{', '.join(same) or 'true'}] AS same,
               [{', '.join(f'l.{_ident(c)}::VARCHAR' for c in cols) or 'NULL'}] AS legacy_values,
               [{', '.join(f's.{_ident(c)}::VARCHAR' for c in cols) or 'NULL'}] AS strategic_values
        FROM ({side(legacy)}) l FULL OUTER JOIN ({side(strategic)}) s ON {joined}""")
    both = "in_legacy AND in_strategic"
    counts = con.execute(f"""SELECT count(*) FILTER (WHERE in_legacy), count(*) FILTER (WHERE in_strategic),
            count(*) FILTER (WHERE {both}), count(*) FILTER (WHERE NOT in_strategic),
            count(*) FILTER (WHERE NOT in_legacy),
            count(*) FILTER (WHERE {both} AND NOT list_bool_and(same))
            {''.join(f", count(*) FILTER (WHERE {both} AND same[{i}])" for i in range(1, len(cols) + 1))}
        FROM _diff""").fetchall()[0]
    diff = TableDiff(shape.table, *counts[:6])
    diff.column_match = {c: (100.0 * n / diff.joined_rows if diff.joined_rows else 100.0)
                         for c, n in zip(cols, counts[6:])}
    rows = con.execute(f"""SELECT row_key, in_legacy, in_strategic, same, legacy_values, strategic_values FROM _diff
        WHERE NOT ({both}) OR NOT list_bool_and(same) ORDER BY row_key LIMIT {int(sample_limit)}""").fetchall()
    for row_key, in_legacy, in_strategic, same_flags, left, right in rows:
        if not (in_legacy and in_strategic):
            diff.samples.append(Sample(row_key, MISSING_ROW, "present" if in_legacy else None,
                                       "present" if in_strategic else None))
            continue
        diff.samples += [Sample(row_key, c, lv, rv) for c, ok, lv, rv in zip(cols, same_flags, left, right) if not ok]
    return diff
