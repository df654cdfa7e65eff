"""`gbm`: gradient-boosted trees (scikit-learn HistGradientBoostingRegressor), one model per target.

Training data for a prediction on date D: usable feature-store rows (can_use_for_ml_training) of
games strictly before the training cutoff, joined to their actual results, from the
TRAINING_DAYS days before the cutoff, at most the most recent TRAINING_ROWS_CAP rows (whole
dates; the cap keeps a fit near 0.15 s on two cores).

Cadence: the cutoff is the latest anchor on or before D, anchors being every other Monday
(CADENCE_DAYS = 14 days of as-of dates per model: retrains are the largest share of the system's
cost in a replay). While the anchor's set is smaller than MIN_TRAINING_ROWS (the first days of a
fresh warehouse) the cutoff is D itself, i.e. the model is retrained daily until the anchored one
has enough rows. Fewer than MIN_TRAINING_ROWS rows before D → the system raises and its breaker
counts the failure: there is no fallback model, ever.

Features: FEATURES, with injury_status as a severity (none/available 0, day_to_day 1, out 2,
out_for_season 3) and prior_<stat> = season average so far, else last season's (so a row early
in a season still has a level). No prediction for a player-game without any prior minutes form
(a rookie's first game), nor for one without a game yet this season unless the training set
holds MIN_OPENER_ROWS such rows: a model that never saw a season opener reads an opener's empty
recent-load features as a player back from a long absence and predicts far too low. Missing
values are handled natively by the trees; a feature constant or missing in the training set is
left out of that model.

The loss is absolute error, so a prediction estimates the median outcome — the quantity that
decides an over/under bet — rather than the mean. Fitting and predicting run on one thread
(systems.common.single_threaded). model_version = md5 of target, cutoff, FEATURES,
hyperparameters and a fingerprint of the training rows (their stored row hashes and feature
versions); fitted models are cached in process memory under it, so a replay fits each (target,
cutoff) once and a corrected past game leads to a new model. A model missing from memory is looked
up in the shared model store (systems.model_store, `<data dir>/models/gbm`) before it is fitted: the
training flow fits models there ahead of a prediction run, one (system, target) per worker.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

import numpy as np
import polars as pl

from nbadb.config import get_settings
from nbadb.engine.parts import NotReady

from nbadb.pipeline.systems import model_store
from nbadb.pipeline.systems.common import FORM_STATS, TARGETS, per_game_day, prior_form, with_prior_forms

if TYPE_CHECKING:
    from sklearn.ensemble import HistGradientBoostingRegressor

TRAINING_DAYS = 730
TRAINING_ROWS_CAP = 12_000
MIN_TRAINING_ROWS = 300
MIN_OPENER_ROWS = 200  # training rows without a game yet in their season needed to predict such rows
CADENCE_DAYS = 14
CADENCE_ANCHOR = date(2000, 1, 3)  # a Monday: cutoffs fall on every other Monday
HYPERPARAMETERS = {
    "loss": "absolute_error", "learning_rate": 0.2, "max_iter": 40, "max_leaf_nodes": 15,
    "min_samples_leaf": 40, "l2_regularization": 1.0, "max_bins": 63, "early_stopping": False, "random_state": 0,
}
_INJURY_SEVERITY = {"day_to_day": 1.0, "out": 2.0, "out_for_season": 3.0}  # none / available → 0
FEATURES = (
    *(f"{s}_avg_{w}" for s in FORM_STATS for w in ("last_5", "last_10", "season", "prev_season")),
    "pts_std_last_10", "usage_rate_avg_last_10", "ts_pct_avg_last_10", "games_played_season", "rest_days",
    "back_to_back", "games_last_7_days", "minutes_last_7_days", "fatigue_score", "pace_factor", "usage_spike",
    "opponent_defense", "is_home", "injury_severity", *(f"prior_{s}" for s in FORM_STATS),
)


class NotEnoughTrainingData(NotReady):
    """Too few usable rows before the cutoff to train: the system cannot predict yet (never a
    fallback model); it says so and counts on no breaker."""


def _matrix(frame: pl.DataFrame) -> np.ndarray:
    severity = pl.col("injury_status").replace_strict(_INJURY_SEVERITY, default=0.0, return_dtype=pl.Float64)
    return with_prior_forms(frame).with_columns(severity.alias("injury_severity")).select(
        [pl.col(f).cast(pl.Float64) for f in FEATURES]).to_numpy()


def _window(history: pl.DataFrame, cutoff: date) -> pl.DataFrame:
    """Training rows for `cutoff`: the last TRAINING_DAYS before it, at most the most recent dates
    holding TRAINING_ROWS_CAP rows (whole dates, so the set never depends on row order)."""
    rows = history.filter(pl.col("game_date") < cutoff, pl.col("game_date") >= cutoff - timedelta(days=TRAINING_DAYS))
    if rows.height <= TRAINING_ROWS_CAP:
        return rows
    oldest = rows["game_date"].sort(descending=True)[TRAINING_ROWS_CAP - 1]
    return rows.filter(pl.col("game_date") > oldest)


def training_cutoff(day: date, history: pl.DataFrame) -> date:
    """The latest cadence anchor on or before `day` while it has enough rows, else `day` itself."""
    anchor = day - timedelta(days=(day - CADENCE_ANCHOR).days % CADENCE_DAYS)
    return anchor if _window(history, anchor).height >= MIN_TRAINING_ROWS else day


def training_digest(training: pl.DataFrame) -> str:
    """Fingerprint of a training set, independent of row order: its size, feature versions and the
    sums of the first 40 bits of its rows' stored hashes (features row and result row)."""
    sums = training.select(
        pl.col(c).str.slice(0, 10).str.to_integer(base=16).sum() for c in ("row_hash", "actual_row_hash")
    ).row(0)
    versions = sorted(training["feature_version"].unique().to_list())
    return hashlib.md5(json.dumps([training.height, *sums, versions]).encode()).hexdigest()


def model_version(target: str, cutoff: date, digest: str) -> str:
    """md5 over what decides a model: target, cutoff, features, hyperparameters and training rows."""
    text = json.dumps([target, str(cutoff), FEATURES, HYPERPARAMETERS, digest])
    return hashlib.md5(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class _Model:
    """A fitted regressor and the FEATURES columns it uses: those with at least two distinct values
    in its training set (a column that is constant or all missing there tells the trees nothing)."""

    regressor: HistGradientBoostingRegressor
    columns: np.ndarray

    def predict(self, features: np.ndarray) -> np.ndarray:
        return np.maximum(self.regressor.predict(features[:, self.columns]), 0.0)


_CACHE_SIZE = 16
_models: OrderedDict[str, _Model] = OrderedDict()  # model_version -> fitted model (process memory)


def store_folder() -> Path:
    """gbm's folder in the shared model store."""
    return get_settings().models_dir / "gbm"


def fit(training: pl.DataFrame, target: str) -> _Model:
    """A model of `target` fitted on `training` (call inside systems.common.single_threaded)."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    x, y = _matrix(training), training[f"actual_{target}"].cast(pl.Float64).to_numpy()
    columns = np.array([j for j in range(x.shape[1]) if len(np.unique(x[~np.isnan(x[:, j]), j])) > 1], dtype=int)
    return _Model(HistGradientBoostingRegressor(**HYPERPARAMETERS).fit(x[:, columns], y), columns)


def training_set(history: pl.DataFrame, day: date) -> tuple[date, pl.DataFrame]:
    """The training cutoff for a prediction on `day` and its training rows (from the history `day` may see)."""
    cutoff = training_cutoff(day, history)
    return cutoff, _window(history, cutoff)


def _fitted(version: str, training: pl.DataFrame, target: str) -> _Model:
    """The model `version` names: from the process cache, else the shared store, else fitted on
    `training`; cached in process memory."""
    if version in _models:
        _models.move_to_end(version)
        return _models[version]
    model = model_store.load(store_folder(), version) or fit(training, target)
    _models[version] = model
    if len(_models) > _CACHE_SIZE:
        _models.popitem(last=False)
    return model


def _predict_day(query: pl.DataFrame, history: pl.DataFrame, day: date) -> list[pl.DataFrame]:
    cutoff, training = training_set(history, day)
    if training.height < MIN_TRAINING_ROWS:
        raise NotEnoughTrainingData(
            f"{training.height} usable training rows before {cutoff} (needs {MIN_TRAINING_ROWS}); "
            "no gbm prediction for this date"
        )
    query = query.filter(prior_form("minutes").is_not_null())
    if training.filter(pl.col("games_played_season") == 0).height < MIN_OPENER_ROWS:
        query = query.filter(pl.col("games_played_season") > 0)
    if query.is_empty():
        return []
    features, digest = _matrix(query), training_digest(training)
    frames = []
    for target in TARGETS:
        version = model_version(target, cutoff, digest)
        model = _fitted(version, training, target)
        frames.append(query.select("player_id", "game_date").with_columns(
            pl.lit(target).alias("target"), pl.Series("predicted_value", model.predict(features)),
            pl.lit(version).alias("model_version"), pl.lit(cutoff).alias("training_cutoff"),
            pl.lit(training.height).alias("training_rows"),
        ))
    return frames


def compute(frames: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    return per_game_day(frames, _predict_day)
