"""Benchmark: `nbadb backfill` of nine seasons (2015-10-27 .. 2024-04-14) into an empty warehouse,
whole process, every phase and Phases 2-4 alone, median of --repeats, with each run's wall and the
peak RSS; then where the time went (ops.backfill_batches of the median run, seconds per phase).

The baseline, measured in the same sitting: the one-pass build a user had before (`nbadb ingest`
of the window, then `nbadb run --date END --backfill`), every phase.

    .venv/bin/python bench/backfill.py [--repeats 3] [--batch-days N] [--validate 1,2,3,4,5]
                                       [--baseline-repeats 1] [--only 'all phases'|'phases 2-4']

Targets on 2 cores: every phase <= 30 s and <= 2 GB; Phases 2-4 <= 3 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).parent))
from process import Measured, combined, run_nbadb, summary  # noqa: E402

START, END = "2015-10-27", "2024-04-14"
TARGETS = {"all phases": (30.0, 2048.0), "phases 2-4": (3.0, None)}
PHASE_COLUMNS = ("publish", "analytics", "precompute", "predictions", "validation")


def backfill_once(root: Path, label: str, args: list[str]) -> tuple[Measured, dict, dict[str, float]]:
    data_dir = Path(tempfile.mkdtemp(prefix=f"{label.replace(' ', '_')}-", dir=root))
    measured = run_nbadb(data_dir, "backfill", "--start", START, "--end", END, "--json", *args)
    report = json.loads(measured.stdout)
    with duckdb.connect(str(data_dir / "nba.duckdb"), read_only=True) as con:
        sums = ", ".join(f"sum({c}_seconds)" for c in PHASE_COLUMNS)
        seconds = dict(zip(PHASE_COLUMNS, con.execute(f"SELECT {sums} FROM ops.backfill_batches").fetchone()))
    return measured, report, seconds


def one_pass_once(root: Path) -> Measured:
    data_dir = Path(tempfile.mkdtemp(prefix="one-pass-", dir=root))
    return combined(run_nbadb(data_dir, "ingest", "--start", START, "--end", END, "--json"),
                    run_nbadb(data_dir, "run", "--date", END, "--backfill", "--json"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline-repeats", type=int, default=1)
    parser.add_argument("--batch-days", type=int, default=None, help="days per batch (default: a batch per season)")
    parser.add_argument("--validate", default="1,2,3,4,5")
    parser.add_argument("--only", choices=sorted(TARGETS), help="one of the two backfills")
    options = parser.parse_args()
    extra = ["--validate", options.validate] + (["--batch-days", str(options.batch_days)] if options.batch_days else [])
    with tempfile.TemporaryDirectory(prefix="bench-backfill-") as tmp:
        root = Path(tmp)
        print(f"nbadb backfill {START} .. {END} ({'season' if not options.batch_days else f'{options.batch_days}-day'} "
              f"batches, validation {options.validate}), median of {options.repeats}")
        for label, phases in (("all phases", []), ("phases 2-4", ["--phases", "2,3,4"])):
            if options.only not in (None, label):
                continue
            runs = [backfill_once(root, label, extra + phases) for _ in range(options.repeats)]
            measured = [m for m, _, _ in runs]
            median = sorted(runs, key=lambda r: r[0].wall)[len(runs) // 2]
            wall_target, memory_target = TARGETS[label]
            verdict = "met" if statistics.median(m.wall for m in measured) <= wall_target and (
                memory_target is None or max(m.peak_mb for m in measured) <= memory_target) else "NOT met"
            print(f"  {label:<11} {summary(measured)}   target <= {wall_target:.0f} s"
                  f"{f' and <= {memory_target / 1024:.0f} GB' if memory_target else ''}: {verdict}")
            report, seconds = median[1], median[2]
            print(f"              dates {report['dates_done']}/{report['dates_total']}, status {report['status']}; "
                  "seconds in the median run: " + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items() if v))
        if options.baseline_repeats:
            baseline = [one_pass_once(root) for _ in range(options.baseline_repeats)]
            print(f"  baseline: one pass (nbadb ingest, then nbadb run --date {END} --backfill), every phase")
            print(f"              {summary(baseline)}")


if __name__ == "__main__":
    main()
