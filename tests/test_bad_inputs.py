"""Bad input never changes held data.

A warehouse holds a good copy of real dates from every kind of archive file (2024-11-01..03 of the
2024-25 files, and one 2021-22 day of the DNP-aware box scores). Each case alters one file of a
copy of that archive in one way a real feed can go wrong, then ingests the same dates again
through the CLI. A malformed file is rejected whole: exit 3, one line naming the file and the
problem, nothing written at all (not even the tables other files feed). A bad row goes to
ops.quarantine with its rule, and the game (or event, or move) it belonged to keeps its stored
version. Either way an md5 of every table of the pipeline is the same before and after.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Callable

import duckdb
import polars as pl
import pytest

WINDOW = (date(2024, 11, 1), date(2024, 11, 3))
BOX_DAY = date(2021, 11, 1)
DATES = ["--start", str(BOX_DAY), "--end", str(WINDOW[1])]
PLAYERS, TEAMS = "player_game_logs_2024_25.parquet", "team_game_logs_2024_25.parquet"
TEAMS_2021, BOXES = "team_game_logs_2021_22.parquet", "boxscores_traditional_v2.parquet"
SCHEDULE, INJURIES = "schedule_2024_25.parquet", "injuries/injury_transactions_2024_25.parquet"
PROPS, DIRECTORY = "props/player_threes_2024_25.parquet", "nba_api_payloads/commonallplayers_2025-26.json"


# -- the good archive and its warehouse ---------------------------------------------------------


@pytest.fixture(scope="module")
def good_archive(tmp_path_factory, archive_dir) -> Path:
    """Real rows of every kind for the window (and the box-score day), nothing else."""
    folder = tmp_path_factory.mktemp("good_archive")
    (folder / "injuries").mkdir()
    (folder / "props").mkdir()
    (folder / "nba_api_payloads").mkdir()
    in_window = pl.col("GAME_DATE").is_between(*WINDOW)
    pl.read_parquet(archive_dir / "player_game_logs_2024_25_through_2024-12-31.parquet").filter(in_window) \
        .write_parquet(folder / PLAYERS)
    pl.read_parquet(archive_dir / "team_game_logs_2024_25_through_2024-12-31.parquet").filter(in_window) \
        .write_parquet(folder / TEAMS)
    box_teams = pl.read_parquet(archive_dir / "team_game_logs.parquet").filter(pl.col("GAME_DATE") == BOX_DAY)
    box_teams.write_parquet(folder / TEAMS_2021)
    pl.read_parquet(archive_dir / "boxscores_traditional_v2.parquet").filter(
        pl.col("GAME_ID").is_in(box_teams["GAME_ID"].implode())).write_parquet(folder / BOXES)
    pl.read_parquet(archive_dir / "schedule_2024_25.parquet").filter(pl.col("GAME_DATE_EST").is_between(*WINDOW)) \
        .write_parquet(folder / SCHEDULE)
    pl.read_parquet(archive_dir / "injuries/injury_transactions_2024_25_through_2024-12-31.parquet").filter(
        pl.col("DATE").is_between(*WINDOW)).write_parquet(folder / INJURIES)
    pl.read_parquet(archive_dir / "props/player_threes_pregame_2024_25_through_2024-12-31.parquet").filter(
        pl.col("REQUEST_DATE").is_between(*WINDOW)).write_parquet(folder / PROPS)
    shutil.copy(archive_dir / "nba_api_payloads/commonallplayers_2025-26.json", folder / DIRECTORY)
    return folder


@pytest.fixture(scope="module")
def good_warehouse(tmp_path_factory, good_archive, run_cli) -> Path:
    data_dir = tmp_path_factory.mktemp("good_wh")
    result = run_cli(["ingest", *DATES, "--archive", str(good_archive), "--json"], data_dir)
    assert result.exit_code == 0, result.output + result.stderr
    runs = {r["processor"]: r for r in json.loads(result.stdout)["runs"]}
    assert all(r["status"] == "success" and r["rows_written"] > 0 for r in runs.values()), runs
    assert len(runs) == 6
    return data_dir


def table_digests(data_dir: Path) -> dict[str, str]:
    """md5 of every table of the pipeline: all its rows, every column (lineage included), in order."""
    out = {}
    with duckdb.connect(str(data_dir / "nba.duckdb"), read_only=True) as con:
        tables = con.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
            "AND table_schema IN ('raw', 'analytics', 'precompute', 'predictions') ORDER BY 1").fetchall()
        for (table,) in tables:
            rows = con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
            out[table] = hashlib.md5(repr(rows).encode()).hexdigest()
    return out


def quarantine(data_dir: Path) -> set[tuple[str, str, str]]:
    with duckdb.connect(str(data_dir / "nba.duckdb"), read_only=True) as con:
        return set(con.execute("SELECT table_name, record_key, reason FROM ops.quarantine").fetchall())


# -- the alterations ------------------------------------------------------------------------------

Alter = Callable[[Path], None]


def rewrite(name: str, change: Callable[[pl.DataFrame], pl.DataFrame]) -> Alter:
    def alter(folder: Path) -> None:
        path = folder / name
        change(pl.read_parquet(path)).write_parquet(path)
    return alter


def bytes_of(name: str, make: Callable[[bytes], bytes]) -> Alter:
    def alter(folder: Path) -> None:
        path = folder / name
        path.write_bytes(make(path.read_bytes()))
    return alter


def extra_path(name: str, make: Callable[[Path], None]) -> Alter:
    return lambda folder: make(folder / name)


def _target(frame: pl.DataFrame) -> pl.Expr:
    """The first row of the first game of 2024-11-02 with points (a real player's row)."""
    row = frame.filter((pl.col("GAME_DATE") == date(2024, 11, 2)) & (pl.col("PTS") > 5)).sort("GAME_ID", "PLAYER_ID").row(0, named=True)
    return (pl.col("GAME_ID") == row["GAME_ID"]) & (pl.col("PLAYER_ID") == row["PLAYER_ID"])


def player_row(**values: object) -> Alter:
    def change(frame: pl.DataFrame) -> pl.DataFrame:
        hit = _target(frame)
        return frame.with_columns([pl.when(hit).then(pl.lit(v)).otherwise(pl.col(c)).alias(c) for c, v in values.items()])
    return rewrite(PLAYERS, change)


def first_row(name: str, **values: object) -> Alter:
    def change(frame: pl.DataFrame) -> pl.DataFrame:
        hit = pl.int_range(pl.len()) == 0
        return frame.with_columns([pl.when(hit).then(pl.lit(v)).otherwise(pl.col(c)).alias(c) for c, v in values.items()])
    return rewrite(name, change)


def _fifo(path: Path) -> None:
    path.parent.mkdir(exist_ok=True)
    os.mkfifo(path)


REJECTED = [
    ("player logs truncated", bytes_of(PLAYERS, lambda b: b[: len(b) // 2]), PLAYERS, "not a readable parquet file"),
    ("player logs without PTS", rewrite(PLAYERS, lambda f: f.drop("PTS")), PLAYERS, "missing required column(s) PTS"),
    ("player PTS as text", rewrite(PLAYERS, lambda f: f.with_columns(pl.col("PTS").cast(pl.String))), PLAYERS,
     "wrong column type: PTS is String"),
    ("team logs not parquet", bytes_of(TEAMS, lambda b: b"GAME_ID,TEAM_ID\n1,2\n"), TEAMS, "not a readable parquet file"),
    ("empty parquet file", bytes_of(TEAMS, lambda b: b""), TEAMS, "not a readable parquet file"),
    ("schedule without GAME_ID", rewrite(SCHEDULE, lambda f: f.drop("GAME_ID")), SCHEDULE,
     "missing required column(s) GAME_ID"),
    ("props without a snapshot time", rewrite(PROPS, lambda f: f.drop("REQUEST_DATE")), PROPS,
     "missing required column SNAPSHOT_LOCAL or REQUEST_DATE"),
    ("props LINE as text", rewrite(PROPS, lambda f: f.with_columns(pl.col("LINE").cast(pl.String))), PROPS,
     "wrong column type: LINE is String"),
    ("injuries without DATE", rewrite(INJURIES, lambda f: f.drop("DATE")), INJURIES, "missing required column(s) DATE"),
    ("box scores MIN as a number", rewrite(BOXES, lambda f: f.with_columns(pl.col("MIN").str.len_chars())), BOXES,
     "wrong column type: MIN is"),
    ("player directory truncated", bytes_of(DIRECTORY, lambda b: b[: len(b) // 3]), DIRECTORY,
     "not a commonallplayers payload"),
    ("player directory of another shape", bytes_of(DIRECTORY, lambda b: b'{"resultSets": []}'), DIRECTORY,
     "not a commonallplayers payload"),
    ("a FIFO named like player logs", extra_path("player_game_logs_fifo.parquet", _fifo), "player_game_logs_fifo.parquet",
     "is not a regular file"),
    ("a folder named like team logs", extra_path("team_game_logs_dir.parquet", lambda p: p.mkdir()),
     "team_game_logs_dir.parquet", "is not a regular file"),
]


def _duplicate_conflicting(frame: pl.DataFrame) -> pl.DataFrame:
    copy = frame.filter(_target(frame)).with_columns(pl.col("PTS") + 1)
    return pl.concat([frame, copy])


def _team_off_by_two(frame: pl.DataFrame) -> pl.DataFrame:
    first = frame.sort("GAME_ID", "TEAM_ID").row(0, named=True)
    hit = (pl.col("GAME_ID") == first["GAME_ID"]) & (pl.col("TEAM_ID") == first["TEAM_ID"])
    return frame.with_columns(pl.when(hit).then(pl.col("PTS") + 2).otherwise(pl.col("PTS")).alias("PTS"))


def _ghost_team_row(frame: pl.DataFrame) -> pl.DataFrame:
    ghost = frame.head(1).with_columns(pl.lit(None, pl.String).alias("WL"), pl.lit(0).cast(pl.Int32).alias("PTS"))
    return pl.concat([frame, ghost])


def _moved_within_season(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.when(_target(frame)).then(pl.lit(date(2024, 11, 3))).otherwise(pl.col("GAME_DATE"))
                              .alias("GAME_DATE"))


QUARANTINED = [
    ("GAME_ID with letters", player_row(GAME_ID="00224ABC12"), "raw.player_boxscores", "GAME_ID is 10 digits"),
    ("GAME_DATE 2999-01-01", player_row(GAME_DATE=date(2999, 1, 1)), "raw.player_boxscores",
     "the game date lies in its season"),
    ("a row dated on another day of the season", rewrite(PLAYERS, _moved_within_season), "raw.player_boxscores",
     "a game's rows share one date"),
    ("PTS null", player_row(PTS=None), "raw.player_boxscores", "PTS is null or unparsable"),
    ("PTS 10000", player_row(PTS=10000), "raw.player_boxscores", "PTS within 0..100"),
    ("MIN 500", player_row(MIN=500), "raw.player_boxscores", "MIN within 0..70"),
    ("FGM above FGA", player_row(FGM=30, FGA=3), "raw.player_boxscores", "made shots never exceed attempts"),
    ("negative rebounds", player_row(REB=-4), "raw.player_boxscores", "REB within 0..45"),
    ("team id 42", player_row(TEAM_ID=42), "raw.player_boxscores", "TEAM_ID is one of the 30 NBA teams"),
    ("MATCHUP garbled", player_row(MATCHUP="home game"), "raw.player_boxscores",
     "MATCHUP reads 'AAA vs. BBB' or 'AAA @ BBB'"),
    ("a key twice with different values", rewrite(PLAYERS, _duplicate_conflicting), "raw.player_boxscores",
     "duplicate key (GAME_ID, PLAYER_ID) with different values"),
    ("team points not the players' sum", rewrite(TEAMS, _team_off_by_two), "raw.team_boxscores",
     "a team row equals the sum of its players' rows"),
    ("a ghost team row", rewrite(TEAMS, _ghost_team_row), "raw.team_boxscores", "WL is null or unparsable"),
    ("home team 42 in a regular-season game", first_row(SCHEDULE, HOME_TEAM_ID=42), "raw.schedule",
     "a game's teams are NBA teams unless it is an exhibition"),
    ("an unparsable tip time", first_row(SCHEDULE, GAME_DATETIME_UTC="soon"), "raw.schedule",
     "GAME_DATETIME_UTC is an ISO time"),
    ("a tip-off on another day", first_row(SCHEDULE, GAME_DATETIME_UTC="2024-12-25T20:00:00Z"), "raw.schedule",
     "the tip-off falls on the game date (US Eastern)"),
    ("over odds NaN", first_row(PROPS, OVER_ODDS=math.nan), "raw.prop_lines",
     "OVER_ODDS is American odds (|odds| 100..100000, finite)"),
    ("under odds infinite", first_row(PROPS, UNDER_ODDS=math.inf), "raw.prop_lines",
     "UNDER_ODDS is American odds (|odds| 100..100000, finite)"),
    ("odds of 5", first_row(PROPS, OVER_ODDS=5.0), "raw.prop_lines",
     "OVER_ODDS is American odds (|odds| 100..100000, finite)"),
    ("line NaN", first_row(PROPS, LINE=math.nan), "raw.prop_lines", "LINE is finite and within its market's bounds"),
    ("line 1e12", first_row(PROPS, LINE=1e12), "raw.prop_lines", "LINE is finite and within its market's bounds"),
    ("a line taken after tip-off", first_row(PROPS, REQUEST_DATE=date(2024, 11, 20)), "raw.prop_lines",
     "a pre-game line is taken before tip-off"),
    ("a game title without teams", first_row(PROPS, GAME="Knicks vs Celtics"), "raw.prop_lines",
     "GAME reads 'Away @ Home'"),
    ("an injury move without a player", first_row(INJURIES, PLAYER=""), "raw.injuries", "PLAYER is named"),
    ("box-score minutes 99:99", first_row(BOXES, MIN="99:99"), "raw.boxscore_players", "played minutes within 0..70"),
    ("box-score points 1000", first_row(BOXES, PTS=1000.0), "raw.boxscore_players", "PTS within 0..100"),
]


# -- the cases ----------------------------------------------------------------------------------


def _copy(good_archive: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "archive"
    shutil.copytree(good_archive, folder)
    return folder


def _ingest(run_cli, data_dir: Path, archive: Path):
    return run_cli(["ingest", *DATES, "--archive", str(archive), "--json"], data_dir)


@pytest.mark.parametrize(("case", "alter", "file", "problem"), REJECTED, ids=[c[0] for c in REJECTED])
def test_a_malformed_file_is_rejected_whole_and_changes_nothing(
        case, alter, file, problem, good_archive, good_warehouse, copy_warehouse, run_cli, no_traceback, tmp_path):
    warehouse = copy_warehouse(good_warehouse, tmp_path / "wh")
    before, quarantined = table_digests(warehouse), quarantine(warehouse)
    archive = _copy(good_archive, tmp_path)
    alter(archive)
    result = _ingest(run_cli, warehouse, archive)
    assert result.exit_code == 3, (case, result.output, result.stderr)
    message = " ".join(result.stderr.split())
    assert file in message and problem in message and "rejected whole" in message, message
    assert len(result.stderr.strip().splitlines()) == 1 or message.count("error:") == 1
    assert no_traceback(result) and result.stdout == ""
    assert table_digests(warehouse) == before
    assert quarantine(warehouse) == quarantined


@pytest.mark.parametrize(("case", "alter", "table", "rule"), QUARANTINED, ids=[c[0] for c in QUARANTINED])
def test_a_bad_row_is_quarantined_with_its_rule_and_held_data_stays(
        case, alter, table, rule, good_archive, good_warehouse, copy_warehouse, run_cli, tmp_path):
    warehouse = copy_warehouse(good_warehouse, tmp_path / "wh")
    before = table_digests(warehouse)
    archive = _copy(good_archive, tmp_path)
    alter(archive)
    result = _ingest(run_cli, warehouse, archive)
    assert result.exit_code == 0, (case, result.output, result.stderr)
    payload = json.loads(result.stdout)
    assert not [r for r in payload["runs"] if r["status"] == "failed"]
    assert any(t == table and reason == rule for t, _, reason in quarantine(warehouse)), quarantine(warehouse)
    assert table_digests(warehouse) == before, case
    with duckdb.connect(str(warehouse / "nba.duckdb"), read_only=True) as con:  # the row, as its file had it
        kept = con.execute("SELECT row_values FROM ops.quarantine WHERE table_name = ? AND reason = ?",
                           [table, rule]).fetchall()
    assert kept and all(json.loads(values) for (values,) in kept), (case, kept)
    for f in payload["files"]:  # every file reconciles
        assert f["source_rows"] == f["accepted"] + f["quarantined"], f


def test_the_cases_cover_at_least_34_malformed_archives() -> None:
    assert len(REJECTED) + len(QUARANTINED) >= 34


def test_a_correction_the_rules_refuse_is_not_stored(good_warehouse, copy_warehouse, run_cli, no_traceback, tmp_path):
    warehouse = copy_warehouse(good_warehouse, tmp_path / "wh")
    before = table_digests(warehouse)
    with duckdb.connect(str(warehouse / "nba.duckdb"), read_only=True) as con:
        game, player = con.execute("SELECT game_id, player_id FROM raw.player_boxscores ORDER BY ALL LIMIT 1").fetchall()[0]
    for values in (["--set", "pts=1e15"], ["--set", "fgm=40", "--set", "fga=3"], ["--set", "pts=-1"]):
        result = run_cli(["correct", "--game", game, "--player", str(player), *values], warehouse)
        assert result.exit_code == 2, result.output + result.stderr
        assert no_traceback(result)
    assert table_digests(warehouse) == before
    with duckdb.connect(str(warehouse / "nba.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM ops.source_corrections").fetchall()[0][0] == 0


def test_an_archive_correction_that_cannot_be_published_is_quarantined_once_and_the_rest_lands(
        good_archive, good_warehouse, copy_warehouse, run_cli, tmp_path):
    """A corrections file with a good correction beside four that cannot be published: one naming a
    player the game does not have, one breaking a row rule, one published before the box score it
    corrects was known, one of a game no player-logs file has (it was recorded, waiting for ever). The ingest exits 0 with the good one published; each other one is in
    ops.quarantine once, with its reason, and the next ingest neither fails nor records it again."""
    warehouse = copy_warehouse(good_warehouse, tmp_path / "wh")
    with duckdb.connect(str(warehouse / "nba.duckdb"), read_only=True) as con:
        (early_game, early_player, early_day, early_known), (game, player, pts) = (
            con.execute("SELECT game_id, player_id, game_date, known_at FROM raw.player_boxscores "
                        "WHERE game_date = ? ORDER BY ALL LIMIT 1", [WINDOW[0] + timedelta(days=1)]).fetchall()[0],
            con.execute("SELECT game_id, player_id, pts FROM raw.player_boxscores WHERE game_date = ? ORDER BY ALL LIMIT 1",
                        [WINDOW[0]]).fetchall()[0])
    late, early = datetime.combine(WINDOW[1], time(12)), datetime.combine(early_day, time(0))
    archive = _copy(good_archive, tmp_path)
    (archive / "corrections").mkdir()
    pl.DataFrame({"GAME_ID": [game, game, game, early_game, "0029999999"],
                  "PLAYER_ID": [player, 999999999, player, early_player, player],
                  "STAT": ["PTS", "PTS", "REB", "PTS", "PTS"], "VALUE": [pts + 2.0, 10.0, -5.0, 1.0, 3.0],
                  "PUBLISHED_AT": [late, late, late, early, late]}).with_columns(
        pl.col("PUBLISHED_AT").dt.replace_time_zone("UTC")).write_parquet(archive / "corrections" / "fixes.parquet")
    for _ in range(2):
        result = _ingest(run_cli, warehouse, archive)
        assert result.exit_code == 0, result.output + result.stderr
        with duckdb.connect(str(warehouse / "nba.duckdb"), read_only=True) as con:
            refused = con.execute("SELECT reason, count(*) FROM ops.quarantine WHERE table_name = 'ops.source_corrections' "
                                  "GROUP BY ALL ORDER BY ALL").fetchall()
            corrected = con.execute("SELECT pts FROM raw.player_boxscores WHERE game_id = ? AND player_id = ?",
                                    [game, player]).fetchall()[0][0]
            inverted = con.execute("SELECT count(*) FROM raw.player_boxscores_versions "
                                   "WHERE superseded_at < known_at").fetchall()[0][0]
            recorded = con.execute("SELECT game_id FROM ops.source_corrections").fetchall()
        assert corrected == pts + 2 and inverted == 0 and recorded == [(game,)]
        assert refused == [
            ("VALUE is a finite number, never negative", 1),
            (f"game {game} has no row of player 999999999", 1),
            ("game 0029999999 is in no player-logs file of the archive", 1),
            (f"published at {early} before the box score it corrects was known ({early_known})", 1)], refused
    shown = run_cli(["quarantine", "--table", "ops.source_corrections", "--json"], warehouse)  # a user finds them
    assert shown.exit_code == 0 and len(json.loads(shown.stdout)) == 4, shown.output


def test_a_correction_that_changes_nothing_or_names_a_stat_twice_is_refused_and_publishes_nothing(
        good_warehouse, copy_warehouse, run_cli, no_traceback, tmp_path):
    warehouse = copy_warehouse(good_warehouse, tmp_path / "wh")
    before = table_digests(warehouse)
    with duckdb.connect(str(warehouse / "nba.duckdb"), read_only=True) as con:
        game, player, pts, minutes = con.execute(
            "SELECT game_id, player_id, pts, minutes FROM raw.player_boxscores ORDER BY ALL LIMIT 1").fetchall()[0]
    for values, says in ((["--set", f"pts={pts}"], f"already has pts={pts}"),
                         (["--set", f"PTS={pts}", "--set", f"min={minutes:g}"], "nothing to correct"),
                         (["--set", f"pts={pts + 1}", "--set", f"pts={pts + 2}"], "--set pts given twice")):
        result = run_cli(["correct", "--game", game, "--player", str(player), *values], warehouse)
        assert result.exit_code == 2 and says in " ".join(result.stderr.split()), result.output + result.stderr
        assert no_traceback(result)
    assert table_digests(warehouse) == before


def test_a_folder_with_some_kinds_says_which_are_missing_by_pattern(good_archive, run_cli, tmp_path):
    folder = tmp_path / "partial"
    folder.mkdir()
    shutil.copy(good_archive / TEAMS, folder / TEAMS)
    result = run_cli(["ingest", "--start", str(WINDOW[0]), "--end", str(WINDOW[1]), "--archive", str(folder)],
                     tmp_path / "wh")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    for pattern in ("player_game_logs*.parquet", "props/*.parquet", "injuries/injury_transactions*.parquet"):
        assert f"no {pattern} in the archive" in text
    assert "raw.schedule" in text  # derived from the team logs


def test_a_missing_archive_folder_is_a_user_error(run_cli, no_traceback, tmp_path):
    result = run_cli(["ingest", "--date", "2024-11-01", "--archive", str(tmp_path / "nope")], tmp_path / "wh")
    assert result.exit_code == 3 and "does not exist" in result.stderr and no_traceback(result)


def test_an_exact_duplicate_row_keeps_one_copy(good_archive, good_warehouse, copy_warehouse, run_cli, tmp_path):
    warehouse = copy_warehouse(good_warehouse, tmp_path / "wh")
    before = table_digests(warehouse)
    archive = _copy(good_archive, tmp_path)
    rewrite(PLAYERS, lambda f: pl.concat([f, f.filter(_target(f))]))(archive)
    result = _ingest(run_cli, warehouse, archive)
    assert result.exit_code == 0
    assert any(reason.startswith("exact duplicate row") for _, _, reason in quarantine(warehouse))
    assert table_digests(warehouse) == before  # the fact is the same fact: nothing changes


def test_a_republished_date_with_real_changes_still_lands(good_archive, good_warehouse, copy_warehouse, run_cli, tmp_path):
    """The guard is only against loss: a valid change to a held row is taken (and the old version kept)."""
    warehouse = copy_warehouse(good_warehouse, tmp_path / "wh")
    archive = _copy(good_archive, tmp_path)
    plus_one = pl.when(_target(pl.read_parquet(archive / PLAYERS)))
    rewrite(PLAYERS, lambda f: f.with_columns(plus_one.then(pl.col("PLUS_MINUS") + 1).otherwise(pl.col("PLUS_MINUS"))
                                              .alias("PLUS_MINUS")))(archive)
    result = _ingest(run_cli, warehouse, archive)
    assert result.exit_code == 0
    with duckdb.connect(str(warehouse / "nba.duckdb"), read_only=True) as con:
        versions = con.execute("SELECT count(*) FROM raw.player_boxscores_history").fetchall()[0][0]
    assert versions == 1, "the row's previous version is kept, superseded"
