"""Commands that run the pipeline: run, replay, correct, main."""

from __future__ import annotations

import time
from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from nbadb.cli.common import ArchiveOption, JsonOption, archive_path, command, console, parse_date, print_json
from nbadb.errors import ConfigError

ModeOption = typer.Option(None, "--mode", help="entity: only changed entities; date: every entity of a changed date. Default: the engine decides.")


def _result_row(r) -> dict[str, object]:
    return {
        "run_id": r.run_id, "processor": r.processor, "status": r.status, "skip_reason": r.skip_reason,
        "processing_mode": r.processing_mode, "entities_changed": r.metrics.entities_changed,
        "entities_processed": r.metrics.entities_processed, "rows_written": r.metrics.rows_written,
        "error": r.error, "duration_ms": r.duration_ms,
    }


def _render_results(title: str, results: list) -> None:
    table = Table(title=title)
    for col in ("processor", "status", "reason / mode", "changed", "processed", "rows", "ms", "run id"):
        table.add_column(col)
    for r in results:
        table.add_row(
            r.processor, r.status, r.skip_reason or r.error or r.processing_mode or "",
            str(r.metrics.entities_changed), str(r.metrics.entities_processed), str(r.metrics.rows_written),
            f"{r.duration_ms:.0f}", r.run_id,
        )
    console.print(table)


def _check_mode(mode: str | None) -> None:
    if mode not in (None, "entity", "date"):
        raise ConfigError(f"--mode {mode!r}: use entity or date")


def run(
    date_: str = typer.Option(..., "--date", help="The date to run, YYYY-MM-DD. Pending upstream changes for any date run too."),
    processor: Optional[str] = typer.Option(None, "--processor", help="Run only this processor (see `nbadb processors`)."),
    force: bool = typer.Option(False, "--force", help="Reprocess every entity even if its inputs did not change."),
    mode: Optional[str] = ModeOption,
    backfill: bool = typer.Option(False, "--backfill", help="Backfill mode: run dates older than 90 days too (they exit early otherwise); breakers tolerate 10 failures."),
    as_json: bool = JsonOption,
) -> None:
    """Run the analytics, precompute and prediction processors for a date, plus whatever changed upstream."""
    from nbadb.orchestrate.daily import run_pipeline
    from nbadb.orchestrate.workspace import open_workspace

    _check_mode(mode)
    day = parse_date(date_)
    with open_workspace() as ws:
        if processor and processor not in ws.graph.specs:
            raise ConfigError(f"unknown processor {processor!r}; known: {', '.join(ws.graph.order)}")
        results = run_pipeline(ws, (day, day), processors=frozenset({processor}) if processor else None,
                               force=force, processing_mode=mode, mode="backfill" if backfill else "incremental")
    if as_json:
        print_json([_result_row(r) for r in results])
    else:
        _render_results(f"run {day}", results)
    if any(r.status == "failed" for r in results):
        raise typer.Exit(1)


def replay(
    season: str = typer.Option("2023-24", "--season", help="Season to replay, e.g. 2023-24."),
    start: Optional[str] = typer.Option(None, "--start", help="First day (default: the season's first regular-season game day)."),
    end: Optional[str] = typer.Option(None, "--end", help="Last day (default: the season's last regular-season game day)."),
    mode: Optional[str] = ModeOption,
    archive: Optional[Path] = ArchiveOption,
    as_json: bool = JsonOption,
) -> None:
    """Simulate a season day by day: publish what was released that day, then run the pipeline."""
    from nbadb.orchestrate.workspace import open_workspace

    _check_mode(mode)
    with open_workspace(archive_path(archive)) as ws:
        outcomes = replay_window(ws, season, parse_date(start, "start"), parse_date(end, "end"), mode, quiet=as_json)
    if as_json:
        print_json([o.as_dict() for o in outcomes])
    if any(o.failed for o in outcomes):
        raise typer.Exit(1)


def replay_window(ws, season: str, start, end, mode: str | None, *, quiet: bool) -> list:
    """Replay [start, end] (defaults from the season) with a progress bar and a line per day."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from nbadb.orchestrate.replay import regular_season_window, replay as replay_days

    lo, hi = regular_season_window(ws, season)
    start, end = start or lo, end or hi
    if start > end:
        raise ConfigError(f"--start {start} is after --end {end}")
    if quiet:
        return replay_days(ws, start, end, processing_mode=mode)
    total = (end - start).days + 1
    columns = (TextColumn("replay {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(f"{start}..{end}", total=total)

        def on_day(o) -> None:
            bar.console.print(
                f"{o.day}  games {o.games:>2}  runs {o.runs:>2}  skips {o.skips:>2}  failed {o.failed}  "
                f"entities changed {o.entities_changed:>4}  {o.seconds * 1000:>5.0f} ms"
            )
            bar.advance(task)

        return replay_days(ws, start, end, processing_mode=mode, on_day=on_day)


def correct(
    game: str = typer.Option(..., "--game", help="Game id, e.g. 0022300061."),
    player: int = typer.Option(..., "--player", help="NBA player id."),
    sets: List[str] = typer.Option(..., "--set", help="stat=value, e.g. pts=31 (repeatable)."),
    as_json: bool = JsonOption,
) -> None:
    """Publish a stat correction to a finished game; the next `nbadb run` propagates it downstream."""
    from nbadb.orchestrate.corrections import publish_correction
    from nbadb.orchestrate.workspace import open_workspace

    values = {}
    for item in sets:
        stat, _, value = item.partition("=")
        try:
            values[stat.strip().lower()] = float(value)
        except ValueError:
            raise ConfigError(f"--set {item!r}: expected stat=number, e.g. pts=31") from None
    with open_workspace() as ws:
        outcome = publish_correction(ws, game, player, values)
    if as_json:
        print_json(outcome.as_dict())
        return
    _render_results(f"correction published for game {game} player {player}", outcome.results)
    console.print("Run `nbadb run --date <any date>` to propagate it downstream.")


def main(
    season: str = typer.Option("2023-24", "--season", help="Season to replay."),
    last_days: Optional[int] = typer.Option(
        None, "--last-days",
        help="Replay only the season's last N days, after loading the days before them in one backfill pass.",
    ),
) -> None:
    """The main job: replay the bundled season through every phase, then print the reports."""
    from datetime import timedelta

    from nbadb.cli.ledger_cmds import render_waste
    from nbadb.cli.prediction_cmds import render_prediction_report
    from nbadb.monitor.predictions import prediction_report
    from nbadb.monitor.waste import waste_report
    from nbadb.orchestrate.replay import load_history, regular_season_window
    from nbadb.orchestrate.workspace import open_workspace

    with open_workspace() as ws:
        start = None
        if last_days:
            lo, hi = regular_season_window(ws, season)
            start = max(lo, hi - timedelta(days=last_days - 1))
            if start > lo:
                history, t0 = f"{lo}..{start - timedelta(days=1)}", time.perf_counter()
                with console.status(f"loading {history} in one backfill pass"):
                    results = load_history(ws, lo, start - timedelta(days=1))
                failed = sum(r.status == "failed" for r in results)
                console.print(f"season so far {history} loaded in one backfill pass: "
                              f"{len(results)} runs, {failed} failed, {time.perf_counter() - t0:.1f} s")
        replay_window(ws, season, start, None, None, quiet=False)
        render_waste(waste_report(ws.con, None))
        render_prediction_report(prediction_report(ws.con, season))


def register(app: typer.Typer) -> None:
    command(app, run)
    command(app, replay)
    command(app, correct)
    command(app, main)
