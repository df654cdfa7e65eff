"""`baseline`: the player's season average so far (pg_s_<target>), the naive forecast every other
system is judged against. No game yet this season: no prediction; when no row of the run has one
(a season's opening day), the part says so (NotReady)."""

from __future__ import annotations

from typing import Mapping

import polars as pl

from nbadb.engine.parts import NotReady
from nbadb.pipeline.systems.common import from_column


def compute(frames: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    scope = frames["scope"]
    predicted = from_column(scope, "pg_s_{t}")
    if predicted.is_empty() and not scope.is_empty():
        raise NotReady("no season average yet: no player of these days has played a game of the season before them")
    return predicted
