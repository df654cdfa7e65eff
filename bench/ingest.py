"""Benchmark: ingest every bundled season (2015-10-01 .. 2025-12-31) into a fresh warehouse.

Runs the real services (open_workspace + ingest_dates) three times, each into a new temporary
warehouse, and prints the median wall time and rows/s, per processor and in total. Then times a
no-op re-ingest of the last warehouse (everything skipped) and one run of the real CLI in a
subprocess, for reference (that one includes interpreter start-up and imports).

    .venv/bin/python bench/ingest.py [--runs 3] [--archive DIR]

Target: <= 30 s for the whole ingest.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

START, END = date(2015, 10, 1), date(2025, 12, 31)
TARGET_SECONDS = 30.0


def ingest_once(archive: Path, data_dir: Path) -> tuple[float, dict[str, tuple[str, int, float]], dict]:
    """One full ingest; returns (wall seconds, {processor: (status, rows, seconds)}, stage info)."""
    from nbadb.config import Settings
    from nbadb.orchestrate.ingest import ingest_dates
    from nbadb.orchestrate.workspace import open_workspace

    t0 = time.perf_counter()
    with open_workspace(archive, settings=Settings(data_dir=data_dir, archive_dir=archive)) as ws:
        outcome = ingest_dates(ws, START, END)
    wall = time.perf_counter() - t0
    if outcome.failed:
        raise SystemExit(f"ingest failed: {[(r.processor, r.error) for r in outcome.failed]}")
    per = {r.processor: (r.status, r.metrics.rows_written, r.duration_ms / 1000) for r in outcome.results}
    stage = {"rejected": outcome.stage.rejected, "quarantined": outcome.stage.quarantined}
    return wall, per, stage


def cli_once(archive: Path, data_dir: Path) -> float:
    exe = Path(sys.executable).with_name("nbadb")
    cmd = [str(exe) if exe.exists() else sys.executable, *([] if exe.exists() else ["-m", "nbadb.cli.app"]),
           "ingest", "--start", str(START), "--end", str(END), "--archive", str(archive), "--json"]
    env = {**os.environ, "NBADB_DATA_DIR": str(data_dir)}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"CLI ingest exited {proc.returncode}: {proc.stderr.strip()}")
    return wall


def main() -> None:
    from nbadb.config import BUNDLED_ARCHIVE

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--archive", type=Path, default=BUNDLED_ARCHIVE)
    args = parser.parse_args()
    archive = args.archive.resolve()

    walls: list[float] = []
    per_runs: list[dict[str, tuple[str, int, float]]] = []
    with tempfile.TemporaryDirectory(prefix="nbadb-bench-") as tmp:
        for i in range(args.runs):
            wall, per, stage = ingest_once(archive, Path(tmp) / f"run{i}")
            walls.append(wall)
            per_runs.append(per)
            print(f"run {i + 1}/{args.runs}: {wall:6.2f} s", file=sys.stderr)
        last = Path(tmp) / f"run{args.runs - 1}"
        noop_wall, noop_per, _ = ingest_once(archive, last)
        cli_wall = cli_once(archive, Path(tmp) / "cli")

    rows = {p: per_runs[0][p][1] for p in per_runs[0]}
    total_rows = sum(rows.values())
    median = statistics.median(walls)

    print(f"\nnbadb ingest benchmark: {START} .. {END}, archive {archive}")
    print(f"{args.runs} runs, each into a fresh temporary warehouse; real services, median shown\n")
    print(f"{'processor':<24} {'status':<9} {'rows':>10} {'median s':>9} {'rows/s':>12}")
    print("-" * 68)
    for proc in rows:
        secs = statistics.median(r[proc][2] for r in per_runs)
        rate = rows[proc] / secs if secs and rows[proc] else 0.0
        print(f"{proc:<24} {per_runs[0][proc][0]:<9} {rows[proc]:>10,} {secs:>9.2f} {rate:>12,.0f}")
    print("-" * 68)
    print(f"{'total (wall, median)':<34} {total_rows:>10,} {median:>9.2f} {total_rows / median:>12,.0f}")
    print()
    outside = statistics.median(w - sum(r[2] for r in per.values()) for w, per in zip(walls, per_runs))
    w = 38
    print(f"{'all runs (s)':<{w}} {', '.join(f'{x:.2f}' for x in walls)}")
    print(f"{'of which outside processors (s)':<{w}} {outside:.2f}  (open, read + contract-check files, stage)")
    print(f"{'quarantined source rows':<{w}} {stage['quarantined']:,}")
    print(f"{'rejected files':<{w}} {len(stage['rejected'])}")
    skipped = sum(1 for s, _, _ in noop_per.values() if s == "skipped")
    print(f"{'no-op re-ingest (s)':<{w}} {noop_wall:.2f}  ({skipped}/{len(noop_per)} processors skipped)")
    print(f"{'CLI subprocess, fresh warehouse (s)':<{w}} {cli_wall:.2f}  (includes start-up and imports)")
    verdict = "OK" if median <= TARGET_SECONDS else "OVER TARGET"
    print(f"{'target':<{w}} <= {TARGET_SECONDS:.0f} s: {verdict}")


if __name__ == "__main__":
    main()
