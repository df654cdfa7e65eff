"""Model training fanned out per (system, target), ahead of a prediction run.

Under the warehouse lease, `export_training_inputs` writes what the trainable systems read for a
window of prediction dates (the parts' `history` query, and each date to predict with its cutoff)
to a folder. Anywhere after that, with no warehouse open, `train(folder, system, target)` fits every
model that system's prediction run will ask for that target, exactly as the run would (same
history per date, same training rows, same model version), into the shared model store
(pipeline.systems.model_store). The prediction run then loads those models instead of fitting them.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from nbadb.errors import ConfigError
from nbadb.orchestrate.workspace import Workspace
from nbadb.pipeline.predictions import PREDICTIONS_TABLE
from nbadb.pipeline.systems import gbm, model_store
from nbadb.pipeline.systems.common import TARGETS, before, single_threaded
from nbadb.warehouse.connection import used_params

TRAINABLE_SYSTEMS = ("gbm",)
HISTORY_FILE, DATES_FILE = "history.parquet", "dates.parquet"
_FEATURE_DATES_SQL = "SELECT DISTINCT game_date FROM precompute.ml_feature_store WHERE game_date BETWEEN $start AND $end ORDER BY 1"


def training_jobs() -> list[tuple[str, str]]:
    """Every (system, target) a training fan-out runs."""
    return [(system, target) for system in TRAINABLE_SYSTEMS for target in TARGETS]


def export_training_inputs(ws: Workspace, start: date, end: date, folder: Path) -> Path:
    """Write the trainable systems' inputs for prediction dates [start, end] into `folder`."""
    spec = ws.graph.specs[PREDICTIONS_TABLE]
    history_sql = dict(next(p for p in spec.parts if p.name == "gbm").reads)["history"]
    params = {"start": start, "end": end}
    history = ws.con.sql(history_sql, params=used_params(history_sql, params)).pl()
    calendar = ws.engine.calendar()
    days = [d for (d,) in ws.con.execute(_FEATURE_DATES_SQL, params).fetchall()]
    dates = pl.DataFrame({"game_date": days, "cutoff": [calendar.cutoff(d) for d in days]},
                         schema={"game_date": pl.Date, "cutoff": pl.Datetime("us")})
    folder.mkdir(parents=True, exist_ok=True)
    history.write_parquet(folder / HISTORY_FILE)
    dates.write_parquet(folder / DATES_FILE)
    return folder


def train(folder: Path, system: str, target: str, models_dir: Path) -> list[str]:
    """Fit into `models_dir/<system>` every model the prediction run of the exported dates asks for
    `target`; the versions it fitted (those already stored are not fitted again)."""
    if system not in TRAINABLE_SYSTEMS or target not in TARGETS:
        raise ConfigError(f"no training for ({system}, {target}); trainable: {training_jobs()}")
    history = pl.read_parquet(folder / HISTORY_FILE)
    store = models_dir / system
    fitted: list[str] = []
    with single_threaded():
        for day, cutoff_ts in pl.read_parquet(folder / DATES_FILE).iter_rows():
            cutoff, training = gbm.training_set(before(history, day, cutoff_ts), day)
            if training.height < gbm.MIN_TRAINING_ROWS:
                continue
            version = gbm.model_version(target, cutoff, gbm.training_digest(training))
            if version in fitted or model_store.model_path(store, version).exists():
                continue
            model_store.save(store, version, gbm.fit(training, target))
            fitted.append(version)
    return fitted
