"""The run lifecycle, identical for every processor: prechecks, change detection, transform,
contract, and one transaction for output, signatures, ledger row and outbox event."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from nbadb.config import Settings, get_settings
from nbadb.engine import breakers, events, ledger, parts, policies, signatures
from nbadb.engine.calendar import SCHEDULE_TABLE, LeagueCalendar
from nbadb.engine.context import RunContext
from nbadb.engine.lanes import Lanes
from nbadb.engine.macros import TableMacros
from nbadb.engine.request import RunRequest, RunResult
from nbadb.engine.spec import ProcessorSpec
from nbadb.errors import SpecError
from nbadb.warehouse.connection import configure_session, execute
from nbadb.warehouse.hashing import cast_columns_sql, row_hash_sql

LINEAGE_COLUMNS = ("row_hash", "run_id", "ingested_at")


# Skips that postpone the work rather than find none: their trigger events stay pending.
DEFERRED_SKIPS = frozenset({"breaker_open", "stale_dependency"})


class ContractViolation(Exception):
    """Transform output broke its processor's contract; the run fails and nothing is written."""


def _table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    schema, name = table.split(".")
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [schema, name],
    ).fetchall()
    if not rows:
        raise SpecError(f"output table {table} does not exist in the warehouse")
    return [(c, t) for c, t in rows if c not in LINEAGE_COLUMNS]



@dataclass
class SharedCaches:
    """What an engine and its lanes read once and share: each output table's hashed columns, the
    code versions whose transform columns were checked, and the league calendar."""

    columns: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    verified: set[str] = field(default_factory=set)
    calendar: LeagueCalendar | None = None
    calendar_generation: int = 0  # moves on each time the schedule is written

    def forget_calendar(self) -> None:
        """Called after a run committed the schedule; a load that began before is not kept (Engine.calendar)."""
        self.calendar_generation += 1
        self.calendar = None


class Engine:
    """Runs processors through the lifecycle. Between runs it keeps only its connection, the table
    macros defined on that connection, its lanes and the caches it shares with them."""

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
        self.macros = TableMacros(con)
        self.lanes = Lanes(self, self.settings.lane_count)

    def lane(self) -> Engine:
        """Another engine on its own connection to the same warehouse (its own temp tables and
        transactions), sharing this one's specs, settings and caches: see engine.lanes."""
        cursor = self.con.cursor()
        configure_session(cursor)
        return Engine(cursor, self.specs, self.settings, self.prechecks, caches=self.caches)

    def close(self) -> None:
        """Close the lanes' connections (the engine's own belongs to its caller)."""
        self.lanes.close()

    def calendar(self) -> LeagueCalendar:
        """The scheduled game dates (engine.calendar), read once until a run writes the schedule.
        A load that overlapped such a write (another lane) serves its run but is not kept."""
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

    def run(self, request: RunRequest) -> RunResult:
        spec = self.specs.get(request.processor)
        if spec is None:
            raise SpecError(f"unknown processor {request.processor!r}; see `nbadb processors`")
        ctx = RunContext(self.con, spec, request, self.calendar, known_tables=self.known_tables,
                         produced_tables=self.produced_tables)
        if len(request.trigger.event_ids) > 1:
            ctx.decisions.append(f"coalesced {len(request.trigger.event_ids)} triggers into this run")
            ctx.optimizations.append("coalesced_triggers")
        try:
            return self._execute(ctx)
        except Exception as exc:  # recorded as failed with its message, never turned into a bool
            result = RunResult(request.run_id, spec.name, "failed", error=f"{type(exc).__name__}: {exc}")
            result.decisions = ctx.decisions
            return self._finish(ctx, result, write_output=False)

    # -- lifecycle -------------------------------------------------------------------------

    def _execute(self, ctx: RunContext) -> RunResult:
        spec, request = ctx.spec, ctx.request
        for check in self.prechecks:
            with ctx.timed(check.__name__):
                reason = check(ctx, self.settings)
            if reason:
                return self._finish(ctx, self._result(ctx, "skipped", skip_reason=reason), write_output=False)

        signatures.prepare_entity_filter(self.con, request)
        with ctx.timed("change_detection"):
            if spec.signed_by_output:
                self._transform_whole_dates(ctx)
                current = signatures.current_signatures_from_output(self.con, spec)
            else:
                dependencies = self.macros.call(f"{spec.name} signature", spec.signature_sql)
                current = signatures.current_signatures_from_inputs(self.con, spec, request, dependencies)
            changed = signatures.compare_with_stored(self.con, spec, request)
            held = signatures.hold_incomplete(self.con, request)
            if held:
                changed -= held
                ctx.decisions.append(
                    f"kept the stored version of {held} entities whose new source rows were partly quarantined"
                )
        if request.force:
            ctx.decisions.append("forced: every entity in scope is reprocessed")
            changed += self.con.execute(
                "INSERT INTO _changes SELECT entity_id, game_date, signature, 'forced' FROM _sig_cur "
                "WHERE (entity_id, game_date) NOT IN (SELECT (entity_id, game_date) FROM _changes)"
            ).fetchall()[0][0]
        if changed == 0:
            ctx.optimizations.append("change_detection")
            ctx.decisions.append(f"all {current} entities match their stored signatures")
            result = self._result(ctx, "skipped", skip_reason="no_changes")
            result.metrics.entities_in_scope = current
            return self._finish(ctx, result, write_output=False)
        changes = self.con.execute("SELECT entity_id, game_date, change FROM _changes ORDER BY ALL").fetchall()
        ctx.replaces_signatures = any(change != "new" for _, _, change in changes)
        in_scope = current + sum(change == "gone" for _, _, change in changes)

        # From here on the run does work: a crash must leave this 'started' without a 'finished'.
        ledger.record_started(self.con, request)
        ctx.started_logged = True
        mode = self._choose_mode(ctx, in_scope, len(changes))
        processed = self._build_scope(mode, len(changes), in_scope)
        if spec.parts:  # independent parts behind their own breakers feed the transform
            reason = parts.run_parts(ctx, self.settings)
            if reason:
                return self._finish(ctx, self._result(ctx, "skipped", skip_reason=reason), write_output=False)
        with ctx.timed("transform"):
            if spec.name in self.settings.faulty_processors:
                raise parts.InjectedFault(f"fault injected into {spec.name} (NBADB_FAULT_PROCESSORS)")
            if spec.signed_by_output:
                self.con.execute(
                    f'DELETE FROM _out WHERE (cast("{spec.entity_key}" AS VARCHAR), "{spec.date_column}") '
                    "NOT IN (SELECT (entity_id, game_date) FROM _scope)"
                )
            else:
                self._create_out(ctx)
        with ctx.timed("contract"):
            rows_written = self._validate(ctx)

        result = self._result(ctx, parts.status(ctx))
        result.processing_mode = mode
        # forced re-runs of unchanged entities are work, not change
        result.changed_entities = [(e, d) for e, d, change in changes if change != "forced"]
        m = result.metrics
        m.entities_in_scope, m.entities_processed, m.rows_written = in_scope, processed, rows_written
        m.entities_changed = len(result.changed_entities)
        if mode == "entity":
            ctx.optimizations.append("entity_level_processing")
        return self._finish(ctx, result, write_output=True)

    def _choose_mode(self, ctx: RunContext, in_scope: int, changed: int) -> str:
        requested = ctx.request.processing_mode
        if requested:
            ctx.decisions.append(f"{requested} mode: requested")
            return requested
        share = changed / max(in_scope, 1)
        if self.settings.default_mode == "date":
            ctx.decisions.append("date mode: configured default")
            return "date"
        if share > self.settings.date_mode_threshold:
            ctx.decisions.append(
                f"date mode: {changed}/{in_scope} entities changed (> {self.settings.date_mode_threshold:.0%}),"
                " whole dates are as cheap"
            )
            return "date"
        ctx.decisions.append(f"entity mode: {changed}/{in_scope} entities changed")
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

    def _hashed_transform(self, spec: ProcessorSpec) -> str:
        """The transform's rows with their row_hash, called as a table macro. Cast to the stored
        types first, so the hash is of what will be stored, not of how it was computed."""
        columns = self.content_columns(spec.output_table)
        return self.macros.call(
            f"{spec.name} transform",
            f"SELECT *, {row_hash_sql(columns)} AS row_hash "
            f"FROM (SELECT {cast_columns_sql(columns)} FROM ({spec.transform_sql}) t) typed",
        )

    def _create_out(self, ctx: RunContext, where: str = "") -> None:
        """Run the transform into _out, hashed. Its column set is checked once per spec version."""
        spec = ctx.spec
        params = {"start": ctx.request.start_date, "end": ctx.request.end_date}
        if spec.code_version not in self.caches.verified:
            got = {r[0].lower() for r in execute(self.con, f"DESCRIBE {spec.transform_sql}", params).fetchall()}
            want = {c.lower() for c, _ in self.content_columns(spec.output_table)}  # identifiers ignore case
            if got != want:
                raise ContractViolation(
                    f"{spec.name} transform columns differ from {spec.output_table}: "
                    f"missing {sorted(want - got)}, unexpected {sorted(got - want)}"
                )
            self.caches.verified.add(spec.code_version)
        rows = self._hashed_transform(spec)
        execute(self.con, f"CREATE OR REPLACE TEMP TABLE _out AS SELECT * FROM ({rows}) t {where}", params)

    def _transform_whole_dates(self, ctx: RunContext) -> None:
        """The transform for every entity of the dates (or of the event's entities): a row is its own signature."""
        spec, request = ctx.spec, ctx.request
        where = f'WHERE "{spec.date_column}" BETWEEN $start AND $end'
        if request.entity_ids is not None:
            where += f' AND cast("{spec.entity_key}" AS VARCHAR) IN (SELECT entity_id FROM _entity_filter)'
        self._create_out(ctx, where)

    def _validate(self, ctx: RunContext) -> int:
        """Every output row passes the declared checks and, when the transform itself reads `_scope`,
        belongs to a scoped entity (rows signed by their own output were just cut to the scope by
        the engine). One query; returns the number of output rows."""
        spec = ctx.spec
        counts = ["count(*)"] + [f"count(*) FILTER (WHERE {c.violation_sql})" for c in spec.checks]
        if not spec.signed_by_output:
            counts.append(
                f'count(*) FILTER (WHERE (cast("{spec.entity_key}" AS VARCHAR), "{spec.date_column}") '
                "NOT IN (SELECT (entity_id, game_date) FROM _scope))"
            )
        total, *row = self.con.execute(f"SELECT {', '.join(counts)} FROM _out").fetchall()[0]
        if not spec.signed_by_output and row[-1]:
            raise ContractViolation(f"{spec.name} produced {row[-1]} rows outside the entities it was asked for")
        broken = [f"{c.name} ({n} rows)" for c, n in zip(spec.checks, row) if n]
        if broken:
            raise ContractViolation(f"{spec.name} output breaks its contract: {'; '.join(broken)}")
        return total

    # -- terminal state --------------------------------------------------------------------

    def _result(self, ctx: RunContext, status: str, skip_reason: str | None = None) -> RunResult:
        return RunResult(ctx.request.run_id, ctx.spec.name, status, skip_reason=skip_reason, decisions=ctx.decisions)

    def _record_breaker(self, ctx: RunContext, result: RunResult) -> None:
        """Inside the run's transaction: a failure counts on the processor's breaker; a success resets
        it (written only when the breaker the pre-check read was not already clean)."""
        if not self.settings.processor_breakers or result.status == "skipped":
            return
        seen = ctx.breaker
        if result.status != "failed" and (seen is None or (seen.state == "CLOSED" and not seen.consecutive_failures)):
            return
        transition = breakers.record(
            self.con, ctx.spec.name, policies.breaker_policy(ctx, self.settings),
            ok=result.status != "failed", error=result.error, kind="processor",
        )
        if transition.opened:
            result.decisions.append(
                f"circuit breaker opened after {transition.after.consecutive_failures} consecutive failures"
            )
        elif transition.closed:
            result.decisions.append("circuit breaker closed: the probe succeeded")

    def _finish(self, ctx: RunContext, result: RunResult, *, write_output: bool) -> RunResult:
        """One transaction: output rows, signatures, ledger row, outbox event, consumed triggers."""
        spec, request = ctx.spec, ctx.request
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            if write_output:
                with ctx.timed("write"):
                    execute(  # the date range lets DuckDB skip row groups by their min/max
                        con,
                        f'DELETE FROM {spec.output_table} t USING _scope s '
                        f'WHERE t."{spec.date_column}" BETWEEN $start AND $end '
                        f'AND cast(t."{spec.entity_key}" AS VARCHAR) = s.entity_id '
                        f'AND t."{spec.date_column}" = s.game_date',
                        {"start": request.start_date, "end": request.end_date},
                    )
                    con.execute(
                        f"INSERT INTO {spec.output_table} BY NAME "
                        f"SELECT *, $run_id AS run_id, now()::TIMESTAMP AS ingested_at FROM _out",
                        {"run_id": request.run_id},
                    )
                    if result.status == "success":
                        signatures.store_signatures(con, spec, request, replacing=ctx.replaces_signatures)
                    else:  # a partial entity is left unsigned: the next run redoes it
                        signatures.forget_signatures(con, spec, request)
                    if result.changed_entities:
                        chain = list(request.trigger.chain) + [spec.name]
                        result.event = events.append_event(
                            con, spec.name, request.run_id, result.changed_entities, chain
                        )
            if result.status != "failed" and result.skip_reason not in DEFERRED_SKIPS:
                events.mark_consumed(con, spec.name, request.trigger.event_ids, request.run_id)
            parts.record(con, ctx, result, self.settings)
            self._record_breaker(ctx, result)
            result.duration_ms = ctx.elapsed_ms()
            ledger.write_terminal(
                con, spec, request, result,
                started_at=ctx.started_at, timings=ctx.timings, optimizations=ctx.optimizations,
                started_logged=ctx.started_logged,
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        if write_output and spec.output_table == SCHEDULE_TABLE:
            self.caches.forget_calendar()
        return result
