"""Historical backfill: a window of dates through the phases, batch by batch, validated date by date,
checkpointed so that a killed backfill resumes where it stopped.

A backfill (`BackfillPlan`) covers the days of [start, end] (only those of `seasons` when given) in
batches: one per season by default (the plan's days of a season, as
pipeline.point_in_time.season_of_date_sql names them), or `batch_days` days. A batch is set-based:
its dates are published at once (phase 2) and each downstream phase runs once over all of them, in
backfill mode (engine.policies: no smart skip, no too-historical exit, breakers tolerate more failures). The
as-of snapshots (engine.snapshots) make a date's rows what they were before its tip-off however
many dates a run covers, so the one place where order matters is a correction the archive
published at an instant T: the batch is cut there (segment), the dates whose games were final by T
are written first, then the correction is published and carried at T (orchestrate.corrections),
then the rest. So the tables a backfill writes equal those a day-by-day replay writes.

Checkpoints (ops.backfill_runs, ops.backfill_dates, ops.backfill_checks, ops.backfill_batches):
every date of the plan is `pending` until its segment ran and its checks (monitor.validation) were
recorded: then `validated`, `warned` (a non-blocking check failed), `failed` (a blocking one did:
the backfill stops there with the date and the reason) or `no_games`. Every processor run commits
on its own and a segment's checks and statuses commit together, so a kill -9 at any moment leaves
the warehouse consistent; `resume` reopens the last unfinished backfill at its first date not
validated and redoes from there (what was already written is found unchanged or frozen, and a
correction published before the kill is published again, changing nothing).

Words: a segment is the part of a batch between two corrections' instants; an attempt is one
processing of a date (a resumed date counts two).
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Callable

import polars as pl

from nbadb.engine.clock import night
from nbadb.engine.request import RunResult, utc_now
from nbadb.errors import ConfigError
from nbadb.monitor.publications import published_days
from nbadb.monitor.validation import LEVELS, CheckResult, counted_games_by_date, validate
from nbadb.orchestrate.corrections import correct
from nbadb.orchestrate.daily import DOWNSTREAM_PHASES, run_pipeline
from nbadb.orchestrate.ingest import publish
from nbadb.orchestrate.workspace import Workspace
from nbadb.pipeline.point_in_time import season_of_date_sql
from nbadb.warehouse.transactions import committed

ALL_PHASES = frozenset({2}) | DOWNSTREAM_PHASES
PHASE_TIMES = {2: "publish_seconds", 3: "analytics_seconds", 4: "precompute_seconds", 5: "predictions_seconds"}
FINAL_AFTER = timedelta(hours=30)  # a day's games are final by its night: night(d) = d + 30 h


@dataclass(frozen=True)
class BackfillPlan:
    start: date
    end: date
    phases: frozenset[int] = ALL_PHASES
    levels: frozenset[int] = frozenset(LEVELS)
    blocking: frozenset[int] = frozenset({1, 3, 4, 5})
    seasons: tuple[str, ...] = ()
    batch_days: int | None = None  # None: a batch per season

    def check(self) -> None:
        if self.start > self.end:
            raise ConfigError(f"--start {self.start} is after --end {self.end}")
        if not self.phases or not self.phases <= ALL_PHASES:
            raise ConfigError(f"phases must be among {sorted(ALL_PHASES)}, got {sorted(self.phases)}")
        for name, levels in (("validation levels", self.levels), ("blocking levels", self.blocking)):
            if not levels <= set(LEVELS):
                raise ConfigError(f"{name} must be among {sorted(LEVELS)}, got {sorted(levels)}")
        if self.batch_days is not None and self.batch_days < 1:
            raise ConfigError(f"a batch is at least one day, got {self.batch_days}")


@dataclass(frozen=True)
class Progress:
    """Where a running backfill is: dates done of the total, the batch and phase at work, and the
    estimated seconds left (from the pace so far)."""

    done: int
    total: int
    batch: tuple[date, date]
    phase: str
    eta_seconds: float | None


@dataclass
class BackfillReport:
    backfill_id: str
    status: str  # running, finished, stopped
    dates: Counter[str] = field(default_factory=Counter)
    stopped_on: date | None = None
    stop_reason: str | None = None
    seconds: float = 0.0


def start_backfill(ws: Workspace, plan: BackfillPlan) -> str:
    """Record a new backfill and its dates (all pending); returns its id."""
    plan.check()
    backfill_id = uuid.uuid4().hex[:12]
    days, batch_starts = _plan_days(ws, plan)
    if not days:
        raise ConfigError(f"no day of {plan.start}..{plan.end} belongs to the seasons {', '.join(plan.seasons)}")
    if 2 not in plan.phases and (never := sorted(set(days) - published_days(ws.con, days[0], days[-1]))):
        raise ConfigError(
            f"--phases {','.join(map(str, sorted(plan.phases)))}: {len(never)} of the {len(days)} days were never "
            f"published ({never[0]}..{never[-1]}), so the later phases would find nothing and call them days "
            "without games; include phase 2 (--phases 2,...) or publish them first (nbadb ingest); "
            "nothing was recorded")
    con = ws.con

    def write() -> None:
        con.execute(
            """INSERT INTO ops.backfill_runs (backfill_id, start_date, end_date, seasons, phases, levels, blocking_levels,
            batch_days, status, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', ?)""",
            [backfill_id, plan.start, plan.end, list(plan.seasons), sorted(plan.phases), sorted(plan.levels),
             sorted(plan.blocking), plan.batch_days, utc_now()])
        con.execute(
            """INSERT INTO ops.backfill_dates (backfill_id, game_date, batch_start, status, attempts)
            SELECT $id, unnest($days), unnest($batches), 'pending', 0""",
            {"id": backfill_id, "days": days, "batches": batch_starts})

    committed(con, write)
    return backfill_id


def unfinished_backfill(ws: Workspace) -> tuple[str, BackfillPlan]:
    """The latest backfill that did not finish (killed, interrupted or stopped), with its plan."""
    row = ws.con.execute(
        """SELECT backfill_id, start_date, end_date, phases, levels, blocking_levels, seasons, batch_days
        FROM ops.backfill_runs WHERE status <> 'finished' ORDER BY started_at DESC LIMIT 1""").fetchall()
    if not row:
        raise ConfigError("no unfinished backfill to resume; start one with --start and --end")
    backfill_id, start, end, phases, levels, blocking, seasons, batch_days = row[0]
    return backfill_id, BackfillPlan(start, end, frozenset(phases), frozenset(levels), frozenset(blocking),
                                     tuple(seasons), batch_days)


def run_backfill(ws: Workspace, backfill_id: str, plan: BackfillPlan,
                 on_progress: Callable[[Progress], None] | None = None) -> BackfillReport:
    """Work through the backfill's dates not validated yet, batch by batch (module docstring)."""
    con = ws.con
    t0 = time.perf_counter()
    con.execute("UPDATE ops.backfill_runs SET status = 'running', stopped_on = NULL, stop_reason = NULL "
                "WHERE backfill_id = ?", [backfill_id])
    # per batch, its dates to do: a resumed batch starts at its first date not validated
    todo = con.execute(
        "SELECT min(game_date), max(game_date), count(*) FROM ops.backfill_dates WHERE backfill_id = ? "
        "AND status IN ('pending', 'failed') GROUP BY batch_start ORDER BY batch_start", [backfill_id]).fetchall()
    total = con.execute("SELECT count(*) FROM ops.backfill_dates WHERE backfill_id = ?", [backfill_id]).fetchall()[0][0]
    left = sum(n for _, _, n in todo)
    report = BackfillReport(backfill_id, "running")
    tracker = _Tracker(on_progress, total - left, total, left, time.perf_counter())
    for first, last, _ in todo:
        stop = _run_batch(ws, backfill_id, plan, first, last, tracker)
        if stop:
            report.status, report.stopped_on, report.stop_reason = "stopped", *stop
            break
    else:
        report.status = "finished"
    con.execute("UPDATE ops.backfill_runs SET status = ?, stopped_on = ?, stop_reason = ?, finished_at = ? "
                "WHERE backfill_id = ?",
                [report.status, report.stopped_on, report.stop_reason,
                 utc_now() if report.status == "finished" else None, backfill_id])
    report.dates = Counter(dict(con.execute(
        "SELECT status, count(*) FROM ops.backfill_dates WHERE backfill_id = ? GROUP BY ALL", [backfill_id]).fetchall()))
    report.seconds = round(time.perf_counter() - t0, 3)
    return report


# -- one batch -------------------------------------------------------------------------------------


@dataclass
class _Tracker:
    """Progress reporting: dates done so far and the pace of this process's dates."""

    on_progress: Callable[[Progress], None] | None
    done: int
    total: int
    todo: int
    t0: float
    finished_here: int = 0

    def tell(self, batch: tuple[date, date], phase: str) -> None:
        if self.on_progress is None:
            return
        elapsed = time.perf_counter() - self.t0
        left = self.total - self.done
        eta = elapsed / self.finished_here * left if self.finished_here else None
        self.on_progress(Progress(self.done, self.total, batch, phase, eta))

    def advance(self, dates: int, batch: tuple[date, date]) -> None:
        self.done += dates
        self.finished_here += dates
        self.tell(batch, "validated")


def _run_batch(ws: Workspace, backfill_id: str, plan: BackfillPlan, first: date, last: date,
               tracker: _Tracker) -> tuple[date, str] | None:
    """Segments of the batch, each written then validated, with the corrections between them; the
    (date, reason) that stopped the backfill, if any."""
    times = Counter[str]()
    counts = Counter[str]()
    cursor, after = first, night(first - timedelta(days=1))
    instants = sorted({c[5] for c in ws.source.corrections(after, night(last))})
    for instant in [*instants, None]:
        seg_end = last if instant is None else min(last, (instant - FINAL_AFTER).date())
        if seg_end >= cursor:
            stop = _run_segment(ws, backfill_id, plan, cursor, seg_end, tracker, times, counts)
            if stop:
                _record_batch(ws, backfill_id, first, last, counts, times)
                return stop
            cursor = seg_end + timedelta(days=1)
        if instant is not None:
            tracker.tell((first, last), f"correction published {instant:%Y-%m-%d %H:%M}")
            correct(ws, instant, after=after, again=True, phases=plan.phases)
            after = instant
    _record_batch(ws, backfill_id, first, last, counts, times)
    return None


def _run_segment(ws: Workspace, backfill_id: str, plan: BackfillPlan, first: date, last: date, tracker: _Tracker,
                 times: Counter[str], counts: Counter[str]) -> tuple[date, str] | None:
    """Write [first, last] through the plan's phases, validate its dates, record them."""
    days = [d for (d,) in ws.con.execute(
        "SELECT game_date FROM ops.backfill_dates WHERE backfill_id = ? AND game_date BETWEEN ? AND ? ORDER BY 1",
        [backfill_id, first, last]).fetchall()]
    if not days:
        return None
    ws.con.execute("UPDATE ops.backfill_dates SET attempts = attempts + 1 WHERE backfill_id = ? "
                   "AND game_date BETWEEN ? AND ?", [backfill_id, first, last])
    batch = (first, last)
    results: list[RunResult] = []
    if 2 in plan.phases:
        tracker.tell(batch, "publish")
        results += publish(ws, first, last, trigger_source="backfill", run_mode="backfill", clock=night(last)).results
    downstream = plan.phases & DOWNSTREAM_PHASES
    if downstream:
        tracker.tell(batch, "pipeline")
        results += run_pipeline(ws, (first, last), mode="backfill", trigger_source="backfill", as_of=last,
                                clock=night(last), phases=downstream)
    for r in results:
        times[PHASE_TIMES[ws.graph.specs[r.processor].phase]] += r.duration_ms / 1000
    tracker.tell(batch, "validation")
    t = time.perf_counter()
    checks = validate(ws.con, ws.graph, ws.engine.calendar(), first, last, levels=plan.levels, phases=plan.phases,
                      results=results)
    stop = _record_dates(ws, backfill_id, plan, days, checks, counts)
    times["validation_seconds"] += time.perf_counter() - t
    tracker.advance(len(days), batch)
    return stop


def _record_dates(ws: Workspace, backfill_id: str, plan: BackfillPlan, days: list[date], checks: list[CheckResult],
                  counts: Counter[str]) -> tuple[date, str] | None:
    """One transaction: the dates' checks, their status, missing sources and form quality."""
    con = ws.con
    games = counted_games_by_date(con, days[0], days[-1])
    missing = _missing_sources(ws, days[0], days[-1])
    quality = _form_quality(ws, days[0], days[-1])
    attempt = dict(con.execute("SELECT game_date, attempts FROM ops.backfill_dates WHERE backfill_id = ? "
                               "AND game_date BETWEEN ? AND ?", [backfill_id, days[0], days[-1]]).fetchall())
    failing: dict[date, list[CheckResult]] = {}
    for c in checks:
        if not c.passed:
            failing.setdefault(c.game_date, []).append(c)
    stop = None
    statuses = []
    for day in days:
        blocking = [c for c in failing.get(day, []) if c.level in plan.blocking]
        if blocking:
            status = "failed"
            stop = stop or (day, f"level {blocking[0].level} ({LEVELS[blocking[0].level]}): {blocking[0].name}, "
                                 f"{blocking[0].subject}" + (f": {blocking[0].detail}" if blocking[0].detail else ""))
        elif failing.get(day):
            status = "warned"
        else:
            status = "validated" if games.get(day) else "no_games"
        counts[status] += 1
        error = "; ".join(f"L{c.level} {c.subject}: {c.detail or c.name}" for c in failing.get(day, []))[:2000] or None
        statuses.append((status, games.get(day, 0), missing.get(day, []), *quality.get(day, (0, 0, 0)), error, day))

    checked = pl.DataFrame(
        [(c.game_date, attempt.get(c.game_date, 1), c.level, c.name, c.subject, c.passed, c.level in plan.blocking,
          c.observed, c.expected_low, c.expected_high, c.detail) for c in checks],
        schema={"game_date": pl.Date, "attempt": pl.Int32, "level": pl.Int32, "check_name": pl.Utf8,
                "subject": pl.Utf8, "passed": pl.Boolean, "blocking": pl.Boolean, "observed": pl.Float64,
                "expected_low": pl.Float64, "expected_high": pl.Float64, "detail": pl.Utf8}, orient="row")
    dated = pl.DataFrame(statuses, schema={"status": pl.Utf8, "games": pl.Int32, "missing_sources": pl.List(pl.Utf8),
                                           "rows_complete": pl.Int32, "rows_partial": pl.Int32,
                                           "rows_without_form": pl.Int32, "error": pl.Utf8, "game_date": pl.Date},
                         orient="row")

    def write() -> None:
        con.execute("INSERT INTO ops.backfill_checks SELECT $id, *, now()::TIMESTAMP FROM _checked", {"id": backfill_id})
        con.execute(
            """UPDATE ops.backfill_dates d SET status = n.status, games = n.games, missing_sources = n.missing_sources,
                rows_complete = n.rows_complete, rows_partial = n.rows_partial, rows_without_form = n.rows_without_form,
                error = n.error, validated_at = now()::TIMESTAMP
            FROM _dated n WHERE d.backfill_id = $id AND d.game_date = n.game_date""", {"id": backfill_id})

    con.register("_checked", checked)  # by name: write() does not see these frames as its caller's locals
    con.register("_dated", dated)
    try:
        committed(con, write)
    finally:
        con.unregister("_checked")
        con.unregister("_dated")
    return stop


def _record_batch(ws: Workspace, backfill_id: str, first: date, last: date, counts: Counter[str],
                  times: Counter[str]) -> None:
    attempt = ws.con.execute("SELECT coalesce(max(attempt), 0) + 1 FROM ops.backfill_batches WHERE backfill_id = ? "
                             "AND batch_start = ?", [backfill_id, first]).fetchall()[0][0]
    ws.con.execute(
        f"""INSERT INTO ops.backfill_batches (backfill_id, batch_start, batch_end, attempt, dates, dates_validated,
            dates_warned, dates_failed, dates_without_games, {', '.join(PHASE_TIMES.values())}, validation_seconds,
            finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now()::TIMESTAMP)""",
        [backfill_id, first, last, attempt, sum(counts.values()), counts["validated"], counts["warned"],
         counts["failed"], counts["no_games"], *(round(times[c], 3) for c in PHASE_TIMES.values()),
         round(times["validation_seconds"], 3)])


# -- what a date lacks ---------------------------------------------------------------------------

def _missing_sources(ws: Workspace, first: date, last: date) -> dict[date, list[str]]:
    """Per date with counted games: the raw tables with nothing for them (box scores of a scheduled
    game not in, no injury move in the 14 days before, no prop line)."""
    rows = ws.con.execute(
        """WITH days AS (SELECT game_date, game_id FROM raw.schedule WHERE game_date BETWEEN $first AND $last
                         AND coalesce(season_type, '') NOT IN ('Pre Season', 'All Star'))
        SELECT d.game_date,
               list_filter([
                   CASE WHEN count(DISTINCT d.game_id) > count(DISTINCT p.game_id) THEN 'raw.player_boxscores' END,
                   CASE WHEN count(DISTINCT d.game_id) > count(DISTINCT t.game_id) THEN 'raw.team_boxscores' END,
                   CASE WHEN NOT EXISTS (SELECT 1 FROM raw.injuries i WHERE i.move_date < d.game_date
                                         AND i.move_date >= d.game_date - 14) THEN 'raw.injuries' END,
                   CASE WHEN NOT EXISTS (SELECT 1 FROM raw.prop_lines l WHERE l.game_date = d.game_date)
                        THEN 'raw.prop_lines' END], s -> s IS NOT NULL)
        FROM days d
        LEFT JOIN (SELECT DISTINCT game_id FROM raw.player_boxscores WHERE game_date BETWEEN $first AND $last) p
          USING (game_id)
        LEFT JOIN (SELECT DISTINCT game_id FROM raw.team_boxscores WHERE game_date BETWEEN $first AND $last) t
          USING (game_id)
        GROUP BY d.game_date""", {"first": first, "last": last}).fetchall()
    return dict(rows)


def _form_quality(ws: Workspace, first: date, last: date) -> dict[date, tuple[int, int, int]]:
    """Per date: the form rows that are complete, partial and without any game this season."""
    return {d: (c, p, n) for d, c, p, n in ws.con.execute(
        """SELECT game_date, count(*) FILTER (WHERE calculation_quality = 'complete'),
                  count(*) FILTER (WHERE calculation_quality LIKE 'partial%'),
                  count(*) FILTER (WHERE calculation_quality = 'no_prior_games')
        FROM precompute.player_daily_cache WHERE game_date BETWEEN ? AND ? GROUP BY ALL""",
        [first, last]).fetchall()}


# -- the plan's dates ---------------------------------------------------------------------------

def _plan_days(ws: Workspace, plan: BackfillPlan) -> tuple[list[date], list[date]]:
    """The plan's days (those of its seasons when it names some) and each one's batch, named by the
    batch's first day: runs of `batch_days` days from the start, else the plan's days of its season."""
    days = [plan.start + timedelta(days=i) for i in range((plan.end - plan.start).days + 1)]
    labelled = ws.con.execute(f"SELECT d, {season_of_date_sql('d')} FROM unnest($days::DATE[]) t(d) ORDER BY d",
                              {"days": days}).fetchall()
    kept = [(d, season) for d, season in labelled if not plan.seasons or season in plan.seasons]
    days = [d for d, _ in kept]
    if plan.batch_days:
        size = plan.batch_days
        return days, [plan.start + timedelta(days=(d - plan.start).days // size * size) for d in days]
    first_of_season: dict[str, date] = {}
    for d, season in kept:
        first_of_season.setdefault(season, d)
    return days, [first_of_season[season] for _, season in kept]


def history_backfill(ws: Workspace, day: date, blocking: frozenset[int]) -> tuple[str, BackfillPlan] | None:
    """The backfill of every day the archive has before `day` through every phase (the history a replay
    starting on `day` learns from: gbm's training seasons, the heuristic's league prior, last season's
    form), with `blocking` levels, recorded and ready for `run_backfill`; an unfinished one of that
    window is resumed. None when the archive has no day before `day` or a finished backfill of this
    warehouse covered them."""
    first = ws.source.first_date()
    if first is None or first >= day:
        return None
    plan = BackfillPlan(first, day - timedelta(days=1), blocking=blocking)
    covering = ws.con.execute(
        """SELECT backfill_id, status = 'finished', start_date = $start AND end_date = $end FROM ops.backfill_runs
        WHERE start_date <= $start AND end_date >= $end AND list_has_all(phases, $phases) AND len(seasons) = 0
        ORDER BY started_at DESC""",
        {"start": plan.start, "end": plan.end, "phases": sorted(ALL_PHASES)}).fetchall()
    if any(finished for _, finished, _ in covering):
        return None
    unfinished = [backfill_id for backfill_id, _, same_window in covering if same_window]
    return (unfinished[0] if unfinished else start_backfill(ws, plan)), plan
