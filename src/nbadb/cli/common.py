"""Helpers every command uses: date parsing, JSON output, the workspace, user-error handling."""

from __future__ import annotations

import functools
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any, Callable, TypeVar

import typer
from rich.console import Console

from nbadb.errors import ConfigError, NbadbError

# Piped output (CI logs, `| less`) gets a wide fixed width instead of rich's 80-column default.
console = Console() if sys.stdout.isatty() else Console(width=160)
err_console = Console(stderr=True) if sys.stderr.isatty() else Console(stderr=True, width=160)
F = TypeVar("F", bound=Callable[..., Any])

ArchiveOption = typer.Option(None, "--archive", help="Archive folder (default: bundled data/archive or NBADB_ARCHIVE_DIR).")
JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON instead of a table.")


def command(app: typer.Typer, fn: F, name: str | None = None) -> None:
    """Register `fn` so that an NbadbError prints its message and exits with its code, no traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except NbadbError as exc:
            err_console.print(f"[bold red]error:[/] {exc}")
            raise typer.Exit(exc.exit_code) from None

    app.command(name)(wrapper)


def parse_date(value: str | None, name: str = "date") -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(f"--{name} {value!r} is not a date; use YYYY-MM-DD, e.g. 2024-01-15") from exc


def print_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")


def archive_path(archive: Path | None) -> Path | None:
    return archive.resolve() if archive else None
