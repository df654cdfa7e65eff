"""Out of order, as published: what a warehouse holds does not depend on the order its work ran in.

- a replay stopped inside a night publication (box scores written, team rows not) and run again from
  an earlier day writes the tables and history of an uninterrupted replay: no pass takes an event
  published after its clock;
- a correction published the instant its box score was keeps the figure it corrects;
- a backfill of an older window after a newer one writes the tables and history of an in-order one.
"""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb

from nbadb.config import BUNDLED_ARCHIVE, Settings
from nbadb.engine.clock import night
from nbadb.orchestrate.backfill import BackfillPlan, run_backfill, start_backfill
from nbadb.orchestrate.ingest import publish
from nbadb.orchestrate.replay import morning_of, replay, replay_day
from nbadb.orchestrate.workspace import Workspace, open_workspace
from test_backfill import TABLES, _tables  # every table of every phase, lineage left out

SPLIT = date(2023, 11, 9)  # the replayed window's midway day (conftest.WINDOW_MIDWAY)
LAST = date(2023, 11, 14)  # its last day


def _ws(path: Path) -> Workspace:
    return open_workspace(BUNDLED_ARCHIVE, settings=Settings(data_dir=path, archive_dir=BUNDLED_ARCHIVE))


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    return con.execute(f"SELECT * EXCLUDE (run_id, ingested_at) FROM {table} ORDER BY ALL").fetchall()


def _published_tables(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """Every table of the pipeline's schemas (their published versions included), lineage left out."""
    names = [f"{s}.{t}" for s, t in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name IN "
        "('raw', 'analytics', 'precompute', 'predictions')").fetchall()]
    return {name: _rows(con, name) for name in sorted(names)}


def test_a_pass_never_consumes_what_was_published_after_its_clock(replayed_window, tmp_path) -> None:
    """From the base: one day replayed, the next one's morning and the first of its night publication's
    runs (the box scores, not the team rows: a kill between them), then the replay run again from the
    first day. Its passes before that night must leave the box scores' event waiting for the night's
    pass (they summarised the game without its team rows, restated at night: another history); the end
    equals the uninterrupted replay of the same days."""
    day, killed = SPLIT + timedelta(days=1), SPLIT + timedelta(days=2)
    rerun_dir, clean_dir = (shutil.copytree(replayed_window.midway_dir, tmp_path / name) for name in ("rerun", "clean"))
    with _ws(rerun_dir) as ws:
        assert not replay_day(ws, day).failed
        morning_of(ws, killed)
        assert not publish(ws, killed, killed, processors=frozenset({"raw.player_boxscores"}),
                           clock=night(killed)).failed
        assert not any(o.failed for o in replay(ws, day, killed))
        rerun = _published_tables(ws.con)
    with _ws(clean_dir) as ws:
        assert not any(o.failed for o in replay(ws, day, killed))
        clean = _published_tables(ws.con)
    assert rerun.keys() == clean.keys()
    assert [t for t in clean if rerun[t] != clean[t]] == []


def test_a_correction_published_the_instant_its_box_score_was_keeps_the_figure_it_corrects(
        replayed_window, copy_warehouse, run_cli, tmp_path) -> None:
    """`nbadb correct` at the warehouse clock, on a game of the last replayed night (published at that
    very instant): the corrected version replaced the original, which no `history` showed again."""
    data_dir = copy_warehouse(replayed_window.data_dir, tmp_path / "wh")
    with duckdb.connect(str(data_dir / "nba.duckdb"), read_only=True) as con:
        game, player, pts = con.execute("SELECT game_id, player_id, pts FROM raw.player_boxscores WHERE game_date = ? "
                                        "ORDER BY pts DESC, game_id, player_id LIMIT 1", [LAST]).fetchall()[0]
    corrected = run_cli(["correct", "--game", game, "--player", str(player), "--set", f"pts={pts + 1}"], data_dir)
    assert corrected.exit_code == 0, corrected.output + corrected.stderr
    history = json.loads(run_cli(["history", "--game", game, "--player", str(player), "--json"], data_dir).stdout)
    raw = [v for v in history if v["table"] == "raw.player_boxscores"]
    assert [v["pts"] for v in raw] == [pts, pts + 1] and raw[0]["superseded_at"] == raw[1]["known_at"]


def _rounded(rows: list[tuple]) -> list[tuple]:
    """Rows with their floats to 9 places: a prediction restated by one ulp keeps its row hash, so the
    evaluation that copied it is not redone (content hashes round), whichever order wrote it."""
    return [tuple(round(v, 9) if isinstance(v, float) else v for v in row) for row in rows]


def test_a_backfill_of_an_older_window_after_a_newer_one_writes_the_history_of_an_in_order_one(tmp_path) -> None:
    """The newer window's summaries are restated (their rest days now see the older games): the versions
    they replace were known no earlier than the restatement, so they never held and are not history;
    no box score changed, so no actual is revised."""
    older, newer = (date(2023, 10, 24), date(2023, 10, 29)), (date(2023, 10, 30), date(2023, 11, 4))
    tables = {}
    for name, windows in (("reverse", (newer, older)), ("in_order", (older, newer))):
        for first, last in windows:
            with _ws(tmp_path / name) as ws:
                plan = BackfillPlan(first, last, levels=frozenset({1}))
                assert run_backfill(ws, start_backfill(ws, plan), plan).status == "finished"
        tables[name] = _tables(tmp_path / name)
    reverse, in_order = tables["reverse"], tables["in_order"]
    with duckdb.connect(str(tmp_path / "reverse" / "nba.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*), count(*) FILTER (WHERE actual_revised) FROM predictions.evaluation"
                           ).fetchall()[0] == (len(reverse["predictions.evaluation"]), 0)
    assert reverse["predictions.evaluation"] and reverse["analytics.player_game_summary"]
    assert [t for t in TABLES if _rounded(reverse[t]) != _rounded(in_order[t])] == []
