"""Fetch one day from stats.nba.com, or re-parse its raw archive offline, into an archive folder
(sources.live.materialise) that `nbadb ingest/replay --archive` publishes like any other."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from nbadb.errors import ConfigError

if TYPE_CHECKING:
    import duckdb

    from nbadb.sources.live import RawSource, SeasonCache


@dataclass
class FetchOutcome:
    day: date
    season: str
    games: int
    final_games: int
    files: list[Path] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"day": str(self.day), "season": self.season, "games": self.games, "final_games": self.final_games,
                "files": [str(f) for f in self.files]}


def raw_source(raw_dir: Path, *, from_raw: bool, con: duckdb.DuckDBPyConnection | None = None,
               before_request: Callable[[], None] | None = None) -> RawSource:
    """The raw archive at `raw_dir` read offline (`from_raw`), else the live client archiving into it
    (its endpoint breakers in `con`'s warehouse when given; `before_request` before every request)."""
    try:
        from nbadb.sources.live import NbaApiClient, RawArchive, RawArchiveReader
    except ModuleNotFoundError as exc:
        raise ConfigError(f"the live source needs the `live` extra ({exc.name} is missing): "
                          "pip install -e '.[live]'") from None
    if from_raw:
        return RawArchiveReader(raw_dir)
    import requests

    return NbaApiClient(requests.Session(), RawArchive(raw_dir), con=con, before_request=before_request)


def fetch_to_archive(source: RawSource, day: date, archive_dir: Path, cache: SeasonCache | None = None) -> FetchOutcome:
    """Fetch (or replay) `day` from `source` and materialise it into `archive_dir`."""
    from nbadb.sources.live import fetch_day
    from nbadb.sources.live.materialise import materialise

    fetched = fetch_day(source, day, cache)
    files = materialise(fetched, archive_dir)
    finals = fetched.scoreboard.filter(pl.col("STATUS") == "final").height
    return FetchOutcome(day, fetched.season, fetched.scoreboard.height, finals, files)
