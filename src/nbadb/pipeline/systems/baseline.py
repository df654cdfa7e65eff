"""`baseline`: the player's season average so far (pg_s_<target>), the naive forecast every other
system is judged against. No game yet this season: no prediction."""

from __future__ import annotations

from typing import Mapping

import polars as pl

from nbadb.pipeline.systems.common import from_column


def compute(frames: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    return from_column(frames["scope"], "pg_s_{t}")
