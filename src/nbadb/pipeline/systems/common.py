"""What every prediction system shares: targets, the output frame and the version of its code."""

from __future__ import annotations

import hashlib
import inspect
from types import ModuleType

import polars as pl

from nbadb.pipeline.prop_features.processor import TARGETS

# Every system part returns these columns (DuckDB types); the transform adds lines and verdicts.
# mean_value: the mean of the predicted distribution when it is not the point forecast (gbm's fg3m: the
# Poisson mean μ beside the NB2 median); dispersion: the NB2 α of that distribution (null: Normal).
OUTPUT_COLUMNS = (
    ("player_id", "BIGINT"),
    ("game_date", "DATE"),
    ("target", "VARCHAR"),
    ("predicted_value", "DOUBLE"),
    ("mean_value", "DOUBLE"),
    ("dispersion", "DOUBLE"),
    ("model_version", "VARCHAR"),
    ("training_cutoff", "DATE"),
    ("training_rows", "INTEGER"),
)
_POLARS_TYPES = {"BIGINT": pl.Int64, "INTEGER": pl.Int64, "DOUBLE": pl.Float64, "DATE": pl.Date, "VARCHAR": pl.Utf8}
_SCHEMA = {c: _POLARS_TYPES[t] for c, t in OUTPUT_COLUMNS}
__all__ = ["TARGETS", "OUTPUT_COLUMNS", "source_version", "output", "from_column"]


def source_version(*modules: ModuleType) -> str:
    """Version of a system: md5 of its modules' source, so any code change recomputes its rows."""
    text = "\x1f".join(inspect.getsource(m) for m in modules)
    return hashlib.md5(text.encode()).hexdigest()[:12]


def output(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """Concatenate per-target frames into the declared output (missing columns as nulls), rows with a
    prediction only."""
    filled = [f.with_columns([pl.lit(None, dtype=t).alias(c) for c, t in _SCHEMA.items() if c not in f.columns])
              .select([pl.col(c).cast(t) for c, t in _SCHEMA.items()]) for f in frames]
    out = pl.concat(filled) if filled else pl.DataFrame(schema=_SCHEMA)
    return out.filter(pl.col("predicted_value").is_not_null() & pl.col("predicted_value").is_not_nan())


def from_column(scope: pl.DataFrame, column: str) -> pl.DataFrame:
    """Per target t, the scope's column `column.format(t=t)` as the prediction (null: no row)."""
    return output([scope.select("player_id", "game_date", pl.lit(t).alias("target"),
                                pl.col(column.format(t=t)).clip(lower_bound=0).alias("predicted_value"))
                   for t in TARGETS])
