"""What every prediction system shares: targets, the output frame and the version of its code."""

from __future__ import annotations

import hashlib
import inspect
from contextlib import AbstractContextManager
from datetime import date, datetime
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Callable, Mapping

import polars as pl

if TYPE_CHECKING:
    from threadpoolctl import ThreadpoolController

TARGETS = ("pts", "reb", "ast", "fg3m")
FORM_STATS = (*TARGETS, "minutes")

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
_POLARS_TYPES = {"BIGINT": pl.Int64, "INTEGER": pl.Int64, "DOUBLE": pl.Float64, "DATE": pl.Date, "VARCHAR": pl.Utf8}
_SCHEMA = {c: _POLARS_TYPES[t] for c, t in OUTPUT_COLUMNS}


def source_version(*modules: ModuleType) -> str:
    """Version of a system: md5 of its modules' source, so any code change recomputes its rows."""
    text = "\x1f".join(inspect.getsource(m) for m in modules)
    return hashlib.md5(text.encode()).hexdigest()[:12]


def output(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """Concatenate per-target frames into the declared output (missing columns as nulls)."""
    filled = [f.with_columns([pl.lit(None, dtype=t).alias(c) for c, t in _SCHEMA.items() if c not in f.columns])
              .select([pl.col(c).cast(t) for c, t in _SCHEMA.items()]) for f in frames]
    return pl.concat(filled) if filled else pl.DataFrame(schema=_SCHEMA)


def before(history: pl.DataFrame, day: date, cutoff: datetime) -> pl.DataFrame:
    """History rows of games strictly before `day`, each result in the version published at `cutoff`
    (`day`'s cutoff): the only past a prediction for `day` may see."""
    return history.filter(
        pl.col("game_date") < day, pl.col("actual_known_at") < cutoff,
        pl.col("actual_superseded_at").is_null() | (pl.col("actual_superseded_at") >= cutoff),
    )


def prior_form(stat: str) -> pl.Expr:
    """The player's level before the game: season average so far, else last season's."""
    return pl.coalesce(pl.col(f"{stat}_avg_season"), pl.col(f"{stat}_avg_prev_season"))


def with_prior_forms(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with prior_<stat> (prior_form) for the targets and minutes."""
    return frame.with_columns([prior_form(s).alias(f"prior_{s}") for s in FORM_STATS])


@cache
def _thread_pools() -> ThreadpoolController:
    import sklearn.ensemble  # noqa: F401  (loads the OpenMP runtime of the trees, so it is controlled too)
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def single_threaded() -> AbstractContextManager[object]:
    """Run a block with BLAS and OpenMP on one thread. The systems' matrices are small, and on a
    two-core machine the default pools thrash as soon as anything else runs (a 1 s tree fit took
    60 s, a 1 ms distance product 30 ms); one thread is both fast and predictable."""
    return _thread_pools().limit(limits=1)


def per_game_day(frames: Mapping[str, pl.DataFrame],
                 predict_day: Callable[[pl.DataFrame, pl.DataFrame, date], list[pl.DataFrame]]) -> pl.DataFrame:
    """Run `predict_day(scope rows of the day, the history the day may see, day)` for each date in
    scope, single-threaded, and concatenate the output."""
    scope, history = frames["scope"], frames["history"]
    per_day: list[pl.DataFrame] = []
    with single_threaded():
        for (day, cutoff), rows in scope.group_by("game_date", "cutoff", maintain_order=False):
            per_day += predict_day(rows, before(history, day, cutoff), day)
    return output(sorted(per_day, key=lambda f: f["game_date"][0] if f.height else date.min))
