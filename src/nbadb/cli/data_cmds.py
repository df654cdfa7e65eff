"""Commands that bring data in or describe it: ingest, status, correct."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from nbadb.cli.common import ArchiveOption, command, JsonOption, archive_path, console, err_console, parse_date, print_json
from nbadb.errors import ConfigError


def _ingest_range(ws, date_: str | None, start: str | None, end: str | None, season: str | None):
    chosen = [x is not None for x in (date_, start or end, season)]
    if sum(chosen) != 1:
        raise ConfigError("say which dates to ingest: exactly one of --date D, --start D1 --end D2, or --season 2023-24")
    if season:
        return ws.source.season_range(season)
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

    with open_workspace(archive_path(archive)) as ws:
        lo, hi = _ingest_range(ws, date_, start, end, season)
        game_ids = [g.strip() for g in games.split(",") if g.strip()] if games else None
        outcome = ingest_dates(ws, lo, hi, game_ids=game_ids, progress=not as_json)
    payload = outcome.as_dict()
    if as_json:
        print_json(payload)
    else:
        _render_ingest(payload)
    if outcome.failed or outcome.stage.rejected:
        raise typer.Exit(3)


def _render_ingest(payload: dict) -> None:
    table = Table(title=f"ingest {payload['start']} .. {payload['end']}")
    for col in ("processor", "status", "reason", "changed", "rows written"):
        table.add_column(col)
    for r in payload["runs"]:
        table.add_row(r["processor"], r["status"], r["skip_reason"] or r["error"] or "", str(r["entities_changed"]),
                      str(r["rows_written"]))
    console.print(table)
    matched, total = payload["prop_match"]
    if total:
        console.print(f"prop-line names matched to NBA player ids: {matched}/{total} ({100 * matched / total:.1f}%)")
    for kind in payload["missing_files"]:
        console.print(f"[yellow]note:[/] no {kind} file in the archive; its raw table is left as it was")
    for proc, why in payload["not_run"].items():
        console.print(f"[yellow]not run:[/] {proc}: {why}")
    for kind, why in payload["rejected_files"].items():
        err_console.print(f"[bold red]rejected:[/] {why}")
    if payload["quarantined"]:
        console.print(f"{payload['quarantined']} source rows in quarantine for these dates (see `nbadb status`)")


def status(as_json: bool = JsonOption) -> None:
    """Rows, date coverage and quarantined rows per table."""
    from nbadb.monitor.status import table_status
    from nbadb.orchestrate.workspace import open_workspace

    with open_workspace() as ws:
        rows = table_status(ws.con, ws.graph)
    if as_json:
        print_json([r.as_dict() for r in rows])
        return
    table = Table(title=f"nbadb status ({ws.settings.database_path})")
    for col in ("table", "rows", "first date", "last date", "quarantined"):
        table.add_column(col, justify="right" if col in ("rows", "quarantined") else "left")
    for r in rows:
        table.add_row(r.table, f"{r.rows:,}", r.min_date or "-", r.max_date or "-", f"{r.quarantined:,}")
    console.print(table)


def register(app: typer.Typer) -> None:
    command(app, ingest)
    command(app, status)
