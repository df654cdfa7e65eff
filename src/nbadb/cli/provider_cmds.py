"""`nbadb providers`: staged rollouts of prop-line providers (rollout.providers)."""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING, Optional

import typer
from rich.markup import escape

from nbadb.cli.common import NAME_LIMIT, DataTable, JsonOption, command, console, one_line, parse_instant, print_json
from nbadb.errors import ConfigError

if TYPE_CHECKING:
    from nbadb.pipeline.provider_stages import Stage
    from nbadb.rollout.providers.service import Outcome

providers_app = typer.Typer(
    help="Staged rollouts of prop-line providers (sport, book): disabled < dark < shadow < partial_active < "
    "full_active, on exit criteria measured from each provider's own data, with an append-only audit.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)

MAX_GAME_DAYS = 10_000  # a bound on game-day counts given on the command line (a season has about 170)
BookArgument = typer.Argument(..., help="The book as the feed names it, e.g. draftkings.")
SportOption = typer.Option("nba", "--sport", help="The sport of the provider (nbadb reads nba lines only).")
AtOption = typer.Option(None, "--at", help="When it takes effect, YYYY-MM-DDTHH:MM UTC (default: the warehouse "
                        "clock); in a replay, the simulated instant. Never before the cutoff of a day already served and frozen, "
                        "nor before the book's previous transition, nor later than now.")
ByOption = typer.Option(None, "--by", help="Who does it (default: the login name); goes into the audit.")
ReasonOption = typer.Option(None, "--reason", help="Why; goes into the audit.")


def _stage(label: str, option: str) -> Stage:
    from nbadb.pipeline.provider_stages import Stage

    try:
        return Stage.from_label(label)
    except ValueError as exc:
        raise ConfigError(f"{option} {exc}") from None


def _actor(by: str | None) -> str:
    actor = by if by is not None else getpass.getuser()
    if not actor.strip():
        raise ConfigError("--by: name who does it")
    return one_line(actor, "--by", "a name", NAME_LIMIT)


def _names(sport: str, book: str) -> tuple[str, str]:
    from nbadb.rollout.providers.service import check_name

    return check_name(sport, "--sport"), check_name(book, "book")


def _print_outcome(outcome: Outcome, as_json: bool) -> None:
    if as_json:
        print_json(outcome.as_dict())
    else:
        e = outcome.entry
        forced = " [yellow](forced: the criteria failed)[/]" if e.forced else ""
        moved = " -> ".join(s.label for s in (e.from_stage, e.to_stage) if s is not None)
        console.print(f"audit #{e.seq}: {e.action} {e.sport}:{escape(e.bookmaker)} {moved}{forced}, "
                      f"effective {e.effective_at} "
                      f"(game dates from {e.from_date} whose cutoff is later), by {escape(e.actor)}")
        for j in outcome.judgements:
            console.print(f"  {'[green]pass[/]' if j.passed else '[red]fail[/]'}  {escape(str(j))}")
        changed = [r for r in outcome.runs if r.metrics.entities_changed]
        failed = [r for r in outcome.runs if r.status == "failed"]
        console.print(f"  carried through {len(outcome.runs)} runs, {len(changed)} changed rows"
                      + "".join(f"; [red]{r.processor} failed[/]: {escape(str(r.error))}" for r in failed))
    if any(r.status == "failed" for r in outcome.runs):
        raise typer.Exit(1)


def list_providers(as_json: bool = JsonOption) -> None:
    """Every provider at the warehouse clock, and the exit criteria in force.

    A book never declared is served in full, as nbadb always served every book it read; declare it to
    stage it."""
    from nbadb.orchestrate.workspace import open_workspace
    from nbadb.rollout.providers.criteria import criteria_in_force
    from nbadb.rollout.providers.report import overview

    with open_workspace(read_only=True) as ws:
        now = ws.engine.now()
        providers = overview(ws.con, ws.engine.calendar(), now)
        in_force = criteria_in_force(ws.con)
    if as_json:
        print_json({"at": now, "providers": [p.as_dict() for p in providers],
                    "criteria": [c.as_dict() for c in in_force]})
        return
    table = DataTable(title=f"prop-line providers at {now:%Y-%m-%d %H:%M} UTC")
    for col in ("sport", "book", "stage", "share", "since (UTC)", "lines read", "last telemetry day", "next stage",
                "criteria passing"):
        table.add_column(col)
    for p in providers:
        table.add_row(p.sport, p.bookmaker, p.stage.label + ("" if p.declared else " (never declared)"),
                      "" if p.share is None else f"{p.share:g}" + (f" of {', '.join(p.markets)}" if p.markets else ""),
                      f"{p.since:%Y-%m-%d %H:%M}" if p.since else "", str(p.lines_read), str(p.last_game_day or ""),
                      p.next_stage.label if p.next_stage else "",
                      f"{p.criteria_passed}/{len(p.judgements)}" if p.judgements else "")
    console.print(table)
    if not providers:
        console.print("no provider yet: no lines read, none declared")
    criteria = DataTable(title="exit criteria in force (guarding the entry into each stage)")
    for col in ("stage", "metric", "comparator", "threshold", "min game days"):
        criteria.add_column(col)
    for c in in_force:
        criteria.add_row(c.stage.label, c.metric, str(c.comparator), f"{c.threshold:g}", str(c.min_game_days))
    console.print(criteria)


def show(
    book: str = BookArgument,
    sport: str = SportOption,
    days: int = typer.Option(14, "--days", min=1, max=MAX_GAME_DAYS, help="Game days of telemetry shown, newest first."),
    as_json: bool = JsonOption,
) -> None:
    """One provider: stage, next stage's criteria with the measured values, telemetry per game day, audit."""
    from nbadb.orchestrate.workspace import open_workspace
    from nbadb.rollout.providers.report import detail

    sport, book = _names(sport, book)
    with open_workspace(read_only=True) as ws:
        now = ws.engine.now()
        found = detail(ws.con, sport, book, ws.engine.calendar(), now, days)
    if found is None:
        raise ConfigError(f"no provider {sport}:{book}: never declared, no line read or offered; "
                          "`nbadb providers list` shows the known ones")
    if as_json:
        print_json({"at": now, **found.as_dict()})
        return
    s = found.summary
    console.print(f"{sport}:{escape(book)} at {now:%Y-%m-%d %H:%M} UTC: [bold]{s.stage.label}[/]"
                  + ("" if s.declared else " (never declared: served in full)")
                  + (f", share {s.share:g}" if s.share is not None else "")
                  + (f" of {', '.join(s.markets)}" if s.markets else "") + f"; {s.lines_read} lines read")
    if s.next_stage:
        console.print(f"criteria for {s.next_stage.label}:")
        for j in s.judgements:
            console.print(f"  {'[green]pass[/]' if j.passed else '[red]fail[/]'}  {escape(str(j))}")
    table = DataTable(title="telemetry per game day (as known before each cutoff; results as of now)")
    columns = ("game_date", "stage", "games", "lines", "served_lines", "coverage_games", "coverage_players",
               "freshness_minutes", "agreement_within_half", "median_abs_diff", "quarantine_rate", "shadow_agreement",
               "hit_rate", "consensus_hit_rate", "clv", "consensus_clv")
    for col in columns:
        table.add_column(col.replace("_", " "))
    for row in found.telemetry:
        table.add_row(*(_cell(row.get(c)) for c in columns))
    console.print(table)
    trail = DataTable(title="audit (append-only)")
    for col in ("#", "action", "from", "to", "effective (UTC)", "by", "forced", "reason"):
        trail.add_column(col)
    for e in found.audit:
        trail.add_row(str(e.seq), str(e.action), e.from_stage.label if e.from_stage else "",
                      e.to_stage.label if e.to_stage else "", f"{e.effective_at:%Y-%m-%d %H:%M}", e.actor,
                      "yes" if e.forced else "", e.reason or "")
    console.print(trail)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def declare(
    book: str = BookArgument, sport: str = SportOption, at: Optional[str] = AtOption, by: Optional[str] = ByOption,
    reason: Optional[str] = ReasonOption, as_json: bool = JsonOption,
) -> None:
    """Put a provider under staged rollout: disabled from now on (its lines are not read) until advanced."""
    from nbadb.orchestrate.workspace import open_workspace
    from nbadb.rollout.providers.service import declare as declare_provider

    sport, book = _names(sport, book)
    instant, actor = parse_instant(at, "at"), _actor(by)
    with open_workspace() as ws:
        outcome = declare_provider(ws, sport, book, actor=actor, at=instant, reason=reason)
    _print_outcome(outcome, as_json)


def advance(
    book: str = BookArgument,
    sport: str = SportOption,
    share: Optional[float] = typer.Option(None, "--share", help="Entering partial_active: the share of games "
                                          "(sticky by game) its lines join the consensus in; default 0.5."),
    markets: Optional[str] = typer.Option(None, "--markets", help="Entering partial_active: only these markets, "
                                          "comma-separated (e.g. player_threes); default all."),
    force: bool = typer.Option(False, "--force", help="Advance although criteria fail (needs --reason; audited)."),
    reason: Optional[str] = ReasonOption,
    at: Optional[str] = AtOption,
    by: Optional[str] = ByOption,
    as_json: bool = JsonOption,
) -> None:
    """Move a provider to its next stage when its exit criteria pass; otherwise refuse (exit 7) naming
    each failing criterion and its measured value."""
    from nbadb.orchestrate.workspace import open_workspace
    from nbadb.rollout.providers.service import advance as advance_provider

    sport, book = _names(sport, book)
    scope = tuple(dict.fromkeys(m.strip() for m in markets.split(",") if m.strip())) if markets is not None else None
    if markets is not None and not scope:
        raise ConfigError(f"--markets {markets!r}: name markets separated by commas, e.g. player_threes")
    instant, actor = parse_instant(at, "at"), _actor(by)
    with open_workspace() as ws:
        outcome = advance_provider(ws, sport, book, actor=actor, at=instant, share=share, markets=scope, force=force,
                                   reason=reason)
    _print_outcome(outcome, as_json)


def rollback(
    book: str = BookArgument,
    sport: str = SportOption,
    to: str = typer.Option("dark", "--to", help="The earlier stage to go to: dark keeps measuring its lines, "
                           "disabled stops reading them."),
    reason: Optional[str] = ReasonOption,
    at: Optional[str] = AtOption,
    by: Optional[str] = ByOption,
    as_json: bool = JsonOption,
) -> None:
    """Take a provider back to an earlier stage: what it contributed leaves every consensus and recommendation
    not yet past its cutoff; its raw lines stay."""
    from nbadb.orchestrate.workspace import open_workspace
    from nbadb.rollout.providers.service import rollback as rollback_provider

    sport, book = _names(sport, book)
    target, instant, actor = _stage(to, "--to"), parse_instant(at, "at"), _actor(by)
    with open_workspace() as ws:
        outcome = rollback_provider(ws, sport, book, actor=actor, to=target, at=instant, reason=reason)
    _print_outcome(outcome, as_json)


def set_criteria(
    stage: str = typer.Argument(..., help="The stage whose entry the criterion guards: dark, shadow, "
                                "partial_active or full_active."),
    metric: str = typer.Argument(..., help="A metric, e.g. agreement_within_half (`nbadb providers list` shows "
                                 "those in force)."),
    comparator: Optional[str] = typer.Argument(None, help="One of >=, <=, >, < (not with --drop)."),
    threshold: Optional[float] = typer.Argument(None, help="The value the metric is compared with."),
    min_game_days: Optional[int] = typer.Option(None, "--min-game-days", max=MAX_GAME_DAYS,
                                                help="Game days the provider must have "
                                                "spent in its current stage (default: as before, else 1)."),
    drop: bool = typer.Option(False, "--drop", help="Remove the criterion instead."),
    by: Optional[str] = ByOption,
    as_json: bool = JsonOption,
) -> None:
    """Set (or drop) one exit criterion for every provider; audited."""
    from nbadb.orchestrate.workspace import open_workspace
    from nbadb.rollout.providers.criteria import Comparator, criteria_for
    from nbadb.rollout.providers.service import set_criterion

    target = _stage(stage, "stage")
    if comparator is not None and comparator not in tuple(Comparator):
        raise ConfigError(f"comparator {comparator!r}: use one of {', '.join(Comparator)}")
    actor = _actor(by)
    with open_workspace() as ws:
        outcome = set_criterion(ws, target, metric, Comparator(comparator) if comparator else None, threshold,
                                min_game_days, actor=actor, drop=drop)
        now_in_force = criteria_for(ws.con, target)
    if as_json:
        print_json({**outcome.as_dict(), "criteria_in_force": [c.as_dict() for c in now_in_force]})
        return
    console.print(f"audit #{outcome.entry.seq}: criteria for entering {target.label} now:")
    for c in now_in_force:
        console.print(f"  {escape(str(c))}")


def register(app: typer.Typer) -> None:
    command(providers_app, list_providers, "list")
    command(providers_app, show)
    command(providers_app, declare)
    command(providers_app, advance)
    command(providers_app, rollback)
    command(providers_app, set_criteria, "set-criteria")
    app.add_typer(providers_app, name="providers")
