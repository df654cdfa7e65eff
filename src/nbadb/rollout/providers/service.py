"""What an operator does to a provider: declare it, advance it, roll it back, set the criteria.

Each action is validated first (every refusal is one line: ConfigError, or CriteriaNotMet with the
failing criteria and their measured values), then recorded in the audit in its own transaction, then
published: raw.provider_stages takes the NBA providers' transitions not published yet (a crash after
the audit row is healed by the next action), and a pipeline pass carries the change through every
as-of date whose cutoff is after it (engine.snapshots: earlier dates stay as they were served). So a
rollback recomputes the consensus and the recommendations of every date still open without the
provider, and keeps its raw lines.

A transition takes effect at `at`: by default the warehouse clock (engine.clock); in a replay, the
simulated instant. Never before the cutoff of a game day already served and frozen (a replay would
then serve that day otherwise than it was served) nor before the provider's previous transition.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime

from nbadb.engine.clock import eastern_date
from nbadb.engine.request import RunRequest, RunResult, Trigger, utc_now
from nbadb.errors import ConfigError, CriteriaNotMet
from nbadb.orchestrate.daily import run_pipeline
from nbadb.orchestrate.workspace import Workspace
from nbadb.pipeline.provider_stages import AUDIT_TABLE, SPORT, STAGES_TABLE, Stage
from nbadb.pipeline.upcoming import PROP_MARKETS, UPCOMING_PLAYER_GAME_CONTEXT
from nbadb.rollout.providers import audit, criteria, gate, metrics
from nbadb.rollout.providers.audit import Action, AuditEntry, ProviderState
from nbadb.rollout.providers.criteria import Comparator, Criterion
from nbadb.warehouse.transactions import committed

DEFAULT_SHARE = 0.5  # the share of games a book enters partial_active with unless told
_NAME = re.compile(r"[a-z0-9][a-z0-9_]*")


@dataclass
class Outcome:
    """An action recorded: its audit row, what it was judged on, and the runs that carried it."""

    entry: AuditEntry
    judgements: list[gate.Judgement] = field(default_factory=list)
    runs: list[RunResult] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"audit": self.entry.as_dict(), "criteria": [j.as_dict() for j in self.judgements],
                "runs": [{"processor": r.processor, "run_id": r.run_id, "status": str(r.status),
                          "skip_reason": r.skip_reason and str(r.skip_reason),
                          "entities_changed": r.metrics.entities_changed, "error": r.error} for r in self.runs]}


def check_name(value: str, what: str) -> str:
    """A sport or book as the feeds name them: lower case letters, digits and underscores."""
    if not _NAME.fullmatch(value):
        raise ConfigError(f"{what} {value!r}: use lower case letters, digits and underscores, e.g. draftkings")
    return value


def _served_until(ws: Workspace) -> tuple[date, datetime] | None:
    """The latest game day already served and frozen (its cutoff passed at the latest run's clock), with
    its cutoff: a transition taking effect before that cutoff would change what a replay serves for it."""
    last_clock = ws.con.execute("SELECT max(run_as_of_ts) FROM ops.processor_runs").fetchall()[0][0]
    if last_clock is None:
        return None
    calendar = ws.engine.calendar()
    served = ws.con.execute(
        f"SELECT max(game_date) FROM {UPCOMING_PLAYER_GAME_CONTEXT.name} WHERE game_date <= ?",
        [gate.last_final_day(calendar, last_clock)]).fetchall()[0][0]
    return (served, calendar.cutoff(served)) if served else None


def _instant(ws: Workspace, at: datetime | None, sport: str | None = None, bookmaker: str | None = None) -> datetime:
    """When the action takes effect: `at` or the warehouse clock, never inside what was already served and
    never later than now (a transition publishes at its instant: one in the future would move the
    warehouse clock there for good, and the audit keeps it)."""
    instant = at or ws.engine.now()
    if instant > (now := utc_now()):
        raise ConfigError(f"--at {instant}: later than now ({now:%Y-%m-%d %H:%M} UTC); a transition takes effect "
                          "when it is recorded or earlier")
    frozen = _served_until(ws)
    if frozen is not None and instant < frozen[1]:
        raise ConfigError(f"--at {instant}: {frozen[0]} was served and is frozen since its cutoff {frozen[1]}; a "
                          f"transition before then would change what a replay serves for it. Give {frozen[1]} or later")
    previous = audit.latest_effective(ws.con, sport, bookmaker) if bookmaker else None
    if previous is not None and instant < previous:
        raise ConfigError(f"--at {instant}: before {sport}:{bookmaker}'s previous transition ({previous})")
    return instant


def state_of(ws: Workspace, sport: str, bookmaker: str, instant: datetime) -> ProviderState:
    """The declared provider's state at `instant` (ConfigError when it is not declared by then)."""
    state = audit.states_at(ws.con, instant).get((sport, bookmaker))
    if state is None:
        raise ConfigError(f"{sport}:{bookmaker} is not declared (as of {instant}); `nbadb providers declare "
                          f"{bookmaker}{'' if sport == SPORT else ' --sport ' + sport}` first. A book never declared "
                          "is served as nbadb always served every book it read")
    return state


def declare(ws: Workspace, sport: str, bookmaker: str, *, actor: str, at: datetime | None = None,
            reason: str | None = None) -> Outcome:
    """Put a provider under staged rollout, disabled from `at` on."""
    check_name(sport, "--sport"), check_name(bookmaker, "book")
    instant = _instant(ws, at)
    if audit.latest_effective(ws.con, sport, bookmaker) is not None:
        raise ConfigError(f"{sport}:{bookmaker} is already declared; `nbadb providers show {bookmaker}` shows it")
    return _record(ws, AuditEntry(Action.DECLARE, actor, instant, sport, bookmaker, None, Stage.DISABLED,
                                  reason=reason, from_date=eastern_date(instant)))


def advance(ws: Workspace, sport: str, bookmaker: str, *, actor: str, at: datetime | None = None,
            share: float | None = None, markets: tuple[str, ...] | None = None, force: bool = False,
            reason: str | None = None) -> Outcome:
    """Move the provider to the stage after its own, if its criteria pass (or, forced, with a reason)."""
    if force and not (reason and reason.strip()):
        raise ConfigError("--force needs --reason: say why the criteria are overridden (it goes into the audit)")
    instant = _instant(ws, at, sport, bookmaker)
    state = state_of(ws, sport, bookmaker, instant)
    target = state.stage.next
    if target is None:
        raise ConfigError(f"{sport}:{bookmaker} is {state.stage.label}, the last stage; nothing to advance to")
    if sport != SPORT:
        raise ConfigError(f"nbadb reads {SPORT} lines only: {sport}:{bookmaker} stays disabled")
    share, markets = _partial_scope(target, share, markets)
    judgements = gate.judge(ws.con, state, ws.engine.calendar(), instant)
    failing = [j for j in judgements if not j.passed]
    if failing and not force:
        raise CriteriaNotMet(f"{sport}:{bookmaker} stays {state.stage.label}: the criteria for {target.label} fail: "
                             + "; ".join(str(j) for j in failing) + " (`--force --reason ...` overrides, audited)")
    entry = AuditEntry(Action.ADVANCE, actor, instant, sport, bookmaker, state.stage, target, share, markets,
                       forced=bool(failing), reason=reason, from_date=eastern_date(instant),
                       criteria=[j.as_dict() for j in judgements])
    outcome = _record(ws, entry)
    outcome.judgements = judgements
    return outcome


def _partial_scope(target: Stage, share: float | None,
                   markets: tuple[str, ...] | None) -> tuple[float | None, tuple[str, ...] | None]:
    """The share of games and the markets a partial_active stage serves (only that stage has them)."""
    if target != Stage.PARTIAL_ACTIVE:
        if share is not None or markets:
            raise ConfigError(f"--share and --markets belong to partial_active; this advance leads to {target.label}")
        return None, None
    share = DEFAULT_SHARE if share is None else share
    if not 0 < share < 1:
        raise ConfigError(f"--share {share}: a share of games strictly between 0 and 1, e.g. 0.25")
    unknown = sorted(set(markets or ()) - set(PROP_MARKETS.values()))
    if unknown:
        raise ConfigError(f"--markets {', '.join(unknown)}: use markets of the consensus: "
                          f"{', '.join(PROP_MARKETS.values())}")
    return share, tuple(sorted(markets)) if markets else None


def rollback(ws: Workspace, sport: str, bookmaker: str, *, actor: str, to: Stage = Stage.DARK,
             at: datetime | None = None, reason: str | None = None) -> Outcome:
    """Take the provider down to `to` (dark by default: its lines still land and are measured)."""
    instant = _instant(ws, at, sport, bookmaker)
    state = state_of(ws, sport, bookmaker, instant)
    if not to < state.stage:
        raise ConfigError(f"{sport}:{bookmaker} is {state.stage.label}; a rollback goes to an earlier stage, "
                          f"and {to.label} is not one")
    evidence = metrics.measure(ws.con, bookmaker, gate.stage_days(ws.con, state, gate.last_final_day(
        ws.engine.calendar(), instant)))
    return _record(ws, AuditEntry(Action.ROLLBACK, actor, instant, sport, bookmaker, state.stage, to, reason=reason,
                                  from_date=eastern_date(instant), criteria={"measured_in_stage": evidence}))


def set_criterion(ws: Workspace, stage: Stage, metric: str, comparator: Comparator | None, threshold: float | None,
                  min_game_days: int | None, *, actor: str, drop: bool = False) -> Outcome:
    """Set (or drop) the criterion of `metric` guarding the entry into `stage`; audited."""
    if stage == Stage.DISABLED:
        raise ConfigError("nothing enters disabled by an advance: criteria guard dark, shadow, partial_active, "
                          "full_active")
    if metric not in metrics.METRIC_NAMES:
        raise ConfigError(f"metric {metric!r}: use one of {', '.join(metrics.METRIC_NAMES)}")
    before = next((c for c in criteria.criteria_for(ws.con, stage) if c.metric == metric), None)
    if drop:
        if comparator is not None or threshold is not None or min_game_days is not None:
            raise ConfigError("--drop removes the criterion: give no comparator, threshold or --min-game-days")
        if before is None:
            raise ConfigError(f"no criterion on {metric} guards {stage.label}; nothing to drop")
        after = None
    else:
        if comparator is None or threshold is None or not math.isfinite(threshold):
            raise ConfigError("give a comparator (>=, <=, >, <) and a finite threshold, e.g. `>= 0.8`")
        days = min_game_days if min_game_days is not None else before.min_game_days if before else 1
        if days < 1:
            raise ConfigError(f"--min-game-days {days}: at least 1")
        after = Criterion(stage, metric, comparator, threshold, days)
    instant = ws.engine.now()
    entry = AuditEntry(Action.SET_CRITERIA, actor, instant, to_stage=None,
                       criteria={"stage": stage.label, "metric": metric, "before": before and before.as_dict(),
                                 "after": after and after.as_dict()})
    def write() -> AuditEntry:
        criteria.store(ws.con, stage, metric, after, actor, instant)
        return audit.append(ws.con, entry)

    return Outcome(committed(ws.con, write))


def _record(ws: Workspace, entry: AuditEntry) -> Outcome:
    """The audit row in its own transaction, then its publication and the pipeline pass it causes."""
    entry = committed(ws.con, lambda: audit.append(ws.con, entry))
    outcome = Outcome(entry)
    if entry.sport == SPORT:
        outcome.runs = _publish(ws, entry)
    return outcome


def _publish(ws: Workspace, entry: AuditEntry) -> list[RunResult]:
    """Publish every NBA transition of the audit raw.provider_stages does not hold yet, then carry them
    through the pipeline at the transition's instant."""
    first, last = ws.con.execute(
        f"""SELECT min(from_date), max(from_date) FROM {AUDIT_TABLE}
        WHERE sport = ? AND to_stage IS NOT NULL AND seq NOT IN (SELECT audit_seq FROM {STAGES_TABLE}_versions)""",
        [SPORT],
    ).fetchall()[0]
    request = RunRequest(STAGES_TABLE, first, last, trigger=Trigger(source="rollout", chain=("rollout:providers",)),
                         run_as_of_ts=entry.effective_at)
    [published] = ws.executor.run_wave([[request]])
    return published + run_pipeline(ws, None, trigger_source="rollout", as_of=entry.from_date,
                                    clock=entry.effective_at)
