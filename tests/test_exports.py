"""Exports: tables Hive-partitioned by season, published whole with a `latest.json` pointer; one
killed midway (kill -9) leaves the previous export intact and readable; `nbadb serve` exports after
each cycle when NBADB_EXPORT_DIR is set.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb

from nbadb.config import BUNDLED_ARCHIVE
from nbadb.serve.plan import Cycle, CycleKind

from serve_support import FakeClock, eastern, served

TABLES = "raw.schedule,analytics.player_game_summary,precompute.player_composite_factors"


def _counts(export: Path, tables: list[str], pattern: str = "*.parquet") -> dict[str, int]:
    """Rows per table as a reader of the export finds them (an empty table is an empty folder)."""
    reader = "read_parquet" if pattern.endswith("parquet") else "read_csv"
    with duckdb.connect() as con:
        return {t: con.execute(f"SELECT count(*) FROM {reader}('{export / t}/season=*/{pattern}', hive_partitioning = true)"
                               ).fetchall()[0][0] if any((export / t).iterdir()) else 0 for t in tables}


def test_an_export_is_partitioned_by_season_and_latest_json_names_a_complete_one(early_november, run_cli, db, tmp_path):
    to = tmp_path / "exports"
    named_twice = f"{TABLES},raw.schedule"  # each table is exported once (a second name failed: "File exists")
    result = run_cli(["export", "--tables", named_twice, "--to", str(to), "--json"], early_november)
    assert result.exit_code == 0, result.output + result.stderr
    outcome = json.loads(result.stdout)
    latest = json.loads((to / "latest.json").read_text())
    assert latest == outcome and Path(latest["path"]).is_dir()
    tables = TABLES.split(",")
    with db(early_november) as con:
        held = {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in tables}
    assert latest["tables"] == held == _counts(Path(latest["path"]), tables)
    seasons = {p.name for p in (Path(latest["path"]) / "raw.schedule").iterdir()}
    assert seasons == {"season=2023-24"}
    assert not list(to.glob(".tmp-*"))


def test_an_export_killed_midway_leaves_the_previous_export_intact_and_readable(early_november, run_cli, tmp_path):
    to = tmp_path / "exports"
    assert run_cli(["export", "--format", "csv", "--to", str(to)], early_november).exit_code == 0
    before = (to / "latest.json").read_text()
    previous = json.loads(before)
    env = {**os.environ, "NBADB_DATA_DIR": str(early_november), "NBADB_ARCHIVE_DIR": str(BUNDLED_ARCHIVE)}
    proc = subprocess.Popen([sys.executable, "-m", "nbadb.cli.app", "export", "--format", "csv", "--to", str(to)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not any(p.is_dir() and any(p.iterdir()) for p in to.glob(".tmp-*")):  # the new export is being written
        assert proc.poll() is None and time.monotonic() < deadline, "the export ended before it could be killed"
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert (to / "latest.json").read_text() == before
    assert _counts(Path(previous["path"]), list(previous["tables"]), "*.csv") == previous["tables"]
    assert len(list(to.glob(".tmp-*"))) == 1  # the killed export's half, never pointed at

    assert run_cli(["export", "--format", "csv", "--to", str(to)], early_november).exit_code == 0
    assert json.loads((to / "latest.json").read_text())["export_id"] != previous["export_id"]
    assert not list(to.glob(".tmp-*"))  # the next export removed the dead one's leftovers


def test_serve_exports_after_each_cycle_when_an_export_dir_is_set(early_november, copy_warehouse, tmp_path):
    data_dir = copy_warehouse(early_november, tmp_path / "served")
    clock = FakeClock(eastern(2023, 11, 6, 10))
    with served(data_dir, clock, export_dir=tmp_path / "auto") as app:
        app.run_now(Cycle(clock(), CycleKind.HEALTH, date(2023, 11, 6)))
        first = json.loads((tmp_path / "auto" / "latest.json").read_text())
        clock.set(eastern(2023, 11, 6, 18))
        app.run_due()
        second = json.loads((tmp_path / "auto" / "latest.json").read_text())
    assert first["export_id"] != second["export_id"] and second["export_format"] == "parquet"
    assert second["tables"]["raw.schedule"] > first["tables"]["raw.schedule"]  # the morning published the 6th


def test_read_answers_from_the_latest_export_in_the_tables_own_columns_and_refuses_a_csv_export(
        early_november, run_cli, db, tmp_path, monkeypatch):
    """`nbadb read` is the consumer's read of the exports (the serving track's legacy path): the rows of
    the dates asked, in the table's columns without the `season` the export partitions by, and a CSV
    export refused rather than read with guessed types."""
    monkeypatch.setenv("NBADB_EXPORT_DIR", str(tmp_path / "exports"))
    assert run_cli(["export", "--tables", TABLES], early_november).exit_code == 0
    table = "precompute.player_composite_factors"  # a table without a season column of its own
    result = run_cli(["read", table, "--from", "2023-11-05", "--to", "2023-11-05", "--limit", "5", "--json"],
                     early_november)
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    with db(early_november) as con:
        columns = [d[0] for d in con.execute(f"SELECT * FROM {table} LIMIT 0").description]
        total = con.execute(f"SELECT count(*) FROM {table} WHERE game_date = '2023-11-05'").fetchall()[0][0]
    assert answer["path"] == "export" and answer["columns"] == columns and "season" not in columns
    assert answer["total"] == total > 5 and len(answer["rows"]) == 5
    assert {row[columns.index("game_date")] for row in answer["rows"]} == {"2023-11-05"}
    result = run_cli(["read", table, "--from", "2023-11-05", "--to", "2023-11-05", "--limit", "5"], early_november)
    assert result.stdout.splitlines()[0] == ",".join(columns) and len(result.stdout.splitlines()) == 6
    assert f"5 of {total} rows of {table} from the export" in result.stderr
    result = run_cli(["read", "raw.player_boxscores"], early_november)  # a table this export left out
    assert result.exit_code == 2 and "holds no raw.player_boxscores, only" in result.stderr, result.stderr

    assert run_cli(["export", "--tables", TABLES, "--format", "csv"], early_november).exit_code == 0
    result = run_cli(["read", "raw.schedule"], early_november)
    assert result.exit_code == 2 and "is csv; `nbadb read` reads Parquet exports" in result.stderr
