"""One HTTP request to stats.nba.com, sent by nba_api's own stats client over a requests session
of ours (nba_api's default session is shared by the whole process), with the headers and timeout
stats.nba.com needs. Returns the requests.Response itself: nba_api keeps only the decoded text,
and the archive keeps the bytes."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from nbadb.sources.live.errors import UpstreamError

if TYPE_CHECKING:
    import requests

TIMEOUT_SECONDS = 30.0

# What a browser on nba.com sends; stats.nba.com stalls or refuses requests without these. No
# "br" in Accept-Encoding: requests decodes brotli only when an optional package is installed.
HEADERS = {
    "User-Agent": (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/145.0.0.0 Safari/537.36"
    ),
    "Accept": "application/json, text/plain, */*",
    "Accept-Language": "en-US,en;q=0.9",
    "Accept-Encoding": "gzip, deflate",
    "Referer": "https://www.nba.com/",
    "Origin": "https://www.nba.com",
    "x-nba-stats-origin": "stats",
    "x-nba-stats-token": "true",
    "Connection": "keep-alive",
    "Pragma": "no-cache",
    "Cache-Control": "no-cache",
}


class _ResponseKeeper:
    """What nba_api sees as its session: passes get() on to ours and keeps the response."""

    def __init__(self, session: requests.Session) -> None:
        self.session = session
        self.response: requests.Response | None = None

    def get(self, **kwargs: Any) -> requests.Response:
        self.response = self.session.get(**kwargs)
        return self.response


@cache
def _session_bound_http() -> type:
    """nba_api's NBAStatsHTTP, made to use the session it is given (built on first use, so that
    importing nbadb never imports nba_api)."""
    from nba_api.stats.library.http import NBAStatsHTTP

    class SessionBoundHTTP(NBAStatsHTTP):
        def __init__(self, session: _ResponseKeeper) -> None:
            self._bound_session = session

        def get_session(self) -> _ResponseKeeper:
            return self._bound_session

    return SessionBoundHTTP


def send(session: requests.Session, endpoint: str, params: Mapping[str, str]) -> requests.Response:
    """GET stats.nba.com/stats/<endpoint> with `params` through nba_api. Raises what requests
    raises (Timeout, ConnectionError, ...); any HTTP status is returned, not raised."""
    keeper = _ResponseKeeper(session)
    http = _session_bound_http()(keeper)
    http.send_api_request(endpoint=endpoint, parameters=dict(params), headers=HEADERS, timeout=TIMEOUT_SECONDS)
    if keeper.response is None:  # nba_api serves from its debug storage when that is switched on
        raise UpstreamError(f"nba_api answered {endpoint} from its debug storage instead of a request; switch it off")
    return keeper.response
