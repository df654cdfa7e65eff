"""The ingestion track (rollout.ingestion): the day's results taken from the nba_api source's raw
archive instead of the archive files, on the recorded raw archive of tests/recorded_raw.py (2023-01-02:
the whole recorded box score of 0022200552, that game's team rows, no recorded player log row).

That archive answers one game of a day the files hold eleven of, so the shadow's evidence can never
meet the 1→2 gate: the test shows it refused on that evidence. Phases 2 and 3 are then entered by
writing the advance into the audit directly, as a fixture (what the gates would need is weeks of
fetched days), to show what each phase does with a day."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from nbadb.config import Settings
from nbadb.errors import ArchiveFileError, GateError
from nbadb.orchestrate.replay import replay_day
from nbadb.orchestrate.workspace import open_workspace
from nbadb.rollout import control, transitions
from nbadb.rollout.control import CycleMode
from nbadb.rollout.ingestion import IngestionCycles
from nbadb.sources.live import RawArchive, RawArchiveReader, endpoints
from nbadb.warehouse.stores import Store
from rollout_support import switch_on
from recorded_raw import GAME, GAME_DAY, RECORDED_AT, SEASON, build_raw_archive
from serve_support import FakeClock, eastern, served

PHASES_RUN: frozenset[int] = frozenset()  # the publications only: the track is about the raw rows
NEXT_DAY = date(2023, 1, 3)  # three games in the files, none in the recorded raw archive
CLEVELAND = 1610612739


@pytest.fixture
def ingestion_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    switch_on(monkeypatch, "ingestion")


def replay(settings: Settings, *replayed: date) -> CycleMode | None:
    """Replay the days through the ingestion track's cycle, as `nbadb replay` does; the cycles' mode."""
    with open_workspace(settings=settings, store=Store("file", settings)) as ws:
        ingestion = IngestionCycles(settings)
        cycle = ingestion.around((ws,), lambda _, work: work(ws))
        for day in replayed:
            assert not cycle(day, lambda on: replay_day(on, day, phases=PHASES_RUN)).failed
        return ingestion.mode


def enter_phase(settings: Settings, phase: int) -> None:
    """The fixture of the module docstring: the track put in `phase` by an audit row, no gate asked."""
    with control.control(settings) as con:
        control.record(con, actor="test fixture", action="advance", track="ingestion", from_phase=phase - 1,
                       to_phase=phase, note="entered without its gate: the recorded raw archive holds one game")


def refetch_with_other_points(settings: Settings, team_id: int, points: int) -> None:
    """Archive a later answer of the day's team log in which `team_id` scored `points` (a replay
    reads the latest successful response of a request)."""
    call = endpoints.game_logs(GAME_DAY, SEASON, "Regular Season", "T")
    body = json.loads(RawArchiveReader(settings.raw_archive_dir).get(call.endpoint, call.params).body)
    result = body["resultSets"][0]
    pts, team = result["headers"].index("PTS"), result["headers"].index("TEAM_ID")
    for row in result["rowSet"]:
        if row[team] == team_id:
            row[pts] = points
    RawArchive(settings.raw_archive_dir).store(call.endpoint, call.params, url="recorded", http_status=200,
                                               body=json.dumps(body).encode(), fetched_at=RECORDED_AT)


def rows_of(settings: Settings, sql: str, day: date) -> list[tuple]:
    with open_workspace(settings=settings, store=Store("file", settings), read_only=True) as ws:
        return ws.con.execute(sql, [day]).fetchall()


def test_the_ingestion_shadow_compares_each_days_nba_api_answer_with_the_files_and_its_evidence_refuses_the_gate(
        tmp_path: Path, ingestion_flags: None) -> None:
    settings = Settings(data_dir=tmp_path / "rollout")
    with pytest.raises(GateError, match="flag_path_check .*no raw archive at"):
        transitions.advance(settings, "ingestion", "ann")
    index = settings.raw_archive_dir / "nba_api" / "index.jsonl"
    index.parent.mkdir(parents=True)
    index.write_text("{not json\n")  # a damaged index is the check's evidence, not a crash of the gate
    with pytest.raises(GateError, match="flag_path_check .*index.jsonl: line 1 is not an index entry"):
        transitions.advance(settings, "ingestion", "ann")
    index.unlink()
    build_raw_archive(settings.raw_archive_dir, GAME_DAY, NEXT_DAY)
    assert replay(settings, date(2023, 1, 1)) is None  # phase 0: the files alone, nothing compared

    with control.control(settings) as con:
        control.record(con, actor="ann", action="signoff", track="ingestion", item="plan")
    to_shadow = transitions.advance(settings, "ingestion", "ann")
    assert to_shadow.to_phase == 1
    assert {i.item: i.observed for i in to_shadow.evidence}["flag_path_check"].endswith(
        "the scoreboards of 2 game days, 2023-01-02 … 2023-01-03")

    refetch_with_other_points(settings, CLEVELAND, 146)  # the files say 145
    assert replay(settings, GAME_DAY, NEXT_DAY) == "shadow"
    with control.control(settings, read_only=True) as con:
        cycles = con.execute("SELECT game_day, tables_compared, rows_compared, rows_divergent FROM ops.rollout_cycles "
                             "WHERE track = 'ingestion' ORDER BY game_day").fetchall()
        samples = con.execute("SELECT table_name, row_key, column_name, legacy_value, strategic_value "
                              "FROM ops.rollout_divergences WHERE track = 'ingestion' AND game_day = ? "
                              "AND (row_key LIKE ? OR column_name <> '*') ORDER BY 1, 2",
                              [GAME_DAY, f"{GAME}|%"]).fetchall()
    # 2023-01-02: the team and player logs compared (the files hold no box score of 2022-23); 11 games'
    # 22 team rows and 230 player rows in the files, 2 team rows and no player row from the raw archive
    assert cycles[0] == (GAME_DAY, 2, 22 + 230, 20 + 1 + 230)
    assert cycles[1][:2] == (NEXT_DAY, 2) and cycles[1][2] == cycles[1][3]  # no game fetched: all on the files' side
    assert ("team_logs", f"{GAME}|{CLEVELAND}", "PTS", "145", "146") in samples
    assert all(column == "*" and legacy == "present" and strategic is None
               for table, _, column, legacy, strategic in samples if table == "player_logs")
    with pytest.raises(GateError, match=r"divergence_rate \(need < 0.1% of rows compared, have 99\.\d+%"):
        transitions.advance(settings, "ingestion", "ann")


def test_dual_write_keeps_the_nba_api_days_beside_the_files_and_phase_3_publishes_from_them_alone(
        tmp_path: Path, ingestion_flags: None) -> None:
    settings = Settings(data_dir=tmp_path / "rollout")
    build_raw_archive(settings.raw_archive_dir, GAME_DAY, NEXT_DAY)
    box_score_rows = ("SELECT count(*) FILTER (WHERE availability = 'played'), count(*) FROM raw.boxscore_players "
                      "WHERE game_date = ?")
    team_rows = "SELECT count(*) FROM raw.team_boxscores WHERE game_date = ?"

    enter_phase(settings, 1)
    enter_phase(settings, 2)
    assert replay(settings, GAME_DAY) == "dual_write"
    assert sorted(p.name for p in settings.live_archive_dir.iterdir()) == [
        "boxscores_traditional_v2_live_2023-01-02.parquet", "team_game_logs_live_2023-01-02.parquet"]  # no player row
    with control.control(settings, read_only=True) as con:
        parity = con.execute("SELECT table_name, legacy_rows, strategic_rows, joined_rows, differing_rows "
                             "FROM ops.rollout_parity WHERE track = 'ingestion' ORDER BY 1").fetchall()
    assert parity == [("player_logs", 230, 0, 0, 0), ("team_logs", 22, 2, 2, 0)]
    assert rows_of(settings, box_score_rows, GAME_DAY) == [(0, 0)]  # the files serve: they hold none of 2022-23

    enter_phase(settings, 3)
    assert replay(settings, GAME_DAY, NEXT_DAY) == "strategic"
    assert rows_of(settings, box_score_rows, GAME_DAY) == [(19, 23)]  # the recorded box score, 4 who did not play
    assert rows_of(settings, team_rows, NEXT_DAY) == [(0,)]  # the files' three games of that day retired

    rolled_back = transitions.rollback(settings, "ingestion", "ann")
    assert rolled_back.to_phase == 2 and "from the archive files again" in rolled_back.note
    assert replay(settings, NEXT_DAY) == "dual_write"
    assert rows_of(settings, team_rows, NEXT_DAY) == [(6,)]
    assert (settings.live_archive_dir / "team_game_logs_live_2023-01-02.parquet").is_file()  # kept


def test_a_served_night_runs_the_ingestion_tracks_part_for_its_game_day(tmp_path: Path, ingestion_flags: None) -> None:
    settings = Settings(data_dir=tmp_path / "served")
    build_raw_archive(settings.raw_archive_dir, GAME_DAY, GAME_DAY)
    enter_phase(settings, 1)
    clock = FakeClock(eastern(2023, 1, 2, 18))
    with served(settings.data_dir, clock) as app:
        ran = [(r.cycle_kind, r.game_date, r.status) for r in app.run_due()]
        clock.set(eastern(2023, 1, 3, 3))
        ran += [(r.cycle_kind, r.game_date, r.status) for r in app.run_due()]
    with control.control(settings, read_only=True) as con:
        cycles = con.execute("SELECT game_day, mode, tables_compared FROM ops.rollout_cycles "
                             "WHERE track = 'ingestion'").fetchall()
    assert ("night", GAME_DAY, "done") in ran, ran
    assert cycles == [(GAME_DAY, "shadow", 2)]  # the night's alone: a morning publishes no result


def test_a_damaged_raw_response_leaves_a_shadow_day_unanswered_and_stops_a_retired_day(
        tmp_path: Path, ingestion_flags: None, caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(data_dir=tmp_path / "damaged")
    build_raw_archive(settings.raw_archive_dir, GAME_DAY, GAME_DAY)
    box_score = next((settings.raw_archive_dir / "nba_api" / "boxscoretraditionalv3").iterdir())
    box_score.write_bytes(box_score.read_bytes()[:-10])  # cut short after it was archived
    enter_phase(settings, 1)
    assert replay(settings, GAME_DAY) == "shadow"  # the archive files still serve: the day is published
    with control.control(settings, read_only=True) as con:
        compared, divergent = con.execute("SELECT rows_compared, rows_divergent FROM ops.rollout_cycles "
                                          "WHERE track = 'ingestion'").fetchall()[0]
    assert compared == divergent == 22 + 230  # nothing answered by the nba_api source that day
    assert f"{GAME_DAY}: the nba_api source answers nothing" in caplog.text and str(box_score) in caplog.text
    assert rows_of(settings, "SELECT count(*) FROM raw.team_boxscores WHERE game_date = ?", GAME_DAY) == [(22,)]

    enter_phase(settings, 2)
    enter_phase(settings, 3)
    with pytest.raises(ArchiveFileError, match=f"{box_score}.*its sha256 is not the one"):
        replay(settings, GAME_DAY)  # alone, the source cannot publish a day it cannot read
