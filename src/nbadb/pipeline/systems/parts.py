"""The prediction systems as the predictions processor declares them, without loading them.

A system is a module with a pure `compute(frames) -> polars.DataFrame` (systems.baseline, heuristic,
gbm). Declaring its part needs only the module's name, its output columns and the version of its
code, so building the processor graph imports none of them: polars, numpy and LightGBM load when a
part first runs (`LazyCompute`), not in every command that opens a warehouse (a no-op `nbadb run`
paid 0.2-0.3 s for them). `source_version` reads the modules' files as text, so a code change still
recomputes the system's rows.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

    from nbadb.engine.parts import PartInputs

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

# gbm's model of season S is trained on the TRAINING_SEASONS seasons before S (systems.gbm); the
# predictions processor's training query reads those seasons' rows.
TRAINING_SEASONS = 2


def source_version(*module_names: str) -> str:
    """Version of a system: md5 of its modules' source, so any code change recomputes its rows. The
    files are read, not imported."""
    text = "\x1f".join(_source(name) for name in module_names)
    return hashlib.md5(text.encode()).hexdigest()[:12]


def _source(module_name: str) -> str:
    spec = importlib.util.find_spec(module_name)
    if spec is None or spec.origin is None:
        raise ImportError(f"no source for {module_name}")
    return Path(spec.origin).read_text(encoding="utf-8")


@dataclass(frozen=True)
class LazyCompute:
    """A system's `compute`, imported from `module` on its first call."""

    module: str

    def __call__(self, frames: PartInputs) -> pl.DataFrame:
        return importlib.import_module(self.module).compute(frames)
