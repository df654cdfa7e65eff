"""`nbadb prefect deploy`: the work pool, concurrency limits and deployments on a Prefect server.
Prefect is imported only inside the command (the `prefect` extra)."""

from __future__ import annotations

import re

import typer
from rich.markup import escape

from nbadb.cli.common import command, console
from nbadb.errors import ConfigError, NbadbError

prefect_app = typer.Typer(help="Prefect: deployments, work pool and concurrency limits (the `prefect` extra).",
                          no_args_is_help=True)


class PrefectServerError(NbadbError):
    """The Prefect server refused or could not be reached."""

    exit_code = 4


def deploy(
    pool: str = typer.Option("nbadb", "--pool", help="Process work pool to create or use."),
    fetch_concurrency: int = typer.Option(2, "--fetch-concurrency", help="stats.nba.com fetch flows at once across all workers."),
) -> None:
    """Create the process work pool, the global concurrency limits and every nbadb deployment on the Prefect server (PREFECT_API_URL)."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", pool):
        raise ConfigError(f"--pool {pool!r}: use letters, digits, '-' and '_' (at most 64)")
    if not 1 <= fetch_concurrency <= 16:
        raise ConfigError(f"--fetch-concurrency {fetch_concurrency}: use 1 to 16 (stats.nba.com is rate-limited anyway)")
    try:
        from prefect.exceptions import PrefectException
        from prefect.settings import get_current_settings

        from nbadb.orchestrate.prefect.deploy import deploy_all
    except ModuleNotFoundError as exc:
        raise ConfigError(f"`nbadb prefect` needs the prefect extra ({exc.name} is missing): "
                          "pip install -e '.[prefect]'") from None
    import httpx

    if not get_current_settings().api.url:  # Prefect would deploy into a temporary server gone with this command
        raise ConfigError("no Prefect server to deploy to: start one (`prefect server start`) and set PREFECT_API_URL, "
                          "e.g. http://127.0.0.1:4200/api")

    try:
        names = deploy_all(pool, fetch_concurrency)
    except (PrefectException, httpx.HTTPError, ValueError) as exc:
        raise PrefectServerError(f"the Prefect server refused the deployment: {str(exc).strip().splitlines()[0]}") from None
    console.print(f"work pool {escape(repr(pool))} (process), concurrency limits and {len(names)} deployments:")
    for name in names:
        console.print(f"  {escape(name)}")
    console.print(f"start a worker on each machine: prefect worker start --pool {escape(pool)} --type process")


def register(app: typer.Typer) -> None:
    command(prefect_app, deploy, "deploy")
    app.add_typer(prefect_app, name="prefect")
