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

from typing import Mapping

import numpy as np
import polars as pl

from nbadb.pipeline.systems.common import TARGETS, before, output, prior_form

OWN_NEIGHBOURS = 10
OWN_WEIGHT = 3
ANY_NEIGHBOURS = 200
RECENT_POOL = 5_000
REST_CAP = 4


def _situation(frame: pl.DataFrame) -> np.ndarray:
    trends = [(pl.col(f"{t}_avg_last_10") - prior_form(t)) / (prior_form(t) + 1) for t in TARGETS]
    return frame.select(
        pl.col("minutes_avg_last_10"), prior_form("minutes"), pl.col("rest_days").clip(0, REST_CAP),
        pl.col("is_home").cast(pl.Float64), pl.col("fatigue_score"), pl.col("opponent_defense"),
        pl.col("pace_factor"), prior_form("pts"), *trends,
    ).cast(pl.Float64).to_numpy()


def _standardise(past: np.ndarray, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scale both by the past's mean and std; missing values become 0 (the mean)."""
    mean = np.nan_to_num(np.nanmean(past, axis=0))
    std = np.nan_to_num(np.nanstd(past, axis=0))
    std[std == 0] = 1.0
    return np.nan_to_num((past - mean) / std), np.nan_to_num((query - mean) / std)


def _nearest(candidates: np.ndarray, points: np.ndarray, k: int) -> np.ndarray:
    """Indices (one row per point) of the k nearest candidates (squared euclidean distance)."""
    distances = (candidates**2).sum(axis=1)[None, :] - 2 * points @ candidates.T
    k = min(k, len(candidates))
    return np.argpartition(distances, k - 1, axis=1)[:, :k]


def _own_nearest(past: pl.DataFrame, past_x: np.ndarray, query: pl.DataFrame, query_x: np.ndarray) -> np.ndarray:
    """Per query row, indices of the player's own nearest past games (padded with -1)."""
    own = dict(past.with_row_index("i").group_by("player_id").agg("i").iter_rows())
    chosen = np.full((query.height, OWN_NEIGHBOURS), -1)
    for row, pid in enumerate(query["player_id"].to_list()):
        mine = np.asarray(own.get(pid, []), dtype=np.int64)
        if len(mine):
            near = mine[_nearest(past_x[mine], query_x[row : row + 1], OWN_NEIGHBOURS)[0]]
            chosen[row, : len(near)] = near
    return chosen


def _predict_day(query: pl.DataFrame, past: pl.DataFrame) -> list[pl.DataFrame]:
    past = past.filter(prior_form("minutes").is_not_null()).sort("game_date")
    if past.is_empty() or query.is_empty():
        return []
    past_x, query_x = _standardise(_situation(past), _situation(query))
    pool_start = max(past.height - RECENT_POOL, 0)
    neighbours = np.hstack([
        np.repeat(_own_nearest(past, past_x, query, query_x), OWN_WEIGHT, axis=1),
        pool_start + _nearest(past_x[pool_start:], query_x, ANY_NEIGHBOURS),
    ])
    keys = query.select("player_id", "game_date")
    frames = []
    for t in TARGETS:
        surprise = (past[f"actual_{t}"].cast(pl.Float64) - past.select(prior_form(t)).to_series()).to_numpy()
        picked = np.append(surprise, np.nan)[neighbours]  # padding (-1) picks the NaN
        level = query.select(prior_form(t)).to_series().to_numpy()
        frames.append(keys.with_columns(
            pl.lit(t).alias("target"),
            pl.Series("predicted_value", np.maximum(level + np.nanmedian(picked, axis=1), 0.0)),
        ).filter(pl.col("predicted_value").is_not_nan()))
    return frames


def compute(frames: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    scope, history = frames["scope"], frames["history"]
    per_day = []
    for day in scope["game_date"].unique().sort().to_list():
        per_day += _predict_day(scope.filter(pl.col("game_date") == day), before(history, day))
    return output(per_day)
