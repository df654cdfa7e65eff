"""`heuristic`: no training; the heuristic minutes × the shrunk per-minute rate × the pace and
opponent adjustment (h_<target> = min_h · rate_shr · pace_f · o_def_f^0.5, precompute.player_prop_features).
Without a league prior (the league's previous season: the first season of the data has none) there
is no shrunk rate and no prediction; when no row of the run has one, the part says so (NotReady)."""

from __future__ import annotations

from typing import Mapping

import polars as pl

from nbadb.engine.parts import NotReady
from nbadb.pipeline.systems.common import from_column


def compute(frames: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    scope = frames["scope"]
    predicted = from_column(scope, "h_{t}")
    if predicted.is_empty() and not scope.is_empty():
        seasons = ", ".join(sorted(scope["season"].unique().cast(pl.Utf8).to_list()))
        raise NotReady(f"no league prior: season {seasons} has no previous season in the warehouse "
                       "to shrink per-minute rates toward")
    return predicted
