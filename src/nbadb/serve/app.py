"""The `nbadb serve` process: it holds the warehouse (the only writer), runs the due cycles when
APScheduler wakes it, publishes a read-only snapshot after each write, exports, alerts, and serves
the pages, the API and the metrics. APScheduler fires one job when each cycle of the game calendar
is due (serve.trigger), another every REPLAN_EVERY (a calendar or a clock that changed), and
queued control actions; all of them run `run_due` or one cycle on its single worker.

Threads: APScheduler's one worker runs cycles and control actions, one at a time, under the write
lock; the HTTP threads only read, each on a connection of the reader pool.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterator

import duckdb
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.background import BackgroundScheduler

from nbadb.config import Settings
from nbadb.engine import breakers
from nbadb.engine.breakers import Breaker
from nbadb.engine.request import utc_now
from nbadb.errors import ConfigError, NbadbError, WarehouseError
from nbadb.monitor.alerts import parse_webhooks, send_alerts
from nbadb.monitor.incidents import detect
from nbadb.orchestrate.workspace import Workspace
from nbadb.rollout.ingestion import IngestionCycles
from nbadb.rollout.schema import SchemaCycles
from nbadb.rollout.serving import ServingCycles
from nbadb.rollout.storage import StorageCycles
from nbadb.serve.calendar import GameDay, archive_game_days
from nbadb.serve.cycles import CycleRecord, CycleRunner, CycleTrigger, catch_up_start, done_cycles
from nbadb.serve.http import HttpServer
from nbadb.serve.plan import Cycle, CycleKind, due_cycles, eastern_today, upcoming
from nbadb.serve.trigger import CalendarTrigger
from nbadb.warehouse.connection import configure_session
from nbadb.warehouse.snapshot import (
    SNAPSHOT_NAME,
    ServerInfo,
    publish_snapshot,
    remove_server_info,
    serve_dir,
    write_server_info,
)


log = logging.getLogger("nbadb.serve")
READERS = 4
# However the plan changes (a new schedule, a clock that jumped), the server looks again this often.
REPLAN_EVERY = timedelta(minutes=10)
Clock = Callable[[], datetime]


class ReaderPool:
    """Connections for the HTTP threads, each used by one request at a time."""

    def __init__(self, con: duckdb.DuckDBPyConnection, size: int = READERS) -> None:
        self._idle: queue.Queue[duckdb.DuckDBPyConnection] = queue.Queue()
        self._all = []
        for _ in range(size):
            cursor = con.cursor()
            configure_session(cursor, read_only=True)
            self._all.append(cursor)
            self._idle.put(cursor)

    @contextmanager
    def reader(self) -> Iterator[duckdb.DuckDBPyConnection]:
        con = self._idle.get()
        try:
            yield con
        finally:
            self._idle.put(con)

    def close(self) -> None:
        for con in self._all:
            con.close()


class ServeApp:
    def __init__(self, settings: Settings, archive: Path | None = None, *, host: str = "127.0.0.1", port: int = 8765,
                 clock: Clock = utc_now, drive: bool = True) -> None:
        """`drive`: APScheduler runs the due cycles at their times; without it only `run_due` (a test's
        fake clock) and control actions run them."""
        self.settings = settings
        self.archive = archive
        self.host, self.port = host, port
        self.clock = clock
        self.drive = drive
        self.lock = threading.Lock()
        self.stopping = threading.Event()  # set by `stop`: the cycle in progress ends, none queued starts
        self.started_at = clock()
        self.cycles: StorageCycles | None = None
        self.serving: ServingCycles | None = None
        self.ws: Workspace | None = None
        self.http: HttpServer | None = None
        self.readers: ReaderPool | None = None
        self.scheduler: BackgroundScheduler | None = None
        self.calendar: dict[date, GameDay] = {}
        self.snapshot_at: datetime | None = None

    # -- life --------------------------------------------------------------------------------

    def start(self) -> ServeApp:
        """Open the warehouse, publish the first snapshot, listen, start the scheduler. Stop it with
        `stop`, which also undoes a start that was interrupted midway."""
        from nbadb.serve.routes import build_router

        self.webhooks = parse_webhooks(self.settings.alert_webhooks.get_secret_value())
        try:
            self.http = HttpServer(self.host, self.port, build_router(self))
        except OSError as exc:
            raise ConfigError(f"cannot listen on {self.host}:{self.port} ({exc.strerror}); choose another --port") from None
        self.port = self.http.port
        self.cycles = StorageCycles(self.settings, self.archive)
        self.ws = self.cycles.ws
        self.serving = ServingCycles(self.settings)
        self.calendar = archive_game_days(self.ws.source)
        self.runner = CycleRunner(self.cycles, IngestionCycles(self.settings), SchemaCycles(self.settings), self.clock)
        self.readers = ReaderPool(self.ws.con)
        self._publish()
        self.http.start()
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=timezone.utc)
        self.scheduler.start()
        if self.drive:  # catch up now, then every cycle at its time; and look again now and then
            self.scheduler.add_job(self.run_due, "interval", seconds=REPLAN_EVERY.total_seconds(), id="replan",
                                   next_run_time=datetime.now(timezone.utc))
            self.scheduler.add_job(self.run_due, CalendarTrigger(self.calendar, self.clock), id="calendar")
        log.info("nbadb serve on http://%s:%s, warehouse %s", self.host, self.port, self.settings.database_path)
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        if self.http is not None:
            self.http.stop()
        remove_server_info(self.settings.data_dir)
        if self.readers is not None:
            self.readers.close()
        if self.cycles is not None:
            self.cycles.close()

    # -- the schedule ------------------------------------------------------------------------

    def due(self) -> list[Cycle]:
        with self.readers.reader() as con:
            now = self.clock()
            since = catch_up_start(con, eastern_today(now), self.settings.serve_catch_up_days)
            return due_cycles(self.calendar, now, done_cycles(con), since)

    def next_cycles(self, count: int = 8) -> list[Cycle]:
        return upcoming(self.calendar, self.clock(), count)

    def run_due(self) -> list[CycleRecord]:
        """Run every due cycle in order (catch-up included), on the archive as it is now; once serve is
        stopping, none after the one in progress."""
        with self.lock:
            self._look_at_archive()
            records = []
            for cycle in self.due():
                if self._dropped(cycle):
                    break
                records.append(self._run(cycle, "schedule"))
            return records

    def run_now(self, cycle: Cycle) -> CycleRecord | None:
        """Run `cycle` (a control action queued it), unless serve is stopping by the time it would start."""
        with self.lock:
            if self._dropped(cycle):
                return None
            self._look_at_archive()
            return self._run(cycle, "manual")

    def _dropped(self, cycle: Cycle) -> bool:
        """True (and logged) when serve is stopping: `cycle` does not start."""
        stopping = self.stopping.is_set()
        if stopping:
            log.info("cycle %s %s not started: nbadb serve is stopping (the next start catches it up if due)",
                     cycle.kind, cycle.day)
        return stopping

    def _look_at_archive(self) -> None:
        """Files added to the archive folder, or replaced, since the last look (a day `nbadb fetch`
        wrote there, the next prop-line snapshot) are read from now on and their game days planned:
        a server left running through a season needs no restart to see them. Under the write lock,
        so no cycle is reading the source meanwhile. A folder that cannot be read now (gone, a file
        replaced as it was looked at) is logged, and the cycles go on with what was read before."""
        try:
            if not self.cycles.refresh_archive():
                return
        except (OSError, NbadbError) as exc:
            log.warning("cannot look at the archive %s again (%s): the cycles go on with what was read before",
                        self.ws.archive_dir, exc)
            return
        self.calendar = archive_game_days(self.ws.source)
        if self.drive and self.scheduler is not None:
            self.scheduler.reschedule_job("calendar", trigger=CalendarTrigger(self.calendar, self.clock))
        log.info("the archive %s changed: its game calendar now has %d game days", self.ws.archive_dir,
                 len(self.calendar))

    def submit(self, cycle: Cycle) -> None:
        """Queue a cycle asked for through the API; APScheduler's worker runs it after any cycle in progress."""
        try:
            self.scheduler.add_job(self.run_now, args=[cycle], next_run_time=datetime.now(timezone.utc))
        except SchedulerNotRunningError:
            raise WarehouseError("nbadb serve is stopping; ask again once it runs") from None

    def _run(self, cycle: Cycle, trigger: CycleTrigger) -> CycleRecord:
        log.info("cycle %s %s (%s) starts", cycle.kind, cycle.day, trigger)
        since = utc_now()
        record = self.runner.run(cycle, trigger)
        self._after_write(cycle.day if cycle.kind in (CycleKind.MORNING, CycleKind.NIGHT) else None, since)
        log.info("cycle %s %s %s: %d runs, %d failed", cycle.kind, cycle.day, record.status, record.runs,
                 record.runs_failed)
        return record

    def _after_write(self, day: date | None = None, since: datetime | None = None) -> None:
        """After a cycle (of game day `day`, begun at `since`) or a control action: alerts, the
        snapshot, the serving track's part (the export, and what its phase compares)."""
        con, now = self.ws.con, self.clock()
        if self.webhooks:
            incidents = detect(con, self.ws.graph, self.ws.engine.now(), now)
            send_alerts(con, incidents, self.webhooks, now, timedelta(minutes=self.settings.alert_dedupe_minutes))
        self._publish()
        self.serving.look()
        with self.readers.reader() as answers:
            self.serving.after_write(self.ws, answers, day, since or utc_now(), now)

    def _publish(self) -> None:
        snapshot = serve_dir(self.settings.data_dir) / SNAPSHOT_NAME
        publish_snapshot(self.ws.con, self.settings.database_path, snapshot)
        self.snapshot_at = utc_now()
        write_server_info(self.settings.data_dir, ServerInfo(
            os.getpid(), self.host, self.port, str(self.settings.database_path.resolve()), str(snapshot.resolve()),
            self.snapshot_at.isoformat(timespec="seconds"), self.started_at.isoformat(timespec="seconds")))

    # -- control actions (the API checks the token) ------------------------------------------

    def reset_breaker(self, key: str) -> Breaker:
        with self.lock:
            breaker = breakers.reset(self.ws.con, key, self.ws.engine.now())
            self._after_write()
        return breaker
