"""What Prefect knows nbadb's work by: tags, and the global concurrency limits every flow honours.

- `nbadb-warehouse-writer` (1 slot): whoever opens the warehouse holds it for as long as it is open
  (`warehouse_lease`). DuckDB lets one process write a file; across workers and machines this slot
  makes them take turns instead of failing on the file lock.
- `nbadb-stats-nba-com` (a rate limit: one slot, decaying at 1 / 0.6 s): taken before every request
  to stats.nba.com by any process, so several fetching workers together stay at one call per 0.6 s.
- `nbadb-source-nba-api` (N slots): fetch flows of the nba_api source running at once.
`nbadb prefect deploy` creates them (`ensure_limits`); flows refuse to run without them (strict).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from prefect.client.orchestration import get_client
from prefect.concurrency.sync import concurrency, rate_limit

from nbadb.config import Settings
from nbadb.orchestrate.workspace import Workspace, open_workspace
from nbadb.sources.live.pacing import MIN_INTERVAL_SECONDS

WAREHOUSE_WRITER = "nbadb-warehouse-writer"
STATS_NBA_RATE = "nbadb-stats-nba-com"
NBA_API_FETCHES = "nbadb-source-nba-api"
DEFAULT_FETCH_CONCURRENCY = 2

TAG = "nbadb"
WRITER_TAG = "warehouse-writer"
NBA_API_TAG = "source:nba_api"
ARCHIVE_TAG = "source:archive"
TRAINING_TAG = "training"


@dataclass(frozen=True)
class Limit:
    name: str
    slots: int
    slot_decay_per_second: float | None = None


def limits(fetch_concurrency: int = DEFAULT_FETCH_CONCURRENCY) -> tuple[Limit, ...]:
    return (Limit(WAREHOUSE_WRITER, 1), Limit(STATS_NBA_RATE, 1, 1 / MIN_INTERVAL_SECONDS),
            Limit(NBA_API_FETCHES, fetch_concurrency))


def ensure_limits(fetch_concurrency: int = DEFAULT_FETCH_CONCURRENCY) -> tuple[Limit, ...]:
    """Create (or update) the global concurrency limits on the Prefect server."""
    wanted = limits(fetch_concurrency)
    with get_client(sync_client=True) as client:
        for limit in wanted:
            client.upsert_global_concurrency_limit_by_name(limit.name, limit.slots, limit.slot_decay_per_second)
    return wanted


@contextmanager
def warehouse_lease(settings: Settings, archive: Path | None = None) -> Iterator[Workspace]:
    """The warehouse, open for writing: a DuckDB file while this process holds the one writer slot;
    a lake (the storage track's phase 3, rollout.routing) without it, since many processes commit to
    one side by side."""
    from nbadb.rollout.routing import serving_store

    store = serving_store(settings, read_only=False)
    if store.kind == "lake":
        with open_workspace(archive, settings=settings, store=store) as ws:
            yield ws
        return
    with concurrency(WAREHOUSE_WRITER, occupy=1, strict=True), open_workspace(archive, settings=settings,
                                                                               store=store) as ws:
        yield ws


@contextmanager
def nba_api_fetch_slot() -> Iterator[None]:
    with concurrency(NBA_API_FETCHES, occupy=1, strict=True):
        yield


def before_stats_nba_request() -> None:
    """Wait for the shared stats.nba.com rate limit (NbaApiClient's `before_request`)."""
    rate_limit(STATS_NBA_RATE, strict=True)
