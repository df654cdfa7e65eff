"""The storage track's two stores side by side, same sitting, median of 3 fresh runs each:

- ingest: 2022-23's first month of archive files published at once (set-based writes);
- replay: 2022-10-18..2022-10-27 day by day through every phase (the engine's many small
  transactions, where a lake pays its catalog look-ups per statement).

Prints each scenario's seconds on the file and on the lake (SQLite catalog), and the ratio.

    .venv/bin/python bench/stores.py
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Callable

from nbadb.config import Settings
from nbadb.orchestrate.ingest import ingest_dates
from nbadb.orchestrate.replay import replay
from nbadb.orchestrate.workspace import Workspace, open_workspace
from nbadb.warehouse.stores import STORE_KINDS, Store

RUNS = 3
SCENARIOS: dict[str, Callable[[Workspace], object]] = {
    "ingest 2022-10-18..2022-11-17": lambda ws: ingest_dates(ws, date(2022, 10, 18), date(2022, 11, 17)),
    "replay 2022-10-18..2022-10-27": lambda ws: replay(ws, date(2022, 10, 18), date(2022, 10, 27)),
}


def timed(kind: str, scenario: Callable[[Workspace], object]) -> float:
    """Seconds for one fresh run of `scenario` on a new store of `kind`, opening included."""
    root = Path(tempfile.mkdtemp(prefix=f"nbadb-bench-{kind}-"))
    try:
        settings = Settings(data_dir=root)
        t0 = time.perf_counter()
        with open_workspace(settings=settings, store=Store(kind, settings)) as ws:
            scenario(ws)
        return time.perf_counter() - t0
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    print(f"{'scenario':34} {'file s':>8} {'lake s':>8} {'lake/file':>9}")
    for name, scenario in SCENARIOS.items():
        medians = {}
        for kind in STORE_KINDS:
            medians[kind] = statistics.median(timed(kind, scenario) for _ in range(RUNS))
        print(f"{name:34} {medians['file']:8.2f} {medians['lake']:8.2f} {medians['lake'] / medians['file']:9.2f}")


if __name__ == "__main__":
    main()
