"""Ingesting the real 2023-24 season: counts, team/player consistency, idempotence, quarantine,
and the CLI around it (status, version, user errors)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from nbadb import __version__
from nbadb.contracts.source_contracts import NBA_TEAM_IDS
from nbadb.pipeline.raw import RAW_PROCESSORS

RAW_TABLES = [spec.output_table for spec in RAW_PROCESSORS]
NYK = 1610612752


def _snapshot(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """Every raw row's lineage: (row_hash, run_id, ingested_at), sorted, duplicates kept."""
    return {
        t: sorted(con.execute(f"SELECT row_hash, run_id, ingested_at FROM {t}").fetchall()) for t in RAW_TABLES
    }


def test_season_counts(warehouse_2023_24, db):
    runs = {r.processor: r for r in warehouse_2023_24.outcome.results}
    assert runs["raw.player_boxscores"].status == "success"
    assert runs["raw.player_boxscores"].metrics.rows_written == 26_401
    with db(warehouse_2023_24.data_dir) as con:
        rows, games, players, seasons = con.execute(
            "SELECT count(*), count(DISTINCT game_id), count(DISTINCT player_id), list(DISTINCT season) "
            "FROM raw.player_boxscores"
        ).fetchall()[0]
        assert (rows, games, players, seasons) == (26_401, 1_230, 572, ["2023-24"])
        assert con.execute("SELECT min(game_date), max(game_date) FROM raw.player_boxscores").fetchall()[0] == (
            date(2023, 10, 24), date(2024, 4, 14))
        # (game, player) is unique and every row carries its lineage from the run that wrote it
        assert con.execute("SELECT count(DISTINCT (game_id, player_id)) FROM raw.player_boxscores").fetchall()[0][0] == rows
        lineage = con.execute(
            "SELECT count(*) FILTER (WHERE row_hash IS NULL OR run_id IS NULL), list(DISTINCT run_id) "
            "FROM raw.player_boxscores"
        ).fetchall()[0]
        assert lineage == (0, [runs["raw.player_boxscores"].run_id])
        # regular-season team rows: two per game, NBA teams only
        team_rows = con.execute(
            "SELECT count(*), count(DISTINCT game_id), count(*) FILTER (WHERE team_id NOT IN "
            f"({', '.join(map(str, NBA_TEAM_IDS))})) FROM raw.team_boxscores WHERE season_type = 'Regular Season'"
        ).fetchall()[0]
        assert team_rows == (2_460, 1_230, 0)


def test_player_sums_equal_team_rows(warehouse_2023_24, db):
    with db(warehouse_2023_24.data_dir) as con:
        checked, differing, missing = con.execute(
            """WITH p AS (
                SELECT game_id, team_id, sum(pts) AS pts, sum(fga) AS fga, sum(reb) AS reb
                FROM raw.player_boxscores GROUP BY ALL
            ), t AS (
                SELECT game_id, team_id, pts, fga, reb FROM raw.team_boxscores
                WHERE game_id IN (SELECT game_id FROM raw.player_boxscores)
            )
            SELECT count(*) FILTER (WHERE p.game_id IS NOT NULL AND t.game_id IS NOT NULL),
                   count(*) FILTER (WHERE p.pts <> t.pts OR p.fga <> t.fga OR p.reb <> t.reb),
                   count(*) FILTER (WHERE p.game_id IS NULL OR t.game_id IS NULL)
            FROM p FULL OUTER JOIN t USING (game_id, team_id)"""
        ).fetchall()[0]
    assert (checked, differing, missing) == (2_460, 0, 0)


def test_second_ingest_rewrites_nothing(warehouse_2023_24, run_cli, db, copy_warehouse, tmp_path):
    data_dir = copy_warehouse(warehouse_2023_24.data_dir, tmp_path / "wh")
    with db(data_dir) as con:
        before = _snapshot(con)
        ledger_before = con.execute("SELECT count(*) FROM ops.processor_runs").fetchall()[0][0]

    result = run_cli(["ingest", "--season", "2023-24", "--json"], data_dir)
    assert result.exit_code == 0, result.output + result.stderr
    payload = json.loads(result.stdout)
    assert (payload["start"], payload["end"]) == (str(warehouse_2023_24.outcome.start), str(warehouse_2023_24.outcome.end))

    with db(data_dir) as con:
        after = _snapshot(con)
        ledger = con.execute(
            "SELECT processor, status, skip_reason, rows_written FROM ops.processor_runs WHERE run_id IN "
            "(SELECT unnest($ids)) ORDER BY processor",
            {"ids": [r["run_id"] for r in payload["runs"]]},
        ).fetchall()
        ledger_after = con.execute("SELECT count(*) FROM ops.processor_runs").fetchall()[0][0]
        duplicates = {
            t: con.execute(f"SELECT count(*) - count(DISTINCT row_hash) FROM {t}").fetchall()[0][0]
            for t in RAW_TABLES
        }

    # nothing rewritten (same hashes, same run ids, same write times), nothing added
    assert after == before
    assert sum(len(rows) for rows in after.values()) > 30_000
    assert duplicates == dict.fromkeys(RAW_TABLES, 0)
    # one ledger row per processor, each a skip with its reason
    assert ledger_after == ledger_before + len(RAW_PROCESSORS)
    assert len(ledger) == len(RAW_PROCESSORS)
    assert all(status == "skipped" and rows == 0 for _, status, _, rows in ledger), ledger
    reasons = {proc: reason for proc, _, reason, _ in ledger}
    assert set(reasons.values()) <= {"no_changes", "missing_dependency"}
    # tables that hold 2023-24 data were skipped because nothing changed, not for lack of input
    for proc in ("raw.schedule", "raw.player_boxscores", "raw.team_boxscores", "raw.injuries"):
        assert reasons[proc] == "no_changes"


def test_status_json_reports_tables(warehouse_2023_24, run_cli, db):
    result = run_cli(["status", "--json"], warehouse_2023_24.data_dir)
    assert result.exit_code == 0, result.output + result.stderr
    status = {row["table"]: row for row in json.loads(result.stdout)}
    assert set(RAW_TABLES) <= set(status)
    with db(warehouse_2023_24.data_dir) as con:
        for table in RAW_TABLES:
            assert status[table]["rows"] == con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
        quarantined = con.execute(
            "SELECT count(*) FROM ops.quarantine WHERE table_name = 'raw.team_boxscores'"
        ).fetchall()[0][0]
    assert status["raw.player_boxscores"]["rows"] == 26_401
    assert (status["raw.player_boxscores"]["min_date"], status["raw.player_boxscores"]["max_date"]) == (
        "2023-10-24", "2024-04-14")
    assert status["raw.team_boxscores"]["quarantined"] == quarantined > 0


def test_version(run_cli, tmp_path):
    result = run_cli(["--version"], tmp_path)
    assert result.exit_code == 0
    assert result.stdout.strip() == f"nbadb {__version__}"


def test_ghost_and_non_nba_rows_are_quarantined(warehouse_2023_24, archive_dir: Path, db):
    source = str(archive_dir / "team_game_logs.parquet")
    with db(warehouse_2023_24.data_dir) as con:
        quarantine = {
            (key, reason)
            for key, reason in con.execute(
                "SELECT record_key, reason FROM ops.quarantine WHERE table_name = 'raw.team_boxscores' "
                "AND source_file = 'team_game_logs.parquet'"
            ).fetchall()
        }
        non_nba = {
            f"{g}|{t}"
            for g, t in con.execute(
                f"SELECT GAME_ID, TEAM_ID FROM read_parquet('{source}') WHERE SEASON = '2023-24' "
                f"AND TEAM_ID NOT IN ({', '.join(map(str, NBA_TEAM_IDS))})"
            ).fetchall()
        }
        nyk_rows = con.execute(
            "SELECT wl, pts FROM raw.team_boxscores WHERE game_id = '0012300036' AND team_id = ?", [NYK]
        ).fetchall()
        non_nba_in_raw = con.execute(
            f"SELECT count(*) FROM raw.team_boxscores WHERE team_id NOT IN ({', '.join(map(str, NBA_TEAM_IDS))})"
        ).fetchall()[0][0]
    # the ghost duplicate: WL null, quarantined with its reason; the real NYK row is kept, once
    assert ("0012300036|1610612752", "WL is null or unparsable") in quarantine
    assert len(nyk_rows) == 1 and nyk_rows[0][0] in ("W", "L") and nyk_rows[0][1] > 50
    # every non-NBA team row of the season (pre-season clubs, All-Star teams) is quarantined
    assert len(non_nba) == 19
    assert {(k, "TEAM_ID is one of the 30 NBA teams") for k in non_nba} <= quarantine
    assert non_nba_in_raw == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ingest", "--date", "2024-02-30"], "is not a date"),
        (["ingest", "--start", "2024-01-10", "--end", "2024-01-01"], "is after --end"),
        (["ingest"], "exactly one of"),
        (["ingest", "--season", "1999-00"], "season 1999-00 is not in the archive"),
    ],
)
def test_user_error_exits_with_message(args, message, run_cli, no_traceback, tmp_path):
    result = run_cli(args, tmp_path)
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())
    assert no_traceback(result)
    assert result.stdout == ""


def test_ingest_reports_quarantined_rows_and_the_records_nbadb_quarantine_lists(run_cli, db, tmp_path):
    """The seven books' lines of one unmatched player name are seven quarantined source rows and one
    quarantine record: the ingest says both, and each number is the one its own view shows."""
    result = run_cli(["ingest", "--start", "2024-11-01", "--end", "2024-11-30", "--json"], tmp_path)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["quarantined"] == sum(f["quarantined"] for f in payload["files"])
    listed = json.loads(run_cli(["quarantine", "--limit", "100000", "--json"], tmp_path).stdout)
    with db(tmp_path) as con:
        held = con.execute("SELECT count(*) FROM ops.quarantine").fetchall()[0][0]
    assert payload["quarantine_records"] == held == len(listed) < payload["quarantined"]
    text = run_cli(["ingest", "--start", "2024-11-01", "--end", "2024-11-30"], tmp_path).output
    assert f"{payload['quarantined']:,} source rows quarantined" in " ".join(text.split())
