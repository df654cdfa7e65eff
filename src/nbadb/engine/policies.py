"""The patterns the engine runs, in order, before any work: each may end the run as skipped.

1. early exit: no games on the dates, off-season, too historical outside backfill, future dates
   for processors that need results (`Patterns` on the spec says which apply);
2. smart skip: every triggering source is a known table the processor declares irrelevant;
3. circuit breaker: the processor's durable breaker (ops.circuit_breakers) is open, as seen at
   the run's clock (a replayed day's instant, so an opened breaker half-opens on a later day);
4. idempotency: every trigger event was already consumed by this processor;
5. data-version shortcut: no input event since a covering run of the same code version;
6. dependencies: each input's rules (rows present, minimum rows, freshness).

Each is a plain function returning a skip reason (or None) after recording its evidence as typed
decisions on the run; each is switched by a setting (config.Settings), and switching one off only
costs work, never changes an output.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Callable

from nbadb.config import Settings
from nbadb.engine import breakers
from nbadb.engine.clock import OFF_SEASON_GAP_DAYS
from nbadb.engine.context import RunContext
from nbadb.engine.events import PENDING_EXISTS_SQL
from nbadb.engine.request import utc_now
from nbadb.engine.vocabulary import DecisionKind, Optimization, SkipReason

Precheck = Callable[[RunContext, Settings], "SkipReason | None"]


def early_exit(ctx: RunContext, settings: Settings) -> SkipReason | None:
    """Dates the processor has nothing to do for, read from the league calendar (no query on game days)."""
    p, request = ctx.spec.patterns, ctx.request
    if not settings.early_exit or not (p.needs_games or p.needs_results or p.max_days_back):
        return None
    calendar = ctx.calendar()
    start, end = request.start_date, request.end_date
    games = calendar.games_between(start, end) or calendar.lines_between(start, end)
    before, after = calendar.last_before(start), calendar.first_after(end)
    if not games and p.needs_games:  # stored rows count as games: they may need removing
        games = ctx.con.execute(
            "SELECT count(*) FROM ops.entity_signatures WHERE processor = $p AND game_date BETWEEN $start AND $end",
            {"start": start, "end": end, "p": ctx.spec.name},
        ).fetchall()[0][0]
    today = request.as_of or calendar.latest_on_or_before(utc_now().date())
    if p.needs_results and today is not None and start > today:
        said = f"today ({today})" if request.as_of else f"the latest game day up to today ({today})"
        return _exit(ctx, SkipReason.FUTURE_DATE, f"{start} is after {said}; no results exist yet", today=str(today))
    if p.max_days_back and today is not None and request.mode != "backfill" and not request.trigger.event_ids:
        oldest = today - timedelta(days=p.max_days_back)
        if end < oldest:
            return _exit(ctx, SkipReason.TOO_HISTORICAL, f"{end} is more than {p.max_days_back} days before "
                         f"today ({today}); run it in backfill mode", today=str(today), max_days_back=p.max_days_back)
    if p.needs_games and not games:
        gap = timedelta(days=OFF_SEASON_GAP_DAYS)
        facts = {"last_game": str(before) if before else None, "next_game": str(after) if after else None}
        around = f"last {before or 'none'}, next {after or 'none published yet'}"
        if (before is None or start - before > gap) and (after is None or after - end > gap):
            return _exit(ctx, SkipReason.OFF_SEASON, f"no game within {OFF_SEASON_GAP_DAYS} days of "
                         f"{start}..{end} in the published league calendar ({around})", **facts)
        return _exit(ctx, SkipReason.NO_GAMES, f"no game published for {start}..{end} ({around})", **facts)
    return None


def _exit(ctx: RunContext, reason: SkipReason, why: str, **facts: object) -> SkipReason:
    ctx.decide(DecisionKind.EARLY_EXIT, f"early exit ({reason}): {why}", reason=str(reason), **facts)
    ctx.saved_by(Optimization.EARLY_EXIT)
    return reason


def smart_skip(ctx: RunContext, settings: Settings) -> SkipReason | None:
    """Skip when every triggering source is a table the processor declares irrelevant.

    Sources nbadb does not know (not a table of the graph) run anyway: fail open. Off in backfill
    mode, which runs every processor over its dates whatever published them."""
    sources = ctx.request.trigger.sources
    if not settings.smart_skip or not sources or ctx.request.trigger.event_ids or ctx.request.mode == "backfill":
        return None
    relevant = ctx.spec.relevant_sources
    unknown = [s for s in sources if s not in ctx.known_tables]
    if unknown:
        ctx.decide(DecisionKind.UNKNOWN_SOURCE, f"unknown trigger source {', '.join(unknown)}: running (fail open)",
                   sources=unknown)
        return None
    if any(s in relevant for s in sources):
        return None
    ctx.decide(DecisionKind.IRRELEVANT_SOURCE,
               f"triggered by {', '.join(sources)}, none of which it reads ({', '.join(sorted(relevant))})",
               sources=list(sources), relevant=sorted(relevant))
    ctx.saved_by(Optimization.SMART_SKIP)
    return SkipReason.IRRELEVANT_SOURCE


def breaker_policy(ctx: RunContext, settings: Settings) -> breakers.BreakerPolicy:
    p = ctx.spec.patterns
    failures = p.backfill_failures_to_open if ctx.request.mode == "backfill" else p.failures_to_open
    return breakers.BreakerPolicy(
        failures_to_open=failures,
        successes_to_close=1,
        timeout_seconds=settings.processor_breaker_timeout_seconds,
        max_timeout_seconds=settings.breaker_max_timeout_seconds,
    )


def circuit_breaker(ctx: RunContext, settings: Settings) -> SkipReason | None:
    """Refuse the run while the processor's durable breaker is open at the run's clock; after its
    timeout one run probes."""
    if not settings.processor_breakers:
        return None
    breaker = ctx.breaker = breakers.read(ctx.con, ctx.spec.name, "processor")
    state = breaker.state_at(ctx.clock)
    if state == "OPEN":
        ctx.decide(DecisionKind.BREAKER_OPEN,
                   f"circuit breaker open after {breaker.consecutive_failures} consecutive failures "
                   f"(last: {breaker.last_error}); next probe after {breaker.retry_at}",
                   consecutive_failures=breaker.consecutive_failures, retry_at=str(breaker.retry_at))
        ctx.saved_by(Optimization.CIRCUIT_BREAKER)
        return SkipReason.BREAKER_OPEN
    if state == "HALF_OPEN":
        ctx.decide(DecisionKind.BREAKER_PROBE, "circuit breaker half-open: this run is the probe")
    return None


def idempotency(ctx: RunContext, settings: Settings) -> SkipReason | None:
    """Trigger events this processor already consumed are dropped; a run left with nothing to do
    (no new event, no requested dates) is a no-op."""
    event_ids = ctx.request.trigger.event_ids
    if not settings.idempotency or not event_ids:
        return None
    consumed = {r[0] for r in ctx.con.execute(
        "SELECT DISTINCT event_id FROM ops.event_consumption WHERE consumer = $c AND list_contains($ids, event_id)",
        {"c": ctx.spec.name, "ids": list(event_ids)},
    ).fetchall()}
    fresh = tuple(dict.fromkeys(e for e in event_ids if e not in consumed))
    duplicates = len(event_ids) - len(fresh)
    if not duplicates:
        return None
    ctx.metrics.duplicate_triggers = duplicates
    ctx.decide(DecisionKind.DUPLICATE_TRIGGERS, f"ignored {duplicates} duplicate trigger(s) already processed",
               duplicates=duplicates)
    ctx.saved_by(Optimization.IDEMPOTENT_TRIGGER)
    ctx.drop_consumed_triggers(fresh)
    if not fresh and not ctx.request.trigger.requested:
        return SkipReason.DUPLICATE_TRIGGER
    return None


def upstream_unchanged(ctx: RunContext, settings: Settings) -> SkipReason | None:
    """Data-version shortcut: no input event since a run of this same code covered these dates.

    Every write to an input goes through the engine and leaves an outbox event; when none is
    pending for this processor and an earlier run of the same code version covered the dates,
    its stored signatures are still current and recomputing them would only confirm it.
    """
    spec, request = ctx.spec, ctx.request
    if (not settings.data_version_shortcut or not spec.input_tables <= ctx.produced_tables or request.force
            or request.trigger.event_ids or request.entity_ids is not None):
        return None
    pending = False if request.trigger.none_pending else ctx.con.execute(
        f"SELECT {PENDING_EXISTS_SQL}", {"producers": sorted(spec.input_tables), "consumer": spec.name}
    ).fetchall()[0][0]
    if pending:
        return None
    covering = ctx.con.execute(  # ... and no partial run (it leaves entities unsigned) touched them since
        """SELECT run_id FROM ops.processor_runs
        WHERE processor = $consumer AND code_version = $v AND start_date <= $start AND end_date >= $end
          AND (status = 'success' OR skip_reason = 'no_changes')
          AND finished_at >= (SELECT coalesce(max(finished_at), TIMESTAMP '-infinity') FROM ops.processor_runs
                              WHERE processor = $consumer AND status = 'partial'
                                AND start_date <= $end AND end_date >= $start)
        LIMIT 1""",
        {"consumer": spec.name, "v": spec.code_version, "start": request.start_date, "end": request.end_date},
    ).fetchall()
    if not covering:
        return None
    ctx.decide(DecisionKind.DATA_VERSION_SHORTCUT,
               f"no input event since run {covering[0][0]} of this code version covered these dates; "
               "signatures still current", covering_run=covering[0][0])
    ctx.saved_by(Optimization.DATA_VERSION_SHORTCUT)
    return SkipReason.NO_CHANGES


def dependencies(ctx: RunContext, settings: Settings) -> SkipReason | None:
    """Each input's rules for the run's dates: rows present (at least `min_rows` for required
    inputs) and fresh (newest row younger than the fail age; older than the warn age is noted)."""
    inputs = [i for i in ctx.spec.inputs if i.required or i.max_age_warn_hours or i.max_age_fail_hours]
    if not inputs:
        return None
    parts = " UNION ALL ".join(
        f"SELECT '{i.table}' AS t, count(*) AS n, "
        f"{'max(ingested_at)' if i.max_age_warn_hours or i.max_age_fail_hours else 'NULL::TIMESTAMP'} AS newest "
        f"FROM {i.table} WHERE {i.date_column} BETWEEN $start AND $end"
        for i in inputs
    )
    found = {t: (n, newest) for t, n, newest in
             ctx.con.execute(parts, {"start": ctx.request.start_date, "end": ctx.request.end_date}).fetchall()}
    missing = [i for i in inputs if i.required and found[i.table][0] < i.min_rows]
    if missing:
        named = [i.table + (f" (fewer than {i.min_rows} rows)" if i.min_rows > 1 else "") for i in missing]
        ctx.decide(DecisionKind.MISSING_INPUT, f"missing input rows for the dates in: {', '.join(named)}",
                   tables=[i.table for i in missing])
        return SkipReason.MISSING_DEPENDENCY
    now = utc_now()
    for i in inputs:
        newest = found[i.table][1]
        if newest is None:
            continue
        age_hours = (now - newest).total_seconds() / 3600
        if i.max_age_fail_hours is not None and age_hours > i.max_age_fail_hours:
            ctx.decide(DecisionKind.STALE_INPUT, f"{i.table} is {age_hours:.1f} h old (> {i.max_age_fail_hours} h allowed)",
                       table=i.table, age_hours=round(age_hours, 2))
            return SkipReason.STALE_DEPENDENCY
        if i.max_age_warn_hours is not None and age_hours > i.max_age_warn_hours:
            ctx.decide(DecisionKind.STALE_INPUT_WARNING,
                       f"warning: {i.table} is {age_hours:.1f} h old (> {i.max_age_warn_hours} h)",
                       table=i.table, age_hours=round(age_hours, 2))
    return None


PRECHECKS: tuple[Precheck, ...] = (early_exit, smart_skip, circuit_breaker, idempotency, upstream_unchanged,
                                   dependencies)
