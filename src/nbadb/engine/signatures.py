"""Per-entity change detection: signatures of the current inputs against the last stored ones.

A signature is md5 over the sorted part hashes an entity depends on, plus the processor's code
version and the signature-scheme version, so a code change invalidates every entity.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from nbadb.engine.request import ChangeSet, RunRequest
from nbadb.engine.spec import ProcessorSpec
from nbadb.warehouse.hashing import SCHEME_VERSION, combine_hashes_sql


def _entity_filter_sql(request: RunRequest, column: str = "entity_id") -> str:
    return f" AND {column} IN (SELECT entity_id FROM _entity_filter)" if request.entity_ids is not None else ""


def prepare_entity_filter(con: duckdb.DuckDBPyConnection, request: RunRequest) -> None:
    if request.entity_ids is not None:
        con.execute("CREATE OR REPLACE TEMP TABLE _entity_filter (entity_id VARCHAR)")
        if request.entity_ids:
            con.executemany("INSERT INTO _entity_filter (entity_id) VALUES (?)", [[e] for e in request.entity_ids])


def current_signatures_from_inputs(
    con: duckdb.DuckDBPyConnection, spec: ProcessorSpec, request: RunRequest, params: dict[str, date], *,
    append: bool = False,
) -> int:
    """Fill _sig_cur(entity_id, game_date, signature) from the spec's declared dependencies (its
    signature query) for the dates of `params` (start, end); `append` adds to what earlier snapshots
    of the run filled. Returns the rows added."""
    salt = f"{spec.code_version}:{SCHEME_VERSION}"
    into = "INSERT INTO _sig_cur" if append else "CREATE OR REPLACE TEMP TABLE _sig_cur AS"
    return con.execute(
        f"""{into}
        SELECT cast(entity_id AS VARCHAR) AS entity_id, game_date,
               md5({combine_hashes_sql('part_hash')} || '{salt}') AS signature
        FROM ({spec.signature_sql}) deps
        WHERE game_date BETWEEN $start AND $end {_entity_filter_sql(request, 'cast(entity_id AS VARCHAR)')}
        GROUP BY ALL""",
        params,
    ).fetchall()[0][0]


def current_signatures_from_output(con: duckdb.DuckDBPyConnection, spec: ProcessorSpec) -> int:
    """Fill _sig_cur from already-hashed transform output in _out (processors whose rows are their own signature); returns its size."""
    salt = f"{spec.code_version}:{SCHEME_VERSION}"
    return con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _sig_cur AS
        SELECT cast("{spec.entity_key}" AS VARCHAR) AS entity_id, "{spec.date_column}" AS game_date,
               md5({combine_hashes_sql('row_hash')} || '{salt}') AS signature
        FROM _out WHERE "{spec.entity_key}" IS NOT NULL GROUP BY ALL"""  # a row naming no entity is quarantined
    ).fetchall()[0][0]


def compare_with_stored(con: duckdb.DuckDBPyConnection, spec: ProcessorSpec, request: RunRequest) -> int:
    """Fill _changes(entity_id, game_date, signature, change) with new, changed and gone entities; returns
    how many."""
    return con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _changes AS
        WITH stored AS (
            SELECT entity_id, game_date, signature FROM ops.entity_signatures
            WHERE processor = $processor AND game_date BETWEEN $start AND $end
            {_entity_filter_sql(request)}
        )
        SELECT coalesce(c.entity_id, s.entity_id) AS entity_id,
               coalesce(c.game_date, s.game_date) AS game_date,
               c.signature,
               CASE WHEN s.signature IS NULL THEN 'new'
                    WHEN c.signature IS NULL THEN 'gone'
                    ELSE 'changed' END AS change
        FROM _sig_cur c FULL OUTER JOIN stored s
          ON c.entity_id = s.entity_id AND c.game_date = s.game_date
        WHERE c.signature IS DISTINCT FROM s.signature""",
        {"processor": spec.name, "start": request.start_date, "end": request.end_date},
    ).fetchall()[0][0]


def store_signatures(
    con: duckdb.DuckDBPyConnection, spec: ProcessorSpec, request: RunRequest, *, replacing: bool
) -> None:
    """Inside the write transaction: store the signatures of the changed entities. `replacing`: some
    of them have a stored signature (a change other than 'new'), which is deleted first; a gone
    entity's is only deleted. An unchanged entity a date-mode run reprocessed keeps its own, which
    is the same."""
    params = {"processor": spec.name, "start": request.start_date, "end": request.end_date}
    if replacing:
        con.execute(
            """DELETE FROM ops.entity_signatures s USING _changes c
            WHERE s.processor = $processor AND s.game_date BETWEEN $start AND $end AND c.change <> 'new'
              AND s.entity_id = c.entity_id AND s.game_date = c.game_date""",
            params,
        )
    con.execute(
        """INSERT INTO ops.entity_signatures
            (processor, entity_id, game_date, signature, code_version, scheme_version, run_id, updated_at)
        SELECT $processor, entity_id, game_date, signature, $code, $scheme, $run_id, now()::TIMESTAMP
        FROM _changes WHERE signature IS NOT NULL""",
        {"processor": spec.name, "code": spec.code_version, "scheme": SCHEME_VERSION, "run_id": request.run_id},
    )


def forget_signatures(con: duckdb.DuckDBPyConnection, spec: ProcessorSpec, request: RunRequest) -> None:
    """Inside the write transaction: the processed entities have no stored signature any more (a
    partial run's rows are incomplete, so the next run must redo them)."""
    con.execute(
        """DELETE FROM ops.entity_signatures s USING _scope p
        WHERE s.processor = $processor AND s.game_date BETWEEN $start AND $end
          AND s.entity_id = p.entity_id AND s.game_date = p.game_date""",
        {"processor": spec.name, "start": request.start_date, "end": request.end_date},
    )


def drop_dates(con: duckdb.DuckDBPyConnection, dates: list[date]) -> int:
    """Remove the changes on `dates` (frozen as-of dates inside the run's range); returns how many."""
    if not dates:
        return 0
    return con.execute("DELETE FROM _changes WHERE list_contains($d, game_date)", {"d": dates}).fetchall()[0][0]


def add_forced(con: duckdb.DuckDBPyConnection) -> int:
    """A forced run: every entity of the dates is work, the unchanged ones marked 'forced'; returns how many were added."""
    return con.execute(
        "INSERT INTO _changes (entity_id, game_date, signature, change) "
        "SELECT entity_id, game_date, signature, 'forced' FROM _sig_cur "
        "WHERE (entity_id, game_date) NOT IN (SELECT (entity_id, game_date) FROM _changes)"
    ).fetchall()[0][0]


@dataclass(frozen=True)
class PendingChanges:
    """`_changes` as the run is about to work: how many pairs, how many are gone, and whether a
    stored signature will be replaced (some change other than 'new')."""

    total: int
    gone: int
    replacing: bool


def pending_changes(con: duckdb.DuckDBPyConnection) -> PendingChanges:
    total, gone, replacing = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE change = 'gone'), coalesce(bool_or(change <> 'new'), false) "
        "FROM _changes"
    ).fetchall()[0]
    return PendingChanges(total, gone, replacing)


def change_set(con: duckdb.DuckDBPyConnection) -> ChangeSet:
    count, dates, entity_ids, digest = con.execute(
        """SELECT count(*), list_sort(list_distinct(list(game_date))), list_sort(list_distinct(list(entity_id))),
                  md5(sum(('0x' || md5(strftime(game_date, '%Y-%m-%d') || '|' || entity_id)[:16])::UBIGINT::HUGEINT)
                      ::VARCHAR)
        FROM _changes WHERE change <> 'forced'"""
    ).fetchall()[0]
    if not count:
        return ChangeSet()
    return ChangeSet(count, tuple(dates), tuple(entity_ids), digest)
