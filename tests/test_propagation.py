"""Late and corrected data reach every downstream table with no user action, in both modes.

The tables checked are the raw tables and the box-score summaries, so every run here is Phase 3
alone (PHASES): the as-of phases read the same summaries and are checked by test_as_published."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from nbadb.config import BUNDLED_ARCHIVE, Settings
from nbadb.errors import ConfigError
from nbadb.orchestrate.corrections import publish_correction
from nbadb.orchestrate.daily import run_pipeline
from nbadb.orchestrate.ingest import publish
from nbadb.orchestrate.replay import replay
from nbadb.orchestrate.workspace import open_workspace

START, END = date(2023, 10, 24), date(2023, 11, 26)
PHASES = frozenset({3})
OUTPUTS = (
    "raw.player_boxscores", "raw.team_boxscores", "raw.schedule",
    "analytics.player_game_summary", "analytics.team_offense_game_summary", "analytics.team_defense_game_summary",
)


def _ws(path: Path):
    return open_workspace(BUNDLED_ARCHIVE, settings=Settings(data_dir=path))


def _tables(con) -> dict[str, list[tuple]]:
    """The current-truth tables' content: every column but lineage and publication time."""
    return {t: con.execute(f"SELECT * EXCLUDE (run_id, ingested_at, known_at) FROM {t} ORDER BY ALL").fetchall()
            for t in OUTPUTS}


def _clean_build(path: Path, corrections: list[tuple[str, int, str, float]] = ()) -> dict[str, list[tuple]]:
    with _ws(path) as ws:
        for i, (game, player, stat, value) in enumerate(corrections):
            ws.con.execute("INSERT INTO ops.source_corrections (correction_id, game_id, player_id, stat, value, "
                           "published_at) VALUES (?, ?, ?, ?, ?, now()::TIMESTAMP)", [f"c{i}", game, player, stat, value])
        publish(ws, START, END)
        results = run_pipeline(ws, (START, END), phases=PHASES)
        assert not [r for r in results if r.status == "failed"]
        return _tables(ws.con)


@pytest.fixture(scope="module")
def pick(tmp_path_factory) -> tuple[str, int, date, int]:
    """A real player-game about 30 days before END: (game_id, player_id, game_date, pts)."""
    with _ws(tmp_path_factory.mktemp("pick")) as ws:
        publish(ws, END - timedelta(days=30), END - timedelta(days=30))
        return ws.con.execute(
            "SELECT game_id, player_id, game_date, pts FROM raw.player_boxscores ORDER BY pts DESC, player_id LIMIT 1"
        ).fetchall()[0]


@pytest.fixture(scope="module")
def replayed(tmp_path_factory) -> dict[str, Path]:
    """The same replay in entity mode and in date mode, in two warehouses."""
    paths = {}
    for mode in ("entity", "date"):
        path = tmp_path_factory.mktemp(mode)
        with _ws(path) as ws:
            outcomes = replay(ws, START, END, processing_mode=mode, phases=PHASES)
            assert not any(o.failed for o in outcomes)
        paths[mode] = path
    return paths


def test_correction_reprocesses_exactly_one_player_and_two_teams(replayed, pick, tmp_path) -> None:
    game, player, _, pts = pick
    tables = {}
    for mode, path in replayed.items():
        with _ws(path) as ws:
            publish_correction(ws, game, player, {"pts": pts + 7})
            results = {r.processor: r for r in run_pipeline(ws, (END, END), processing_mode=mode, phases=PHASES)}
            summary = results["analytics.player_game_summary"]
            assert summary.metrics.entities_changed == 1
            for team_table in ("analytics.team_offense_game_summary", "analytics.team_defense_game_summary"):
                assert results[team_table].metrics.entities_changed == 2
            if mode == "entity":
                assert summary.metrics.entities_processed == 1 and summary.metrics.waste_pct == 0
            else:
                assert summary.metrics.entities_processed > 10 and summary.metrics.waste_pct > 90
            corrected = ws.con.execute(
                "SELECT pts FROM analytics.player_game_summary WHERE game_id = ? AND player_id = ?", [game, player]
            ).fetchall()
            assert corrected == [(pts + 7,)]
            tables[mode] = _tables(ws.con)
    assert tables["entity"] == tables["date"]  # both modes give identical tables
    assert tables["entity"] == _clean_build(tmp_path / "clean", [(game, player, "PTS", pts + 7)])


def test_correction_30_days_back_reaches_downstream_on_a_plain_run_for_today(pick, tmp_path) -> None:
    game, player, game_date, pts = pick
    assert (END - game_date).days == 30
    with _ws(tmp_path / "live") as ws:
        publish(ws, START, END)
        run_pipeline(ws, (START, END), phases=PHASES)
        publish_correction(ws, game, player, {"pts": pts - 5, "ast": 0})
        run_pipeline(ws, (END, END), phases=PHASES)  # the user names today, not the corrected date
        live = _tables(ws.con)
        stale = ws.con.execute(
            "SELECT count(*) FROM analytics.player_game_summary WHERE game_id = ? AND player_id = ? AND pts <> ?",
            [game, player, pts - 5],
        ).fetchall()[0][0]
    assert stale == 0
    assert live == _clean_build(tmp_path / "clean", [(game, player, "PTS", pts - 5), (game, player, "AST", 0)])


def test_late_games_published_after_their_date_ran_are_not_lost(tmp_path) -> None:
    day = date(2023, 11, 1)
    with _ws(tmp_path / "late") as ws:
        publish(ws, START, day - timedelta(days=1))
        games = sorted({g for _, rows in ws.source.checked("team_logs")
                        for g in rows.filter(pl.col("GAME_DATE") == day)["GAME_ID"]})
        assert len(games) > 8
        publish(ws, day, day, game_ids=games[:8])
        run_pipeline(ws, (START, day), phases=PHASES)
        publish(ws, day, day, game_ids=games[8:])
        publish(ws, day + timedelta(days=1), END)
        run_pipeline(ws, (END, END), phases=PHASES)  # a plain run for a later date picks the late games up
        late = _tables(ws.con)
    assert late == _clean_build(tmp_path / "clean")


def test_minutes_correct_in_both_box_score_files_and_a_bad_correction_leaves_nothing_behind(tmp_path: Path) -> None:
    """The box scores file keeps MIN as "M:SS" text, the game logs as a number: a minutes correction
    reaches both raw tables. A correction that is not a stat value is refused and not stored."""
    day = date(2021, 10, 19)
    with _ws(tmp_path) as ws:
        publish(ws, day, day)
        game, player = ws.con.execute(
            "SELECT game_id, player_id FROM raw.boxscore_players WHERE minutes > 0 ORDER BY minutes DESC LIMIT 1"
        ).fetchall()[0]
        outcome = publish_correction(ws, game, player, {"min": 40.5})
        assert not [r for r in outcome.results if r.status == "failed"]
        for table in ("raw.boxscore_players", "raw.player_boxscores"):
            minutes = ws.con.execute(f"SELECT minutes FROM {table} WHERE game_id = ? AND player_id = ?",
                                     [game, player]).fetchall()
            assert minutes == [(40.5,)], table
        for bad in ({"pts": -3}, {"ast": 2.5}, {"min": float("inf")}, {"plus_minus": 4}):
            with pytest.raises(ConfigError):
                publish_correction(ws, game, player, bad)
        assert ws.con.execute("SELECT stat, value FROM ops.source_corrections").fetchall() == [("MIN", 40.5)]
