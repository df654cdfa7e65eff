"""Operator commands: circuit breakers (list, reset, open), gap repair and pipeline health."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Optional

import typer
from rich.markup import escape
from rich.text import Text

from nbadb.cli.common import DataTable, JsonOption, command, console, parse_date, print_json
from nbadb.engine.breakers import OPERATOR_OPEN_MAX_MINUTES
from nbadb.errors import ConfigError

if TYPE_CHECKING:
    from nbadb.engine.breakers import Breaker
    from nbadb.engine.request import RunResult
    from nbadb.monitor.gaps import Gap
    from nbadb.orchestrate.repair import FillOutcome
    from nbadb.orchestrate.workspace import Workspace

breakers_app = typer.Typer(
    help="Durable circuit breakers (ops.circuit_breakers): processors (key = processor name) and "
    "prediction systems (key = processor:system). State survives restarts and is shared by every process.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)


def _breaker_row(b: Breaker, now: datetime) -> dict[str, Any]:
    return {
        "key": b.key, "kind": b.kind, "state": b.state_at(now), "consecutive_failures": b.consecutive_failures,
        "times_opened": b.times_opened, "opened_at": b.opened_at, "retry_at": b.retry_at,
        "last_error": b.last_error, "updated_at": b.updated_at,
    }


def list_breakers(as_json: bool = JsonOption) -> None:
    """Every breaker: state as seen now, consecutive failures, times opened, retry time, last error.

    An OPEN breaker past its retry time shows HALF_OPEN: the next run is a probe. States are read
    at the warehouse clock, the clock the runs count on (a replayed warehouse's is its last day)."""
    from nbadb.engine import breakers
    from nbadb.orchestrate.workspace import open_workspace

    with open_workspace(read_only=True) as ws:
        now = ws.engine.now()
        rows = [_breaker_row(b, now) for b in breakers.list_breakers(ws.con)]
    if as_json:
        print_json(rows)
        return
    table = DataTable(title=f"circuit breakers at {now:%Y-%m-%d %H:%M:%S} UTC")
    for col in ("key", "kind", "state", "consecutive failures", "times opened", "retry at (UTC)", "last error"):
        table.add_column(col)
    for r in rows:
        retry = f"{r['retry_at']:%Y-%m-%d %H:%M:%S}" if r["retry_at"] else ""
        table.add_row(r["key"], r["kind"], r["state"], str(r["consecutive_failures"]), str(r["times_opened"]), retry,
                      r["last_error"] or "")
    console.print(table)
    if not rows:
        console.print("no breaker has been recorded yet")


def reset_breaker(key: str = typer.Argument(..., help="A key from `nbadb breakers list`."), as_json: bool = JsonOption) -> None:
    """Close a breaker now and zero its consecutive counters (times opened and last error stay)."""
    from nbadb.engine import breakers
    from nbadb.orchestrate.workspace import open_workspace

    with open_workspace() as ws:
        b = breakers.reset(ws.con, key, ws.engine.now())
    if as_json:
        print_json(_breaker_row(b, b.updated_at))
    else:
        console.print(f"breaker {key} ({b.kind}) is CLOSED")


def _kind_of(ws: Workspace, key: str) -> str:
    """The kind of breaker `key`: its stored kind, else what the processor graph says the key names."""
    from nbadb.engine import breakers
    from nbadb.engine.parts import breaker_key

    stored = breakers.read(ws.con, key)
    if stored.updated_at is not None:
        return stored.kind
    if key in ws.graph.specs:
        return "processor"
    if any(breaker_key(s, p) == key for s in ws.graph.specs.values() for p in s.parts):
        return "system"
    raise ConfigError(f"{key!r} names no processor (see `nbadb processors`) and no processor:system breaker")


def open_breaker(
    key: str = typer.Argument(..., help="A processor name, or processor:system for a prediction system."),
    minutes: Optional[float] = typer.Option(
        None, "--minutes", min=0.0,
        help="How long before a probe run is let through, at most a year (default: the configured timeout)."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Force a breaker open, e.g. to stop a processor (`nbadb breakers reset KEY` closes it again).

    Its runs are skipped `breaker_open` until the retry time, then one run probes (a success closes it)."""
    from nbadb.engine import breakers
    from nbadb.orchestrate.workspace import open_workspace

    if minutes is not None and minutes > OPERATOR_OPEN_MAX_MINUTES:
        raise ConfigError(f"--minutes {minutes:g}: at most {OPERATOR_OPEN_MAX_MINUTES} (a year); "
                          "`nbadb breakers reset KEY` closes a breaker sooner")
    with open_workspace() as ws:
        kind = _kind_of(ws, key)
        if minutes is None:
            s = ws.settings
            minutes = (s.processor_breaker_timeout_seconds if kind == "processor" else s.breaker_timeout_seconds) / 60
        b = breakers.force_open(ws.con, key, kind, minutes, ws.engine.now())  # type: ignore[arg-type]
    if as_json:
        print_json(_breaker_row(b, b.updated_at))
    else:
        console.print(f"breaker {key} ({kind}) is OPEN; a probe run is let through from {b.retry_at:%Y-%m-%d %H:%M:%S} UTC")


def gaps(
    processor: Optional[str] = typer.Option(None, "--processor", help="Only this processor (phases 3-5)."),
    since: Optional[str] = typer.Option(None, "--since", help="Only dates on or after this date."),
    fill: bool = typer.Option(False, "--fill", help="Run every gap through the pipeline (backfill mode), oldest first."),
    as_json: bool = JsonOption,
) -> None:
    """Dates a processor should have covered but did not; `--fill` repairs them.

    A gap is a date where a processor's upstream data exists (every required input has rows on the
    date) but no run covers the date, or the latest run that speaks about it left it unbuilt (failed,
    or held back by missing or stale inputs or an open breaker). `--fill` repairs them in date order,
    then what those repairs let run below them, and prints what is left."""
    from nbadb.monitor.gaps import find_gaps
    from nbadb.orchestrate.workspace import open_workspace

    first = parse_date(since, "since")
    with open_workspace(read_only=not fill) as ws:
        def find() -> list[Gap]:
            return find_gaps(ws.con, ws.graph, processor=processor, since=first)

        if not fill:
            _show_gaps(find(), as_json)
            return
        outcome = _fill(ws, find, quiet=as_json)
        left = find()
    if as_json:
        print_json({"filled": outcome.as_dict(), "remaining": [g.as_dict() for g in left]})
    else:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(outcome.outcomes.items())) or "nothing to run"
        console.print(f"{outcome.filled} of {len(outcome.runs)} gaps filled ({counts}); {len(left)} gaps left")
    if outcome.failed:
        raise typer.Exit(1)


def _show_gaps(found: list[Gap], as_json: bool) -> None:
    if as_json:
        print_json([g.as_dict() for g in found])
        return
    table = DataTable(title="gaps (upstream data without a good run)")
    for col in ("processor", "date", "reason", "latest run"):
        table.add_column(col)
    for g in found:
        table.add_row(g.processor, str(g.game_date), g.reason, g.latest_run_id or "")
    console.print(table)
    console.print(f"{len(found)} gaps in {len({g.processor for g in found})} processors"
                  + ("; repair them with `nbadb gaps --fill`" if found else ""))


def _fill(ws: Workspace, find: Callable[[], list[Gap]], *, quiet: bool) -> FillOutcome:
    """Fill the gaps, with a progress bar (its total grows with each round) and a line per failed
    run unless `quiet`."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from nbadb.orchestrate.repair import fill_gaps

    if quiet:
        return fill_gaps(ws, find)
    columns = (TextColumn("gap repair"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("gaps", total=0)

        def on_round(gaps: list[Gap]) -> None:
            bar.update(task, total=bar.tasks[0].total + len(gaps))

        def on_gap(gap: Gap, results: list[RunResult]) -> None:
            for r in results:
                if r.status == "failed":
                    bar.console.print(f"{gap.game_date}  {gap.processor}  [red]failed[/]: {escape(str(r.error))}")
            bar.advance(task)

        return fill_gaps(ws, find, on_round=on_round, on_gap=on_gap)


def health(as_json: bool = JsonOption) -> None:
    """Problems (exit 1) and warnings (exit 0) about breakers, failed runs and table freshness.

    Problems: breakers not CLOSED, processors whose latest run failed, runs a crash left behind,
    tables older than their freshness rule. Warnings: failures in the last 24 h, tables past their
    warn age or empty, processors skipping more than 80 % of their runs (possibly misconfigured),
    processors that never ran, raw tables most of whose recent records went to quarantine, finished
    games without results, days between published days that were never published."""
    from nbadb.monitor.health import health_report
    from nbadb.orchestrate.workspace import open_workspace

    with open_workspace(read_only=True) as ws:
        report = health_report(ws.con, ws.graph, ws.engine.now())
    if as_json:
        print_json(report.as_dict())
    else:
        table = DataTable(title=f"health at {report.checked_at:%Y-%m-%d %H:%M:%S} UTC")
        for col in ("severity", "check", "subject", "detail"):
            table.add_column(col)
        for f in report.findings:
            table.add_row(Text(f.severity, style={"problem": "red", "warning": "yellow"}.get(f.severity, "")),
                          f.check, f.subject, f.detail)
        console.print(table)
        warnings = sum(f.severity == "warning" for f in report.findings)
        noted = f" ({warnings} warning{'s' * (warnings > 1)})" if warnings else ""
        console.print(f"[green]healthy[/]{noted}" if report.healthy else f"[bold red]UNHEALTHY[/]{noted}")
    if not report.healthy:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    command(breakers_app, list_breakers, "list")
    command(breakers_app, reset_breaker, "reset")
    command(breakers_app, open_breaker, "open")
    app.add_typer(breakers_app, name="breakers")
    command(app, gaps)
    command(app, health)
