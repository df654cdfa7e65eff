"""The control plane's own database (`<data dir>/control.duckdb`): the append-only audit every
phase comes from, and the evidence the gates read. It is separate from the warehouse because it
decides which store the warehouse lives in, and must outlive either.

- `ops.rollout_audit`: who did what when (advance, rollback, signoff, incident, resolve, refused, repair);
  never updated, never deleted. A track's phase is the `to_phase` of its latest advance or
  rollback (0 before any).
- `ops.rollout_audit_evidence`: the gate's items as they stood when an advance or rollback was
  asked for (required, observed, met) — the evidence snapshot of each audit row.
- `ops.rollout_cycles`: one row per track, game day and cycle mode (shadow, dual_write, strategic):
  rows compared and rows that diverged.
- `ops.rollout_divergences`: samples of what diverged (table, key, column, legacy and strategic value).
- `ops.rollout_parity` and `ops.rollout_parity_columns`: the row-level parity of each table after
  each dual-write cycle (rollout.diff) and each column's match percentage.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterator, Literal

import duckdb

from nbadb.config import Settings
from nbadb.engine.request import utc_now
from nbadb.errors import WarehouseError
from nbadb.rollout.diff import TableDiff
from nbadb.rollout.flags import StrategicFlags, load_flags
from nbadb.warehouse.connection import _connect_with_retry
from nbadb.warehouse.migrations import Migration, apply_migrations, current_version
from nbadb.warehouse.transactions import committed

Action = Literal["advance", "rollback", "signoff", "incident", "resolve", "refused", "repair"]
CycleMode = Literal["shadow", "dual_write", "strategic"]
SEVERITIES = ("P0", "P1", "P2", "P3")

CONTROL_MIGRATIONS: tuple[Migration, ...] = (
    Migration(20, "migration control plane: audit, evidence, cycles, divergences, parity", (
        "CREATE SCHEMA IF NOT EXISTS ops",
        """CREATE TABLE ops.rollout_audit (audit_id VARCHAR NOT NULL, recorded_at TIMESTAMP NOT NULL,
            actor VARCHAR NOT NULL, action VARCHAR NOT NULL, track VARCHAR NOT NULL, from_phase INTEGER,
            to_phase INTEGER, item VARCHAR, severity VARCHAR, resolves VARCHAR, note VARCHAR)""",
        """CREATE TABLE ops.rollout_audit_evidence (audit_id VARCHAR NOT NULL, gate_item VARCHAR NOT NULL,
            required VARCHAR NOT NULL, observed VARCHAR NOT NULL, met BOOLEAN NOT NULL)""",
        """CREATE TABLE ops.rollout_cycles (track VARCHAR NOT NULL, game_day DATE NOT NULL,
            phase INTEGER NOT NULL, mode VARCHAR NOT NULL, games INTEGER NOT NULL, tables_compared INTEGER NOT NULL,
            rows_compared BIGINT NOT NULL, rows_divergent BIGINT NOT NULL, recorded_at TIMESTAMP NOT NULL)""",
        """CREATE TABLE ops.rollout_divergences (track VARCHAR NOT NULL, game_day DATE NOT NULL,
            mode VARCHAR NOT NULL, table_name VARCHAR NOT NULL, row_key VARCHAR NOT NULL,
            column_name VARCHAR NOT NULL, legacy_value VARCHAR, strategic_value VARCHAR,
            recorded_at TIMESTAMP NOT NULL)""",
        """CREATE TABLE ops.rollout_parity (track VARCHAR NOT NULL, game_day DATE NOT NULL,
            table_name VARCHAR NOT NULL, legacy_rows BIGINT NOT NULL, strategic_rows BIGINT NOT NULL,
            joined_rows BIGINT NOT NULL, only_legacy BIGINT NOT NULL, only_strategic BIGINT NOT NULL,
            differing_rows BIGINT NOT NULL, recorded_at TIMESTAMP NOT NULL)""",
        """CREATE TABLE ops.rollout_parity_columns (track VARCHAR NOT NULL, game_day DATE NOT NULL,
            table_name VARCHAR NOT NULL, column_name VARCHAR NOT NULL, match_pct DOUBLE NOT NULL,
            recorded_at TIMESTAMP NOT NULL)""",
    )),
)


def cycle_mode(track: str, phase: int, flags: StrategicFlags) -> CycleMode | None:
    """What a track's cycle runs beside its legacy path: phase 3 the strategic path alone (with the
    track's flag on), phase 2 dual write with its flag, phase 1 shadow with its flag; None: the legacy
    path alone, as with every flag false."""
    if not flags.track(track):
        return None
    if phase == 3:
        return "strategic"
    if phase == 2 and flags.dual_write:
        return "dual_write"
    if phase == 1 and flags.shadow:
        return "shadow"
    return None


def track_state(settings: Settings, track: str) -> tuple[int, CycleMode | None]:
    """A track's phase and what its cycles run beside the legacy path (`cycle_mode`); with the track's
    flag off the control plane is not even opened (phase 0)."""
    flags = load_flags()
    phase = 0
    if flags.track(track):
        with control(settings, read_only=True) as con:
            phase = phase_of(con, track)
    return phase, cycle_mode(track, phase, flags)


class TrackCycles:
    """What a track's part of a driver's cycles holds: the settings, and the track's phase and cycle
    mode, read when made and again by `look` (`nbadb serve` looks before a cycle's part, so an advance
    or a rollback takes effect without a restart)."""

    track: str

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.look()

    def look(self) -> None:
        self.phase, self.mode = track_state(self.settings, self.track)


@contextmanager
def control(settings: Settings, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """The control database, created and migrated when writing; held only for the block."""
    path = settings.control_path
    if read_only and not path.is_file():
        con = duckdb.connect()  # no rollout yet: an empty control plane
        apply_migrations(con, "control plane", CONTROL_MIGRATIONS)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        con = _connect_with_retry(path, read_only, 30.0)
        if not read_only:
            apply_migrations(con, path, CONTROL_MIGRATIONS)
        elif current_version(con, CONTROL_MIGRATIONS) != CONTROL_MIGRATIONS[-1].version:
            con.close()
            raise WarehouseError(f"{path} is at control schema {current_version(con, CONTROL_MIGRATIONS)}; run a rollout command to migrate it")
    try:
        yield con
    finally:
        con.close()


def phase_of(con: duckdb.DuckDBPyConnection, track: str) -> int:
    """The `to_phase` of the track's latest advance or rollback; 0 before any."""
    rows = con.execute(
        "SELECT to_phase FROM ops.rollout_audit WHERE track = ? AND action IN ('advance', 'rollback') "
        "ORDER BY recorded_at DESC, audit_id DESC LIMIT 1", [track]).fetchall()
    return rows[0][0] if rows else 0


def phase_entered_at(con: duckdb.DuckDBPyConnection, track: str) -> datetime | None:
    """When the track entered its current phase (its latest advance or rollback)."""
    rows = con.execute(
        "SELECT max(recorded_at) FROM ops.rollout_audit WHERE track = ? AND action IN ('advance', 'rollback')",
        [track]).fetchall()
    return rows[0][0]


def in_step_since(con: duckdb.DuckDBPyConnection, track: str) -> datetime | None:
    """The latest of the track's entering its phase and its latest cycle's record: since then, what the
    serving store committed was done outside the track's cycles."""
    rows = con.execute(
        """SELECT max(instant) FROM (SELECT max(recorded_at) AS instant FROM ops.rollout_audit
                                WHERE track = $track AND action IN ('advance', 'rollback')
                                UNION ALL SELECT max(recorded_at) FROM ops.rollout_cycles WHERE track = $track)""",
        {"track": track}).fetchall()
    return rows[0][0]


@dataclass(frozen=True)
class EvidenceItem:
    """One gate item as it stood: what is required, what was observed, whether it is met."""

    item: str
    required: str
    observed: str
    met: bool


def record(con: duckdb.DuckDBPyConnection, *, actor: str, action: Action, track: str, from_phase: int | None = None,
           to_phase: int | None = None, item: str | None = None, severity: str | None = None,
           resolves: str | None = None, note: str | None = None,
           evidence: tuple[EvidenceItem, ...] = ()) -> str:
    """Append one audit row (and its evidence snapshot) in one transaction; returns its id."""
    audit_id = uuid.uuid4().hex[:12]

    def write() -> None:
        con.execute("INSERT INTO ops.rollout_audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [audit_id, utc_now(), actor, action, track, from_phase, to_phase, item, severity, resolves, note])
        if evidence:
            con.executemany("INSERT INTO ops.rollout_audit_evidence VALUES (?, ?, ?, ?, ?)",
                            [[audit_id, e.item, e.required, e.observed, e.met] for e in evidence])

    committed(con, write)
    return audit_id


def record_cycle(con: duckdb.DuckDBPyConnection, track: str, day: date, phase: int, mode: CycleMode, games: int,
                 tables: int, compared: int, divergent: int) -> None:
    """Inside the caller's transaction: one cycle of a track, what it compared and how much diverged."""
    con.execute("INSERT INTO ops.rollout_cycles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [track, day, phase, mode, games, tables, compared, divergent, utc_now()])


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[list]) -> None:
    """Insert `rows` in one statement, column by column (executemany is one statement per row)."""
    if rows:
        columns = [list(c) for c in zip(*rows)]
        con.execute(f"INSERT INTO {table} SELECT {', '.join(f'unnest(${i + 1})' for i in range(len(columns)))}", columns)


def record_diffs(con: duckdb.DuckDBPyConnection, track: str, day: date, mode: CycleMode, diffs: list[TableDiff],
                 *, parity: bool) -> None:
    """Inside the caller's transaction: a cycle's comparisons, the samples of every divergent table
    and, for a parity cycle, every table's counts and column matches."""
    now = utc_now()
    _insert(con, "ops.rollout_divergences", [[track, day, mode, d.table, s.row_key, s.column, s.legacy_value,
                                              s.strategic_value, now] for d in diffs for s in d.samples])
    if parity:
        _insert(con, "ops.rollout_parity", [[track, day, d.table, d.legacy_rows, d.strategic_rows, d.joined_rows,
                                             d.only_legacy, d.only_strategic, d.differing_rows, now] for d in diffs])
        _insert(con, "ops.rollout_parity_columns", [[track, day, d.table, c, pct, now]
                                                    for d in diffs for c, pct in d.column_match.items()])


def record_evidence(settings: Settings, track: str, day: date, phase: int, mode: CycleMode, games: int,
                    diffs: list[TableDiff], *, parity: bool = False) -> None:
    """A track cycle's evidence whole, or none of it: the cycle and its comparisons (record_cycle,
    record_diffs) in one transaction of the control database."""
    with control(settings) as con:
        def write() -> None:
            record_cycle(con, track, day, phase, mode, games, len(diffs), sum(d.compared_rows for d in diffs),
                         sum(d.divergent_rows for d in diffs))
            record_diffs(con, track, day, mode, diffs, parity=parity)

        committed(con, write)
