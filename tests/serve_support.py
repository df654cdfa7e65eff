"""Fixtures and helpers for the `nbadb serve` tests (loaded by conftest.py as a pytest plugin).

- `early_november`: a warehouse replayed through 2023-11-04..05 (the days before a game day, a day
  without games — Election Day, 2023-11-07 — and another game day). Shared: copy it first;
- `FakeClock`: the server's clock, moved by the test; `eastern(...)`: an Eastern wall time as the
  naive UTC instant the clock speaks;
- `served(...)`: the real serve app (the object `nbadb serve` runs) on a data dir, on port 0, with
  the schedule driven by the test (`app.run_due()`) instead of APScheduler's timers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from nbadb.config import BUNDLED_ARCHIVE, Settings
from nbadb.orchestrate.replay import replay
from nbadb.orchestrate.workspace import open_workspace
from nbadb.serve.app import ServeApp

EARLY_NOVEMBER = (date(2023, 11, 4), date(2023, 11, 5))
NO_GAMES = date(2023, 11, 7)
EASTERN = ZoneInfo("America/New_York")


def eastern(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=EASTERN).astimezone(timezone.utc).replace(tzinfo=None)


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, now: datetime) -> None:
        self.now = now


def serve_settings(data_dir: Path, **overrides: object) -> Settings:
    return Settings(data_dir=data_dir, archive_dir=BUNDLED_ARCHIVE, **overrides)


@contextmanager
def served(data_dir: Path, clock: FakeClock, archive: Path = BUNDLED_ARCHIVE, **overrides: object) -> Iterator[ServeApp]:
    app = ServeApp(serve_settings(data_dir, **overrides), archive, port=0, clock=clock, drive=False).start()
    try:
        yield app
    finally:
        app.stop()


@pytest.fixture(scope="session")
def early_november(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from conftest import built_once

    def build(data_dir: Path) -> None:
        with open_workspace(BUNDLED_ARCHIVE, settings=serve_settings(data_dir)) as ws:
            assert not any(day.failed for day in replay(ws, *EARLY_NOVEMBER))

    return built_once(tmp_path_factory, "early_november", build)
