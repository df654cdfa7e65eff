"""Historical backfill: set-based batches write what a day-by-day replay writes, a killed backfill
resumes to the same tables, every date is validated at five levels, and what stops or warns says
which date and why.

- a month with two archive corrections in it, backfilled in batches and replayed day by day from
  the same empty warehouse: every table of every phase, current and superseded versions, equal;
- a backfill killed with SIGKILL at random moments and resumed each time ends with the tables of an
  uninterrupted one;
- a failing processor stops the backfill on its date with the reason (exit 1), and `--resume`
  finishes once the fault is gone; dates whose sources have no data are recorded with them;
- validation catches a form row that does not match the raw box scores (level 5) and a stored row
  breaking its processor's checks (level 3).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from nbadb.config import BUNDLED_ARCHIVE, Settings
from nbadb.engine.clock import morning
from nbadb.monitor.validation import validate
from nbadb.orchestrate.backfill import BackfillPlan, run_backfill, start_backfill
from nbadb.orchestrate.replay import replay
from nbadb.orchestrate.workspace import Workspace, open_workspace
from nbadb.pipeline.registry import build_graph

GRAPH = build_graph()
TABLES = [s.name for s in GRAPH.specs.values()] + [f"{s.name}_history" for s in GRAPH.specs.values() if s.versioned]
FIRST, LAST = date(2023, 10, 24), date(2023, 11, 22)
# Stephen Curry's 42 points on 2023-10-30, corrected twice in the middle of the window.
CORRECTIONS = {"GAME_ID": ["0022300108", "0022300108"], "PLAYER_ID": [201939, 201939], "STAT": ["PTS", "REB"],
               "VALUE": [45.0, 3.0], "PUBLISHED_AT": [morning(date(2023, 11, 5)), morning(date(2023, 11, 12))]}


def _tables(data_dir: Path) -> dict[str, list[tuple]]:
    """Every table of every phase, lineage left out (run ids and write times differ by design)."""
    with duckdb.connect(str(data_dir / "nba.duckdb"), read_only=True) as con:
        out = {}
        for table in TABLES:
            columns = [c for (c, *_) in con.execute(f"DESCRIBE {table}").fetchall()
                       if c not in ("run_id", "ingested_at", "superseded_by")]
            out[table] = con.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY ALL").fetchall()
        return out


def _ws(data_dir: Path, archive: Path) -> Workspace:
    return open_workspace(archive, settings=Settings(data_dir=data_dir, archive_dir=archive))


@pytest.fixture(scope="module")
def corrected_archive(tmp_path_factory) -> Path:
    """The bundled archive plus a corrections file with two corrections published inside the window."""
    archive = tmp_path_factory.mktemp("archive")
    for entry in BUNDLED_ARCHIVE.iterdir():
        (archive / entry.name).symlink_to(entry)
    (archive / "corrections").mkdir()
    pl.DataFrame(CORRECTIONS).with_columns(pl.col("PUBLISHED_AT").dt.replace_time_zone("UTC")).write_parquet(
        archive / "corrections" / "fixes.parquet")
    return archive


@pytest.fixture(scope="module")
def backfilled(tmp_path_factory, corrected_archive) -> Path:
    data_dir = tmp_path_factory.mktemp("backfilled")
    with _ws(data_dir, corrected_archive) as ws:
        plan = BackfillPlan(FIRST, LAST)
        report = run_backfill(ws, start_backfill(ws, plan), plan)
    assert report.status == "finished" and not report.dates["failed"], report
    return data_dir


def test_a_set_based_backfill_writes_exactly_what_a_day_by_day_replay_writes(backfilled, corrected_archive,
                                                                             tmp_path) -> None:
    with _ws(tmp_path, corrected_archive) as ws:
        assert not any(o.failed for o in replay(ws, FIRST, LAST))
    replayed, batched = _tables(tmp_path), _tables(backfilled)
    for table in TABLES:
        assert batched[table] == replayed[table], table
    assert len(batched["raw.player_boxscores_history"]) == 2, "both corrections superseded a version"
    assert batched["predictions.player_prop_predictions"], "every phase wrote"


def test_a_backfill_writes_the_same_tables_whatever_its_batches_even_across_the_2020_hiatus(tmp_path) -> None:
    # The archive's last results before 2020-12-22 are of March 2020. Batched by season, the second
    # batch starts on 2020-09-01 and reads stored predictions back to January; cut on 2020-12-22,
    # the last batch reads them back to April: March must count the same in both (in neither).
    first, last = date(2020, 3, 1), date(2020, 12, 23)
    tables = []
    for name, batch_days in (("by_season", None), ("cut_on_2020-12-22", (date(2020, 12, 22) - first).days)):
        with _ws(tmp_path / name, BUNDLED_ARCHIVE) as ws:
            plan = BackfillPlan(first, last, levels=frozenset({1}), batch_days=batch_days)
            report = run_backfill(ws, start_backfill(ws, plan), plan)
            assert report.status == "finished", report
            # by season: 2019-20's days, then 2020-21's from 2020-09-01 (pipeline.point_in_time)
            assert ws.con.execute("SELECT count(DISTINCT batch_start) FROM ops.backfill_dates").fetchall()[0][0] == 2
        tables.append(_tables(tmp_path / name))
    by_season, cut = tables
    assert [r for r in cut["predictions.player_prop_predictions"] if r[1] == date(2020, 12, 22)], "the day was predicted"
    for table in TABLES:
        assert by_season[table] == cut[table], table


def _cli(data_dir: Path, archive: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """`nbadb backfill ARGS` in a process of its own (so that it can be killed)."""
    return subprocess.Popen([sys.executable, "-m", "nbadb.cli.app", "backfill", *args],
                            env={**os.environ, "NBADB_DATA_DIR": str(data_dir), "NBADB_ARCHIVE_DIR": str(archive),
                                 **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _backfill_status(data_dir: Path) -> str | None:
    """The recorded backfill's status (committed before a kill), or None when none was recorded."""
    if not (data_dir / "nba.duckdb").exists():
        return None
    with duckdb.connect(str(data_dir / "nba.duckdb"), read_only=True) as con:
        if not con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'backfill_runs'").fetchone()[0]:
            return None
        row = con.execute("SELECT status FROM ops.backfill_runs").fetchall()
        return row[0][0] if row else None


KILLS = 4  # kill -9 at this many random moments of one backfill


def test_a_backfill_killed_at_random_moments_resumes_to_the_tables_of_an_uninterrupted_one(
        backfilled, corrected_archive, tmp_path, run_cli) -> None:
    rng = random.Random(7)
    started = _cli(tmp_path, corrected_archive, "--start", str(FIRST), "--end", str(LAST), "--json")
    kills, warned = 0, None
    while True:
        try:  # killed KILLS times at random moments, then left to finish (a batch may outlast any one moment)
            _, err = started.communicate(timeout=rng.uniform(1.5, 6.0) if kills < KILLS else 600)
        except subprocess.TimeoutExpired:
            started.send_signal(signal.SIGKILL)  # no chance to clean up: only committed work survives
            started.communicate()
            kills += 1
            status = _backfill_status(tmp_path)
            if status == "finished":  # the kill came after its last commit
                break
            if status == "running" and warned is None:  # a killed backfill is recorded as running
                warned = _unfinished_backfill(tmp_path, run_cli)
            # killed before the backfill was recorded: nothing to resume, so it is started again
            again = ("--resume",) if status else ("--start", str(FIRST), "--end", str(LAST))
            started = _cli(tmp_path, corrected_archive, *again, "--json")
            continue
        assert started.returncode == 0, err
        break
    assert kills >= 2, "the backfill was interrupted more than once"
    shown = _cli(tmp_path, corrected_archive, "status", "--json")
    out, err = shown.communicate(timeout=120)
    summary = json.loads(out)
    assert summary["status"] == "finished" and summary["dates_done"] == summary["dates_total"] == (LAST - FIRST).days + 1
    assert _tables(tmp_path) == _tables(backfilled)
    assert warned in (None, ["warning"]) and _unfinished_backfill(tmp_path, run_cli) == []


def test_a_failing_processor_stops_the_backfill_on_its_date_and_resume_finishes_once_it_is_fixed(
        corrected_archive, tmp_path, run_cli) -> None:
    # a run's day is its batch's last: the batch 2023-11-01..04 fails
    failing = _cli(tmp_path, corrected_archive, "--start", "2023-10-24", "--end", "2023-11-10", "--batch-days", "4",
                   "--json", env={"NBADB_FAULT_PROCESSORS": "precompute.player_composite_factors@2023-11-04"})
    out, err = failing.communicate(timeout=600)
    assert failing.returncode == 1, err
    summary = json.loads(out)
    assert summary["status"] == "stopped" and summary["stopped_on"] == "2023-11-01"
    assert "precompute.player_composite_factors" in summary["stop_reason"]
    assert "stopped on 2023-11-01" in err and err.strip().count("\n") == 0
    assert _unfinished_backfill(tmp_path, run_cli) == ["problem"]  # health says so until it is resumed
    resumed = _cli(tmp_path, corrected_archive, "--resume", "--json")
    out, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err
    summary = json.loads(out)
    assert summary["status"] == "finished" and summary["dates_by_status"].get("failed", 0) == 0
    assert _unfinished_backfill(tmp_path, run_cli) == []


def test_one_cause_of_failed_checks_is_one_signature_and_keeps_the_names_numbers() -> None:
    """Failed checks group by signature: ids and values blanked, a name's own number kept (every
    sampled player's level-5 failure was a signature of its own, and pts_avg_last_5 read _last_#)."""
    from nbadb.monitor.backfill import error_signature

    texts = [("player 1627739", "pts_avg_last_5: stored 7.0, recomputed 0.0"),
             ("player 203999", "pts_avg_last_5: stored 21.4, recomputed 14.4")]
    assert {(error_signature(subject), error_signature(text)) for subject, text in texts} == {
        ("player #", "pts_avg_last_5: stored #, recomputed #")}


def _unfinished_backfill(data_dir: Path, run_cli) -> list[str]:
    """The severities of health's unfinished-backfill findings."""
    health = json.loads(run_cli(["health", "--json"], data_dir).stdout)
    return [f["severity"] for f in health["findings"] if f["check"] == "unfinished backfill"]


def test_dates_whose_sources_have_no_data_are_recorded_with_the_missing_sources_not_failed(tmp_path, run_cli) -> None:
    """The bundled 2024-25 logs end on 2024-12-31; the schedule goes on. `backfill status` says why
    those game days fall short (it once showed only their failed volume checks), and `health` warns
    of the scheduled games without results (it said nothing)."""
    with _ws(tmp_path, BUNDLED_ARCHIVE) as ws:
        plan = BackfillPlan(date(2024, 12, 29), date(2025, 1, 3), phases=frozenset({2, 3, 4}))
        backfill_id = start_backfill(ws, plan)
        report = run_backfill(ws, backfill_id, plan)
        rows = dict(ws.con.execute("SELECT game_date, struct_pack(status, missing_sources) FROM ops.backfill_dates "
                                   "WHERE backfill_id = ?", [backfill_id]).fetchall())
    assert report.status == "finished"
    assert "raw.player_boxscores" not in rows[date(2024, 12, 30)]["missing_sources"]
    for day in (date(2025, 1, 1), date(2025, 1, 2)):
        assert rows[day]["status"] == "warned" and "raw.player_boxscores" in rows[day]["missing_sources"]
    shown = json.loads(run_cli(["backfill", "status", "--json"], tmp_path).stdout)["missing_sources"]
    without_logs = [m for m in shown if "raw.player_boxscores" in m["sources"]]
    assert [(m["first"], m["last"]) for m in without_logs] == [("2025-01-01", "2025-01-03")]
    assert "game days some source published nothing for" in run_cli(["backfill", "status"], tmp_path).output
    health = json.loads(run_cli(["health", "--json"], tmp_path).stdout)
    missing = [f for f in health["findings"] if f["check"] == "results missing"]
    assert health["healthy"] and len(missing) == 1 and missing[0]["severity"] == "warning"
    assert "scheduled games (2025-01-01 to" in missing[0]["detail"]


def test_a_backfill_of_the_later_phases_over_days_never_published_is_refused_naming_them(tmp_path, run_cli,
                                                                                          no_traceback) -> None:
    """`--phases 3,4` over days no publication covered found no schedule, and the backfill finished
    calling every one of them a day without games."""
    assert run_cli(["ingest", "--start", "2024-11-01", "--end", "2024-11-05", "--json"], tmp_path).exit_code == 0
    refused = run_cli(["backfill", "--start", "2024-11-01", "--end", "2024-11-10", "--phases", "3,4"], tmp_path)
    assert refused.exit_code == 2 and no_traceback(refused)
    assert " ".join(refused.output.split()).startswith(
        "error: --phases 3,4: 5 of the 10 days were never published (2024-11-06..2024-11-10)"), refused.output
    assert "no backfill" in run_cli(["backfill", "status"], tmp_path).output
    done = json.loads(run_cli(["backfill", "--start", "2024-11-01", "--end", "2024-11-05", "--phases", "3,4",
                               "--json"], tmp_path).stdout)
    assert done["status"] == "finished" and done["dates_by_status"]["no_games"] == 1, done  # Election Day, 11-05


def test_validation_catches_form_that_does_not_match_the_raw_games_and_rows_breaking_their_checks(
        backfilled, tmp_path) -> None:
    import shutil
    shutil.copytree(backfilled, tmp_path, dirs_exist_ok=True)
    day = date(2023, 11, 20)
    with _ws(tmp_path, BUNDLED_ARCHIVE) as ws:
        player = ws.con.execute(
            """SELECT player_id FROM precompute.player_daily_cache WHERE game_date = ?
            ORDER BY md5(player_id::VARCHAR || game_date::VARCHAR) LIMIT 1""", [day]).fetchall()[0][0]
        ws.con.execute("UPDATE precompute.player_daily_cache SET pts_avg_last_5 = pts_avg_last_5 + 1 "
                       "WHERE player_id = ? AND game_date = ?", [player, day])
        ws.con.execute("UPDATE analytics.player_game_summary SET fgm = fga + 1 WHERE player_id = "
                       "(SELECT min(player_id) FROM analytics.player_game_summary WHERE game_date = ?) "
                       "AND game_date = ?", [day, day])
        checks = validate(ws.con, ws.graph, ws.engine.calendar(), day, day, levels=frozenset({3, 5}),
                          phases=frozenset({3, 4}), results=[])
    failed = {(c.level, c.subject): c.detail for c in checks if not c.passed}
    assert failed == {
        (5, f"player {player}"): failed[(5, f"player {player}")],
        (3, "analytics.player_game_summary"): "made shots never exceed attempts (1 rows)",
    }
    assert failed[(5, f"player {player}")].startswith("pts_avg_last_5: stored")
    assert all(c.passed for c in checks if (c.level, c.subject) not in failed)


def _two_season_archive(folder: Path) -> Path:
    """The bundled archive cut to the last game days of 2022-23 and the first of 2023-24."""
    keep = pl.col("GAME_DATE").is_between(date(2023, 4, 6), date(2023, 4, 9)) | pl.col("GAME_DATE").is_between(
        date(2023, 10, 24), date(2023, 10, 27))
    (folder / "injuries").mkdir(parents=True)
    (folder / "nba_api_payloads").mkdir()
    for name in ("player_game_logs.parquet", "team_game_logs.parquet"):
        pl.read_parquet(BUNDLED_ARCHIVE / name).filter(keep).write_parquet(folder / name)
    pl.read_parquet(BUNDLED_ARCHIVE / "injuries/injury_transactions_2015_2024.parquet").filter(
        pl.col("DATE").is_between(date(2023, 4, 1), date(2023, 10, 27))).write_parquet(
        folder / "injuries/injury_transactions_2015_2024.parquet")
    directory = "nba_api_payloads/commonallplayers_2025-26.json"
    (folder / directory).write_bytes((BUNDLED_ARCHIVE / directory).read_bytes())
    return folder


def test_the_main_job_backfills_the_archives_earlier_days_once_so_its_models_have_a_history(run_cli, tmp_path):
    archive, data_dir = _two_season_archive(tmp_path / "archive"), tmp_path / "wh"
    main = ["main", "--season", "2023-24", "--last-days", "2"]
    first = run_cli(main, data_dir, archive=archive)
    assert first.exit_code == 0, first.output + first.stderr
    with duckdb.connect(str(data_dir / "nba.duckdb"), read_only=True) as con:
        backfills = con.execute("SELECT start_date, end_date, status FROM ops.backfill_runs").fetchall()
        # the history is the archive's days before the replay's first (2023-10-26): 2022-23's last ones included
        assert backfills == [(date(2023, 4, 6), date(2023, 10, 25), "finished")]
        replayed = con.execute("SELECT min(as_of_date) FROM ops.processor_runs WHERE trigger_source = 'schedule'"
                               ).fetchall()[0][0]
        systems = {s for (s,) in con.execute(
            "SELECT DISTINCT system FROM predictions.player_prop_predictions WHERE game_date >= '2023-10-26'").fetchall()}
    assert replayed == date(2023, 10, 26)
    assert "heuristic" in systems  # its league prior is the season before, which only the history brings
    again = run_cli(main, data_dir, archive=archive)
    assert again.exit_code == 0, again.output + again.stderr
    assert "history:" not in again.output  # loaded once per warehouse
    with duckdb.connect(str(data_dir / "nba.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM ops.backfill_runs").fetchall()[0][0] == 1


def test_the_main_job_replays_through_the_archives_last_box_score_not_the_schedules_end(run_cli, tmp_path):
    """2024-25's files: box scores through 2024-12-31, a schedule through April 2025. The days after the
    last box score could be predicted but never judged, so the main job stops at it and says how to
    predict the rest; --last-days counts back from it."""
    from conftest import bundled_subset

    archive = bundled_subset(tmp_path / "archive", "player_game_logs_2024_25_through_2024-12-31.parquet",
                             "team_game_logs_2024_25_through_2024-12-31.parquet", "schedule_2024_25.parquet")
    data_dir = tmp_path / "wh"
    result = run_cli(["main", "--season", "2024-25", "--last-days", "2", "--no-history"], data_dir, archive=archive)
    assert result.exit_code == 0, result.output + result.stderr
    said = " ".join(result.output.split())
    assert "the archive's box scores of 2024-25 end 2024-12-31: the main job replays through that day" in said
    assert "`nbadb replay --start 2025-01-01` predicts them" in said
    with duckdb.connect(str(data_dir / "nba.duckdb"), read_only=True) as con:
        days = con.execute("SELECT min(as_of_date), max(as_of_date) FROM ops.processor_runs "
                           "WHERE trigger_source = 'schedule'").fetchall()[0]
    assert days == (date(2024, 12, 30), date(2024, 12, 31))
