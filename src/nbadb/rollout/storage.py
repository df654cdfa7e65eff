"""The storage track at work: a cycle (a replayed day, a morning or night of `nbadb serve`) on the
store that serves, and beside it what the track's phase asks for, behind the flags.

- phase 0, or the phase's flag off: the file alone (the legacy path, unchanged);
- phase 1 with the shadow flag: the same work runs again on the lake, on its own engine; every
  output table an outbox event of either side touched is compared on the dates it named
  (rollout.diff); the lake's answer is never served. Runs the file committed outside the track's
  cycles since its last one (`nbadb run`, `nbadb correct`, `nbadb ingest`: commands that write
  through no cycle) are first applied to the lake by run id, as dual write does, so that both paths
  start the cycle from the same warehouse: those runs are copied, not shadowed (`copied_runs`);
- phase 2 with the dual-write flag: the file serves; after the work the runs it committed are
  applied to the lake by run id (rollout.replicate) and every table's row parity is taken;
- phase 3: the lake alone.
Each cycle records its evidence in the control plane (rollout.control): the cycle, its divergences
with samples, and in phase 2 every table's parity.

Transitions move data so that no phase loses any: entering phase 1 or 2 makes the lake an exact
copy of the file; entering phase 3 applies the runs still pending; leaving phase 3 applies to the
file every run the lake committed alone.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Callable, TypeVar

from nbadb.config import Settings
from nbadb.engine.request import utc_now
from nbadb.orchestrate.workspace import Workspace, open_workspace
from nbadb.rollout import control, replicate
from nbadb.rollout.control import CycleMode
from nbadb.rollout.diff import TableDiff, table_diff
from nbadb.rollout.routing import serving_store
from nbadb.rollout.store_tables import StoreTable, store_tables
from nbadb.warehouse.connection import current_catalog, duckdb_threads
from nbadb.warehouse.stores import Store
from nbadb.warehouse.transactions import committed

T = TypeVar("T")
TRACK = "storage"
LAKE_ALIAS = "strategic"  # the lake's catalog name in the file's session


class StorageCycles:
    """Opens the serving workspace (and the lake's, in shadow) for a driver and runs its cycles."""

    def __init__(self, settings: Settings, archive: Path | None = None) -> None:
        self.settings = settings
        self.phase, self.mode = control.track_state(settings, TRACK)
        self.ws = open_workspace(archive, settings=settings, store=serving_store(settings, read_only=False))
        self.shadow: Workspace | None = None
        self.tables: list[StoreTable] = []
        self.copied_runs = 0  # runs of the file applied to the lake, not shadowed, before this session's cycles
        if self.mode in ("shadow", "dual_write"):
            Store("lake", settings).open().close()  # the lake exists and is at this schema version
            Store("lake", settings).attach_to(self.ws.con, LAKE_ALIAS, read_only=self.mode == "shadow")
            self.tables = store_tables(self.ws.con, self.ws.graph.specs)
        if self.mode == "shadow":
            self.shadow = open_workspace(archive, settings=settings, store=Store("lake", settings))

    def close(self) -> None:
        if self.shadow is not None:
            self.shadow.close()
        self.ws.close()

    def __enter__(self) -> StorageCycles:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def legacy_catalog(self) -> str:
        return current_catalog(self.ws.con)

    @property
    def workspaces(self) -> tuple[Workspace, ...]:
        """The serving workspace, then the lake's in shadow."""
        return (self.ws,) if self.shadow is None else (self.ws, self.shadow)

    def refresh_archive(self) -> bool:
        """Every workspace's source looks at the archive folder again (ArchiveSource.refresh): True
        when a file was added, removed or replaced."""
        changed = [ws.source.refresh() for ws in self.workspaces]  # each looks
        return any(changed)

    def cycle(self, day: date, work: Callable[[Workspace], T]) -> T:
        """Run `work` on the serving workspace for game day `day`, and what the phase adds."""
        if self.mode == "shadow":
            self.copied_runs += self._copy_runs_outside_cycles()
        started = utc_now()
        answer = work(self.ws)
        if self.mode == "shadow" and self.shadow is not None:
            with duckdb_threads(self.shadow.con, 1):
                work(self.shadow)
            self._record(day, "shadow", self._compare_touched(started))
        elif self.mode == "dual_write":
            replicate.replicate_runs(self.ws.con, self.legacy_catalog, LAKE_ALIAS, self.tables)
            self._record(day, "dual_write", self.parity(), parity=True)
        elif self.mode == "strategic":
            self._record(day, "strategic", [])
        return answer

    def _copy_runs_outside_cycles(self) -> int:
        """Apply to the lake the runs the file committed outside the track's cycles (module docstring)."""
        with control.control(self.settings, read_only=True) as con:
            since = control.in_step_since(con, TRACK)
        runs = [r for (r,) in self.ws.con.execute(
            f"SELECT DISTINCT run_id FROM {self.legacy_catalog}.ops.run_events WHERE event_at > ? ORDER BY 1",
            [since]).fetchall()]
        if runs:  # the lake attached writable for the copy only: in shadow the file's session only reads it
            lake = Store("lake", self.settings)
            self.ws.con.execute(f"DETACH {LAKE_ALIAS}")
            lake.attach_to(self.ws.con, LAKE_ALIAS, read_only=False)
            try:
                replicate.replicate_runs(self.ws.con, self.legacy_catalog, LAKE_ALIAS, self.tables, runs)
            finally:
                self.ws.con.execute(f"DETACH {LAKE_ALIAS}")
                lake.attach_to(self.ws.con, LAKE_ALIAS, read_only=True)
        return len(runs)

    def _compare_touched(self, since: datetime) -> list[TableDiff]:
        """Each output table an outbox event since `since` touched on either store, on the dates named."""
        touched: dict[str, set[date]] = {}
        for catalog in (self.legacy_catalog, LAKE_ALIAS):
            for producer, dates in replicate.touched_dates(self.ws.con, catalog, since).items():
                touched.setdefault(producer, set()).update(dates)
        diffs = []
        for table in self.tables:
            if table.role == "output" and table.spec is not None and table.spec.name in touched:
                dates = sorted(touched[table.spec.name])
                where = f'"{table.spec.date_column}" IN ({", ".join(repr(str(d)) for d in dates)})'
                diffs.append(table_diff(self.ws.con, self.legacy_catalog, LAKE_ALIAS, table.shape, where))
        return diffs

    def parity(self) -> list[TableDiff]:
        """Row-level parity of every table of the warehouse between the file and the lake."""
        return [table_diff(self.ws.con, self.legacy_catalog, LAKE_ALIAS, t.shape) for t in self.tables]

    def _record(self, day: date, mode: CycleMode, diffs: list[TableDiff], *, parity: bool = False) -> None:
        games = self.ws.engine.calendar().games_between(day, day)
        control.record_evidence(self.settings, TRACK, day, self.phase, mode, games, diffs, parity=parity)


def seed_lake(settings: Settings) -> int:
    """Make the lake an exact copy of the file (entering phase 1 or 2); returns the rows copied."""
    with open_workspace(settings=settings, store=Store("file", settings)) as ws:
        Store("lake", settings).open().close()
        Store("lake", settings).attach_to(ws.con, LAKE_ALIAS, read_only=False)
        catalog = current_catalog(ws.con)
        return replicate.copy_all(ws.con, catalog, LAKE_ALIAS, store_tables(ws.con, ws.graph.specs))


def repair_lake(settings: Settings, day: date) -> list[TableDiff]:
    """After an inconsistency: the lake made an exact copy of the file again, and every table's
    parity taken and recorded for game day `day`."""
    seed_lake(settings)
    with open_workspace(settings=settings, store=Store("file", settings)) as ws:
        Store("lake", settings).attach_to(ws.con, LAKE_ALIAS)
        catalog = current_catalog(ws.con)
        diffs = [table_diff(ws.con, catalog, LAKE_ALIAS, t.shape) for t in store_tables(ws.con, ws.graph.specs)]
    with control.control(settings) as con:
        committed(con, lambda: control.record_diffs(con, TRACK, day, "dual_write", diffs, parity=True))
    return diffs


def apply_pending(settings: Settings, *, to_lake: bool) -> replicate.Replicated:
    """Apply the runs one store committed and the other lacks: to the lake (entering phase 3) or
    back to the file (leaving it)."""
    with open_workspace(settings=settings, store=Store("file", settings)) as ws:
        Store("lake", settings).attach_to(ws.con, LAKE_ALIAS, read_only=not to_lake)
        catalog = current_catalog(ws.con)
        source, target = (catalog, LAKE_ALIAS) if to_lake else (LAKE_ALIAS, catalog)
        return replicate.replicate_runs(ws.con, source, target, store_tables(ws.con, ws.graph.specs))
