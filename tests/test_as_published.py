"""As published: a correction flows forward from the moment it is published, what was said before a
tip-off stays said, and the current truth always equals a rebuild on the latest facts.

- a correction published after a window (the warehouse clock) restates exactly its player's summary
  and both team summaries, leaves every as-of row byte-identical, and the evaluation judges the
  predictions as made against the corrected actual;
- a correction published on a day of a replay reaches the as-of rows from that day on and none
  before, and the replay equals one whose archive carries the correction (both continue the same
  replayed base);
- for random corrections published on random days: frozen rows never change, and the current-truth
  tables equal a from-scratch rebuild on the latest facts (hypothesis).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbadb.config import BUNDLED_ARCHIVE, Settings
from nbadb.engine.clock import morning
from nbadb.errors import ConfigError
from nbadb.orchestrate.corrections import carry, publish_correction
from nbadb.orchestrate.daily import run_pipeline
from nbadb.orchestrate.ingest import publish
from nbadb.orchestrate.replay import replay, replay_day
from nbadb.orchestrate.workspace import Workspace, open_workspace
from nbadb.pipeline.registry import build_graph

GRAPH = build_graph()
AS_OF = [n for n, s in GRAPH.specs.items() if s.kind == "as_of"]
CURRENT = [n for n, s in GRAPH.specs.items() if s.kind == "current_truth"]
FACTS = [n for n in CURRENT if n != "predictions.evaluation"]  # the evaluation judges predictions as made
PREVIOUS = (date(2023, 3, 27), date(2023, 4, 9))
FIRST, LAST = date(2023, 10, 24), date(2023, 11, 14)


def _ws(path: Path, archive: Path = BUNDLED_ARCHIVE) -> Workspace:
    return open_workspace(archive, settings=Settings(data_dir=path, archive_dir=archive))


def _rows(con: duckdb.DuckDBPyConnection, table: str, where: str = "", lineage: bool = False) -> list[tuple]:
    exclude = "" if lineage else " EXCLUDE (run_id, ingested_at)"
    return con.execute(f"SELECT *{exclude} FROM {table} {where} ORDER BY ALL").fetchall()


def _digest(con: duckdb.DuckDBPyConnection, table: str, where: str = "") -> str:
    return hashlib.md5(repr(_rows(con, table, where, lineage=True)).encode()).hexdigest()


def _replay(ws: Workspace, start: date, end: date, corrections: dict[date, list[tuple]] | None = None) -> None:
    """Replay [start, end]; on a day with corrections, publish them that morning first and carry them
    to the current truth there and then, as the replay does with an archive's corrections (a
    correction the row rules refuse is not published, and not recorded)."""
    day = start
    while day <= end:
        for game, player, values in (corrections or {}).get(day, []):
            try:
                publish_correction(ws, game, player, values, at=morning(day))
                carry(ws, morning(day))
            except ConfigError as refused:
                assert "refused" in str(refused)
        assert not replay_day(ws, day).failed, day
        day += timedelta(days=1)


# -- a correction published after the window ---------------------------------------------------------


def test_a_late_correction_restates_the_current_truth_and_no_snapshot(replayed_window, copy_warehouse, run_cli,
                                                                     tmp_path) -> None:
    data_dir = copy_warehouse(replayed_window.data_dir, tmp_path / "late")
    with duckdb.connect(str(data_dir / "nba.duckdb"), read_only=True) as con:
        game, player, day, pts = con.execute(  # a player-game about two weeks back with predictions for it
            """SELECT b.game_id, b.player_id, b.game_date, b.pts FROM raw.player_boxscores b
            JOIN predictions.evaluation e ON e.player_id = b.player_id AND e.game_id = b.game_id
            WHERE b.game_date = DATE '2023-10-30' ORDER BY b.pts DESC, b.player_id LIMIT 1""").fetchall()[0]
        before = {t: _digest(con, t) for t in AS_OF}
        summaries = {t: _rows(con, t, lineage=True) for t in FACTS if t.startswith("analytics.")}
    corrected = run_cli(["correct", "--game", game, "--player", str(player), "--set", f"pts={pts + 2}", "--json"],
                        data_dir)
    assert corrected.exit_code == 0, corrected.output + corrected.stderr
    ran = run_cli(["run", "--date", str(LAST), "--json"], data_dir)
    assert ran.exit_code == 0, ran.output
    results = json.loads(ran.stdout)
    changed = {r["processor"]: r["entities_changed"] for r in results if r["entities_changed"]}
    assert changed["analytics.player_game_summary"] == 1
    # the as-of dates it reaches said their piece before it was published: each as-of run is skipped
    # before reading a signature (frozen, and the one day after the window has no game yet)
    as_of = {r["processor"]: (r["status"], r["skip_reason"]) for r in results if r["processor"] in AS_OF}
    assert all(status == "skipped" and reason != "no_changes" for status, reason in as_of.values()), as_of
    assert changed["analytics.team_offense_game_summary"] == changed["analytics.team_defense_game_summary"] == 2
    with duckdb.connect(str(data_dir / "nba.duckdb"), read_only=True) as con:
        assert {t: _digest(con, t) for t in AS_OF} == before, "every as-of row is byte-identical"
        after = {t: _rows(con, t, lineage=True) for t in summaries}
        differing = {t: len(set(after[t]) ^ set(summaries[t])) // 2 for t in summaries}
        # his row; both teams' offense rows (his team's points, the other's points allowed); the other
        # team's defense row (his team's side of the game is unchanged from its own defense's view)
        assert differing == {"analytics.player_game_summary": 1, "analytics.team_offense_game_summary": 2,
                             "analytics.team_defense_game_summary": 1}
        actual, revised, predicted = con.execute(
            """SELECT DISTINCT actual_value, actual_revised, predicted_value FROM predictions.evaluation
            WHERE player_id = ? AND game_id = ? AND target = 'pts' AND system = 'ensemble'""", [player, game]).fetchall()[0]
        assert (actual, revised) == (pts + 2, True)
        assert not con.execute(
            """SELECT bool_or(actual_revised) FROM predictions.evaluation
            WHERE player_id = ? AND game_id = ? AND target <> 'pts'""", [player, game]).fetchall()[0][0], \
            "his other targets' actuals were not revised"
        made = con.execute("SELECT predicted_value FROM predictions.player_prop_predictions WHERE player_id = ? "
                           "AND game_date = ? AND target = 'pts' AND system = 'ensemble'", [player, day]).fetchall()[0][0]
        assert predicted == made, "the prediction is judged as it was made"
    history = json.loads(run_cli(["history", "--game", game, "--player", str(player), "--json"], data_dir).stdout)
    raw = [v for v in history if v["table"] == "raw.player_boxscores"]
    assert [v["pts"] for v in raw] == [pts, pts + 2] and raw[0]["superseded_at"] == raw[1]["known_at"]


# -- a correction published during a replay -----------------------------------------------------------

SPLIT = date(2023, 11, 9)  # `base` is the window replayed through here; the tests below replay the days after
CORRECTION_DAY = date(2023, 11, 11)


@pytest.fixture(scope="module")
def base(replayed_window) -> tuple[Path, Path, list[tuple[str, int, int]]]:
    """The window replayed through SPLIT; the same replay continued to LAST with no correction (the
    window itself); candidate player-games."""
    assert replayed_window.midway == SPLIT and replayed_window.replayed == (FIRST, LAST)
    with duckdb.connect(str(replayed_window.midway_dir / "nba.duckdb"), read_only=True) as con:
        candidates = con.execute(
            "SELECT game_id, player_id, pts FROM raw.player_boxscores WHERE game_date BETWEEN ? AND ? AND pts > 0 "
            "ORDER BY ALL", [FIRST, SPLIT]).fetchall()
    return replayed_window.midway_dir, replayed_window.data_dir, candidates


@pytest.fixture(scope="module")
def corrected_game(replayed_window) -> tuple[str, int, int]:
    """A player with a big game on 2023-10-30 who plays again after CORRECTION_DAY: (game, player, pts)."""
    with duckdb.connect(str(replayed_window.data_dir / "nba.duckdb"), read_only=True) as con:
        return con.execute(
            """SELECT b.game_id, b.player_id, b.pts FROM raw.player_boxscores b
            WHERE b.game_date = DATE '2023-10-30' AND b.player_id IN (
                SELECT player_id FROM analytics.upcoming_player_game_context WHERE game_date > ?)
            ORDER BY b.pts DESC, b.player_id LIMIT 1""", [CORRECTION_DAY]).fetchall()[0]


def test_a_correction_published_on_a_replayed_day_reaches_only_the_days_from_then(
        base, replayed_window, corrected_game, archive_dir, tmp_path) -> None:
    """From the base (replayed through SPLIT): the days after it replayed with a correction published on
    CORRECTION_DAY, against the same days replayed from an archive that carries the correction (published
    by the replay at its time), and against the clean replay of the window."""
    game, player, pts = corrected_game
    during_dir, from_start_dir = (shutil.copytree(base[0], tmp_path / name) for name in ("during", "from_start"))
    with _ws(during_dir) as ws:
        _replay(ws, SPLIT + timedelta(days=1), LAST, {CORRECTION_DAY: [(game, player, {"pts": pts + 9})]})
        during = {t: _rows(ws.con, t) for t in GRAPH.specs if GRAPH.specs[t].phase >= 2}
    archive = tmp_path / "archive"
    archive.mkdir()
    for entry in archive_dir.iterdir():
        (archive / entry.name).symlink_to(entry)
    (archive / "corrections").mkdir()
    pl.DataFrame({"GAME_ID": [game], "PLAYER_ID": [player], "STAT": ["PTS"], "VALUE": [float(pts + 9)],
                  "PUBLISHED_AT": [morning(CORRECTION_DAY)]}).with_columns(
        pl.col("PUBLISHED_AT").dt.replace_time_zone("UTC")).write_parquet(archive / "corrections" / "fix.parquet")
    with _ws(from_start_dir, archive) as ws:
        assert not any(o.failed for o in replay(ws, SPLIT + timedelta(days=1), LAST))
        from_start = {t: _rows(ws.con, t) for t in during}
    assert during == from_start
    with duckdb.connect(str(replayed_window.data_dir / "nba.duckdb"), read_only=True) as clean:
        for table in AS_OF:
            column = GRAPH.specs[table].date_column
            at = _index(clean, table, column)
            before = f"WHERE {column} < DATE '{CORRECTION_DAY}'"
            assert _rows(clean, table, before) == [r for r in during[table] if r[at] < CORRECTION_DAY], table
        his = f"WHERE player_id = {player} AND game_date >= DATE '{CORRECTION_DAY}'"
        clean_form = _rows(clean, "precompute.player_daily_cache", his)
    corrected_form = [r for r in during["precompute.player_daily_cache"]
                      if r[0] == player and r[1] >= CORRECTION_DAY]
    assert clean_form and len(corrected_form) == len(clean_form)
    assert all(a != b for a, b in zip(clean_form, corrected_form)), "every as-of date from the publication on uses it"


def _index(con: duckdb.DuckDBPyConnection, table: str, column: str) -> int:
    names = [d[0] for d in con.execute(f"SELECT * EXCLUDE (run_id, ingested_at) FROM {table} LIMIT 0").description]
    return names.index(column)


# -- random corrections on random days ---------------------------------------------------------------


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_frozen_rows_never_change_and_the_current_truth_equals_a_rebuild(base, tmp_path_factory, data) -> None:
    path, plain, candidates = base
    picks = data.draw(st.lists(st.sampled_from(candidates), min_size=1, max_size=3, unique_by=lambda c: c[:2]))
    days = [SPLIT + timedelta(days=data.draw(st.integers(1, (LAST - SPLIT).days))) for _ in picks]
    deltas = [data.draw(st.integers(1, 6)) for _ in picks]
    work = tmp_path_factory.mktemp("example")
    shutil.copytree(path, work, dirs_exist_ok=True)
    corrections: dict[date, list[tuple]] = {}
    for (game, player, pts), day, delta in zip(picks, days, deltas):
        corrections.setdefault(day, []).append((game, player, {"pts": pts + delta}))
    with _ws(work) as ws:
        _replay(ws, SPLIT + timedelta(days=1), LAST, corrections)
        first = min(days)
        with duckdb.connect(str(plain / "nba.duckdb"), read_only=True) as clean:
            for table in AS_OF:  # everything said before the first publication is as it was
                where = f"WHERE {GRAPH.specs[table].date_column} < DATE '{first}'"
                assert _rows(ws.con, table, where) == _rows(clean, table, where), table
        live = {t: ws.con.execute(f"SELECT * EXCLUDE (run_id, ingested_at, known_at) FROM {t} ORDER BY ALL").fetchall()
                for t in FACTS}
        recorded = ws.con.execute("SELECT game_id, player_id, stat, value FROM ops.source_corrections").fetchall()
    rebuilt = tmp_path_factory.mktemp("rebuilt")
    with _ws(rebuilt) as ws:  # the latest facts at once, then the current-truth processors
        for i, (game, player, stat, value) in enumerate(recorded):
            ws.con.execute("INSERT INTO ops.source_corrections (correction_id, game_id, player_id, stat, value, "
                           "published_at) VALUES (?, ?, ?, ?, ?, TIMESTAMP '2000-01-01')", [f"c{i}", game, player, stat, value])
        for window in (PREVIOUS, (FIRST, LAST)):
            assert not publish(ws, *window).failed
            assert not [r for r in run_pipeline(ws, window, processors=frozenset(FACTS)) if r.status == "failed"]
        for table in FACTS:
            assert ws.con.execute(f"SELECT * EXCLUDE (run_id, ingested_at, known_at) FROM {table} ORDER BY ALL"
                                  ).fetchall() == live[table], table
