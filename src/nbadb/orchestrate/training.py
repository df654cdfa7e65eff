"""Model training fanned out per (system, target), ahead of a prediction run.

Under the warehouse lease, `export_training_inputs` writes what gbm's part reads to train for a
window of prediction dates (its `seasons` keys and `training` rows, pipeline.predictions) to a
folder. Anywhere after that, with no warehouse open, `train(folder, system, target)` fits every
model that prediction run will ask for that target, exactly as the part would (same rows, same
model version), into the shared model store (pipeline.systems.model_store); the prediction run
then loads them instead of fitting.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from nbadb.errors import ConfigError
from nbadb.orchestrate.workspace import Workspace
from nbadb.pipeline.predictions import PREDICTIONS_TABLE
from nbadb.pipeline.systems import gbm, model_store
from nbadb.pipeline.systems.common import TARGETS
from nbadb.warehouse.connection import used_params

TRAINABLE_SYSTEMS = ("gbm",)
_FRAMES = ("seasons", "training")


def training_jobs() -> list[tuple[str, str]]:
    """Every (system, target) a training fan-out runs."""
    return [(system, target) for system in TRAINABLE_SYSTEMS for target in TARGETS]


def export_training_inputs(ws: Workspace, start: date, end: date, folder: Path) -> Path:
    """Write gbm's training inputs for prediction dates [start, end] into `folder`."""
    reads = dict(next(p for p in ws.graph.specs[PREDICTIONS_TABLE].parts if p.name == "gbm").reads)
    params = {"start": start, "end": end}
    folder.mkdir(parents=True, exist_ok=True)
    for name in _FRAMES:
        ws.con.execute(reads[name], used_params(reads[name], params)).pl().write_parquet(folder / f"{name}.parquet")
    return folder


def train(folder: Path, system: str, target: str, models_dir: Path) -> list[str]:
    """Fit into `models_dir/<system>` every model the prediction run of the exported dates asks for
    `target`; the versions it fitted (those already stored are not fitted again)."""
    if system not in TRAINABLE_SYSTEMS or target not in TARGETS:
        raise ConfigError(f"no training for ({system}, {target}); trainable: {training_jobs()}")
    seasons, training = (pl.read_parquet(folder / f"{name}.parquet") for name in _FRAMES)
    store, fitted = models_dir / system, []
    for season, opener, rows, digest in seasons.iter_rows():
        version = gbm.model_version(target, season, opener, digest)
        if rows < gbm.MIN_TRAINING_ROWS or model_store.model_path(store, version).exists():
            continue
        model_store.save(store, version, gbm.fit(training.filter(pl.col("model_season") == season), target))
        fitted.append(version)
    return fitted
