"""Helpers every command uses: argument parsing, JSON output, the workspace, user-error handling.

Exit codes (the same for every command):
  0 done; 1 some run failed, or `health` found a problem; 2 a bad argument or setting;
  3 an archive problem (a malformed file, a missing folder); 4 a warehouse problem (missing,
  damaged, locked, another schema version); 5 inconsistent processor declarations; 6 stats.nba.com
  gave no usable answer (`nbadb fetch`); 7 a gate refused a transition: a rollout's missing evidence
  (`nbadb rollout advance`) or a provider's exit criteria (`nbadb providers advance`), each unmet
  item listed; 130 interrupted (Ctrl-C): nothing was recorded as failed.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from nbadb.errors import ConfigError, NbadbError, WarehouseError

# Piped output (CI logs, `| less`) gets a wide fixed width instead of rich's 80-column default.
console = Console() if sys.stdout.isatty() else Console(width=160)
# Messages on stderr are one line each, however long (errors name a file and a problem).
err_console = Console(stderr=True, soft_wrap=True) if sys.stderr.isatty() else Console(stderr=True, width=160, soft_wrap=True)
F = TypeVar("F", bound=Callable[..., Any])
INTERRUPTED = 130

ArchiveOption = typer.Option(None, "--archive", help="Archive folder (default: bundled data/archive or NBADB_ARCHIVE_DIR).")
JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON instead of a table.")


class DataTable(Table):
    """A rich table whose title and cells show their text as written. Rich reads a plain string as
    markup, so a value from the data or the user (a path, an error, a sign-off's name) could lose
    `[bold]` or fail the command on `[/ops]`; a cell meant to be styled is passed as a `Text`."""

    def __init__(self, *headers: str, title: str | Text | None = None, **options: Any) -> None:
        super().__init__(*headers, title=Text(title) if isinstance(title, str) else title, **options)

    def add_row(self, *cells: Any, **options: Any) -> None:
        super().add_row(*(Text(c) if isinstance(c, str) else c for c in cells), **options)


def command(app: typer.Typer, fn: F, name: str | None = None) -> None:
    """Register `fn` so that every user error prints one line and exits with its code, never a
    traceback: nbadb's own errors, a warehouse DuckDB cannot read, and Ctrl-C."""
    app.command(name)(_guarded(fn))


def group_command(app: typer.Typer, fn: F) -> None:
    """Register `fn` as what a command group does when no subcommand is named (`nbadb backfill
    --start …` beside `nbadb backfill status`), guarded like `command`."""
    app.callback(invoke_without_command=True)(_guarded(fn))


def _guarded(fn: F) -> Callable[..., Any]:
    import duckdb

    from nbadb.warehouse.transactions import interrupted

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except NbadbError as exc:
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
            raise typer.Exit(exc.exit_code) from None
        except BaseException as exc:
            if interrupted(exc):
                err_console.print("interrupted: the run in progress wrote nothing and nothing was recorded as failed")
                raise typer.Exit(INTERRUPTED) from None
            if not isinstance(exc, duckdb.Error):
                raise
            error = WarehouseError(f"the warehouse cannot be read: {str(exc).strip().splitlines()[0]}")
            err_console.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False)
            raise typer.Exit(error.exit_code) from None

    return wrapper


def parse_date(value: str | None, name: str = "date") -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"--{name} {value!r} is not a date; use YYYY-MM-DD, e.g. 2024-01-15") from None


def parse_instant(value: str | None, name: str) -> datetime | None:
    """An ISO date-time in UTC (naive), e.g. 2024-03-01T12:00."""
    if value is None:
        return None
    try:
        instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"--{name} {value!r} is not a date-time; use YYYY-MM-DDTHH:MM (UTC)") from None
    return instant.replace(tzinfo=None) if instant.tzinfo is None else instant.astimezone(timezone.utc).replace(tzinfo=None)


NAME_LIMIT, NOTE_LIMIT = 100, 500  # characters of an actor's name (--by) and of an incident's note


def one_line(value: str, option: str, what: str, limit: int) -> str:
    """`value` stripped: 1 to `limit` characters on one line (an actor's name, an incident's note)."""
    text = value.strip()
    if not text or len(text) > limit or any(c in text for c in "\n\r\t"):
        raise ConfigError(f"{option} {value!r}: give {what} of 1-{limit} characters on one line")
    return text


def check_season(season: str | None, name: str = "season") -> str | None:
    """A season label such as 2023-24 (the second year follows the first)."""
    if season is None:
        return None
    match = re.fullmatch(r"(\d{4})-(\d{2})", season)
    if not match or (int(match.group(1)) + 1) % 100 != int(match.group(2)):
        raise ConfigError(f"--{name} {season!r} is not a season label; use the form 2023-24")
    return season


def check_game_ids(games: str, name: str = "games") -> list[str]:
    """The game ids of option --`name`: one 10-digit NBA game id, or (--games) several separated by commas."""
    ids = [g.strip() for g in games.split(",") if g.strip()]
    bad = [g for g in ids if not re.fullmatch(r"\d{10}", g)]
    several = name == "games"
    if not ids or bad or (len(ids) > 1 and not several):
        what = "10-digit NBA game ids separated by commas" if several else "one 10-digit NBA game id"
        raise ConfigError(f"--{name} {games!r}: give {what}, e.g. 0022300061")
    return ids


def parse_numbers(value: str | None, name: str, allowed: frozenset[int]) -> frozenset[int] | None:
    """A comma-separated set of whole numbers, each among `allowed` (phases, validation levels)."""
    if value is None:
        return None
    try:
        numbers = frozenset(int(part) for part in value.split(",") if part.strip())
    except ValueError:
        numbers = frozenset()
    if not numbers or not numbers <= allowed:
        raise ConfigError(f"--{name} {value!r}: give numbers among {','.join(map(str, sorted(allowed)))} "
                          "separated by commas")
    return numbers


def check_choice(value: str | None, name: str, choices: list[str] | tuple[str, ...]) -> str | None:
    if value is not None and value not in choices:
        raise ConfigError(f"--{name} {value!r}: use one of {', '.join(choices)}")
    return value


def print_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")


def archive_path(archive: Path | None) -> Path | None:
    return archive.resolve() if archive else None
