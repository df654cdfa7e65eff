"""`heuristic`: no training; the heuristic minutes × the shrunk per-minute rate × the pace and
opponent adjustment (h_<target> = min_h · rate_shr · pace_f · o_def_f^0.5, precompute.player_prop_features).
Without a league prior (the first season of the data) there is no shrunk rate: no prediction."""

from __future__ import annotations

from typing import Mapping

import polars as pl

from nbadb.pipeline.systems.common import from_column


def compute(frames: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    return from_column(frames["scope"], "h_{t}")
