"""`similarity`: how players beat or missed their form in past games that looked like this one.

Situation vector (one per player-game, each feature standardised with the mean and std of the
history the prediction may see; a missing value sits at the mean):
    minutes_avg_last_10, prior minutes form, rest_days (capped at 4), is_home, fatigue_score,
    opponent_defense, pace_factor, prior points form, and per target t the recent trend
    (t_avg_last_10 − prior t form) / (prior t form + 1),
where prior form = season average so far, else last season's.

Neighbours come from usable feature-store rows of games strictly before the game date, joined to
their results: the player's own 10 nearest past games first, each counted 3 times, then the 200
nearest among the 5,000 most recent games of any player. A neighbour's surprise is its actual
result minus its prior form then; the prediction is the player's prior form plus the median
surprise of the neighbours (a median, so the skew of counting stats is respected). No prior form,
or no history before the date → no prediction.
"""

from __future__ import annotations

import warnings
from typing import Mapping

import numpy as np
import polars as pl

from nbadb.pipeline.systems.common import TARGETS, per_game_day, with_prior_forms

OWN_NEIGHBOURS = 10
OWN_WEIGHT = 3
ANY_NEIGHBOURS = 200
RECENT_POOL = 5_000
REST_CAP = 4


def _situation(frame: pl.DataFrame) -> np.ndarray:
    """The situation vectors of `frame`'s rows: float32 (distances need no more) and row-major
    (polars hands out column-major arrays, which make the distance products far slower)."""
    trends = [(pl.col(f"{t}_avg_last_10") - pl.col(f"prior_{t}")) / (pl.col(f"prior_{t}") + 1) for t in TARGETS]
    return frame.select(
        pl.col("minutes_avg_last_10"), pl.col("prior_minutes"), pl.col("rest_days").clip(0, REST_CAP),
        pl.col("is_home").cast(pl.Float64), pl.col("fatigue_score"), pl.col("opponent_defense"),
        pl.col("pace_factor"), pl.col("prior_pts"), *trends,
    ).cast(pl.Float32).to_numpy(order="c")


def _standardise(past: np.ndarray, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scale both by the past's mean and std; missing values become 0 (the mean). A feature the
    past never has (all missing) is 0 everywhere."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-missing columns: handled just below
        mean, std = np.nanmean(past, axis=0), np.nanstd(past, axis=0)
    mean, std = np.nan_to_num(mean), np.nan_to_num(std)
    std[std == 0] = 1.0
    return np.nan_to_num((past - mean) / std), np.nan_to_num((query - mean) / std)


def _nearest(distances: np.ndarray, k: int) -> np.ndarray:
    """Per row of `distances`, the columns of its k smallest (all columns when there are fewer)."""
    if distances.shape[1] <= k:
        return np.broadcast_to(np.arange(distances.shape[1]), distances.shape)
    return np.argpartition(distances, k - 1, axis=1)[:, :k]


def _any_nearest(past_x: np.ndarray, query_x: np.ndarray) -> np.ndarray:
    """Per query row, the ANY_NEIGHBOURS nearest among the RECENT_POOL most recent past rows."""
    start = max(len(past_x) - RECENT_POOL, 0)
    pool = past_x[start:]
    distances = (pool**2).sum(axis=1)[None, :] - 2 * query_x @ pool.T  # + |q|², the same for a row
    return start + _nearest(distances, ANY_NEIGHBOURS)


def _own_nearest(past: pl.DataFrame, past_x: np.ndarray, query: pl.DataFrame, query_x: np.ndarray) -> np.ndarray:
    """Per query row, the player's own OWN_NEIGHBOURS nearest past games (padded with -1)."""
    own = dict(past.with_row_index("i").group_by("player_id").agg("i").iter_rows())
    mine = [own.get(pid, []) for pid in query["player_id"].to_list()]
    width = max(map(len, mine), default=0)
    if width == 0:
        return np.full((query.height, 1), -1)
    candidates = np.full((query.height, width), -1)
    for row, games in enumerate(mine):
        candidates[row, : len(games)] = games
    distances = ((past_x[candidates] - query_x[:, None, :]) ** 2).sum(axis=2)
    distances[candidates < 0] = np.inf
    nearest = _nearest(distances, OWN_NEIGHBOURS)
    picked = np.take_along_axis(candidates, nearest, axis=1)
    return np.where(np.isfinite(np.take_along_axis(distances, nearest, axis=1)), picked, -1)


def _predict_day(query: pl.DataFrame, past: pl.DataFrame) -> list[pl.DataFrame]:
    past = with_prior_forms(past).filter(pl.col("prior_minutes").is_not_null()).sort("game_date", "player_id")
    if past.is_empty() or query.is_empty():
        return []
    query = with_prior_forms(query)
    past_x, query_x = _standardise(_situation(past), _situation(query))
    neighbours = np.hstack([
        np.repeat(_own_nearest(past, past_x, query, query_x), OWN_WEIGHT, axis=1),
        _any_nearest(past_x, query_x),
    ])
    keys = query.select("player_id", "game_date")
    frames = []
    for t in TARGETS:
        surprise = (past[f"actual_{t}"].cast(pl.Float64) - past[f"prior_{t}"]).to_numpy()
        picked = np.append(surprise, np.nan)[neighbours]  # padding (-1) picks the NaN
        predicted = query[f"prior_{t}"].to_numpy() + np.nanmedian(picked, axis=1)
        frames.append(keys.with_columns(
            pl.lit(t).alias("target"), pl.Series("predicted_value", np.maximum(predicted, 0.0)),
        ).filter(pl.col("predicted_value").is_not_nan()))
    return frames


def compute(frames: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    return per_game_day(frames, lambda scope, past, day: _predict_day(scope, past))
