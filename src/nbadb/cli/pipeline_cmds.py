"""Commands that run the pipeline: run, replay, correct, history, main."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.markup import escape

from nbadb.cli.common import (
    ArchiveOption,
    DataTable,
    JsonOption,
    archive_path,
    check_choice,
    check_season,
    command,
    console,
    err_console,
    parse_date,
    parse_instant,
    print_json,
)
from nbadb.errors import ConfigError

MODES = ("entity", "date")
DEFAULT_SEASON = "2024-25"  # the bundled season where real prop lines meet real results (through 2024-12-31)
ModeOption = typer.Option(None, "--mode", help="entity: only changed entities; date: every entity of a changed date. Default: the engine decides.")


def _result_row(r) -> dict[str, object]:
    return {
        "run_id": r.run_id, "processor": r.processor, "status": str(r.status),
        "skip_reason": r.skip_reason and str(r.skip_reason), "processing_mode": r.processing_mode,
        "entities_changed": r.metrics.entities_changed, "entities_processed": r.metrics.entities_processed,
        "rows_written": r.metrics.rows_written, "rows_quarantined": r.metrics.rows_quarantined,
        "error": r.error, "duration_ms": r.duration_ms,
    }


def _render_results(title: str, results: list) -> None:
    table = DataTable(title=title)
    for col in ("processor", "status", "reason / mode", "changed", "processed", "rows", "ms", "run id"):
        table.add_column(col)
    for r in results:
        table.add_row(
            r.processor, str(r.status), str(r.skip_reason or r.error or r.processing_mode or ""),
            str(r.metrics.entities_changed), str(r.metrics.entities_processed), str(r.metrics.rows_written),
            f"{r.duration_ms:.0f}", r.run_id,
        )
    console.print(table)


def run(
    date_: str = typer.Option(..., "--date", help="The date to run, YYYY-MM-DD. Pending upstream changes for any date run too."),
    processor: Optional[str] = typer.Option(None, "--processor", help="Run only this processor (see `nbadb processors`)."),
    force: bool = typer.Option(False, "--force", help="Reprocess every entity even if its inputs did not change (frozen as-of dates stay as they were said)."),
    mode: Optional[str] = ModeOption,
    backfill: bool = typer.Option(False, "--backfill", help="Backfill mode: run dates older than 90 days too (they exit early otherwise); breakers tolerate 10 failures."),
    as_json: bool = JsonOption,
) -> None:
    """Run the analytics, precompute and prediction processors for a date, plus whatever changed upstream."""
    from nbadb.orchestrate.daily import run_pipeline
    from nbadb.orchestrate.workspace import open_workspace

    check_choice(mode, "mode", MODES)
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
    season: Optional[str] = typer.Option(None, "--season", help="Season to replay, e.g. 2023-24 (default: the season of "
                                         f"--start, else {DEFAULT_SEASON})."),
    start: Optional[str] = typer.Option(None, "--start", help="First day (default: the season's first regular-season game day)."),
    end: Optional[str] = typer.Option(None, "--end", help="Last day (default: the season's last game day in the schedule or the logs)."),
    mode: Optional[str] = ModeOption,
    archive: Optional[Path] = ArchiveOption,
    as_json: bool = JsonOption,
) -> None:
    """Simulate a season day by day: publish what was released that day, then run the pipeline.

    Ends with a summary naming each failed run (processor, date, error) and exits 1 when there was one,
    and with a note naming each day of the season between published days that was never published
    (a replay started after a day it skipped)."""
    from nbadb.config import get_settings
    from nbadb.monitor.publications import unpublished_days
    from nbadb.rollout.ingestion import IngestionCycles
    from nbadb.rollout.schema import SchemaCycles
    from nbadb.rollout.serving import ServingCycles
    from nbadb.rollout.storage import StorageCycles
    from nbadb.sources.live.seasons import season_of_day

    check_choice(mode, "mode", MODES)
    check_season(season)
    first, last = parse_date(start, "start"), parse_date(end, "end")
    season = season or (season_of_day(first) if first else DEFAULT_SEASON)
    settings = get_settings()
    with StorageCycles(settings, archive_path(archive)) as cycles:
        serving = ServingCycles(settings)
        ingestion = IngestionCycles(settings).around(cycles.workspaces, cycles.cycle)
        contracts = SchemaCycles(settings).around(cycles.ws, ingestion)
        outcomes = replay_window(cycles.ws, season, first, last, mode, quiet=as_json,
                                 cycle=serving.around(cycles.ws, contracts))
        failures = replay_failures(cycles.ws, outcomes)
        held = replay_held_back(cycles.ws, outcomes)
        unpublished = [str(d.day) for d in unpublished_days(cycles.ws.con, cycles.ws.engine.now())
                       if d.season == season]
        if cycles.copied_runs and not as_json:
            console.print(f"storage shadow: {cycles.copied_runs} runs the file committed outside the track's cycles "
                          "(run, correct, ingest) were copied to the lake by run id, not shadowed", highlight=False)
    if as_json:
        print_json({"days": [o.as_dict() for o in outcomes], "failures": failures, "held_back": held,
                    "unpublished_days": unpublished})
    else:
        render_failures(failures)
        render_held_back(held)
        if unpublished:
            them = "them" if len(unpublished) > 1 else "it"
            console.print(f"[yellow]note:[/] {len(unpublished)} day{'s' * (len(unpublished) > 1)} of {season} between "
                          f"published days never published: {', '.join(unpublished)}; nothing of {them} is in the "
                          f"warehouse (replay {them} to publish {them} late; nbadb health lists {them})",
                          highlight=False)
    if failures:
        raise typer.Exit(1)


def replay_failures(ws, outcomes: list) -> list[dict[str, object]]:
    """The failed runs of the replayed days, from the ledger: processor, date, error."""
    if not any(o.failed for o in outcomes):
        return []
    rows = ws.con.execute(
        """SELECT processor, as_of_date, start_date, end_date, error, run_id FROM ops.processor_runs
        WHERE status = 'failed' AND as_of_date BETWEEN $first AND $last ORDER BY finished_at""",
        {"first": outcomes[0].day, "last": outcomes[-1].day},
    ).fetchall()
    return [{"processor": p, "day": str(d), "dates": f"{s}..{e}", "error": err, "run_id": run_id}
            for p, d, s, e, err, run_id in rows]


def replay_held_back(ws, outcomes: list) -> list[dict[str, object]]:
    """Processors the replayed days held back (an open breaker, a stale input: they wrote nothing for
    those days, and gaps lists them), from the ledger: processor, reason, how many days, first, last."""
    from nbadb.engine.vocabulary import SkipReason

    if not outcomes:
        return []
    rows = ws.con.execute(
        """SELECT processor, skip_reason, count(DISTINCT as_of_date), min(as_of_date), max(as_of_date)
        FROM ops.processor_runs
        WHERE status = 'skipped' AND list_contains($held, skip_reason) AND as_of_date BETWEEN $first AND $last
        GROUP BY ALL ORDER BY processor, skip_reason""",
        {"held": [r.value for r in SkipReason if r.deferred], "first": outcomes[0].day, "last": outcomes[-1].day},
    ).fetchall()
    return [{"processor": p, "reason": r, "days": n, "first": str(f), "last": str(last)} for p, r, n, f, last in rows]


def render_held_back(held: list[dict[str, object]]) -> None:
    for h in held:
        console.print(f"[yellow]held back:[/] {h['processor']} ({h['reason']}) on {h['days']} of these days, "
                      f"{h['first']} to {h['last']}: it wrote nothing for them (`nbadb health` says why; "
                      "`nbadb gaps --fill` repairs them once the cause is gone)", highlight=False)


def render_failures(failures: list[dict[str, object]]) -> None:
    if not failures:
        console.print("[green]no run failed[/]")
        return
    table = DataTable(title=f"{len(failures)} failed runs")
    for col in ("day", "processor", "dates", "error", "run id"):
        table.add_column(col)
    for f in failures:
        table.add_row(str(f["day"]), str(f["processor"]), str(f["dates"]), str(f["error"]), str(f["run_id"]))
    err_console.print(table)


def replay_window(ws, season: str, start, end, mode: str | None, *, quiet: bool, cycle=None) -> list:
    """Replay [start, end] (defaults from the season) with a progress bar and a line per day, each day
    through `cycle` (the storage track's, rollout.storage) when given."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from nbadb.cli.data_cmds import render_missing
    from nbadb.orchestrate.daily import regular_season_window
    from nbadb.orchestrate.replay import replay as replay_days
    from nbadb.sources.files import missing_kinds

    lo, hi = regular_season_window(ws, season)
    start, end = start or lo, end or hi
    if start > end:
        raise ConfigError(f"--start {start} is after --end {end}")
    first, last = ws.source.season_range(season)
    if end < first or start > last:
        raise ConfigError(f"{start}..{end}: the archive has no day of season {season} there (it has {first}..{last}); "
                          "replay days within them, or name the season the days belong to (--season)")
    if quiet:
        return replay_days(ws, start, end, processing_mode=mode, cycle=cycle)
    render_missing({k.kind: k.pattern for k in missing_kinds(ws.source.files)})
    results_end = ws.source.last_result_date(season)
    if results_end is None or results_end < end:
        which = (f"has box scores of {season} through {results_end}: the days after it are" if results_end else
                 f"has no box score of {season}: every day is")
        console.print(f"[yellow]note:[/] the archive {which} replayed without results (predictions made, none judged, "
                      "form frozen at the last game)")
    total = (end - start).days + 1
    columns = (TextColumn("replay {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(f"{start}..{end}", total=total)
        failed = 0

        def on_day(o) -> None:
            nonlocal failed
            failed += o.failed
            bar.console.print(
                f"{o.day}  games {o.games:>2}  runs {o.runs:>2}  skips {o.skips:>2}  failed {o.failed} "
                f"(so far {failed})  entities changed {o.entities_changed:>4}  {o.seconds * 1000:>5.0f} ms"
            )
            bar.advance(task)

        return replay_days(ws, start, end, processing_mode=mode, on_day=on_day, cycle=cycle)


def correct(
    game: str = typer.Option(..., "--game", help="Game id, e.g. 0022300061."),
    player: int = typer.Option(..., "--player", min=1, help="NBA player id."),
    sets: List[str] = typer.Option(..., "--set", help="stat=value, e.g. pts=31 (repeatable)."),
    at: Optional[str] = typer.Option(None, "--at", help="When the correction is published, YYYY-MM-DDTHH:MM UTC (default: the warehouse clock); never before the latest publication."),
    as_json: bool = JsonOption,
) -> None:
    """Publish a stat correction to a finished game; the next `nbadb run` carries it forward.

    Current-truth tables (summaries, the evaluation's actuals) take it; as-of snapshots take it from
    its publication on, and what was said before then stays as it was said."""
    from nbadb.cli.common import check_game_ids
    from nbadb.orchestrate.corrections import check_values, publish_correction
    from nbadb.orchestrate.workspace import open_workspace

    check_game_ids(game, "game")
    values = {}
    for item in sets:
        stat, _, value = item.partition("=")
        stat = stat.strip().lower()
        try:
            number = float(value)
        except ValueError:
            raise ConfigError(f"--set {item!r}: expected stat=number, e.g. pts=31") from None
        if stat in values:
            raise ConfigError(f"--set {stat} given twice ({values[stat]:g} and {number:g}): give each stat once")
        values[stat] = number
    check_values(values)
    published_at = parse_instant(at, "at")
    with open_workspace() as ws:
        outcome = publish_correction(ws, game, player, values, at=published_at)
    if as_json:
        print_json(outcome.as_dict())
        return
    _render_results(f"correction published for game {game} player {player}", outcome.results)
    console.print("Run `nbadb run --date <any date>` to carry it forward.")


def history(
    game: str = typer.Option(..., "--game", help="Game id, e.g. 0022300061."),
    player: int = typer.Option(..., "--player", min=1, help="NBA player id."),
    as_json: bool = JsonOption,
) -> None:
    """Every published version of a player's box-score row in a game and when it became known."""
    from nbadb.cli.common import check_game_ids
    from nbadb.monitor.versions import game_label, row_history
    from nbadb.orchestrate.workspace import open_workspace

    check_game_ids(game, "game")
    with open_workspace(read_only=True) as ws:
        versions = row_history(ws.con, game, player)
        label = None if versions else game_label(ws.con, game)
    if not versions:
        if label is None:
            raise ConfigError(f"no game {game} in the warehouse's schedule; "
                              "`nbadb predict --date D` lists a day's games")
        raise ConfigError(f"no box score for player {player} in game {game} ({label}): he did not play in it, "
                          "or the archive has not published it yet")
    if as_json:
        print_json(versions)
        return
    table = DataTable(title=f"versions of player {player} in game {game}")
    for col in ("table", "known at (UTC)", "superseded at", "pts", "reb", "ast", "fg3m", "minutes", "run"):
        table.add_column(col)
    for v in versions:
        table.add_row(v["table"], str(v["known_at"]), str(v["superseded_at"] or "current"), str(v["pts"]),
                      str(v["reb"]), str(v["ast"]), str(v["fg3m"]), str(v["minutes"]), v["run_id"])
    console.print(table)


def main(
    season: str = typer.Option(DEFAULT_SEASON, "--season", help="Season to replay."),
    last_days: Optional[int] = typer.Option(
        None, "--last-days", min=1, help="Replay only the season's last N days (the days before them join the history)."),
    history: bool = typer.Option(
        True, "--history/--no-history",
        help="First load every day the archive has before the replay, in one validated backfill (once per "
             "warehouse), so that gbm trains on earlier seasons and the heuristic has its league prior; "
             "--no-history replays the season alone (the ensemble is then the season-average baseline)."),
) -> None:
    """The main job: the archive's history in one backfill, then the season day by day through every
    phase, then the reports."""
    from datetime import timedelta

    from nbadb.cli.backfill_cmds import configured_blocking, with_progress
    from nbadb.cli.ledger_cmds import render_waste, waste_with_patterns
    from nbadb.cli.prediction_cmds import render_quality
    from nbadb.monitor.prediction_quality import quality_report
    from nbadb.orchestrate.backfill import history_backfill
    from nbadb.orchestrate.daily import regular_season_window
    from nbadb.orchestrate.workspace import open_workspace

    check_season(season)
    with open_workspace() as ws:
        lo, hi = regular_season_window(ws, season)
        if (results_end := ws.source.last_result_date(season)) is not None and lo <= results_end < hi:
            console.print(f"[yellow]note:[/] the archive's box scores of {season} end {results_end}: the main job "
                          f"replays through that day (the schedule goes on to {hi}, days that could be predicted but "
                          f"never judged: `nbadb replay --start {results_end + timedelta(days=1)}` predicts them)")
            hi = results_end
        start = max(lo, hi - timedelta(days=last_days - 1)) if last_days else lo
        if history and (pending := history_backfill(ws, start, configured_blocking())) is not None:
            backfill_id, plan = pending
            console.print(f"history: the archive's days {plan.start}..{plan.end} in one backfill ({backfill_id})")
            report = with_progress(ws, backfill_id, plan, quiet=False)
            if report.status == "stopped":
                err_console.print(f"[bold red]history backfill stopped[/] on {report.stopped_on}: "
                                  f"{escape(str(report.stop_reason))} (`nbadb backfill status` has its checks; "
                                  "`nbadb main` resumes it)", highlight=False)
                raise typer.Exit(1)
            dates = ", ".join(f"{n} {status}" for status, n in sorted(report.dates.items()))
            console.print(f"history loaded in {report.seconds:.0f} s: dates {dates}")
        outcomes = replay_window(ws, season, start, hi, None, quiet=False)
        failures = replay_failures(ws, outcomes)
        render_failures(failures)
        render_held_back(replay_held_back(ws, outcomes))
        render_waste(waste_with_patterns(ws, None))
        render_quality(quality_report(ws.con, season=season))
    if failures:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    command(app, run)
    command(app, replay)
    command(app, correct)
    command(app, history)
    command(app, main)
