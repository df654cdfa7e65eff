"""Benchmark: what gbm's training costs, per season and target, on an existing warehouse.

For each season given, exports gbm's training inputs for that season's dates (exactly what the
prediction run reads: orchestrate.training) and fits every target into a fresh model folder,
timing each fit. Prints, all measured in this run: training rows, seconds per target (export
included once per season), the rounds of each fitted model, and the total.

    NBADB_DATA_DIR=... python bench/train_gbm.py --season 2024-25:2024-10-22:2024-12-31 [...]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import date
from pathlib import Path

from nbadb.orchestrate.training import export_training_inputs, train
from nbadb.orchestrate.workspace import open_workspace
from nbadb.pipeline.systems import model_store
from nbadb.pipeline.systems.common import TARGETS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--season", action="append", required=True, help="LABEL:START:END, e.g. 2024-25:2024-10-22:2024-12-31")
    args = parser.parse_args()
    figures, total = [], 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for spec in args.season:
            label, start, end = spec.split(":")
            folder, models = Path(tmp) / label / "inputs", Path(tmp) / label / "models"
            t0 = time.perf_counter()
            with open_workspace(read_only=True) as ws:
                export_training_inputs(ws, date.fromisoformat(start), date.fromisoformat(end), folder)
            export_s = time.perf_counter() - t0
            for target in TARGETS:
                t0 = time.perf_counter()
                fitted = train(folder, "gbm", target, models)
                seconds = time.perf_counter() - t0
                rounds = [model_store.load(models / "gbm", v).rounds for v in fitted]
                figures.append({"season": label, "target": target, "seconds": round(seconds, 2), "rounds": rounds})
                total += seconds
            figures.append({"season": label, "export_seconds": round(export_s, 2)})
            total += export_s
    print(json.dumps({"fits": figures, "total_seconds": round(total, 2)}, indent=1))


if __name__ == "__main__":
    main()
