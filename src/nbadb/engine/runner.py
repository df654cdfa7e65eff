"""The run lifecycle, identical for every processor: as-of scope, prechecks, change detection,
transform, rules, and one transaction for output, quarantined rows, signatures, ledger row and
outbox event."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Iterator

import duckdb

from nbadb.config import Settings, get_settings
from nbadb.engine import breakers, events, ledger, output, parts, policies, signatures, snapshots
from nbadb.engine.calendar import CALENDAR_TABLES, LeagueCalendar
from nbadb.engine.clock import warehouse_clock
from nbadb.engine.context import RunContext
from nbadb.engine.request import RunRequest, RunResult, utc_now
from nbadb.engine.spec import ProcessorSpec
from nbadb.engine.vocabulary import DecisionKind, Optimization, SkipReason, Status
from nbadb.errors import SpecError
from nbadb.warehouse.connection import configure_session, execute
from nbadb.warehouse.transactions import committed, interrupted, read_transaction
from nbadb.warehouse.hashing import cast_columns_sql, row_hash_sql

LINEAGE_COLUMNS = ("row_hash", "run_id", "ingested_at", output.KNOWN_AT)


def _table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    schema, name = table.split(".")
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [schema, name],
    ).fetchall()
    if not rows:
        raise SpecError(f"output table {table} does not exist in the warehouse")
    return [(c, t) for c, t in rows if c not in LINEAGE_COLUMNS]


@dataclass(frozen=True)
class PlannedWork:
    """What change detection left a run to do: its processing mode, the entities in scope and how
    many of them `_scope` holds (the changed ones, or every entity of their dates in date mode)."""

    mode: str
    in_scope: int
    processed: int


@dataclass
class SharedCaches:
    """What an engine and the engines on its other connections read once and share: each output
    table's hashed columns, the code versions whose transform columns were checked, and the league
    calendar."""

    columns: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    verified: set[str] = field(default_factory=set)
    calendar: LeagueCalendar | None = None
    calendar_generation: int = 0  # moves on each time a table the calendar reads is written

    def forget_calendar(self) -> None:
        """Called after a run committed a calendar table; a load that began before is not kept (Engine.calendar)."""
        self.calendar_generation += 1
        self.calendar = None


class Engine:
    """Runs processors through the lifecycle. Between runs it keeps only its connection and the caches
    it shares with engines on other connections."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        specs: dict[str, ProcessorSpec],
        settings: Settings | None = None,
        prechecks: tuple[policies.Precheck, ...] = policies.PRECHECKS,
        *,
        caches: SharedCaches | None = None,
    ) -> None:
        self.con = con
        self.specs = specs
        self.settings = settings or get_settings()
        self.prechecks = prechecks
        self.produced_tables = frozenset(specs)
        self.known_tables = self.produced_tables | {t for s in specs.values() for t in s.input_tables}
        self.caches = caches or SharedCaches()

    def on_own_connection(self) -> Engine:
        """Another engine on its own connection to the same warehouse (its own temp tables and
        transactions), sharing this one's specs, settings and caches (engine.executors)."""
        cursor = self.con.cursor()
        configure_session(cursor)
        return Engine(cursor, self.specs, self.settings, self.prechecks, caches=self.caches)

    def calendar(self) -> LeagueCalendar:
        """The league calendar (engine.calendar), read once until a run writes a table it comes from.
        A load that overlapped such a write (on another connection) serves its run but is not kept."""
        caches = self.caches
        calendar = caches.calendar
        if calendar is None:
            generation = caches.calendar_generation
            calendar = LeagueCalendar.load(self.con)
            if generation == caches.calendar_generation:
                caches.calendar = calendar
        return calendar

    def content_columns(self, table: str) -> list[tuple[str, str]]:
        """The output table's columns that its row hash covers (read once)."""
        if table not in self.caches.columns:
            self.caches.columns[table] = _table_columns(self.con, table)
        return self.caches.columns[table]

    def now(self) -> datetime:
        """The warehouse clock (engine.clock): the wall clock while the season is live, else the
        latest publication time the warehouse holds."""
        wall = utc_now()
        return warehouse_clock(self.con, self.calendar().is_live(wall.date()), wall)

    def clock(self, request: RunRequest) -> datetime:
        """The run's instant: the one it was given, else the warehouse clock."""
        return request.run_as_of_ts if request.run_as_of_ts is not None else self.now()

    def run(self, request: RunRequest) -> RunResult:
        """The lifecycle as read transactions (warehouse.transactions) and one write: the run's clock,
        pre-checks and change detection in one; once the run is known to work, its 'started' event,
        its parts, its transform and rules in another, then `_finish`."""
        spec = self.specs.get(request.processor)
        if spec is None:
            raise SpecError(f"unknown processor {request.processor!r}; see `nbadb processors`")
        ctx: RunContext | None = None
        try:
            with read_transaction(self.con):
                ctx = self._context(spec, request)
                planned = self._plan(ctx)
            return self._carry_out(ctx, planned)
        except BaseException as exc:
            if ctx is None:  # the clock could not be read: nothing was decided
                raise
            if not interrupted(exc):
                if isinstance(exc, Exception):  # recorded as failed with its message, never turned into a bool
                    return self._fail(ctx, exc)
                raise
            if ctx.started_logged:  # Ctrl-C: the user stopped us; nothing failed, nothing was written
                ledger.record_interrupted(self.con, request)
            raise KeyboardInterrupt from None

    def _context(self, spec: ProcessorSpec, request: RunRequest) -> RunContext:
        ctx = RunContext(self.con, spec, request, self.calendar, self.clock(request), known_tables=self.known_tables,
                         produced_tables=self.produced_tables, started_logged=request.announced)
        ctx.metrics.triggers = len(request.trigger.event_ids)
        if ctx.metrics.triggers > 1:
            ctx.decide(DecisionKind.COALESCED_TRIGGERS, f"coalesced {ctx.metrics.triggers} triggers into this run",
                       triggers=ctx.metrics.triggers)
            ctx.saved_by(Optimization.COALESCED_TRIGGERS)
        return ctx

    def _fail(self, ctx: RunContext, exc: Exception) -> RunResult:
        result = self._result(ctx, Status.FAILED)
        result.error = f"{type(exc).__name__}: {exc}"
        return self._finish(ctx, result, write_output=False)

    # -- lifecycle -------------------------------------------------------------------------

    def _carry_out(self, ctx: RunContext, planned: RunResult | PlannedWork) -> RunResult:
        """Record the skip `_plan` decided, or do the work: parts run outside a read transaction (one
        that fails lets the run go on, and a failed statement would end the transaction)."""
        if isinstance(planned, RunResult):
            return self._finish(ctx, planned, write_output=False)

        # From here on the run does work: a crash must leave this 'started' without a 'finished'.
        if not ctx.started_logged:
            ledger.record_started(self.con, ctx.asked)
            ctx.started_logged = True
        if ctx.spec.parts:  # independent parts behind their own breakers feed the transform
            reason = parts.run_parts(ctx, self.settings)
            if reason:
                return self._finish(ctx, self._result(ctx, Status.SKIPPED, reason), write_output=False)
        with read_transaction(self.con):
            result = self._transform(ctx, planned)
        return self._finish(ctx, result, write_output=True)

    def _plan(self, ctx: RunContext) -> RunResult | PlannedWork:
        """Freezing, pre-checks and change detection: the skip to record, or the work to do with its
        scope (`_scope`) in place."""
        spec = ctx.spec
        if spec.kind == "as_of" and self._freeze(ctx):
            return self._result(ctx, Status.SKIPPED, SkipReason.FROZEN)
        for check in self.prechecks:
            with ctx.timed(check.__name__):
                reason = check(ctx, self.settings)
            if reason:
                return self._result(ctx, Status.SKIPPED, reason)

        request = ctx.request
        signatures.prepare_entity_filter(self.con, request)
        if spec.kind == "as_of":
            self._split_snapshots(ctx)
        with ctx.timed("change_detection"):
            if spec.signed_by_output:
                self._transform_whole_dates(ctx)
                current = signatures.current_signatures_from_output(self.con, spec)
            else:
                current = 0
                for n, params in enumerate(self._snapshot_params(ctx)):
                    current += signatures.current_signatures_from_inputs(self.con, spec, request, params,
                                                                          append=n > 0)
            changed = signatures.compare_with_stored(self.con, spec, request)
            changed -= signatures.drop_dates(self.con, ctx.frozen)
        if request.force:
            ctx.decide(DecisionKind.FORCED, "forced: every entity in scope is reprocessed")
            changed += signatures.add_forced(self.con)
        if changed == 0:
            ctx.saved_by(Optimization.CHANGE_DETECTION)
            ctx.decide(DecisionKind.UNCHANGED, f"all {current} entities match their stored signatures", entities=current)
            result = self._result(ctx, Status.SKIPPED, SkipReason.NO_CHANGES)
            result.metrics.entities_in_scope = current
            return result
        pending = signatures.pending_changes(self.con)
        ctx.replaces_signatures = pending.replacing
        in_scope = current + pending.gone
        mode = self._choose_mode(ctx, in_scope, pending.total)
        return PlannedWork(mode, in_scope, self._build_scope(mode, pending.total, in_scope))

    def _transform(self, ctx: RunContext, work: PlannedWork) -> RunResult:
        """The transform into `_out` and the output rules; the run's result, its changes counted."""
        spec, request = ctx.spec, ctx.request
        with ctx.timed("transform"):
            if self.settings.fault_injected(spec.name, request.as_of or request.start_date):
                raise parts.InjectedFault(f"fault injected into {spec.name} (NBADB_FAULT_PROCESSORS)")
            if spec.signed_by_output:
                self.con.execute(
                    f'DELETE FROM _out WHERE (cast("{spec.entity_key}" AS VARCHAR), "{spec.date_column}") '
                    "NOT IN (SELECT (entity_id, game_date) FROM _scope)"
                )
            else:
                self._create_out(ctx)
        with ctx.timed("contract"):
            rows_written, ctx.metrics.rows_quarantined = output.check_rules(self.con, spec)
            held = output.hold_shrinking(self.con, spec, request, ctx.metrics.rows_quarantined > 0)
        if ctx.metrics.rows_quarantined:
            ctx.decide(DecisionKind.ROWS_QUARANTINED,
                       f"{ctx.metrics.rows_quarantined} output rows broke a row rule and went to ops.quarantine",
                       rows=ctx.metrics.rows_quarantined)
        if held:
            ctx.metrics.entities_held = held
            rows_written = self.con.execute("SELECT count(*) FROM _out").fetchall()[0][0]
            ctx.decide(DecisionKind.HELD_INCOMPLETE,
                       f"kept the stored version of {held} entities whose new rows were partly quarantined",
                       entities=held)

        result = self._result(ctx, parts.status(ctx))
        result.processing_mode = work.mode
        result.changes = signatures.change_set(self.con)
        m = result.metrics
        m.entities_in_scope, m.entities_processed, m.rows_written = work.in_scope, work.processed - held, rows_written
        m.entities_changed = result.changes.count
        if work.mode == "entity":
            ctx.saved_by(Optimization.ENTITY_LEVEL_PROCESSING)
        return result

    def _freeze(self, ctx: RunContext) -> bool:
        """As-of dates whose cutoff the clock passed and that have rows are left as they were said:
        the run narrows to the other dates (`ctx.frozen` keeps those inside them). True when none is left."""
        request = ctx.request
        frozen = snapshots.frozen_dates(self.con, ctx.spec, ctx.calendar(), request.start_date, request.end_date,
                                        ctx.clock)
        if not frozen:
            return False
        ctx.metrics.dates_frozen = len(frozen)
        ctx.saved_by(Optimization.FROZEN_DATES)
        open_dates = [d for d in snapshots.days(request.start_date, request.end_date) if d not in set(frozen)]
        ctx.decide(DecisionKind.FROZEN,
                   f"{len(frozen)} dates ({frozen[0]}..{frozen[-1]}) are past their cutoff at {ctx.clock} and "
                   "stay as they were said", first=str(frozen[0]), last=str(frozen[-1]), dates=len(frozen))
        if not open_dates:
            return True
        ctx.narrow_dates(open_dates[0], open_dates[-1])
        ctx.frozen = [d for d in frozen if open_dates[0] < d < open_dates[-1]]
        return False

    def _split_snapshots(self, ctx: RunContext) -> None:
        """The run's cutoffs and snapshots (engine.snapshots); a split is a decision."""
        request = ctx.request
        snapshots.prepare_cutoffs(self.con, ctx.calendar(), request.start_date, request.end_date)
        ctx.snapshots = snapshots.snapshots(self.con, ctx.spec, request.start_date, request.end_date)
        if len(ctx.snapshots) > 1:
            ctx.decide(DecisionKind.SNAPSHOTS,
                       f"computed in {len(ctx.snapshots)} snapshots: inputs were published or corrected "
                       "between the dates' cutoffs", snapshots=len(ctx.snapshots))

    def _snapshot_params(self, ctx: RunContext) -> Iterator[dict[str, date]]:
        """The SQL parameters ($start, $end) of each snapshot of the run, its `_as_of` and known views
        in place while the caller uses them; a current-truth run is one range."""
        if not ctx.snapshots:
            yield {"start": ctx.request.start_date, "end": ctx.request.end_date}
            return
        for snapshot in ctx.snapshots:
            if ctx.prepared is not snapshot:
                snapshots.prepare_snapshot(self.con, ctx.spec, snapshot)
                ctx.prepared = snapshot
            yield snapshot.params

    def _choose_mode(self, ctx: RunContext, in_scope: int, changed: int) -> str:
        requested = ctx.request.processing_mode
        facts = {"changed": changed, "in_scope": in_scope}
        if requested:
            ctx.decide(DecisionKind.MODE, f"{requested} mode: requested", mode=requested, **facts)
            return requested
        share = changed / max(in_scope, 1)
        if self.settings.default_mode == "date":
            ctx.decide(DecisionKind.MODE, "date mode: configured default", mode="date", **facts)
            return "date"
        if share > self.settings.date_mode_threshold:
            ctx.decide(DecisionKind.MODE, f"date mode: {changed}/{in_scope} entities changed "
                       f"(> {self.settings.date_mode_threshold:.0%}), whole dates are as cheap", mode="date", **facts)
            return "date"
        ctx.decide(DecisionKind.MODE, f"entity mode: {changed}/{in_scope} entities changed", mode="entity", **facts)
        return "entity"

    def _build_scope(self, mode: str, changed: int, in_scope: int) -> int:
        """Point the `_scope` view at the entities to (re)compute; returns how many there are."""
        if mode == "entity" or changed == in_scope:  # _changes holds each (entity, date) once
            self.con.execute("CREATE OR REPLACE TEMP VIEW _scope AS SELECT entity_id, game_date FROM _changes")
            return changed
        processed = self.con.execute(
            """CREATE OR REPLACE TEMP TABLE _date_scope AS
            SELECT entity_id, game_date FROM _sig_cur WHERE game_date IN (SELECT game_date FROM _changes)
            UNION SELECT entity_id, game_date FROM _changes"""
        ).fetchall()[0][0]
        self.con.execute("CREATE OR REPLACE TEMP VIEW _scope AS SELECT entity_id, game_date FROM _date_scope")
        return processed

    def hashed_sql(self, table: str, select: str, *, versioned: bool) -> str:
        """SQL: `select`'s rows as `table` stores them, with their row_hash. Cast to the stored types
        first, so the hash is of what will be stored, not of how it was computed. A versioned
        (current-truth) row's publication time travels beside its content (it is not hashed)."""
        columns = self.content_columns(table)
        carried = f', cast("{output.KNOWN_AT}" AS TIMESTAMP) AS "{output.KNOWN_AT}"' if versioned else ""
        return (f"SELECT *, {row_hash_sql(columns)} AS row_hash "
                f"FROM (SELECT {cast_columns_sql(columns)}{carried} FROM ({select}) t) typed")

    def _create_out(self, ctx: RunContext, where: str = "") -> None:
        """Run the transform into _out, hashed. Its column set is checked once per spec version."""
        spec = ctx.spec
        for n, params in enumerate(self._snapshot_params(ctx)):
            if n == 0:  # the snapshot's views in place: the SQL can be bound
                self._verify_columns(spec, params)
                rows = self.hashed_sql(spec.output_table, spec.transform_sql, versioned=spec.versioned)
            into = "INSERT INTO _out" if n else "CREATE OR REPLACE TEMP TABLE _out AS"
            execute(self.con, f"{into} SELECT * FROM ({rows}) t {where}", params)

    def _verify_columns(self, spec: ProcessorSpec, params: dict[str, date]) -> None:
        """The transform's column set is the output table's: checked once per spec version and schema. The
        evidence of an earlier check is in memory, or in the ledger: a run of this code version that wrote rows
        since the warehouse's last migration (binding a large transform for DESCRIBE costs up to 0.2 s)."""
        if spec.code_version in self.caches.verified:
            return
        if not self._wrote_since_last_migration(spec):
            self._describe_and_compare(spec, params)
        self.caches.verified.add(spec.code_version)

    def _wrote_since_last_migration(self, spec: ProcessorSpec) -> bool:
        return bool(self.con.execute(
            "SELECT 1 FROM ops.processor_runs WHERE processor = ? AND code_version = ? AND rows_written > 0 "
            "AND finished_at >= (SELECT max(applied_at) FROM ops.schema_migrations) LIMIT 1",
            [spec.name, spec.code_version]).fetchall())

    def _describe_and_compare(self, spec: ProcessorSpec, params: dict[str, date]) -> None:
        got = {r[0].lower() for r in execute(self.con, f"DESCRIBE {spec.transform_sql}", params).fetchall()}
        want = {c.lower() for c, _ in self.content_columns(spec.output_table)}  # identifiers ignore case
        if spec.versioned:
            want.add(output.KNOWN_AT)
        if got != want:
            raise output.ContractViolation(
                f"{spec.name} transform columns differ from {spec.output_table}: "
                f"missing {sorted(want - got)}, unexpected {sorted(got - want)}"
            )

    def _transform_whole_dates(self, ctx: RunContext) -> None:
        """The transform for every entity of the dates (or of the event's entities): a row is its own signature."""
        spec, request = ctx.spec, ctx.request
        where = f'WHERE "{spec.date_column}" BETWEEN $start AND $end'
        if request.entity_ids is not None:
            where += f' AND cast("{spec.entity_key}" AS VARCHAR) IN (SELECT entity_id FROM _entity_filter)'
        self._create_out(ctx, where)

    # -- terminal state --------------------------------------------------------------------

    def _result(self, ctx: RunContext, status: Status, skip_reason: SkipReason | None = None) -> RunResult:
        return RunResult(ctx.request.run_id, ctx.spec.name, status, skip_reason=skip_reason, decisions=ctx.decisions,
                         metrics=ctx.metrics)

    def _record_breaker(self, ctx: RunContext, result: RunResult) -> None:
        """Inside the run's transaction: a failure counts on the processor's breaker (on the run's
        clock); a success resets it (written only when the breaker the pre-check read was not clean)."""
        if not self.settings.processor_breakers or result.status == Status.SKIPPED:
            return
        seen = ctx.breaker
        if result.status != Status.FAILED and (seen is None or (seen.state == "CLOSED" and not seen.consecutive_failures)):
            return
        transition = breakers.record(
            self.con, ctx.spec.name, policies.breaker_policy(ctx, self.settings),
            ok=result.status != Status.FAILED, error=result.error, kind="processor", now=ctx.clock,
        )
        if transition.opened:
            ctx.decide(DecisionKind.BREAKER_OPENED,
                       f"circuit breaker opened after {transition.after.consecutive_failures} consecutive failures",
                       consecutive_failures=transition.after.consecutive_failures)
        elif transition.closed:
            ctx.decide(DecisionKind.BREAKER_CLOSED, "circuit breaker closed: the probe succeeded")

    def _finish(self, ctx: RunContext, result: RunResult, *, write_output: bool) -> RunResult:
        """One transaction: output rows, quarantined rows, signatures, ledger row, outbox event,
        consumed triggers, breakers."""
        spec, request = ctx.spec, ctx.request
        con = self.con
        decided = len(ctx.decisions)

        def write() -> None:
            del ctx.decisions[decided:]  # a transaction run again decides again
            if write_output:
                with ctx.timed("write"):
                    output.write(con, spec, request, ctx.clock)
                    if result.metrics.rows_quarantined:
                        ledger.record_quarantined(con, spec, request)
                    if result.status == Status.SUCCESS:
                        signatures.store_signatures(con, spec, request, replacing=ctx.replaces_signatures)
                    else:  # a partial entity is left unsigned: the next run redoes it
                        signatures.forget_signatures(con, spec, request)
                    if spec.phase == 2 and result.metrics.rows_written:
                        ledger.advance_publication_clock(con)
                    if result.changes.count:
                        chain = list(request.trigger.chain) + [spec.name]
                        result.event = events.append_event(con, spec.name, request.run_id, result.changes, chain,
                                                            output.published_at(con, spec, ctx.clock))
            if result.status != Status.FAILED and not (result.skip_reason and result.skip_reason.deferred):
                events.mark_consumed(con, spec.name, request.trigger.event_ids, request.run_id)
            parts.record(con, ctx, result, self.settings)
            self._record_breaker(ctx, result)
            result.duration_ms = ctx.elapsed_ms()
            ledger.write_terminal(con, ctx, result)

        committed(con, write)
        if write_output and spec.output_table in CALENDAR_TABLES:
            self.caches.forget_calendar()
        return result

