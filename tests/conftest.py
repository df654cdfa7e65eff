"""Shared fixtures: the bundled real archive, warehouses ingested through the real services, and
a runner for the real CLI with its own data directory.

Conventions for every test file:
- never rely on NBADB_DATA_DIR from the environment: build `Settings(data_dir=tmp_path)` (see
  `make_settings`) or call the CLI through `run_cli`, which sets it and clears the settings cache;
- the session warehouses (`warehouse_2023_24`) are shared: open them read-only (`db`) or copy
  them first (`copy_warehouse`) before changing anything;
- close every DuckDB connection you open: one process cannot hold the same file open both
  read-only and read-write;
- no test reaches the network: an autouse socket guard refuses every connect and name lookup
  for an address that is not loopback (child processes and the browser are kept on 127.0.0.1 by
  their own tests);
- the suite runs on two pytest-xdist workers, a file on one worker (`--dist loadfile`), the files
  that take longest first (`LONGEST_FIRST`, so that no long file starts last); a session warehouse
  several files read is built once for both (`built_once`).
"""

from __future__ import annotations

import fcntl
import ipaddress
import os
import shutil
import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner, Result

from nbadb.config import BUNDLED_ARCHIVE, Settings, get_settings
from nbadb.orchestrate.ingest import IngestOutcome, ingest_dates
from nbadb.orchestrate.workspace import open_workspace

DATABASE_NAME = "nba.duckdb"
pytest_plugins = ["serve_support"]


# -- plain helpers (also exposed as fixtures below) ----------------------------------------------


def make_settings(data_dir: Path, archive: Path | None = None) -> Settings:
    """Settings for a warehouse in `data_dir`, independent of the caller's NBADB_* environment."""
    return Settings(data_dir=data_dir, archive_dir=archive or BUNDLED_ARCHIVE, database_name=DATABASE_NAME)


def ingest(
    data_dir: Path,
    start: date | None = None,
    end: date | None = None,
    *,
    season: str | None = None,
    archive: Path | None = None,
    game_ids: list[str] | None = None,
) -> IngestOutcome:
    """Ingest dates (or a whole season) from an archive through the real services."""
    settings = make_settings(data_dir, archive)
    with open_workspace(archive or BUNDLED_ARCHIVE, settings=settings) as ws:
        if season is not None:
            start, end = ws.source.season_range(season)
        assert start is not None and end is not None, "give start and end, or season"
        return ingest_dates(ws, start, end, game_ids=game_ids)


def run_cli(args: Sequence[str], data_dir: Path, *, archive: Path | None = None) -> Result:
    """Invoke the real `nbadb` app in-process with NBADB_DATA_DIR set to `data_dir`."""
    from nbadb.cli.app import app

    env = {"NBADB_DATA_DIR": str(data_dir), "NBADB_ARCHIVE_DIR": str(archive or BUNDLED_ARCHIVE)}
    get_settings.cache_clear()  # settings are cached per process; this call must see its own env
    try:
        return CliRunner().invoke(app, list(args), env=env)
    finally:
        get_settings.cache_clear()


@contextmanager
def db(data_dir: Path, *, read_only: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the warehouse in `data_dir`, closed on exit."""
    con = duckdb.connect(str(data_dir / DATABASE_NAME), read_only=read_only)
    try:
        yield con
    finally:
        con.close()


def copy_warehouse(src_data_dir: Path, dst_data_dir: Path) -> Path:
    """Copy a warehouse (its file and the write-ahead log beside it) so a test can change it without
    touching the shared one."""
    dst_data_dir.mkdir(parents=True, exist_ok=True)
    for name in (DATABASE_NAME, f"{DATABASE_NAME}.wal"):
        if (src_data_dir / name).exists():
            shutil.copy2(src_data_dir / name, dst_data_dir / name)
    return dst_data_dir


def no_traceback(result: Result) -> bool:
    """True when the CLI ended through its own error handling, not an uncaught exception."""
    text = result.output + result.stderr
    return "Traceback" not in text and (result.exception is None or isinstance(result.exception, SystemExit))


def built_once(factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """A folder `build` fills, built once per test session: under pytest-xdist by whichever worker
    asks first while the others wait on a lock, in the session's folder they share."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        folder = factory.mktemp(name)
        build(folder)
        return folder
    shared = factory.getbasetemp().parent  # the session's folder, one per run, above each worker's own
    folder, done = shared / name, shared / f"{name}.built"
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.is_file():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            done.touch()
    return folder


# Test files by the time they took (longest first) in a whole run on 2 cores; the others follow in
# their own order. Only the order changes: the workers take files in this order.
LONGEST_FIRST = ("test_rollout_storage.py", "test_as_published.py", "test_prefect.py", "test_backfill.py",
                 "test_out_of_order.py", "test_serve_browser.py", "test_rollout_serving.py", "test_propagation.py", "test_lake.py", "test_provider_rollouts.py",
                 "test_prop_predictions.py", "test_patterns.py", "test_engine.py", "test_predictions.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: a file keeps its order


# -- no network: the socket guard, for every test -------------------------------------------------


class NetworkRefused(RuntimeError):
    """A test tried to reach an address that is not loopback."""


def _loopback(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def socket_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connect (or name lookup) for a non-loopback address raises NetworkRefused; Unix sockets
    and loopback pass."""
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def refuse_unless_loopback(address: object) -> None:
        if isinstance(address, tuple) and not _loopback(address[0]):
            raise NetworkRefused(f"test tried to reach {address!r}")

    def _guarded_connect(self: socket.socket, address: object) -> None:
        refuse_unless_loopback(address)
        return real_connect(self, address)

    def _guarded_connect_ex(self: socket.socket, address: object) -> int:
        refuse_unless_loopback(address)
        return real_connect_ex(self, address)

    def _guarded_getaddrinfo(host: object, *args: object, **kwargs: object) -> list:
        if host is not None and not _loopback(host):
            raise NetworkRefused(f"test tried to look up {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", _guarded_getaddrinfo)


# -- fixtures -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class IngestedWarehouse:
    data_dir: Path
    outcome: IngestOutcome

    @property
    def database_path(self) -> Path:
        return self.data_dir / DATABASE_NAME


def bundled_subset(folder: Path, *names: str) -> Path:
    """`folder` made an archive of the bundled files `names` (paths inside data/archive), linked, not copied:
    a folder of one's own with some of the real files."""
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).symlink_to(BUNDLED_ARCHIVE / name)
    return folder


@pytest.fixture(scope="session")
def archive_dir() -> Path:
    """The bundled real archive (data/archive)."""
    assert (BUNDLED_ARCHIVE / "player_game_logs.parquet").is_file(), f"bundled archive missing at {BUNDLED_ARCHIVE}"
    return BUNDLED_ARCHIVE


@pytest.fixture(scope="session")
def warehouse_2023_24(tmp_path_factory: pytest.TempPathFactory, archive_dir: Path) -> IngestedWarehouse:
    """A warehouse with the whole 2023-24 season ingested from the bundled archive. Shared: read only."""
    data_dir = tmp_path_factory.mktemp("wh_2023_24")
    outcome = ingest(data_dir, season="2023-24", archive=archive_dir)
    assert not outcome.failed, [r.error for r in outcome.failed]
    return IngestedWarehouse(data_dir, outcome)


@pytest.fixture(scope="session", name="run_cli")
def run_cli_fixture() -> Callable[..., Result]:
    """`run_cli(args, data_dir, archive=None)`: the real CLI with its own data directory."""
    return run_cli


@pytest.fixture(scope="session", name="ingest")
def ingest_fixture() -> Callable[..., IngestOutcome]:
    """`ingest(data_dir, start, end, season=..., archive=..., game_ids=...)` through the services."""
    return ingest


@pytest.fixture(scope="session", name="db")
def db_fixture() -> Callable[..., object]:
    """`with db(data_dir) as con:` a read-only connection (read_only=False to write)."""
    return db


@pytest.fixture(scope="session", name="copy_warehouse")
def copy_warehouse_fixture() -> Callable[[Path, Path], Path]:
    """`copy_warehouse(src_data_dir, dst_data_dir)`: a private copy of a (shared) warehouse."""
    return copy_warehouse


@pytest.fixture(scope="session", name="no_traceback")
def no_traceback_fixture() -> Callable[[Result], bool]:
    """`no_traceback(result)`: the CLI ended through its error handling, no uncaught exception."""
    return no_traceback


# -- a replayed window through every phase (point-in-time tests; Phase 5 may reuse it) ------------

# The end of 2022-23 (published and run at once: previous-season rows) and the first three weeks
# of 2023-24 (replayed day by day, as `nbadb replay` does). The warehouse as the replay left it at the
# end of WINDOW_MIDWAY is kept too (tests that continue the replay their own way start there).
WINDOW_PREVIOUS = (date(2023, 3, 27), date(2023, 4, 9))
WINDOW_REPLAYED = (date(2023, 10, 24), date(2023, 11, 14))
WINDOW_MIDWAY = date(2023, 11, 9)


@dataclass(frozen=True)
class ReplayedWindow:
    data_dir: Path
    midway_dir: Path  # the same replay through WINDOW_MIDWAY only (its whole data directory)
    previous: tuple[date, date] = WINDOW_PREVIOUS
    replayed: tuple[date, date] = WINDOW_REPLAYED
    midway: date = WINDOW_MIDWAY


@pytest.fixture(scope="session")
def replayed_window(tmp_path_factory: pytest.TempPathFactory, archive_dir: Path) -> ReplayedWindow:
    """WINDOW_PREVIOUS published and run, then WINDOW_REPLAYED replayed day by day, through the real
    services (copied aside at WINDOW_MIDWAY). Shared: open it read-only (`db`) or copy it first
    (`copy_warehouse`)."""
    from nbadb.orchestrate.daily import run_pipeline
    from nbadb.orchestrate.ingest import publish
    from nbadb.orchestrate.replay import replay

    def build(folder: Path) -> None:
        settings = make_settings(folder / "window", archive_dir)
        with open_workspace(archive_dir, settings=settings) as ws:
            assert not publish(ws, *WINDOW_PREVIOUS).failed
            failed = [r for r in run_pipeline(ws, WINDOW_PREVIOUS) if r.status == "failed"]
            assert not failed, [(r.processor, r.error) for r in failed]
            assert not any(day.failed for day in replay(ws, WINDOW_REPLAYED[0], WINDOW_MIDWAY))
        shutil.copytree(folder / "window", folder / "midway")
        with open_workspace(archive_dir, settings=settings) as ws:
            assert not any(day.failed for day in replay(ws, WINDOW_MIDWAY + timedelta(days=1), WINDOW_REPLAYED[1]))

    folder = built_once(tmp_path_factory, "replayed_window", build)
    return ReplayedWindow(folder / "window", folder / "midway")
