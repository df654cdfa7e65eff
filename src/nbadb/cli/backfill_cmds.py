"""`nbadb backfill`: a historical window through every phase, validated date by date, resumable;
`nbadb backfill status`: the last backfill, its progress, batches and grouped errors.

Exit codes: 0 the backfill finished (every date validated, warned or without games); 1 it stopped
on a date whose blocking check failed (the date and the reason are printed); otherwise as every
command (cli.common).
"""

from __future__ import annotations

from typing import Optional

import typer
from rich.markup import escape

from nbadb.cli.common import (
    DataTable,
    JsonOption,
    check_season,
    command,
    console,
    err_console,
    group_command,
    parse_date,
    parse_numbers,
    print_json,
)
from nbadb.errors import ConfigError, WarehouseError

backfill_app = typer.Typer(help="Backfill a window of history through every phase, validated date by date.")


def backfill(
    ctx: typer.Context,
    start: Optional[str] = typer.Option(None, "--start", help="First date, YYYY-MM-DD."),
    end: Optional[str] = typer.Option(None, "--end", help="Last date, YYYY-MM-DD."),
    seasons: Optional[str] = typer.Option(None, "--seasons", help="Only the days of these seasons, e.g. 2022-23,2023-24."),
    phases: Optional[str] = typer.Option(None, "--phases", help="Phases to run, e.g. 2,3,4 (default all: 2,3,4,5)."),
    validate: Optional[str] = typer.Option(None, "--validate", help="Validation levels to check, e.g. 1,2,3 (default all: 1-5)."),
    batch_days: Optional[int] = typer.Option(None, "--batch-days", help="Days per batch (default: a batch per season)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the last unfinished backfill from its first date not validated."),
    as_json: bool = JsonOption,
) -> None:
    """Publish and compute [--start, --end] in batches, validating each date at five levels
    (1 execution, 2 output volume, 3 data quality, 4 dependency chain, 5 business sampling); levels
    in NBADB_BACKFILL_BLOCKING_LEVELS (default 1,3,4,5) stop the backfill when a check fails, the
    others warn. Killed, it resumes with --resume. Exit 1 when it stopped on a failed date."""
    if ctx.invoked_subcommand is not None:
        return
    from nbadb.config import get_settings
    from nbadb.monitor.validation import LEVELS
    from nbadb.orchestrate.backfill import ALL_PHASES, BackfillPlan, start_backfill, unfinished_backfill
    from nbadb.orchestrate.workspace import open_workspace

    blocking = configured_blocking()
    chosen_phases = parse_numbers(phases, "phases", ALL_PHASES)
    levels = parse_numbers(validate, "validate", frozenset(LEVELS))
    chosen_seasons = tuple(check_season(s.strip(), "seasons") for s in seasons.split(",")) if seasons else ()
    first, last = parse_date(start, "start"), parse_date(end, "end")
    if batch_days is not None and batch_days < 1:
        raise ConfigError(f"--batch-days {batch_days}: a batch is at least one day")
    from nbadb.monitor.backfill import backfill_summary

    if resume:
        if any(v is not None for v in (first, last, seasons, phases, validate, batch_days)):
            raise ConfigError("--resume continues the last backfill as it was planned; give no other option")
        if not get_settings().database_path.is_file():
            raise WarehouseError(f"no warehouse at {get_settings().database_path}: nothing to resume")
    with open_workspace() as ws:
        if resume:
            backfill_id, plan = unfinished_backfill(ws)
        else:
            if first is None or last is None:
                raise ConfigError("give --start and --end (or --resume to continue the last backfill)")
            plan = BackfillPlan(first, last, chosen_phases or ALL_PHASES, levels or frozenset(LEVELS),
                                blocking or frozenset(), chosen_seasons, batch_days)
            backfill_id = start_backfill(ws, plan)
        report = with_progress(ws, backfill_id, plan, quiet=as_json)
        summary = backfill_summary(ws.con, backfill_id)
    if as_json:
        print_json(summary)
    else:
        _render(summary)
    if report.status == "stopped":
        err_console.print(f"[bold red]stopped[/] on {report.stopped_on}: {escape(str(report.stop_reason))}",
                          highlight=False)
        raise typer.Exit(1)


def configured_blocking() -> frozenset[int]:
    """The validation levels NBADB_BACKFILL_BLOCKING_LEVELS makes blocking (none when it is empty)."""
    from nbadb.config import get_settings
    from nbadb.monitor.validation import LEVELS

    levels = get_settings().backfill_blocking_levels
    return parse_numbers(levels, "NBADB_BACKFILL_BLOCKING_LEVELS", frozenset(LEVELS)) if levels else frozenset()


def with_progress(ws, backfill_id: str, plan, *, quiet: bool):
    """Run the backfill with a progress bar (dates done / total, current batch and phase, ETA)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from nbadb.orchestrate.backfill import run_backfill

    if quiet:
        return run_backfill(ws, backfill_id, plan)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("dates"),
               TimeElapsedColumn(), TextColumn("{task.fields[eta]}"))
    with Progress(*columns, console=err_console) as bar:
        task = bar.add_task("backfill", total=None, eta="")

        def on_progress(p) -> None:
            eta = f"ETA {int(p.eta_seconds // 60)}:{int(p.eta_seconds % 60):02d}" if p.eta_seconds is not None else ""
            bar.update(task, completed=p.done, total=p.total, eta=eta,
                       description=f"{p.batch[0]:%Y-%m} {p.phase}")

        return run_backfill(ws, backfill_id, plan, on_progress)


def status(as_json: bool = JsonOption) -> None:
    """The last backfill: its plan, dates by status, each batch's counts and time per phase, and its
    errors grouped by signature."""
    from nbadb.monitor.backfill import backfill_summary, latest_backfill_id
    from nbadb.orchestrate.workspace import open_workspace

    with open_workspace(read_only=True) as ws:
        backfill_id = latest_backfill_id(ws.con)
        if backfill_id is None:
            raise ConfigError("no backfill has run in this warehouse; start one with `nbadb backfill --start … --end …`")
        summary = backfill_summary(ws.con, backfill_id)
    if as_json:
        print_json(summary)
    else:
        _render(summary)


def _render(summary: dict[str, object]) -> None:
    from nbadb.monitor.backfill import RUNNING

    console.print(f"backfill {summary['backfill_id']} {summary['start_date']}..{summary['end_date']}: "
                  f"{summary['status']}, {summary['dates_done']}/{summary['dates_total']} dates "
                  f"({', '.join(f'{n} {s}' for s, n in sorted(summary['dates_by_status'].items()))})")  # type: ignore[union-attr]
    if summary["status"] == RUNNING and summary["dates_done"] != summary["dates_total"]:
        console.print("[yellow]note:[/] a backfill that was killed stays recorded as running: if none runs now, "
                      "`nbadb backfill --resume` continues it from its first date not validated")
    table = DataTable(title="batches")
    for col in ("batch", "dates", "validated", "warned", "failed", "no games", "publish s", "analytics s",
                "precompute s", "predictions s", "validation s"):
        table.add_column(col)
    for b in summary["batches"]:  # type: ignore[union-attr]
        table.add_row(f"{b['batch_start']}..{b['batch_end']}", *(str(b[k]) for k in (
            "dates", "dates_validated", "dates_warned", "dates_failed", "dates_without_games")),
            *(f"{b[k]:.2f}" for k in ("publish_seconds", "analytics_seconds", "precompute_seconds",
                                      "predictions_seconds", "validation_seconds")))
    console.print(table)
    if summary["errors"]:
        errors = DataTable(title="failed checks by signature")
        for col in ("dates", "first", "last", "signature"):
            errors.add_column(col)
        for e in summary["errors"]:  # type: ignore[union-attr]
            errors.add_row(str(e["dates"]), str(e["first"]), str(e["last"]), e["signature"])
        console.print(errors)
    if summary["missing_sources"]:
        missing = DataTable(title="game days some source published nothing for")
        for col in ("dates", "first", "last", "sources with nothing"):
            missing.add_column(col)
        for m in summary["missing_sources"]:  # type: ignore[union-attr]
            missing.add_row(str(m["dates"]), str(m["first"]), str(m["last"]), ", ".join(m["sources"]))
        console.print(missing)


def register(app: typer.Typer) -> None:
    group_command(backfill_app, backfill)
    command(backfill_app, status, "status")
    app.add_typer(backfill_app, name="backfill")
