"""Run one cycle of the schedule (serve.plan) on the warehouse the server holds, and record it in
`ops.serve_cycles` (a restart reads those records to know what is done) with a pass manifest.

A cycle that raises is recorded `failed` with its error and stays due; a cycle whose runs failed is
`done` (the runs' failures are the ledger's, and the breakers' and gaps' business).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Callable, Literal

import duckdb

from nbadb.engine.clock import latest_publication
from nbadb.engine.request import RunResult, new_run_id
from nbadb.monitor.health import health_report
from nbadb.monitor.patterns import patterns_report
from nbadb.monitor.trends import record_health, record_weekly
from nbadb.monitor.waste import waste_report
from nbadb.orchestrate.manifests import manifest_dir, write_pass_manifest
from nbadb.orchestrate.replay import morning_of, night_of, stage_day
from nbadb.orchestrate.workspace import Workspace
from nbadb.serve.plan import Cycle, CycleKind
from nbadb.sources.archive import StageReport
from nbadb.warehouse.connection import duckdb_threads
from nbadb.warehouse.transactions import interrupted

if TYPE_CHECKING:
    from nbadb.rollout.ingestion import IngestionCycles
    from nbadb.rollout.schema import SchemaCycles
    from nbadb.rollout.storage import StorageCycles

log = logging.getLogger("nbadb.serve")
# How a cycle came to run: at its time, late after a restart, or asked for through the API.
CycleTrigger = Literal["schedule", "catch_up", "manual"]
DONE, FAILED = "done", "failed"
# A cycle started more than this after its due time is a catch-up.
CATCH_UP_AFTER = timedelta(minutes=15)
WEEK = timedelta(days=7)
_COLUMNS = ("cycle_kind", "game_date", "due_at", "started_at", "finished_at", "status", "cycle_trigger", "runs",
            "runs_failed", "entities_changed", "error", "pass_id")


@dataclass(frozen=True)
class CycleRecord:
    cycle_kind: str
    game_date: date
    due_at: datetime
    started_at: datetime
    finished_at: datetime
    status: str
    cycle_trigger: str
    runs: int
    runs_failed: int
    entities_changed: int
    error: str | None
    pass_id: str

    def as_dict(self) -> dict[str, object]:
        return {k: str(v) if isinstance(v, (date, datetime)) else v for k, v in asdict(self).items()}


def done_cycles(con: duckdb.DuckDBPyConnection) -> set[tuple[str, date]]:
    return {(k, d) for k, d in con.execute(
        "SELECT DISTINCT cycle_kind, game_date FROM ops.serve_cycles WHERE status = 'done'").fetchall()}


def catch_up_start(con: duckdb.DuckDBPyConnection, today: date, catch_up_days: int) -> date:
    """The first day whose cycles may still be due: the day of the last completed pipeline cycle,
    else the day of the warehouse's latest publication (a replayed warehouse goes on from there),
    else today; never more than `catch_up_days` back (older days are `nbadb replay`'s)."""
    last_done = con.execute(
        "SELECT max(game_date) FROM ops.serve_cycles WHERE status = 'done' AND cycle_kind IN ('morning', 'night')"
    ).fetchall()[0][0]
    published = latest_publication(con)
    start = last_done or (published.date() if published else today)
    return max(start, today - timedelta(days=catch_up_days))


def recent_cycles(con: duckdb.DuckDBPyConnection, limit: int = 50) -> list[dict[str, object]]:
    rows = con.execute(f"SELECT {', '.join(_COLUMNS)} FROM ops.serve_cycles ORDER BY started_at DESC LIMIT ?",
                       [limit]).fetchall()
    return [dict(zip(_COLUMNS, r)) for r in rows]


class CycleRunner:
    """Runs cycles on the serving workspace, a morning's or a night's work through the storage track's
    cycle (rollout.storage.StorageCycles.cycle: the lake beside the file when the track's phase asks),
    a night's also through the ingestion and schema tracks' (rollout.ingestion, rollout.schema); keeps
    each morning's staged publication for its night."""

    def __init__(self, cycles: StorageCycles, ingestion: IngestionCycles, contracts: SchemaCycles,
                 clock: Callable[[], datetime]) -> None:
        self.cycles = cycles
        self.ingestion = ingestion
        self.ws = cycles.ws
        self.clock = clock
        self._staged: dict[date, StageReport] = {}
        self._night_cycle = contracts.around(cycles.ws, ingestion.around(cycles.workspaces, cycles.cycle))

    def run(self, cycle: Cycle, trigger: CycleTrigger) -> CycleRecord:
        started = self.clock()
        pass_id = new_run_id()
        published: list[RunResult] = []
        passed: list[RunResult] = []
        status, error = DONE, None
        try:
            with duckdb_threads(self.ws.con, 1):  # as in a replay: day-sized work, and a core left for readers
                published, passed = self._execute(cycle, started)
        except BaseException as exc:
            if interrupted(exc) or not isinstance(exc, Exception):
                raise
            log.exception("cycle %s %s failed", cycle.kind, cycle.day)
            status, error = FAILED, f"{type(exc).__name__}: {exc}"
        results = published + passed
        record = CycleRecord(
            str(cycle.kind), cycle.day, cycle.due_at, started, self.clock(), status,
            "catch_up" if trigger == "schedule" and started - cycle.due_at > CATCH_UP_AFTER else trigger,
            len(results), sum(r.status == "failed" for r in results), sum(r.metrics.entities_changed for r in passed),
            error, pass_id)
        self.ws.con.execute(f"INSERT INTO ops.serve_cycles ({', '.join(_COLUMNS)}) VALUES "
                            f"({', '.join('?' * len(_COLUMNS))})", list(asdict(record).values()))
        write_pass_manifest(manifest_dir(self.ws.settings.data_dir), pass_id, {
            **record.as_dict(), "run_ids": [r.run_id for r in results],
            "runs_by_status": {s: sum(str(r.status) == s for r in results) for s in {str(r.status) for r in results}}})
        return record

    def _execute(self, cycle: Cycle, started: datetime) -> tuple[list[RunResult], list[RunResult]]:
        """Do the cycle's work; for a morning or a night, the publication's runs and the pass's runs."""
        ws, day = self.ws, cycle.day
        if cycle.kind is CycleKind.MORNING:
            return self.cycles.cycle(day, lambda on: self._morning(on, day))
        if cycle.kind is CycleKind.NIGHT:  # the night publishes the day's results: the ingestion track's part
            self.ingestion.look()
            return self._night_cycle(day, lambda on: night_of(
                on, day, (self._staged.pop(day, None) if on is ws else None) or self._staged_again(on, day)))
        if cycle.kind is CycleKind.HEALTH:
            record_health(ws.con, cycle.day, health_report(ws.con, ws.graph, ws.engine.now(), now=started))
        else:
            self._weekly(cycle.day, started)
        return [], []

    def _morning(self, ws: Workspace, day: date) -> tuple[list[RunResult], list[RunResult]]:
        staged, published, pre_tip = morning_of(ws, day)
        if ws is self.ws:
            self._staged = {day: staged}
        return published, pre_tip

    @staticmethod
    def _staged_again(ws: Workspace, day: date) -> StageReport:
        """The day's publication staged again on `ws` (the server restarted since its morning, or the
        track's shadow store), as the morning staged it; the morning's publication already recorded its
        quarantine and file counts."""
        staged = stage_day(ws, day)
        staged.recorded = True
        return staged

    def _weekly(self, day: date, taken_at: datetime) -> None:
        """The waste and pattern reports over the week before `day` (runs for its game dates)."""
        ws, since = self.ws, day - WEEK
        patterns = patterns_report(ws.con, ws.graph, since)
        record_weekly(ws.con, day, taken_at, waste_report(ws.con, since, patterns.runs_saved), patterns)
