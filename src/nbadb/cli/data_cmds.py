"""Commands that bring data in or describe it: ingest, status, correct."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from nbadb.cli.common import (
    ArchiveOption,
    DataTable,
    JsonOption,
    archive_path,
    check_game_ids,
    check_season,
    command,
    console,
    parse_date,
    print_json,
)
from nbadb.errors import ConfigError


def _ingest_range(ws, date_: str | None, start: str | None, end: str | None, season: str | None):
    chosen = [x is not None for x in (date_, start or end, season)]
    if sum(chosen) != 1:
        raise ConfigError("say which dates to ingest: exactly one of --date D, --start D1 --end D2, or --season 2023-24")
    if season:
        return ws.source.season_range(check_season(season))
    if date_:
        d = parse_date(date_)
        return d, d
    if not (start and end):
        raise ConfigError("--start and --end go together")
    lo, hi = parse_date(start, "start"), parse_date(end, "end")
    if lo > hi:
        raise ConfigError(f"--start {lo} is after --end {hi}")
    return lo, hi


def ingest(
    date_: Optional[str] = typer.Option(None, "--date", help="One publication date, YYYY-MM-DD."),
    start: Optional[str] = typer.Option(None, "--start", help="First date of a range."),
    end: Optional[str] = typer.Option(None, "--end", help="Last date of a range."),
    season: Optional[str] = typer.Option(None, "--season", help="A whole season, e.g. 2023-24."),
    games: Optional[str] = typer.Option(None, "--games", help="Publish only these game ids (comma-separated); the rest can follow later."),
    archive: Optional[Path] = ArchiveOption,
    as_json: bool = JsonOption,
) -> None:
    """Publish what the archive released on the dates into the raw tables (Phase 1 -> 2)."""
    from nbadb.orchestrate.ingest import ingest_dates
    from nbadb.orchestrate.workspace import open_workspace

    game_ids = check_game_ids(games) if games is not None else None
    check_season(season)
    with open_workspace(archive_path(archive)) as ws:
        lo, hi = _ingest_range(ws, date_, start, end, season)
        outcome = ingest_dates(ws, lo, hi, game_ids=game_ids, progress=not as_json)
    payload = outcome.as_dict()
    if as_json:
        print_json(payload)
    else:
        _render_ingest(payload)
    if outcome.failed:
        raise typer.Exit(1)


def _render_ingest(payload: dict) -> None:
    table = DataTable(title=f"ingest {payload['start']} .. {payload['end']}")
    for col in ("processor", "status", "reason", "changed", "rows written"):
        table.add_column(col)
    for r in payload["runs"]:
        table.add_row(r["processor"], r["status"], r["skip_reason"] or r["error"] or "", str(r["entities_changed"]),
                      str(r["rows_written"]))
    console.print(table)
    render_files(payload["files"])
    matched, total = payload["prop_match"]
    if total:
        console.print(f"prop-line names matched to NBA player ids: {matched}/{total} ({100 * matched / total:.1f}%)")
    render_missing(payload["missing_files"])
    for proc, why in payload["not_run"].items():
        console.print(f"[yellow]not run:[/] {proc}: {escape(why)}")
    if payload["quarantined"]:
        console.print(f"{payload['quarantined']:,} source rows quarantined for these dates, kept as "
                      f"{payload['quarantine_records']:,} quarantine records (one per record key, rule and file; "
                      "see `nbadb quarantine`)")


def render_files(files: list[dict]) -> None:
    """Per file: source rows = accepted + quarantined."""
    if not files:
        return
    table = DataTable(title="files: source rows = accepted + quarantined")
    for col in ("kind", "file", "source rows", "accepted", "quarantined"):
        table.add_column(col, justify="right" if col not in ("kind", "file") else "left")
    for f in files:
        table.add_row(f["kind"], f["source_file"], f"{f['source_rows']:,}", f"{f['accepted']:,}", f"{f['quarantined']:,}")
    console.print(table)


def render_missing(missing: dict[str, str]) -> None:
    """The kinds the archive has no file of, by the pattern a file of that kind would match."""
    for kind, pattern in missing.items():
        console.print(f"[yellow]note:[/] no {pattern} in the archive ({kind}); its raw table is left as it was")


def status(as_json: bool = JsonOption) -> None:
    """Rows, date coverage and quarantine records (one per record key, rule and file) per table."""
    from nbadb.monitor.status import table_status
    from nbadb.orchestrate.workspace import open_workspace

    with open_workspace(read_only=True) as ws:
        rows = table_status(ws.con, ws.graph)
    if as_json:
        print_json([r.as_dict() for r in rows])
        return
    table = DataTable(title=f"nbadb status ({ws.settings.database_path})")
    for col in ("table", "rows", "first date", "last date", "quarantine records"):
        table.add_column(col, justify="right" if col in ("rows", "quarantine records") else "left")
    for r in rows:
        table.add_row(r.table, f"{r.rows:,}", r.min_date or "-", r.max_date or "-", f"{r.quarantined:,}")
    console.print(table)


def crosscheck(
    season: str = typer.Option(..., "--season", help="Season to compare, e.g. 2021-22."),
    examples: int = typer.Option(10, "--examples", min=0, help="How many example rows to show per difference."),
    as_json: bool = JsonOption,
) -> None:
    """Compare game logs (raw.player_boxscores) with played box-score rows (raw.boxscore_players, or
    its contract v2 mapped to it once the schema track retired v1)."""
    from nbadb.monitor.crosscheck import COMPARED_STATS, crosscheck_season
    from nbadb.orchestrate.workspace import open_workspace
    from nbadb.rollout.schema import boxscores_relation

    check_season(season)
    with open_workspace(read_only=True) as ws:
        report = crosscheck_season(ws.con, season, examples=examples, boxscores=boxscores_relation(ws.graph))
        if not report.game_log_rows and not report.boxscore_played_rows:
            try:
                ws.source.season_range(season)  # the note's advice (ingest it) holds only if the archive has it
            except ConfigError as missing:
                raise ConfigError(f"nothing to compare: the warehouse has no rows of season {season}, and {missing}")
    if as_json:
        print_json(report.as_dict())
        return
    table = DataTable(title=f"crosscheck {season}: game logs vs box scores (played rows)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for label, value in (
        ("game-log rows", report.game_log_rows),
        ("box-score played rows", report.boxscore_played_rows),
        ("box-score rows not played (DNP/DND/NWT/...)", report.boxscore_other_rows),
        ("(game, player) on both sides", report.in_both),
        ("matched (all stats equal)", report.matched),
        ("only in game logs", report.only_in_game_logs),
        ("only in box scores", report.only_in_boxscores),
        ("rows with a stat mismatch", report.stat_mismatch_rows),
        ("games in game logs / box scores", f"{report.game_log_games} / {report.boxscore_games}"),
        ("minute differences > 1 (info)", report.minute_diffs_over_tolerance),
    ):
        table.add_row(label, f"{value:,}" if isinstance(value, int) else str(value))
    console.print(table)
    console.print(f"compared stats: {', '.join(COMPARED_STATS)}")
    comparable = report.game_log_rows and report.boxscore_played_rows
    if report.stat_mismatches:
        console.print("mismatches per stat: " + ", ".join(f"{s} {n:,}" for s, n in report.stat_mismatches.items()))
    for kind, rows in report.examples.items() if comparable else ():  # one side empty: every row is an example
        console.print(f"[bold]examples: {kind}[/]")
        for row in rows:
            console.print(f"  {escape(str(row))}")
    for note in report.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")
    if not comparable:
        sides = "one side has no" if report.game_log_rows or report.boxscore_played_rows else "neither side has"
        console.print(f"[bold]nothing to compare[/]: {sides} rows for season {season}")
    else:
        verdict = "identical" if report.identical else "DIFFERENCES FOUND"
        total = report.in_both + report.only_in_game_logs + report.only_in_boxscores
        console.print(f"[bold]{verdict}[/]: {report.matched:,} of {total:,} (game, player) rows match")


def quarantine(
    table: Optional[str] = typer.Option(None, "--table", help="Only this table (e.g. raw.player_boxscores)."),
    since: Optional[str] = typer.Option(None, "--since", help="Only records dated on or after this date."),
    limit: int = typer.Option(50, "--limit", min=1, help="How many records, newest first."),
    as_json: bool = JsonOption,
) -> None:
    """Quarantined rows: which table, which record, which rule, from which file or run."""
    from nbadb.monitor.quarantine import quarantined_rows
    from nbadb.orchestrate.workspace import open_workspace

    first = parse_date(since, "since")
    with open_workspace(read_only=True) as ws:
        quarantined = {t for (t,) in ws.con.execute("SELECT DISTINCT table_name FROM ops.quarantine").fetchall()}
        if table is not None and table not in ws.graph.specs and table not in quarantined:  # ops.source_corrections
            raise ConfigError(f"--table {table!r} is not a table of the pipeline; see `nbadb processors`")
        rows = quarantined_rows(ws.con, table=table, since=first, limit=limit)
    if as_json:
        print_json(rows)
        return
    view = DataTable(title="quarantine (newest first)")
    for col in ("table", "record", "date", "stage", "rule", "file / run"):
        view.add_column(col)
    for r in rows:
        view.add_row(r["table_name"], r["record_key"] or "", str(r["record_date"] or ""), r["stage"] or "",
                     r["reason"], r["source_file"] or r["run_id"] or "")
    console.print(view)


def register(app: typer.Typer) -> None:
    command(app, ingest)
    command(app, quarantine)
    command(app, status)
    command(app, crosscheck)
