"""Commands of a live season: serve, schedule show, manifest, export, read."""

from __future__ import annotations

import csv
import ipaddress
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from nbadb.cli.common import (ArchiveOption, DataTable, JsonOption, archive_path, check_choice, command, console,
                              err_console, parse_date, print_json)
from nbadb.errors import ConfigError

schedule_app = typer.Typer(help="The cycles `nbadb serve` runs, planned from the game calendar.", no_args_is_help=True,
                           rich_markup_mode="markdown")


def _check_host(host: str) -> str:
    if host != "localhost":
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise ConfigError(f"--host {host!r} is not an IP address; use 127.0.0.1 (the default) or the address to bind") from None
    return host


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (default loopback only)."),
    port: int = typer.Option(8765, "--port", min=0, max=65535, help="Port of the dashboard, API and /metrics (0: any free one)."),
    archive: Optional[Path] = ArchiveOption,
) -> None:
    """Run a live season: the day's cycles at game-calendar hours, the dashboard, the API and /metrics.

    The morning publication and pre-tip pass run before the first tip-off, the night publication and
    downstream pass after the last game's expected end, the health check every morning and the waste
    and pattern reports every Monday (America/New_York); missed cycles catch up after a restart. Read
    commands keep working on the snapshot it publishes after each cycle. Ctrl-C stops it."""
    import logging
    import signal

    from nbadb.config import get_settings
    from nbadb.serve.app import ServeApp

    _check_host(host)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not ipaddress.ip_address("127.0.0.1" if host == "localhost" else host).is_loopback:
        err_console.print(f"note: bound to {host}: the dashboard and the read API are visible beyond this machine")
    app = ServeApp(get_settings(), archive_path(archive), host=host, port=port)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a service manager's stop is a Ctrl-C
    try:
        app.start()
        console.print(f"nbadb serve on http://{host}:{app.port} (dashboard, /api/v1/..., /metrics); Ctrl-C stops it")
        _note_an_empty_calendar(app)
        while True:
            signal.pause()
    except KeyboardInterrupt:
        console.print("stopping: the cycle in progress (if any) finishes first; queued cycles do not start")
    finally:
        for stop in (signal.SIGINT, signal.SIGTERM):  # a second one while stopping must not cut the cycle short
            signal.signal(stop, _still_stopping)
        app.stop()


def _still_stopping(signum: int, frame: object) -> None:
    err_console.print("still stopping: the cycle in progress finishes first (each of its runs is one transaction, "
                      "so kill -9 would also leave the warehouse consistent)")


def _note_an_empty_calendar(app) -> None:
    """Say so when the archive has no game day from today on: only the checks would run."""
    from nbadb.serve.app import REPLAN_EVERY
    from nbadb.serve.plan import eastern_today

    today = eastern_today(app.clock())
    if any(day >= today for day in app.calendar):
        return
    last = f"its last is {max(app.calendar)}" if app.calendar else "it has none"
    folder = escape(str(app.ws.archive_dir))
    err_console.print(f"note: the archive's game calendar has no game day from {today} on ({last}): until files of "
                      f"the coming days reach {folder} (nbadb fetch --date D --out {folder} writes them; the server "
                      f"looks again every {REPLAN_EVERY.seconds // 60} minutes), only the health checks and the "
                      "weekly reports run", highlight=False)


def schedule_show(
    count: int = typer.Option(10, "--count", min=1, max=200, help="How many cycles to show."),
    archive: Optional[Path] = ArchiveOption,
    as_json: bool = JsonOption,
) -> None:
    """The next cycles `nbadb serve` will run (times in America/New_York), from the archive's game calendar."""
    from nbadb.config import get_settings
    from nbadb.engine.request import utc_now
    from nbadb.serve.calendar import archive_calendar
    from nbadb.serve.plan import upcoming
    from nbadb.sources.files import check_archive_folder

    settings = get_settings()
    folder = archive_path(archive) or settings.archive_dir
    check_archive_folder(folder)
    calendar = archive_calendar(folder, settings.checked_cache_dir)
    cycles = [c.as_dict() for c in upcoming(calendar, utc_now(), count, horizon_days=400)]
    if as_json:
        print_json(cycles)
        return
    table = DataTable(title=f"next {len(cycles)} cycles (archive {folder})")
    for col in ("due (America/New_York)", "kind", "game date"):
        table.add_column(col)
    for c in cycles:
        table.add_row(c["due_at_eastern"], c["kind"], c["day"])
    console.print(table)
    if not cycles:
        console.print("no game in the archive's calendar within 400 days: only the daily health check and Monday reports")


def manifest(manifest_id: str = typer.Argument(..., help="A run id (`nbadb runs`) or a serve pass id.")) -> None:
    """The manifest of a run or a pipeline pass (JSON): trigger, inputs and their versions, outputs, code versions, status."""
    from nbadb.config import get_settings
    from nbadb.orchestrate.manifests import manifest_dir, read_manifest

    print_json(read_manifest(manifest_dir(get_settings().data_dir), manifest_id))


def export(
    tables: Optional[str] = typer.Option(None, "--tables", help="Comma-separated tables (default: every pipeline table)."),
    export_format: str = typer.Option("parquet", "--format", help="parquet or csv."),
    to: Optional[Path] = typer.Option(None, "--to", help="Folder of the exports (default NBADB_EXPORT_DIR, else NBADB_DATA_DIR/exports)."),
    as_json: bool = JsonOption,
) -> None:
    """Export tables Hive-partitioned by season, published whole with a `latest.json` pointer."""
    from nbadb.engine.request import utc_now
    from nbadb.orchestrate.exports import FORMATS, check_tables, export_folder, export_tables
    from nbadb.orchestrate.workspace import open_workspace

    check_choice(export_format, "format", FORMATS)
    chosen = [t.strip() for t in tables.split(",") if t.strip()] if tables is not None else None
    if chosen is not None and not chosen:
        raise ConfigError("--tables: name at least one table, e.g. raw.schedule,analytics.player_game_summary")
    with open_workspace(read_only=True) as ws:
        dest = to or export_folder(ws.settings)
        if dest.exists() and not dest.is_dir():
            raise ConfigError(f"--to {dest} is a file, not a folder")
        outcome = export_tables(ws.con, ws.graph, check_tables(ws.graph, chosen), export_format,  # type: ignore[arg-type]
                                dest, utc_now())
    if as_json:
        print_json(outcome.as_dict())
        return
    for table, rows in outcome.tables.items():
        console.print(f"{table}: {rows:,} rows")
    console.print(f"export {outcome.export_id} published at {escape(str(outcome.path))} "
                  f"({escape(str(dest / 'latest.json'))} points to it)")


def _csv_cell(value: object) -> object:
    """A JSON value as a CSV cell: true/false as DuckDB writes them, null as an empty cell."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


def read(
    table: str = typer.Argument(..., help="A pipeline table, e.g. analytics.player_game_summary (`nbadb processors`)."),
    first: Optional[str] = typer.Option(None, "--from", help="First date of the rows (default: the table's first)."),
    last: Optional[str] = typer.Option(None, "--to", help="Last date of the rows (default: the table's last)."),
    limit: int = typer.Option(20, "--limit", help="Rows to show, 1 to 10000."),
    as_json: bool = JsonOption,
) -> None:
    """Read a pipeline table's rows as a consumer does: from the latest export, or from the API of the
    running `nbadb serve` when the serving track routes this consumer there (NBADB_CONSUMER). Prints
    CSV (or `--json`), and on stderr how many rows of how many and where they came from."""
    from nbadb.config import get_settings
    from nbadb.orchestrate.reads import from_api, from_export
    from nbadb.pipeline.registry import build_graph
    from nbadb.rollout.routing import reads_from_api, schema_contract
    from nbadb.serve.tables import spec_of

    lo, hi = parse_date(first, "from"), parse_date(last, "to")
    if lo and hi and lo > hi:
        raise ConfigError(f"--from {lo} is after --to {hi}")
    settings = get_settings()
    graph = build_graph(schema_contract(settings))
    spec_of(graph, table)  # the API would refuse it too, but only once one is running
    answer = (from_api(settings, table, lo, hi, limit) if reads_from_api(settings)
              else from_export(settings, graph, table, lo, hi, limit))
    if as_json:
        print_json(answer.as_dict())
        return
    out = csv.writer(sys.stdout, lineterminator="\n")
    if answer.columns:
        out.writerow(answer.columns)
    out.writerows([_csv_cell(v) for v in row] for row in answer.rows)
    err_console.print(f"{len(answer.rows):,} of {answer.total:,} rows of {table} from the {answer.path} "
                      f"({escape(answer.source)})", highlight=False)


def register(app: typer.Typer) -> None:
    command(app, serve)
    command(schedule_app, schedule_show, "show")
    app.add_typer(schedule_app, name="schedule")
    command(app, manifest)
    command(app, export)
    command(app, read)
