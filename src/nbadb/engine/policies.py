"""The patterns the engine runs, in order, before any work: each may end the run as skipped.

1. early exit: no games on the dates, off-season, too historical outside backfill, future dates
   for processors that need results (`Patterns` on the spec says which apply);
2. smart skip: every triggering source is a known table the processor declares irrelevant;
3. circuit breaker: the processor's durable breaker (ops.circuit_breakers) is open;
4. idempotency: every trigger event was already consumed by this processor;
5. data-version shortcut: no input event since a covering run of the same code version;
6. dependencies: each input's rules (rows present, minimum rows, freshness).

Each is switched by a setting (config.Settings); switching one off only costs work, never changes
an output. A skip's reason goes to the ledger's skip_reason, its evidence to decisions_made.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Callable

from nbadb.config import Settings
from nbadb.engine import breakers
from nbadb.engine.context import RunContext
from nbadb.engine.events import PENDING_EXISTS_SQL
from nbadb.engine.request import utc_now

Precheck = Callable[[RunContext, Settings], "str | None"]

# A date without games is off-season (not a mid-season break such as the All-Star break) when
# the league calendar has no game within this many days on either side of it.
OFF_SEASON_GAP_DAYS = 14


def early_exit(ctx: RunContext, settings: Settings) -> str | None:
    """Dates the processor has nothing to do for, read from the league calendar (no query on game days)."""
    p, request = ctx.spec.patterns, ctx.request
    if not settings.early_exit or not (p.needs_games or p.needs_results or p.max_days_back):
        return None
    calendar = ctx.calendar()
    games = calendar.games_between(request.start_date, request.end_date)
    before, after = calendar.last_before(request.start_date), calendar.first_after(request.end_date)
    if not games and p.needs_games:  # prop lines and stored rows count as games: they may need removing
        games = ctx.con.execute(
            """SELECT (SELECT count(*) FROM raw.prop_lines WHERE game_date BETWEEN $start AND $end)
                    + (SELECT count(*) FROM ops.entity_signatures
                       WHERE processor = $p AND game_date BETWEEN $start AND $end)""",
            {"start": request.start_date, "end": request.end_date, "p": ctx.spec.name},
        ).fetchall()[0][0]
    today = request.as_of or calendar.latest_on_or_before(utc_now().date())
    if p.needs_results and today is not None and request.start_date > today:
        return _exit(ctx, "future_date", f"{request.start_date} is after today ({today}); no results exist yet")
    if p.max_days_back and today is not None and request.mode != "backfill" and not request.trigger.event_ids:
        oldest = today - timedelta(days=p.max_days_back)
        if request.end_date < oldest:
            return _exit(ctx, "too_historical", f"{request.end_date} is more than {p.max_days_back} days before "
                         f"today ({today}); run it in backfill mode")
    if p.needs_games and not games:
        gap = timedelta(days=OFF_SEASON_GAP_DAYS)
        if (before is None or request.start_date - before > gap) and (after is None or after - request.end_date > gap):
            return _exit(ctx, "off_season", f"no game within {OFF_SEASON_GAP_DAYS} days of "
                         f"{request.start_date}..{request.end_date} in the league calendar (last {before}, next {after})")
        return _exit(ctx, "no_games", f"no game scheduled on {request.start_date}..{request.end_date} "
                     f"(last {before}, next {after})")
    return None


def _exit(ctx: RunContext, reason: str, why: str) -> str:
    ctx.decisions.append(f"early exit ({reason}): {why}")
    ctx.optimizations.append("early_exit")
    return reason


def smart_skip(ctx: RunContext, settings: Settings) -> str | None:
    """Skip when every triggering source is a table the processor declares irrelevant.

    Sources nbadb does not know (not a table of the graph) run anyway: fail open."""
    sources = ctx.request.trigger.sources
    if not settings.smart_skip or not sources or ctx.request.trigger.event_ids:
        return None
    relevant = ctx.spec.relevant_sources
    unknown = [s for s in sources if s not in ctx.known_tables]
    if unknown:
        ctx.decisions.append(f"unknown trigger source {', '.join(unknown)}: running (fail open)")
        return None
    if any(s in relevant for s in sources):
        return None
    ctx.decisions.append(f"triggered by {', '.join(sources)}, none of which it reads ({', '.join(sorted(relevant))})")
    ctx.optimizations.append("smart_skip")
    return "irrelevant_source"


def breaker_policy(ctx: RunContext, settings: Settings) -> breakers.BreakerPolicy:
    p = ctx.spec.patterns
    failures = p.backfill_failures_to_open if ctx.request.mode == "backfill" else p.failures_to_open
    return breakers.BreakerPolicy(
        failures_to_open=failures,
        successes_to_close=1,
        timeout_seconds=settings.processor_breaker_timeout_seconds,
        max_timeout_seconds=settings.breaker_max_timeout_seconds,
    )


def circuit_breaker(ctx: RunContext, settings: Settings) -> str | None:
    """Skip while the processor's durable breaker is open; after its timeout one run probes."""
    if not settings.processor_breakers:
        return None
    breaker = ctx.breaker = breakers.read(ctx.con, ctx.spec.name, "processor")
    state = breaker.state_at(utc_now())
    if state == "OPEN":
        ctx.decisions.append(f"circuit breaker open after {breaker.consecutive_failures} consecutive failures "
                             f"(last: {breaker.last_error}); next probe after {breaker.retry_at}")
        return "breaker_open"
    if state == "HALF_OPEN":
        ctx.decisions.append("circuit breaker half-open: this run is the probe")
    return None


def idempotency(ctx: RunContext, settings: Settings) -> str | None:
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
    ctx.decisions.append(f"ignored {duplicates} duplicate trigger(s) already processed")
    ctx.optimizations.append("idempotent_trigger")
    ctx.drop_consumed_triggers(fresh)
    if not fresh and not ctx.request.trigger.requested:
        return "duplicate_trigger"
    return None


def upstream_unchanged(ctx: RunContext, settings: Settings) -> str | None:
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
    ctx.decisions.append(
        f"no input event since run {covering[0][0]} of this code version covered these dates; signatures still current"
    )
    ctx.optimizations.append("data_version_shortcut")
    return "no_changes"


def dependencies(ctx: RunContext, settings: Settings) -> str | None:
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
    missing = [f"{i.table}" + (f" (fewer than {i.min_rows} rows)" if i.min_rows > 1 else "")
               for i in inputs if i.required and found[i.table][0] < i.min_rows]
    if missing:
        ctx.decisions.append(f"missing input rows for the dates in: {', '.join(missing)}")
        return "missing_dependency"
    now = utc_now()
    for i in inputs:
        newest = found[i.table][1]
        if newest is None:
            continue
        age_hours = (now - newest).total_seconds() / 3600
        if i.max_age_fail_hours is not None and age_hours > i.max_age_fail_hours:
            ctx.decisions.append(f"{i.table} is {age_hours:.1f} h old (> {i.max_age_fail_hours} h allowed)")
            return "stale_dependency"
        if i.max_age_warn_hours is not None and age_hours > i.max_age_warn_hours:
            ctx.decisions.append(f"warning: {i.table} is {age_hours:.1f} h old (> {i.max_age_warn_hours} h)")
    return None


PRECHECKS: tuple[Precheck, ...] = (early_exit, smart_skip, circuit_breaker, idempotency, upstream_unchanged,
                                   dependencies)
