"""Benchmark: the five scenarios dbt and SQLMesh were timed on (../shared/ARCHITECTURE.md,
"Performance we race"), each through nbadb's CLI as a user runs it, whole process timed (the
commands of a scenario summed), median of --repeats, with each run's wall and the peak RSS.

- S1 full build through 2024-04-12: `nbadb ingest` of 2015-10-27..2024-04-12, then
  `nbadb run --date 2024-04-12 --backfill`, into an empty warehouse;
- S2 one new game date: `nbadb ingest --start 2024-04-13 --end 2024-04-14`, then
  `nbadb run --date 2024-04-14`, on a copy of S1's warehouse;
- S3 no-op: `nbadb run --date 2024-04-14` again, nothing changed;
- S4 one-player stat correction: `nbadb correct` of Luka Dončić's points on 2024-02-14 (60 days
  back), then `nbadb run --date 2024-04-14`: the run finds what the correction touched by itself;
- S5 the 30 dates 2024-03-14..2024-04-14 day by day, every phase: `nbadb replay` of the window on
  a warehouse built through 2024-03-13.

    .venv/bin/python bench/scenarios.py [--repeats 3] [--only S1,S5] [--stores file,lake]

With --stores file,lake every scenario runs on the DuckDB file and on the DuckLake lake (SQLite
catalog; bench/on_store.py) in the same sitting, and the lake/file ratio is printed.

Targets (2 cores): S2 <= 0.8 s, S3 <= 0.3 s, S4 <= 1.0 s, S5 <= 10 s; S1 as bench/backfill.py;
the lake within 1.5x of the file on every scenario.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Callable, Iterator

sys.path.insert(0, str(Path(__file__).parent))
from process import Measured, combined, copy_warehouse, run_nbadb, summary  # noqa: E402

FIRST = "2015-10-27"
DONCIC, DONCIC_GAME = "1629029", "0022300785"
TARGETS = {"S1": 30.0, "S2": 0.8, "S3": 0.3, "S4": 1.0, "S5": 10.0}
LABELS = {"S1": "full build through 2024-04-12", "S2": "one new game date (2024-04-14)", "S3": "no-op run",
          "S4": "Doncic correction, then a run", "S5": "30 dates day by day, every phase"}


def build(data_dir: Path, through: str, store: str) -> Measured:
    return combined(run_nbadb(data_dir, "ingest", "--start", FIRST, "--end", through, "--json", store=store),
                run_nbadb(data_dir, "run", "--date", through, "--backfill", "--json", store=store))


def new_date(data_dir: Path, store: str) -> Measured:
    return combined(run_nbadb(data_dir, "ingest", "--start", "2024-04-13", "--end", "2024-04-14", "--json", store=store),
                run_nbadb(data_dir, "run", "--date", "2024-04-14", "--json", store=store))


def no_op(data_dir: Path, store: str) -> Measured:
    return run_nbadb(data_dir, "run", "--date", "2024-04-14", "--json", store=store)


def correction(data_dir: Path, store: str) -> Measured:
    return combined(run_nbadb(data_dir, "correct", "--game", DONCIC_GAME, "--player", DONCIC, "--set", "pts=30", "--json", store=store),
                run_nbadb(data_dir, "run", "--date", "2024-04-14", "--json", store=store))


def thirty_days(data_dir: Path, store: str) -> Measured:
    return run_nbadb(data_dir, "replay", "--season", "2023-24", "--start", "2024-03-14", "--end", "2024-04-14",
                     "--json", store=store)


def run_scenarios(root: Path, store: str, wanted: set[str], repeats: int) -> Iterator[tuple[str, list[Measured]]]:
    """Every wanted scenario `repeats` times on `store`, each from a fresh copy of its starting state,
    yielded as soon as it is measured."""
    home = root / store
    built, before_s5 = home / "built-2024-04-12", home / "built-2024-03-13"
    if wanted & {"S2", "S3", "S4"}:
        build(built, "2024-04-12", store)  # the state S2-S4 start from (S1 times fresh builds of the same)
    if "S5" in wanted:
        build(before_s5, "2024-03-13", store)

    def fresh(i: int) -> Path:
        return home / f"fresh-{i}"

    def from_built(i: int) -> Path:
        return copy_warehouse(built, home / f"copy-{i}")

    def after_new_date(i: int) -> Path:
        data_dir = from_built(i)
        new_date(data_dir, store)
        return data_dir

    def from_march(i: int) -> Path:
        return copy_warehouse(before_s5, home / f"march-{i}")

    prepared: dict[str, tuple[Callable[[int], Path], Callable[[Path, str], Measured]]] = {
        "S1": (fresh, lambda d, s: build(d, "2024-04-12", s)), "S2": (from_built, new_date),
        "S3": (after_new_date, no_op), "S4": (after_new_date, correction), "S5": (from_march, thirty_days)}
    for key, (prepare, scenario) in prepared.items():
        if key in wanted:
            yield key, [scenario(prepare(i), store) for i in range(repeats)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default="S1,S2,S3,S4,S5")
    parser.add_argument("--stores", default="file", help="file, lake or file,lake")
    options = parser.parse_args()
    wanted, stores = set(options.only.split(",")), options.stores.split(",")
    if not wanted <= set(LABELS) or not set(stores) <= {"file", "lake"}:
        raise SystemExit(f"--only takes {','.join(LABELS)}; --stores takes file,lake")
    print(f"nbadb scenarios, whole process, median of {options.repeats} (all walls), peak RSS", flush=True)
    medians: dict[tuple[str, str], float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-scenarios-") as tmp:
        for store in stores:  # each line as soon as it is measured: a later failure loses nothing
            for key, measured in run_scenarios(Path(tmp), store, wanted, options.repeats):
                medians[key, store] = median = statistics.median(m.wall for m in measured)
                verdict = "met" if median <= TARGETS[key] else "NOT met"
                print(f"  {key} {LABELS[key]:<34} {store:<4} {summary(measured)}   target <= {TARGETS[key]} s: {verdict}",
                      flush=True)
    if len(stores) == 2:
        for key in (k for k in LABELS if k in wanted):
            ratio = medians[key, "lake"] / medians[key, "file"]
            print(f"  {key} lake / file {ratio:.2f}   target <= 1.5: {'met' if ratio <= 1.5 else 'NOT met'}")


if __name__ == "__main__":
    main()
