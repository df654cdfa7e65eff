"""Entry point: the typer app, global options and the mapping of errors to exit codes."""

from __future__ import annotations

import signal

import typer

from nbadb import __version__
from nbadb.cli import (backfill_cmds, data_cmds, ledger_cmds, live_cmds, ops_cmds, pipeline_cmds, prediction_cmds,
                       prefect_cmds, provider_cmds, rollout_cmds, serve_cmds)

app = typer.Typer(
    name="nbadb",
    help="Local-first NBA data pipeline: ingest real box scores, injuries and prop lines, build "
    "analytics, rolling form, features and prop predictions, and never redo unchanged work.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",  # help paragraphs reflow to the terminal width
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"nbadb {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version and exit."),
) -> None:
    """Settings come from NBADB_* environment variables (NBADB_DATA_DIR, NBADB_ARCHIVE_DIR, ...)."""


data_cmds.register(app)
pipeline_cmds.register(app)
ledger_cmds.register(app)
ops_cmds.register(app)
prediction_cmds.register(app)
backfill_cmds.register(app)
live_cmds.register(app)
prefect_cmds.register(app)
rollout_cmds.register(app)
provider_cmds.register(app)
serve_cmds.register(app)


def main() -> None:
    # Ctrl-C (SIGINT) stops any command, even one a shell started with SIGINT ignored (a background job)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    app()


if __name__ == "__main__":
    main()
