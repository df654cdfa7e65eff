"""Helpers of the migration control plane's track tests: the days of a walk, and a track's flags on."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from nbadb.rollout.flags import DUAL_WRITE_FLAG, SHADOW_FLAG, TRACK_FLAGS


def days(first: date, last: date) -> list[date]:
    """Every day of [first, last], in order."""
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def switch_on(monkeypatch: pytest.MonkeyPatch, track: str) -> None:
    """The track's flag and both phase flags true from the environment, no config file read."""
    for name in (TRACK_FLAGS[track], SHADOW_FLAG, DUAL_WRITE_FLAG):
        monkeypatch.setenv(name, "true")
    monkeypatch.delenv("NBADB_CONFIG_FILE", raising=False)
