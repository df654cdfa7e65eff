"""`gbm`: LightGBM models per target, trained once per season on every earlier season's rows.

Anchor: the model of season S is trained before S's opener (the first date of S in
precompute.player_prop_features) on the feature rows of the TRAINING_SEASONS seasons before S
whose player played (a result row), each result in the version published before the opener's date
began. So the model for any date of S is the same whatever the runs were batched as, and it is
stored (systems.model_store, `<data dir>/models/gbm`) under model_version = md5 of target, season,
opener, features, parameters and a digest of the training rows: fitted once, then loaded.

Fit (deterministic: one thread per model, seed 0, deterministic mode; the models a run lacks are fitted
side by side, Settings.fit_width of them at once): objective l1 for pts, reb, ast (the
prediction estimates the median), poisson for fg3m (μ). Early stopping on a time-ordered split
(the last VALIDATION_SHARE of training dates, patience PATIENCE), then a refit on every row with
best_iteration × REFIT_FACTOR rounds. fg3m: α of NB2(μ, α) is fitted by maximum likelihood on the
validation split's out-of-sample (μ, y) pairs (systems.negative_binomial); the point forecast is
the NB2 median, `mean_value` = μ and `dispersion` = α carry the distribution to the probabilities.
Parameters, between REPORT §4's 'cheap' and 'tiny' variants (two seasons of history, 15 leaves,
63 bins, bagging 0.5, learning rate 0.2, at most MAX_ROUNDS rounds), keep a 9-season backfill's
training to minutes on one core: the main recipe (lr 0.1, 31 leaves, all seasons) took ~75 s per
model here, and the research measured ≤ 0.3–0.7 pp lost by such cheaper variants.

No fallback: a season without enough training rows (MIN_TRAINING_ROWS; the first season of the
data has none) gets no gbm prediction, and the part says why (NotReady).
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import polars as pl

from nbadb.engine.parts import NotReady, PartInputs
from nbadb.pipeline.systems import model_store
from nbadb.pipeline.systems import negative_binomial as nb
from nbadb.pipeline.systems.common import TARGETS, output
from nbadb.pipeline.systems.gbm_features import features
from nbadb.pipeline.systems.parts import TRAINING_SEASONS

MIN_TRAINING_ROWS = 1_000
VALIDATION_SHARE = 0.15
PATIENCE = 20
MAX_ROUNDS = 150
REFIT_FACTOR = 1.15
OBJECTIVE = {"pts": "l1", "reb": "l1", "ast": "l1", "fg3m": "poisson"}
PARAMETERS = {
    "learning_rate": 0.2, "num_leaves": 15, "min_data_in_leaf": 200, "max_bin": 63, "feature_fraction": 0.8,
    "bagging_fraction": 0.5, "bagging_freq": 1, "lambda_l2": 1.0, "seed": 0, "deterministic": True,
    "force_row_wise": True, "num_threads": 1, "verbosity": -1,
}
STORE = "gbm"  # its folder in the workspace's model store (Settings.models_dir)
_CACHE_SIZE = 16
_models: OrderedDict[str, "Model"] = OrderedDict()


@dataclass(frozen=True)
class Recipe:
    """How a model is fitted: LightGBM parameters (the objective is the target's, OBJECTIVE), the most
    rounds of the early-stopping probe, its patience, and columns read beside the target's features.
    The part fits RECIPE; bench/prediction_ceiling.py fits others on the same rows to measure what a
    stronger fit, or an oracle column, would gain."""

    parameters: Mapping[str, Any]
    max_rounds: int = MAX_ROUNDS
    patience: int = PATIENCE
    extra_columns: tuple[str, ...] = ()

    def columns(self, target: str) -> tuple[str, ...]:
        return features(target) + self.extra_columns


RECIPE = Recipe(PARAMETERS)


@dataclass(frozen=True)
class Model:
    """A fitted booster, its rounds, and for fg3m the NB2 α."""

    booster: Any
    rounds: int
    alpha: float | None


def model_version(target: str, season: str, opener: object, digest: str) -> str:
    text = json.dumps([target, season, str(opener), features(target), OBJECTIVE[target], PARAMETERS,
                       TRAINING_SEASONS, VALIDATION_SHARE, PATIENCE, MAX_ROUNDS, REFIT_FACTOR, digest])
    return hashlib.md5(text.encode()).hexdigest()[:12]


def matrix(frame: pl.DataFrame, columns: tuple[str, ...]) -> np.ndarray:
    """The model input: `columns` of `frame` as floats (a null is LightGBM's missing value)."""
    return frame.select([pl.col(c).cast(pl.Float64) for c in columns]).to_numpy()


def fit(training: pl.DataFrame, target: str, recipe: Recipe = RECIPE) -> Model:
    """The model of `target` fitted on `training` (feature rows with actual_<target>) by `recipe`, as the module says."""
    import lightgbm as lgb

    training = training.sort("game_date", "player_id")
    x, y = matrix(training, recipe.columns(target)), training[f"actual_{target}"].cast(pl.Float64).to_numpy()
    days = training["game_date"].unique().sort()
    split = days[int(len(days) * (1 - VALIDATION_SHARE))]
    valid = (training["game_date"] >= split).to_numpy()
    params = {**recipe.parameters, "objective": OBJECTIVE[target]}
    probe = lgb.train(params, lgb.Dataset(x[~valid], y[~valid]), recipe.max_rounds,
                      valid_sets=[lgb.Dataset(x[valid], y[valid])],
                      callbacks=[lgb.early_stopping(recipe.patience, verbose=False)])
    best = max(probe.best_iteration, 1)
    alpha = (nb.fit_alpha(probe.predict(x[valid], num_iteration=best, num_threads=params["num_threads"]), y[valid])
             if target == "fg3m" else None)
    rounds = max(1, round(best * REFIT_FACTOR))
    return Model(lgb.train(params, lgb.Dataset(x, y), rounds), rounds, alpha)


def _remembered(version: str, model: Model) -> Model:
    _models[version] = model
    _models.move_to_end(version)
    if len(_models) > _CACHE_SIZE:
        _models.popitem(last=False)
    return model


def _models_of(wanted: dict[str, tuple[str, str]], frames: PartInputs) -> dict[str, Model]:
    """The model of each wanted version ((season, target) it is for): from memory, else the workspace's store,
    else fitted on its season's training rows and stored. The fits run side by side, frames.fit_width at once (each is
    one-threaded and deterministic, so the models are the same bits as fitted one after another). LightGBM holds
    one thread count for the whole process, which every call sets from its parameters (a prediction without
    num_threads resets it to every core under a neighbouring fit): each call here names the recipe's."""
    found: dict[str, Model] = {}
    store = frames.models_dir / STORE
    for version in wanted:
        model = _models.get(version) or model_store.load(store, version)
        if model is not None:
            found[version] = _remembered(version, model)
    to_fit = [v for v in wanted if v not in found]
    if to_fit:
        training = frames["training"]

        def fitted(version: str) -> Model:
            season, target = wanted[version]
            model = fit(training.filter(pl.col("model_season") == season), target)
            model_store.save(store, version, model)
            return model

        with ThreadPoolExecutor(max_workers=min(len(to_fit), frames.fit_width)) as pool:
            for version, model in zip(to_fit, pool.map(fitted, to_fit)):
                found[version] = _remembered(version, model)
    return found


def forecast(model: Model, rows: pl.DataFrame, target: str, recipe: Recipe = RECIPE) -> tuple[np.ndarray, np.ndarray]:
    """Per row of `rows`: the point forecast of `target` (the median) and the model's raw output (μ for fg3m)."""
    raw = model.booster.predict(matrix(rows, recipe.columns(target)), num_threads=recipe.parameters["num_threads"])
    return (nb.median(raw, model.alpha) if target == "fg3m" else np.maximum(raw, 0.0)), raw


def _predict(rows: pl.DataFrame, model: Model, target: str, version: str, opener: object,
             n: int) -> pl.DataFrame:
    point, raw = forecast(model, rows, target)
    counts = target == "fg3m"
    return rows.select("player_id", "game_date").with_columns(
        pl.lit(target).alias("target"), pl.Series("predicted_value", point, dtype=pl.Float64),
        (pl.Series("mean_value", raw, dtype=pl.Float64) if counts else pl.lit(None, pl.Float64).alias("mean_value")),
        pl.lit(model.alpha, pl.Float64).alias("dispersion"),
        pl.lit(version).alias("model_version"), pl.lit(opener).alias("training_cutoff"),
        pl.lit(n).alias("training_rows"))


def compute(frames: PartInputs) -> pl.DataFrame:
    scope, seasons = frames["scope"], frames["seasons"]
    known = {s: (opener, n, digest) for s, opener, n, digest in seasons.iter_rows()}
    batches, missing = [], []
    for (season,), rows in scope.group_by("season", maintain_order=True):
        opener, n, digest = known.get(season, (None, 0, ""))
        if n < MIN_TRAINING_ROWS:
            missing.append(f"season {season}: {n} training rows before its opener (needs {MIN_TRAINING_ROWS})")
            continue
        batches += [(rows, target, model_version(target, season, opener, digest), season, opener, n) for target in TARGETS]
    if not batches and missing:
        raise NotReady("no gbm model: " + "; ".join(missing))
    models = _models_of({version: (season, target) for _, target, version, season, _, _ in batches}, frames)
    return output([_predict(rows, models[version], target, version, opener, n)
                   for rows, target, version, _, opener, n in batches])
