"""What every prediction system shares: its targets and its output frame (the columns are declared in
systems.parts)."""

from __future__ import annotations

import polars as pl

from nbadb.pipeline.prop_features.processor import TARGETS
from nbadb.pipeline.systems.parts import OUTPUT_COLUMNS

_POLARS_TYPES = {"BIGINT": pl.Int64, "INTEGER": pl.Int64, "DOUBLE": pl.Float64, "DATE": pl.Date, "VARCHAR": pl.Utf8}
_SCHEMA = {c: _POLARS_TYPES[t] for c, t in OUTPUT_COLUMNS}
__all__ = ["TARGETS", "output", "from_column"]


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
