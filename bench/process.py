"""Whole-process timing for the benchmarks: run one `nbadb` command in a child process of its own
and measure its wall time and its own peak RSS (os.wait4's rusage of that child alone)."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Measured:
    """One command's wall seconds and peak resident memory in MB."""

    wall: float
    peak_mb: float
    stdout: str


def nbadb_command(store: str | None = None) -> list[str]:
    """The nbadb CLI, or on the lake through bench/on_store.py (the file is the CLI's own default)."""
    if store == "lake":
        return [sys.executable, str(Path(__file__).with_name("on_store.py")), store]
    exe = Path(sys.executable).with_name("nbadb")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "nbadb.cli.app"]


def run_nbadb(data_dir: Path, *args: str, env: dict[str, str] | None = None, store: str | None = None) -> Measured:
    """`nbadb ARGS` on the warehouse in `data_dir` (on `store` when given: file or lake); exits the
    benchmark with its error if it fails."""
    environment = {**os.environ, "NBADB_DATA_DIR": str(data_dir), **(env or {})}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([*nbadb_command(store), *args], env=environment, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage (Popen.wait would reap it first)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"nbadb {' '.join(args)} exited {proc.returncode}: {err.read().strip()[-800:]}")
        return Measured(wall, usage.ru_maxrss / 1024, out.read())


def combined(*measured: Measured) -> Measured:
    """The commands of one scenario as one measurement: walls summed, the largest peak RSS."""
    return Measured(sum(m.wall for m in measured), max(m.peak_mb for m in measured), measured[-1].stdout)


def copy_warehouse(source: Path, target: Path) -> Path:
    """A fresh copy of a prepared data folder, so that every repeat starts from the same state."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
    return target


def summary(measured: list[Measured]) -> str:
    """'median wall (every wall), peak RSS' of repeated measurements."""
    walls = ", ".join(f"{m.wall:.2f}" for m in measured)
    return (f"{statistics.median(m.wall for m in measured):7.2f} s  ({walls})  "
            f"peak {max(m.peak_mb for m in measured):6.0f} MB")
