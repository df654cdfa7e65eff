"""`gbm`: gradient-boosted trees (scikit-learn HistGradientBoostingRegressor), one model per target.

Training data for a prediction on date D: usable feature-store rows (usable_for_training) of
games strictly before the training cutoff, joined to their actual results, from the
TRAINING_DAYS days before the cutoff. Cadence: the cutoff is the Monday on or before D, so a
model is retrained once a week of as-of dates; while that week's set is smaller than
MIN_TRAINING_ROWS (the first days of a fresh warehouse) the cutoff is D itself, i.e. the model is
retrained daily until the weekly one has enough rows. Fewer than MIN_TRAINING_ROWS rows before D
→ the system raises (its breaker counts the failure): there is no fallback model, ever.

The loss is absolute error, so a prediction estimates the median outcome — the quantity that
decides an over/under bet — rather than the mean. Missing features are handled natively by the
trees. model_version = md5 of target, cutoff, FEATURE list, feature_version, hyperparameters and a
fingerprint of the training rows (their stored row hashes); fitted models are cached in process
memory under it, so a replay trains each (target, cutoff) once.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from datetime import date, timedelta
from typing import Mapping

import numpy as np
import polars as pl

from nbadb.pipeline.systems.common import TARGETS, output

TRAINING_DAYS = 730
MIN_TRAINING_ROWS = 300
CADENCE_DAYS = 7
CADENCE_ANCHOR = date(2000, 1, 3)  # a Monday: weekly cutoffs fall on Mondays
HYPERPARAMETERS = {
    "loss": "absolute_error", "learning_rate": 0.1, "max_iter": 100, "max_leaf_nodes": 15,
    "min_samples_leaf": 40, "l2_regularization": 1.0, "max_bins": 63, "early_stopping": False, "random_state": 0,
}
_INJURY_SEVERITY = {"day_to_day": 1.0, "out": 2.0, "out_for_season": 3.0}  # none / available → 0
FEATURES = (
    *(f"{s}_avg_{w}" for s in ("pts", "reb", "ast", "fg3m", "minutes")
      for w in ("last_5", "last_10", "season", "prev_season")),
    "pts_std_last_10", "usage_rate_avg_last_10", "ts_pct_avg_last_10", "games_played_season", "rest_days",
    "back_to_back", "games_last_7_days", "minutes_last_7_days", "fatigue_score", "pace_factor", "usage_spike",
    "opponent_defense", "is_home", "injury_severity",
)
_CACHE_SIZE = 16
_models: OrderedDict[str, object] = OrderedDict()  # model_version -> fitted model (process memory)


class NotEnoughTrainingData(RuntimeError):
    """Too few usable rows before the cutoff to train: the system fails rather than guess."""


def _matrix(frame: pl.DataFrame) -> np.ndarray:
    severity = pl.col("injury_status").replace_strict(_INJURY_SEVERITY, default=0.0, return_dtype=pl.Float64)
    return frame.with_columns(severity.alias("injury_severity")).select(
        [pl.col(f).cast(pl.Float64) for f in FEATURES]).to_numpy()


def _window(history: pl.DataFrame, cutoff: date) -> pl.DataFrame:
    return history.filter(pl.col("game_date") < cutoff, pl.col("game_date") >= cutoff - timedelta(days=TRAINING_DAYS))


def training_cutoff(day: date, history: pl.DataFrame) -> date:
    """The weekly cutoff (Monday on or before `day`) while it has enough rows, else `day` itself."""
    weekly = day - timedelta(days=(day - CADENCE_ANCHOR).days % CADENCE_DAYS)
    return weekly if _window(history, weekly).height >= MIN_TRAINING_ROWS else day


def model_version(target: str, cutoff: date, training: pl.DataFrame) -> str:
    """md5 over what decides the model: target, cutoff, features, hyperparameters and training rows."""
    rows = training.select(pl.concat_str("row_hash", "actual_row_hash")).to_series().sort()
    text = json.dumps([target, str(cutoff), FEATURES, sorted(training["feature_version"].unique().to_list()),
                       HYPERPARAMETERS, hashlib.md5("".join(rows).encode()).hexdigest()])
    return hashlib.md5(text.encode()).hexdigest()[:12]


def _fitted(version: str, training: pl.DataFrame, target: str) -> object:
    if version in _models:
        _models.move_to_end(version)
        return _models[version]
    from sklearn.ensemble import HistGradientBoostingRegressor

    model = HistGradientBoostingRegressor(**HYPERPARAMETERS)
    model.fit(_matrix(training), training[f"actual_{target}"].cast(pl.Float64).to_numpy())
    _models[version] = model
    if len(_models) > _CACHE_SIZE:
        _models.popitem(last=False)
    return model


def _predict_day(query: pl.DataFrame, history: pl.DataFrame, day: date) -> list[pl.DataFrame]:
    cutoff = training_cutoff(day, history)
    training = _window(history, cutoff)
    if training.height < MIN_TRAINING_ROWS:
        raise NotEnoughTrainingData(
            f"{training.height} usable training rows before {cutoff} (needs {MIN_TRAINING_ROWS}); "
            "no gbm prediction for this date"
        )
    features = _matrix(query)
    frames = []
    for target in TARGETS:
        version = model_version(target, cutoff, training)
        predicted = np.maximum(_fitted(version, training, target).predict(features), 0.0)
        frames.append(query.select("player_id", "game_date").with_columns(
            pl.lit(target).alias("target"), pl.Series("predicted_value", predicted),
            pl.lit(version).alias("model_version"), pl.lit(cutoff).alias("training_cutoff"),
            pl.lit(training.height).alias("training_rows"),
        ))
    return frames


def compute(frames: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    scope, history = frames["scope"], frames["history"]
    per_day = []
    for day in scope["game_date"].unique().sort().to_list():
        per_day += _predict_day(scope.filter(pl.col("game_date") == day), history, day)
    return output(per_day)
