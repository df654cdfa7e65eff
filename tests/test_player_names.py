"""A sportsbook's or a transaction's player name gets the NBA id of the player it means
(sources.names), on the bundled real lines and player directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import duckdb
import polars as pl

from conftest import BUNDLED_ARCHIVE, bundled_subset, db
from nbadb.sources.names import name_key_sql

DIRECTORY = "nba_api_payloads/commonallplayers_2025-26.json"
LINES = ("props/player_props_2025_26.parquet", "props/player_threes_pregame_2025_26.parquet")


def _teamless_namesakes() -> set[int]:
    """The directory's players without a team (retired or unsigned, so on no line) who share their
    name key with a player on a team."""
    result = json.loads((BUNDLED_ARCHIVE / DIRECTORY).read_text())["resultSets"][0]
    columns = [result["headers"].index(c) for c in ("PERSON_ID", "DISPLAY_FIRST_LAST", "TEAM_NAME")]
    players = pl.DataFrame([[row[i] for i in columns] for row in result["rowSet"]],
                           schema=["player_id", "name", "team"], orient="row")
    with duckdb.connect() as con:
        con.register("players", players)
        return {pid for (pid,) in con.execute(f"""
            WITH p AS (SELECT player_id, coalesce(trim(team), '') <> '' AS has_team, {name_key_sql('name')} AS k FROM players)
            SELECT player_id FROM p WHERE NOT has_team AND k IN (SELECT k FROM p WHERE has_team)""").fetchall()}


def test_a_line_never_goes_to_a_retired_namesake(run_cli: Callable, tmp_path: Path) -> None:
    """The directory lists Jaren Jackson Jr on Utah (it was taken after his trade) while October's
    lines have him with Memphis, and his father Jaren Jackson (retired in 2001, no team) shares his
    name key: the lines are the son's. No line goes to a teamless player who has a namesake on a team."""
    archive = bundled_subset(tmp_path / "archive", DIRECTORY, *LINES)
    data_dir = tmp_path / "wh"
    result = run_cli(["ingest", "--start", "2025-10-21", "--end", "2025-10-25"], data_dir, archive=archive)
    assert result.exit_code == 0, result.output
    with db(data_dir) as con:
        juniors = dict(con.execute(
            """SELECT player_name, list(DISTINCT player_id) FROM raw.prop_lines
               WHERE player_name IN ('Jaren Jackson Jr', 'Tim Hardaway Jr') GROUP BY ALL""").fetchall())
        matched = {pid for (pid,) in con.execute("SELECT DISTINCT player_id FROM raw.prop_lines").fetchall()}
    assert juniors == {"Jaren Jackson Jr": [1628991], "Tim Hardaway Jr": [203501]}
    namesakes = _teamless_namesakes()
    assert {1114, 896} <= namesakes  # Jaren Jackson and Tim Hardaway, the fathers
    assert len(matched) > 200 and not matched & namesakes
