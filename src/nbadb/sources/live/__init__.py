"""The live source: stats.nba.com through nba_api, every response archived raw before it is
parsed into the archive's file layouts, and the same day replayable offline from that archive.

    client = NbaApiClient(requests.Session(), RawArchive(folder), con=warehouse_connection)
    day = fetch_day(client, date(2025, 11, 5))                  # live
    same = fetch_day(RawArchiveReader(folder), date(2025, 11, 5))  # offline, same frames

Needs the `live` extra (nba_api, requests); this package imports them only when a call needs them.
"""

from __future__ import annotations

from nbadb.sources.live.archive import ArchivedResponse, RawArchive, RawArchiveReader
from nbadb.sources.live.client import NbaApiClient
from nbadb.sources.live.day import DayFetch, RawSource, SeasonCache, fetch_day
from nbadb.sources.live.errors import BreakerOpenError, MalformedPayloadError, NotArchivedError, UpstreamError

__all__ = [
    "ArchivedResponse", "BreakerOpenError", "DayFetch", "MalformedPayloadError", "NbaApiClient", "NotArchivedError",
    "RawArchive", "RawArchiveReader", "RawSource", "SeasonCache", "UpstreamError", "fetch_day",
]
