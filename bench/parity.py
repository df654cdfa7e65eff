"""Benchmark: a dual-write cycle's row parity (rollout.diff.table_diff over every table of the
warehouse, as rollout.storage's parity takes it) between a warehouse and an exact copy of it, median
of --repeats, with each run's wall and the process's peak RSS.

    .venv/bin/python bench/parity.py --data-dir <a data folder with nba.duckdb> [--repeats 3]

To compare two versions of the code in one sitting, run it with PYTHONPATH=<other checkout>/src,
alternating with this checkout's.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import duckdb

from nbadb.pipeline.registry import build_graph
from nbadb.rollout.diff import table_diff
from nbadb.rollout.store_tables import store_tables

DATABASE = "nba.duckdb"


def parity_once(warehouse: Path, copy: Path) -> tuple[float, int, int]:
    """Seconds, tables compared and rows compared of one parity of every table."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        con.execute(f"ATTACH '{copy}' AS strategic (READ_ONLY)")
        legacy = con.execute("SELECT current_database()").fetchall()[0][0]
        tables = store_tables(con, build_graph().specs)
        started = time.perf_counter()
        diffs = [table_diff(con, legacy, "strategic", t.shape) for t in tables]
        seconds = time.perf_counter() - started
    finally:
        con.close()
    assert all(d.equal for d in diffs), [d.table for d in diffs if not d.equal]
    return seconds, len(diffs), sum(d.compared_rows for d in diffs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / DATABASE
        shutil.copyfile(args.data_dir / DATABASE, copy)
        runs = [parity_once(args.data_dir / DATABASE, copy) for _ in range(args.repeats)]
    walls = [seconds for seconds, _, _ in runs]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    _, tables, rows = runs[0]
    print(f"parity of {tables} tables, {rows:,} rows: median {statistics.median(walls):.2f} s "
          f"(runs {', '.join(f'{w:.2f}' for w in walls)}), peak RSS {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main()
