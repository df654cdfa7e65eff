"""The live source: stats.nba.com through nba_api on an injected requests session, paced (one
call per 0.6 s at most), retried with jittered exponential backoff on timeouts, connection errors,
429 and 5xx, guarded by a durable breaker per endpoint, and every response archived raw before
anyone parses it."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from nbadb.config import get_settings
from nbadb.engine.breakers import BreakerPolicy
from nbadb.sources.live.archive import ArchivedResponse, RawArchive
from nbadb.sources.live.breaker import EndpointBreakers
from nbadb.sources.live.endpoints import canonical_params
from nbadb.sources.live.errors import UpstreamError
from nbadb.sources.live.pacing import DEFAULT_RETRY, MIN_INTERVAL_SECONDS, Clock, RetryPolicy, SystemClock, Throttle
from nbadb.sources.live.transport import send

if TYPE_CHECKING:
    import duckdb
    import requests


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


class NbaApiClient:
    """`get(endpoint, params) -> ArchivedResponse`, the same interface as RawArchiveReader.

    `con` (optional) is a warehouse connection holding ops.circuit_breakers; without it no breaker
    is consulted. A call that ends without an HTTP 200 raises UpstreamError and counts as one
    failure on the endpoint's breaker, whatever number of attempts it took. `before_request` (optional)
    is called before every request, after the throttle: a limit shared with other processes (the
    Prefect flows' stats.nba.com rate limit)."""

    def __init__(
        self,
        session: requests.Session,
        archive: RawArchive,
        *,
        con: duckdb.DuckDBPyConnection | None = None,
        breaker_policy: BreakerPolicy | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        min_interval: float = MIN_INTERVAL_SECONDS,
        before_request: Callable[[], None] | None = None,
    ) -> None:
        self.session = session
        self.archive = archive
        self.retry = retry
        self.clock = clock or SystemClock()
        self.rng = rng or random.Random()
        self.throttle = Throttle(self.clock, min_interval)
        self.before_request = before_request
        self.breakers: EndpointBreakers | None = None
        if con is not None:
            self.breakers = EndpointBreakers(con, breaker_policy or BreakerPolicy.from_settings(get_settings()))

    def get(self, endpoint: str, params: Mapping[str, object]) -> ArchivedResponse:
        """The endpoint's HTTP 200 response for `params`, archived. Raises BreakerOpenError (no
        request made) or UpstreamError (after the last attempt)."""
        params = canonical_params(params)
        if self.breakers:
            self.breakers.refuse_if_open(endpoint, self.clock.utc_now())
        try:
            response = self._attempts(endpoint, params)
        except UpstreamError as exc:
            if self.breakers:
                self.breakers.record(endpoint, ok=False, error=str(exc), now=self.clock.utc_now())
            raise
        if self.breakers:
            self.breakers.record(endpoint, ok=True, now=self.clock.utc_now())
        return response

    def _attempts(self, endpoint: str, params: dict[str, str]) -> ArchivedResponse:
        import requests

        problem = ""
        for attempt in range(1, self.retry.attempts + 1):
            if attempt > 1:
                self.clock.sleep(self.retry.backoff(attempt - 1, self.rng))
            self.throttle.wait()
            if self.before_request:
                self.before_request()
            try:
                http = send(self.session, endpoint, params)
            except (requests.Timeout, requests.ConnectionError) as exc:
                problem = f"{type(exc).__name__}: {exc}"
                continue
            archived = self.archive.store(endpoint, params, url=http.url, http_status=http.status_code,
                                          body=http.content, fetched_at=self.clock.utc_now())
            if http.status_code == 200:
                return archived
            problem = f"HTTP {http.status_code} (body archived at {archived.path})"
            if not _retryable(http.status_code):
                raise UpstreamError(f"stats.nba.com {endpoint} {params} answered {problem}; not retried")
        raise UpstreamError(f"stats.nba.com {endpoint} {params} failed {self.retry.attempts} attempts; "
                            f"last: {problem}. Try again later.")
