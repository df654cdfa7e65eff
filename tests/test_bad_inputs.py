"""Bad input never corrupts good data.

Each test starts from a warehouse holding a good copy of three real dates (2023-11-01..03),
then ingests the same dates from an altered copy of the real player game logs through the CLI.
A malformed file must be rejected whole with a message naming the file and the problem; a bad
row must go to ops.quarantine with its reason. Either way, what the warehouse held before stays.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

FIRST, LAST = date(2023, 11, 1), date(2023, 11, 3)
DATES = ["--start", str(FIRST), "--end", str(LAST)]
PLAYER_LOGS = "player_game_logs.parquet"
TEAM_LOGS = "team_game_logs.parquet"
KEYS = {
    "raw.player_boxscores": ("game_id", "player_id"),
    "raw.team_boxscores": ("game_id", "team_id"),
    "raw.schedule": ("game_id",),
}
LINEAGE = ("run_id", "ingested_at")


# -- archives and warehouses ------------------------------------------------------------------


@pytest.fixture(scope="module")
def good_archive(tmp_path_factory, archive_dir) -> Path:
    """Real player and team game logs for FIRST..LAST, nothing else."""
    folder = tmp_path_factory.mktemp("good_archive")
    for name in (PLAYER_LOGS, TEAM_LOGS):
        frame = pl.read_parquet(archive_dir / name).filter(pl.col("GAME_DATE").is_between(FIRST, LAST))
        frame.write_parquet(folder / name)
    return folder


@pytest.fixture(scope="module")
def player_logs(good_archive) -> pl.DataFrame:
    frame = pl.read_parquet(good_archive / PLAYER_LOGS)
    assert frame.height == 504 and frame["GAME_ID"].n_unique() == 24
    return frame


@pytest.fixture(scope="module")
def target(player_logs) -> dict:
    """The real row the tests damage (a player with points, in the first game of 2023-11-02)."""
    candidates = player_logs.filter((pl.col("GAME_DATE") == date(2023, 11, 2)) & (pl.col("PTS") > 5))
    return candidates.sort("GAME_ID", "PLAYER_ID").row(0, named=True)


@pytest.fixture(scope="module")
def good_warehouse(tmp_path_factory, good_archive, run_cli) -> Path:
    data_dir = tmp_path_factory.mktemp("good_wh")
    result = run_cli(["ingest", *DATES, "--archive", str(good_archive), "--json"], data_dir)
    assert result.exit_code == 0, result.output + result.stderr
    payload = json.loads(result.stdout)
    assert {r["processor"]: r["status"] for r in payload["runs"]} == dict.fromkeys(KEYS, "success")
    return data_dir


@pytest.fixture
def warehouse(good_warehouse, copy_warehouse, tmp_path) -> Path:
    """A private copy of the good warehouse."""
    return copy_warehouse(good_warehouse, tmp_path / "wh")


def bad_archive(folder: Path, good_archive: Path, player_logs: pl.DataFrame | bytes) -> Path:
    """An archive with the altered player logs and the untouched real team logs."""
    folder.mkdir()
    shutil.copy(good_archive / TEAM_LOGS, folder / TEAM_LOGS)
    if isinstance(player_logs, bytes):
        (folder / PLAYER_LOGS).write_bytes(player_logs)
    else:
        player_logs.write_parquet(folder / PLAYER_LOGS)
    return folder


def is_target(target: dict) -> pl.Expr:
    return (pl.col("GAME_ID") == target["GAME_ID"]) & (pl.col("PLAYER_ID") == target["PLAYER_ID"])


def snapshot(data_dir: Path) -> dict[str, dict[tuple, dict]]:
    """Every raw row (all columns, row_hash and lineage included) by its key, plus the quarantine."""
    out: dict[str, dict[tuple, dict]] = {}
    with duckdb.connect(str(data_dir / "nba.duckdb"), read_only=True) as con:
        for table, key in KEYS.items():
            cur = con.execute(f"SELECT * FROM {table}")
            names = [d[0] for d in cur.description]
            rows = [dict(zip(names, r)) for r in cur.fetchall()]
            by_key = {tuple(r[k] for k in key): r for r in rows}
            assert len(by_key) == len(rows), f"duplicate keys in {table}"
            out[table] = by_key
        cur = con.execute("SELECT table_name, record_key, column_name, reason, source_file, record_date FROM ops.quarantine")
        out["ops.quarantine"] = {tuple(r): {} for r in cur.fetchall()}
    return out


def content(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in LINEAGE}


def ingest_bad(run_cli, data_dir: Path, archive: Path) -> tuple[object, dict]:
    result = run_cli(["ingest", *DATES, "--archive", str(archive), "--json"], data_dir)
    return result, json.loads(result.stdout)


# -- malformed files: rejected whole, warehouse untouched --------------------------------------


@pytest.mark.parametrize(
    ("case", "problem"),
    [
        ("missing_column", "missing required column(s) PTS"),
        ("pts_as_text", "wrong column type: PTS is String, expected int"),
        ("truncated", "not a readable parquet file"),
    ],
)
def test_malformed_file_is_rejected_whole(
    case, problem, warehouse, good_archive, player_logs, run_cli, no_traceback, tmp_path
):
    if case == "missing_column":
        altered: pl.DataFrame | bytes = player_logs.drop("PTS")
    elif case == "pts_as_text":
        altered = player_logs.with_columns(pl.col("PTS").cast(pl.String))
    else:
        whole = (good_archive / PLAYER_LOGS).read_bytes()
        altered = whole[: len(whole) // 2]
    archive = bad_archive(tmp_path / "bad", good_archive, altered)
    bad_file = str(archive / PLAYER_LOGS)
    before = snapshot(warehouse)

    result, payload = ingest_bad(run_cli, warehouse, archive)
    assert result.exit_code == 3
    rejection = payload["rejected_files"]["player_logs"]
    assert rejection.startswith(f"{bad_file}: {problem}")
    assert "rejected whole" in rejection
    assert payload["not_run"]["raw.player_boxscores"] == rejection
    assert "raw.player_boxscores" not in {r["processor"] for r in payload["runs"]}
    # the team logs were fine: their processors ran and found nothing new
    assert {r["processor"]: r["skip_reason"] for r in payload["runs"]} == {
        "raw.schedule": "no_changes", "raw.team_boxscores": "no_changes"}

    # without --json the user reads the same message on stderr, and no traceback
    text = run_cli(["ingest", *DATES, "--archive", str(archive)], warehouse)
    assert text.exit_code == 3
    squashed = "".join(text.stderr.split())
    assert "rejected:" in squashed and "".join(f"{bad_file}: {problem}".split()) in squashed
    assert no_traceback(text) and no_traceback(result)

    assert snapshot(warehouse) == before


# -- bad rows: quarantined with the reason, other rows untouched --------------------------------


QUARANTINE_CASES = {
    "negative_pts": ("PTS", "PTS must not be negative"),
    "unparsable_date": ("GAME_DATE", "GAME_DATE is null or unparsable"),
    "unknown_team": ("TEAM_ID", "TEAM_ID must be one of the 30 NBA teams"),
    "conflicting_duplicate": ("GAME_ID,PLAYER_ID", "duplicate key (GAME_ID, PLAYER_ID) with different values"),
}


def altered_rows(case: str, player_logs: pl.DataFrame, target: dict) -> pl.DataFrame:
    hit = is_target(target)
    if case == "negative_pts":
        return player_logs.with_columns(pl.when(hit).then(-5).otherwise(pl.col("PTS")).cast(pl.Int32).alias("PTS"))
    if case == "unparsable_date":
        as_text = pl.col("GAME_DATE").dt.strftime("%Y-%m-%d")
        return player_logs.with_columns(pl.when(hit).then(pl.lit("2023-11-31")).otherwise(as_text).alias("GAME_DATE"))
    if case == "unknown_team":
        return player_logs.with_columns(pl.when(hit).then(pl.lit(1610612799, pl.Int64)).otherwise("TEAM_ID").alias("TEAM_ID"))
    if case == "conflicting_duplicate":
        copy = player_logs.filter(hit).with_columns((pl.col("PTS") + 10).alias("PTS"))
        return pl.concat([player_logs, copy])
    if case == "exact_duplicate":
        return pl.concat([player_logs, player_logs.filter(hit)])
    raise AssertionError(case)


@pytest.mark.parametrize("case", list(QUARANTINE_CASES))
def test_bad_row_is_quarantined_and_other_rows_stay(
    case, warehouse, good_archive, player_logs, target, run_cli, tmp_path
):
    column, reason = QUARANTINE_CASES[case]
    archive = bad_archive(tmp_path / "bad", good_archive, altered_rows(case, player_logs, target))
    before = snapshot(warehouse)

    result, payload = ingest_bad(run_cli, warehouse, archive)
    assert result.exit_code == 0, result.output + result.stderr
    assert payload["rejected_files"] == {} and payload["quarantined"] >= 1
    after = snapshot(warehouse)

    # the bad row is in quarantine with its key, column, reason and file
    record_date = None if case == "unparsable_date" else target["GAME_DATE"]
    key = f"{target['GAME_ID']}|{target['PLAYER_ID']}"
    expected = ("raw.player_boxscores", key, column, reason, PLAYER_LOGS, record_date)
    assert set(after["ops.quarantine"]) - set(before["ops.quarantine"]) == {expected}

    # nothing bad reached the table
    players = after["raw.player_boxscores"]
    bad_key = (target["GAME_ID"], target["PLAYER_ID"])
    assert all(r["pts"] >= 0 and r["team_id"] != 1610612799 for r in players.values())
    # every other player row is unchanged (content and row hash); rows of other games not even rewritten
    untouched = {k: r for k, r in before["raw.player_boxscores"].items() if k != bad_key}
    assert {k: content(players.get(k, {})) for k in untouched} == {k: content(r) for k, r in untouched.items()}
    other_games = {k: r for k, r in untouched.items() if k[0] != target["GAME_ID"]}
    assert {k: players[k] for k in other_games} == other_games
    # the team logs were not touched at all
    for table in ("raw.team_boxscores", "raw.schedule"):
        assert after[table] == before[table]
    # the damaged game keeps its stored version, so nothing is rewritten; the ledger says why
    runs = {r["processor"]: r for r in payload["runs"]}
    assert runs["raw.player_boxscores"]["status"] == "skipped"
    assert runs["raw.player_boxscores"]["skip_reason"] == "no_changes"
    assert content(players[bad_key]) == content(before["raw.player_boxscores"][bad_key])


@pytest.mark.parametrize("case", ["negative_pts", "conflicting_duplicate"])
def test_quarantined_row_keeps_the_previous_good_row(
    case, warehouse, good_archive, player_logs, target, run_cli, tmp_path
):
    archive = bad_archive(tmp_path / "bad", good_archive, altered_rows(case, player_logs, target))
    before = snapshot(warehouse)["raw.player_boxscores"]
    result, _ = ingest_bad(run_cli, warehouse, archive)
    assert result.exit_code == 0
    bad_key = (target["GAME_ID"], target["PLAYER_ID"])
    after = snapshot(warehouse)["raw.player_boxscores"]
    assert bad_key in after and content(after[bad_key]) == content(before[bad_key])


def test_exact_duplicate_row_keeps_one_copy(warehouse, good_archive, player_logs, target, run_cli, tmp_path):
    archive = bad_archive(tmp_path / "bad", good_archive, altered_rows("exact_duplicate", player_logs, target))
    before = snapshot(warehouse)
    result, payload = ingest_bad(run_cli, warehouse, archive)
    assert result.exit_code == 0, result.output + result.stderr
    after = snapshot(warehouse)
    key = f"{target['GAME_ID']}|{target['PLAYER_ID']}"
    expected = ("raw.player_boxscores", key, "GAME_ID,PLAYER_ID", "exact duplicate row (one copy kept)",
                PLAYER_LOGS, target["GAME_DATE"])
    assert set(after["ops.quarantine"]) - set(before["ops.quarantine"]) == {expected}
    # one copy is the same fact as before: nothing to rewrite
    assert {r["processor"]: r["skip_reason"] for r in payload["runs"]} == dict.fromkeys(KEYS, "no_changes")
    assert {t: after[t] for t in KEYS} == {t: before[t] for t in KEYS}


def test_duplicate_key_across_two_files_is_caught(warehouse, good_archive, player_logs, target, run_cli, tmp_path):
    """A second player-logs file repeating a row with another value must not double the row."""
    archive = bad_archive(tmp_path / "bad", good_archive, player_logs)
    player_logs.filter(is_target(target)).with_columns((pl.col("PTS") + 1).alias("PTS")).write_parquet(
        archive / "player_game_logs_fix.parquet")
    before = snapshot(warehouse)
    result, payload = ingest_bad(run_cli, warehouse, archive)
    assert result.exit_code == 0, result.output + result.stderr
    after = snapshot(warehouse)  # asserts that every key is still unique
    key = f"{target['GAME_ID']}|{target['PLAYER_ID']}"
    reason = "duplicate key (GAME_ID, PLAYER_ID) across files with different values"
    new = set(after["ops.quarantine"]) - set(before["ops.quarantine"])
    assert new == {("raw.player_boxscores", key, "GAME_ID,PLAYER_ID", reason, f, target["GAME_DATE"])
                   for f in (PLAYER_LOGS, "player_game_logs_fix.parquet")}
    bad_key = (target["GAME_ID"], target["PLAYER_ID"])
    untouched = {k: content(r) for k, r in before["raw.player_boxscores"].items() if k != bad_key}
    assert {k: content(after["raw.player_boxscores"][k]) for k in untouched} == untouched


# -- partial archives ---------------------------------------------------------------------------


def test_partial_archive_reports_missing_files(good_archive, run_cli, tmp_path):
    result = run_cli(["ingest", *DATES, "--archive", str(good_archive), "--json"], tmp_path / "wh")
    assert result.exit_code == 0, result.output + result.stderr
    payload = json.loads(result.stdout)
    assert sorted(payload["missing_files"]) == sorted(["boxscores", "schedule", "injuries", "props", "players"])
    assert payload["rejected_files"] == {}
    assert set(payload["not_run"]) == {"raw.boxscore_players", "raw.injuries", "raw.prop_lines"}
    assert payload["not_run"]["raw.injuries"] == "no injuries file in the archive"
    runs = {r["processor"]: r for r in payload["runs"]}
    assert runs["raw.player_boxscores"]["rows_written"] == 504
    assert runs["raw.team_boxscores"]["rows_written"] == 48
    assert runs["raw.schedule"]["rows_written"] == 24  # derived from the team logs

    # without --json the missing files are notes, not errors
    again = run_cli(["ingest", *DATES, "--archive", str(good_archive)], tmp_path / "wh")
    assert again.exit_code == 0
    assert "no injuries file in the archive" in " ".join(again.stdout.split())


def test_archive_with_only_team_logs(good_archive, run_cli, tmp_path):
    folder = tmp_path / "teams_only"
    folder.mkdir()
    shutil.copy(good_archive / TEAM_LOGS, folder / TEAM_LOGS)
    result = run_cli(["ingest", *DATES, "--archive", str(folder), "--json"], tmp_path / "wh")
    assert result.exit_code == 0, result.output + result.stderr
    payload = json.loads(result.stdout)
    assert "player_logs" in payload["missing_files"]
    assert payload["not_run"]["raw.player_boxscores"] == "no player_logs file in the archive"
    assert {r["processor"]: r["status"] for r in payload["runs"]} == {
        "raw.schedule": "success", "raw.team_boxscores": "success"}


def test_missing_archive_folder_is_a_user_error(run_cli, no_traceback, tmp_path):
    missing = tmp_path / "nowhere"
    result = run_cli(["ingest", *DATES, "--archive", str(missing)], tmp_path / "wh")
    assert result.exit_code == 3
    assert "does not exist" in " ".join(result.stderr.split())
    assert no_traceback(result)
