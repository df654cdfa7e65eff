"""`nbadb fetch`: a day from stats.nba.com (or its raw archive, offline) into the live archive folder."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from nbadb.cli.common import JsonOption, command, console, parse_date, print_json
from nbadb.config import get_settings
from nbadb.errors import ArchiveMissingError, ConfigError


def fetch(
    date_: Optional[str] = typer.Option(None, "--date", help="The day to fetch, YYYY-MM-DD (US Eastern game date)."),
    raw: Optional[Path] = typer.Option(None, "--raw", help="Raw-response archive folder (default: NBADB_DATA_DIR/live/raw)."),
    from_raw: bool = typer.Option(False, "--from-raw", help="Re-parse the raw archive offline instead of calling stats.nba.com."),
    out: Optional[Path] = typer.Option(None, "--out", help="Archive folder to write (default: NBADB_DATA_DIR/live/archive)."),
    as_json: bool = JsonOption,
) -> None:
    """Fetch a day from stats.nba.com, archive every response raw, and write the parsed frames as archive files that `nbadb ingest --archive` publishes."""
    from nbadb.orchestrate.fetch import fetch_to_archive, raw_source

    if date_ is None:
        raise ConfigError("--date is required: the day to fetch, YYYY-MM-DD")
    day = parse_date(date_)
    settings = get_settings()
    raw_dir = (raw or settings.raw_archive_dir).resolve()
    archive_dir = (out or settings.live_archive_dir).resolve()
    if from_raw and not raw_dir.is_dir():
        raise ArchiveMissingError(f"--from-raw: no raw archive at {raw_dir}; fetch live first or pass --raw DIR")
    if out is not None and out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is not a folder")
    if from_raw:
        outcome = fetch_to_archive(raw_source(raw_dir, from_raw=True), day, archive_dir)
    else:
        from nbadb.warehouse.connection import warehouse

        with warehouse(settings.database_path) as con:  # the endpoints' durable breakers
            outcome = fetch_to_archive(raw_source(raw_dir, from_raw=False, con=con), day, archive_dir)
    if as_json:
        print_json(outcome.as_dict())
        return
    console.print(f"{outcome.day} ({outcome.season}): {outcome.games} games, {outcome.final_games} final; "
                  f"raw responses in {escape(str(raw_dir))}")
    for path in outcome.files:
        console.print(f"  wrote {escape(str(path))}")
    console.print(f"publish with: nbadb ingest --date {outcome.day} --archive {escape(str(archive_dir))}")


def register(app: typer.Typer) -> None:
    command(app, fetch, "fetch")
