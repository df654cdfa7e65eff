"""Cross-check of game logs against DNP-aware box scores, on the real 2021-22 season and on an
altered copy of the files."""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest

from nbadb.monitor.crosscheck import COMPARED_STATS, crosscheck_season

# A few 2021-22 dates for the altered-copy archive: opening night and the two days after.
FIRST, LAST = date(2021, 10, 19), date(2021, 10, 21)


@pytest.fixture(scope="module")
def warehouse_2021_22(tmp_path_factory, archive_dir, ingest):
    """Only the 2021-22 season, ingested from the bundled archive."""
    data_dir = tmp_path_factory.mktemp("wh_2021_22")
    outcome = ingest(data_dir, season="2021-22", archive=archive_dir)
    assert not outcome.failed, [r.error for r in outcome.failed]
    runs = {r.processor: r for r in outcome.results}
    assert runs["raw.boxscore_players"].status == "success"
    return data_dir


def test_real_2021_22_matches_one_to_one(warehouse_2021_22, db):
    with db(warehouse_2021_22) as con:
        report = crosscheck_season(con, "2021-22")
        seasons = con.execute("SELECT list(DISTINCT season) FROM raw.player_boxscores").fetchall()[0][0]
    assert seasons == ["2021-22"]
    assert report.game_log_rows == report.boxscore_played_rows == report.in_both == report.matched == 26_039
    assert report.only_in_game_logs == report.only_in_boxscores == report.stat_mismatch_rows == 0
    assert report.stat_mismatches == {}
    assert report.game_log_games == report.boxscore_games == 1_230
    assert report.games_only_in_game_logs == report.games_only_in_boxscores == 0
    # DNP/DND/NWT rows exist in the box scores but are not part of the comparison
    assert report.boxscore_other_rows == 5_282
    # minutes only differ by the game logs' rounding to whole minutes
    assert report.minute_diffs_over_tolerance == 0
    assert report.max_minute_diff == pytest.approx(0.5)
    assert report.identical
    assert report.examples == {} and report.notes == []


def test_cli_prints_the_report(warehouse_2021_22, run_cli):
    result = run_cli(["crosscheck", "--season", "2021-22", "--json"], warehouse_2021_22)
    assert result.exit_code == 0, result.output + result.stderr
    payload = json.loads(result.stdout)
    assert payload["matched"] == payload["game_log_rows"] == 26_039
    assert payload["identical"] is True
    assert payload["compared_stats"] == list(COMPARED_STATS)

    text = run_cli(["crosscheck", "--season", "2021-22"], warehouse_2021_22)
    assert text.exit_code == 0, text.output + text.stderr
    flat = " ".join(text.stdout.split())
    assert "identical: 26,039 of 26,039 (game, player) rows match" in flat


def test_season_without_rows_is_reported_not_hidden(warehouse_2021_22, run_cli):
    result = run_cli(["crosscheck", "--season", "2019-20", "--json"], warehouse_2021_22)
    assert result.exit_code == 0, result.output + result.stderr
    payload = json.loads(result.stdout)
    assert payload["identical"] is False
    assert payload["in_both"] == payload["game_log_rows"] == payload["boxscore_played_rows"] == 0
    assert any("ingest it first" in note for note in payload["notes"])


def test_a_season_neither_the_warehouse_nor_the_archive_has_is_a_user_error_not_advice_to_ingest_it(
        warehouse_2021_22, run_cli, no_traceback):
    """It advised `nbadb ingest --season 2030-31`, which refuses a season the archive does not hold."""
    result = run_cli(["crosscheck", "--season", "2030-31"], warehouse_2021_22)
    assert result.exit_code == 2 and no_traceback(result)
    assert " ".join(result.stderr.split()).startswith(
        "error: nothing to compare: the warehouse has no rows of season 2030-31, and season 2030-31 is not in the archive")


def test_a_season_only_one_side_has_is_nothing_to_compare_not_a_difference(warehouse_2023_24, run_cli):
    """2023-24 has game logs and no box-score file: the verdict read "DIFFERENCES FOUND: 0 of 26,401
    rows match", above ten examples of rows "only in game logs"."""
    text = " ".join(run_cli(["crosscheck", "--season", "2023-24"], warehouse_2023_24.data_dir).output.split())
    assert "nothing to compare: one side has no rows for season 2023-24" in text
    assert "DIFFERENCES FOUND" not in text and "examples:" not in text
    assert "raw.boxscore_players has no played rows for season 2023-24" in text


def test_bad_season_label_is_a_user_error(warehouse_2021_22, run_cli, no_traceback):
    result = run_cli(["crosscheck", "--season", "21-22"], warehouse_2021_22)
    assert result.exit_code == 2
    assert "is not a season label" in " ".join(result.stderr.split())
    assert no_traceback(result)


@pytest.fixture(scope="module")
def altered(tmp_path_factory, archive_dir, ingest):
    """A copy of three 2021-22 dates in which one box-score PTS is changed and one game-log row removed."""
    folder = tmp_path_factory.mktemp("altered_archive")
    logs = pl.read_parquet(archive_dir / "player_game_logs.parquet").filter(pl.col("GAME_DATE").is_between(FIRST, LAST))
    teams = pl.read_parquet(archive_dir / "team_game_logs.parquet").filter(pl.col("GAME_DATE").is_between(FIRST, LAST))
    games = logs["GAME_ID"].unique().implode()
    box = pl.read_parquet(archive_dir / "boxscores_traditional_v2.parquet").filter(pl.col("GAME_ID").is_in(games))

    changed = logs.filter(pl.col("PTS") > 10).row(0, named=True)  # the player whose box-score PTS is altered
    dropped = logs.filter(pl.col("GAME_ID") != changed["GAME_ID"]).row(3, named=True)  # a game-log row removed
    is_changed = (pl.col("GAME_ID") == changed["GAME_ID"]) & (pl.col("PLAYER_ID") == changed["PLAYER_ID"])
    box = box.with_columns(pl.when(is_changed).then(pl.col("PTS") + 3).otherwise(pl.col("PTS")).alias("PTS"))
    assert box.schema["PTS"] == pl.Float64
    logs = logs.filter(~((pl.col("GAME_ID") == dropped["GAME_ID"]) & (pl.col("PLAYER_ID") == dropped["PLAYER_ID"])))

    logs.write_parquet(folder / "player_game_logs.parquet")
    teams.write_parquet(folder / "team_game_logs.parquet")
    box.write_parquet(folder / "boxscores_traditional_v2.parquet")
    data_dir = tmp_path_factory.mktemp("wh_altered")
    outcome = ingest(data_dir, FIRST, LAST, archive=folder)
    assert not outcome.failed and not outcome.stage.rejected
    return data_dir, changed, dropped, logs.height


def test_altered_copy_shows_the_differences(altered, db):
    data_dir, changed, dropped, log_rows = altered
    with db(data_dir) as con:
        report = crosscheck_season(con, "2021-22")
    assert report.game_log_rows == log_rows
    assert report.boxscore_played_rows == log_rows + 1
    assert report.only_in_game_logs == 0
    assert report.only_in_boxscores == 1
    assert report.stat_mismatch_rows == 1
    assert report.stat_mismatches == {"pts": 1}
    assert report.matched == log_rows - 1
    assert not report.identical

    (mismatch,) = report.examples["stat_mismatches"]
    assert (mismatch["game_id"], mismatch["player_id"]) == (changed["GAME_ID"], changed["PLAYER_ID"])
    assert mismatch["differences"] == {"pts": {"game_logs": changed["PTS"], "boxscores": changed["PTS"] + 3}}
    (one_sided,) = report.examples["only_in_boxscores"]
    assert (one_sided["game_id"], one_sided["player_id"]) == (dropped["GAME_ID"], dropped["PLAYER_ID"])
    assert one_sided["pts"] == dropped["PTS"]


def test_altered_copy_cli_reports_and_exits_zero(altered, run_cli):
    data_dir, changed, dropped, _ = altered
    result = run_cli(["crosscheck", "--season", "2021-22"], data_dir)
    assert result.exit_code == 0, result.output + result.stderr
    flat = "".join(result.stdout.split())
    assert "DIFFERENCESFOUND" in flat
    assert "mismatchesperstat:pts1" in flat
    assert changed["GAME_ID"] in flat and str(changed["PLAYER_ID"]) in flat
    assert str(dropped["PLAYER_ID"]) in flat


def test_history_lists_a_players_row_in_the_box_scores_beside_the_game_logs(warehouse_2021_22, db, run_cli):
    """`history` showed the game logs' and the summary's versions, not the box scores' (a correction
    publishes both)."""
    with db(warehouse_2021_22) as con:
        game, player, pts = con.execute("SELECT game_id, player_id, pts FROM raw.boxscore_players "
                                        "WHERE pts IS NOT NULL ORDER BY ALL LIMIT 1").fetchall()[0]
    result = run_cli(["history", "--game", game, "--player", str(player), "--json"], warehouse_2021_22)
    assert result.exit_code == 0, result.output + result.stderr
    assert {(v["table"], v["pts"]) for v in json.loads(result.stdout)} == {
        ("raw.player_boxscores", pts), ("raw.boxscore_players", pts)}
