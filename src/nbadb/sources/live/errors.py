"""Errors of the live source. Each message says what failed, where, and what to do next."""

from __future__ import annotations

from pathlib import Path

from nbadb.errors import ArchiveMissingError, NbadbError


class UpstreamError(NbadbError):
    """stats.nba.com gave no usable response: retries ran out, or the status cannot be retried."""

    exit_code = 6


class BreakerOpenError(UpstreamError):
    """The endpoint's durable breaker is open, so the call was refused before any request."""


class MalformedPayloadError(NbadbError):
    """An archived response body is not the payload its endpoint returns."""

    exit_code = 3

    def __init__(self, endpoint: str, path: Path, problem: str) -> None:
        super().__init__(
            f"the {endpoint} response archived at {path} is malformed: {problem}. Nothing was parsed from it.")
        self.endpoint = endpoint
        self.path = path
        self.problem = problem


class NotArchivedError(ArchiveMissingError):
    """The raw archive has no successful response for a request, so it cannot be replayed offline."""
