"""Fitted models shared between processes and machines: one pickle per model version in a folder
(`<data dir>/models/<system>/<version>.pkl`, written atomically). A model version names exactly
what decides the model (target, cutoff, features, hyperparameters, training rows), so a stored
model is the one a fit would produce; the training flow fills the store ahead of a prediction run
and the prediction run loads from it instead of fitting. The folder is nbadb's own: only nbadb
writes the pickles it loads."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from nbadb.warehouse.atomic import write_atomically


def model_path(folder: Path, version: str) -> Path:
    return folder / f"{version}.pkl"


def load(folder: Path, version: str) -> Any | None:
    """The stored model `version`, or None when none is stored."""
    path = model_path(folder, version)
    return pickle.loads(path.read_bytes()) if path.is_file() else None


def save(folder: Path, version: str, model: Any) -> Path:
    path = model_path(folder, version)
    write_atomically(path, pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
    return path
