"""What every prediction system shares: targets, the output frame and the version of its code."""

from __future__ import annotations

import hashlib
import inspect
from datetime import date
from types import ModuleType

import polars as pl

TARGETS = ("pts", "reb", "ast", "fg3m")

# Every system part returns these columns (DuckDB types); the transform adds lines and verdicts.
OUTPUT_COLUMNS = (
    ("player_id", "BIGINT"),
    ("game_date", "DATE"),
    ("target", "VARCHAR"),
    ("predicted_value", "DOUBLE"),
    ("model_version", "VARCHAR"),
    ("training_cutoff", "DATE"),
    ("training_rows", "INTEGER"),
)
_SCHEMA = {"player_id": pl.Int64, "game_date": pl.Date, "target": pl.Utf8, "predicted_value": pl.Float64,
           "model_version": pl.Utf8, "training_cutoff": pl.Date, "training_rows": pl.Int64}


def source_version(*modules: ModuleType) -> str:
    """Version of a system: md5 of its modules' source, so any code change recomputes its rows."""
    text = "\x1f".join(inspect.getsource(m) for m in modules)
    return hashlib.md5(text.encode()).hexdigest()[:12]


def output(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """Concatenate per-target frames into the declared output (missing columns as nulls)."""
    filled = [f.with_columns([pl.lit(None, dtype=t).alias(c) for c, t in _SCHEMA.items() if c not in f.columns])
              .select([pl.col(c).cast(t) for c, t in _SCHEMA.items()]) for f in frames]
    return pl.concat(filled) if filled else pl.DataFrame(schema=_SCHEMA)


def before(history: pl.DataFrame, day: date) -> pl.DataFrame:
    """History rows of games strictly before `day` (the only past a prediction for `day` may see)."""
    return history.filter(pl.col("game_date") < day)


def prior_form(target: str) -> pl.Expr:
    """The player's level before the game: season average so far, else last season's."""
    return pl.coalesce(pl.col(f"{target}_avg_season"), pl.col(f"{target}_avg_prev_season"))
