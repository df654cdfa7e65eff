"""The serving track (rollout.serving): consumers moved from the file exports to the API's table
reads, walked from phase 0 to 3 and back on a real replay, and consumers routed by their bucket.

The walk replays the first seven weeks of 2022-23 (as the storage track's test does: the shortest
stretch whose own evidence meets every gate), each day's publication only (the raw tables: the
track compares whatever tables hold, and the walk stays within the suite's time budget), an export
published after each day."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from nbadb.config import Settings
from nbadb.engine.request import utc_now
from nbadb.errors import GateError
from nbadb.orchestrate.exports import LATEST, export_folder
from nbadb.orchestrate.replay import replay_day
from nbadb.orchestrate.workspace import open_workspace
from nbadb.pipeline.registry import build_graph
from nbadb.rollout import control, transitions
from nbadb.rollout.serving import ServingCycles
from nbadb.warehouse.snapshot import publish_snapshot
from nbadb.warehouse.stores import Store
from rollout_support import days, switch_on

PHASES_RUN: frozenset[int] = frozenset()
SHADOW_DAYS = (date(2022, 10, 18), date(2022, 10, 30))  # game-weeks of Oct 17 and Oct 24
DUAL_WRITE_DAYS = (date(2022, 10, 31), date(2022, 11, 27))  # four game-weeks, 15 games on Nov 7
ALTERED_DAY = date(2022, 10, 25)


@pytest.fixture
def serving_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    switch_on(monkeypatch, "serving")
    monkeypatch.delenv("NBADB_EXPORT_DIR", raising=False)


def replay(settings: Settings, *replayed: date) -> set[str | None]:
    """Replay the days through the serving track's cycle, as `nbadb replay` does; the cycles' modes."""
    with open_workspace(settings=settings, store=Store("file", settings)) as ws:
        serving = ServingCycles(settings)
        cycle = serving.around(ws, lambda _, work: work(ws))
        for day in replayed:
            assert not cycle(day, lambda on: replay_day(on, day, phases=PHASES_RUN)).failed
        return {serving.mode}


def warehouse_rows(settings: Settings) -> int:
    """Rows of every pipeline table in the warehouse."""
    with open_workspace(settings=settings, store=Store("file", settings), read_only=True) as ws:
        return sum(ws.con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0] for table in ws.graph.order)


def replay_with_an_altered_api(settings: Settings, day: date, snapshot: Path) -> tuple[str, str]:
    """Replay `day` while the API reads a snapshot in which one game of the day has another home
    team; the altered row's (game, home team)."""
    with open_workspace(settings=settings, store=Store("file", settings)) as ws:
        serving = ServingCycles(settings)
        since = utc_now()
        assert not replay_day(ws, day, phases=PHASES_RUN).failed
        publish_snapshot(ws.con, settings.database_path, snapshot)
        answers = duckdb.connect(str(snapshot))
        try:
            game, home = answers.execute("SELECT game_id, home_team_abbr FROM raw.schedule WHERE game_date = ? "
                                         "ORDER BY game_id LIMIT 1", [day]).fetchall()[0]
            answers.execute("UPDATE raw.schedule SET home_team_abbr = 'XXX' WHERE game_id = ?", [game])
            serving.after_write(ws, answers, day, since, utc_now())
        finally:
            answers.close()
    return game, home


def sign(settings: Settings, actor: str, item: str) -> None:
    with control.control(settings) as con:
        control.record(con, actor=actor, action="signoff", track="serving", item=item)


def latest_export_id(settings: Settings) -> str:
    return json.loads((export_folder(settings) / LATEST).read_text())["export_id"]


def test_the_serving_track_walks_from_phase_0_to_3_on_its_own_evidence_and_a_rollback_from_3_makes_the_exports_current(
        tmp_path: Path, serving_flags: None) -> None:
    settings = Settings(data_dir=tmp_path / "rollout")
    assert replay(settings, date(2022, 10, 17)) == {None}  # phase 0: no export, nothing compared

    sign(settings, "ann", "plan")
    to_shadow = transitions.advance(settings, "serving", "ann")
    assert {i.item: i.observed for i in to_shadow.evidence}["flag_path_check"].startswith("GET /api/v1/tables/")
    assert to_shadow.to_phase == 1 and "export of the warehouse as it stands" in to_shadow.note

    assert replay(settings, *days(SHADOW_DAYS[0], ALTERED_DAY - timedelta(days=1))) == {"shadow"}
    game, home = replay_with_an_altered_api(settings, ALTERED_DAY, tmp_path / "altered.duckdb")
    assert replay(settings, *days(ALTERED_DAY + timedelta(days=1), SHADOW_DAYS[1])) == {"shadow"}
    with control.control(settings, read_only=True) as con:
        samples = con.execute("SELECT game_day, table_name, row_key, column_name, legacy_value, strategic_value "
                              "FROM ops.rollout_divergences WHERE track = 'serving'").fetchall()
        compared = con.execute("SELECT sum(rows_compared) FROM ops.rollout_cycles WHERE track = 'serving'").fetchall()[0][0]
    assert samples == [(ALTERED_DAY, "raw.schedule", f"{game}|{ALTERED_DAY}", "home_team_abbr", home, "XXX")]
    with pytest.raises(GateError, match="reviewer_signoffs"):
        transitions.advance(settings, "serving", "ann")
    sign(settings, "bob", "review")
    sign(settings, "cyd", "review")
    assert compared > 1000 and transitions.advance(settings, "serving", "ann").to_phase == 2

    assert replay(settings, *days(*DUAL_WRITE_DAYS)) == {"dual_write"}
    with control.control(settings, read_only=True) as con:
        parity = con.execute("SELECT count(DISTINCT table_name), sum(legacy_rows) FILTER (WHERE game_day = ?), "
                             "count(*) FILTER (WHERE only_legacy + only_strategic + differing_rows > 0) "
                             "FROM ops.rollout_parity WHERE track = 'serving'", [DUAL_WRITE_DAYS[1]]).fetchall()[0]
    tables, rows_on_the_last_day, unequal = parity
    assert tables == len(build_graph().order) and rows_on_the_last_day == warehouse_rows(settings) and unequal == 0

    sign(settings, "dee", "operations")
    to_api = transitions.advance(settings, "serving", "ann")
    assert to_api.to_phase == 3 and {i.item: i.observed for i in to_api.evidence}["busy_day"] == "busiest: 15 games"

    retired = latest_export_id(settings)
    assert replay(settings, date(2022, 11, 28)) == {"strategic"}
    assert latest_export_id(settings) == retired  # the exports retired: the day published none

    back = transitions.rollback(settings, "serving", "ann")
    assert back.to_phase == 2 and latest_export_id(settings) != retired  # a current export, with the day retired
    assert replay(settings, date(2022, 11, 29)) == {"dual_write"}
    with control.control(settings, read_only=True) as con:
        unequal = con.execute("SELECT count(*) FROM ops.rollout_parity WHERE track = 'serving' AND game_day = ? "
                              "AND only_legacy + only_strategic + differing_rows > 0", [date(2022, 11, 29)]).fetchall()
    assert unequal == [(0,)]


def consumer_in(share: int, inside: bool) -> str:
    """A consumer name whose bucket on the serving track is inside (or outside) the read share."""
    from nbadb.rollout.routing import bucket

    return next(name for name in (f"consumer-{i}" for i in range(1000)) if (bucket("serving", name) < share) == inside)


def test_serve_compares_its_api_with_its_exports_after_each_cycle_follows_an_advance_at_once_and_routes_a_share_of_readers(
        early_november, copy_warehouse, run_cli, tmp_path: Path, serving_flags: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from serve_support import FakeClock, eastern, served

    data_dir = copy_warehouse(early_november, tmp_path / "served")
    settings = Settings(data_dir=data_dir)
    def advance(to_phase: int) -> None:  # the track's gates are the walk's subject: here it is moved by hand
        with control.control(settings) as con:
            control.record(con, actor="ann", action="advance", track="serving", from_phase=to_phase - 1,
                           to_phase=to_phase)

    advance(1)
    monkeypatch.setenv("NBADB_STRATEGIC_READ_SHARE", "50")
    clock = FakeClock(eastern(2023, 11, 6, 18))
    night = ["read", "analytics.player_game_summary", "--from", "2023-11-06", "--to", "2023-11-06", "--limit",
             "10000", "--json"]
    with served(data_dir, clock) as app:
        assert [(r.cycle_kind, r.status) for r in app.run_due()][-1] == ("morning", "done")
        advance(2)  # while serve runs: its next write's part is dual write, without a restart
        clock.set(eastern(2023, 11, 7, 3))
        assert [(r.cycle_kind, r.status) for r in app.run_due()] == [("night", "done")]
        base = f"http://127.0.0.1:{app.port}/api/v1/tables"
        with urllib.request.urlopen(base, timeout=30) as listing:
            listed = {t["table"]: t["rows"] for t in json.loads(listing.read())["tables"]}
        assert set(listed) == set(build_graph().order) and listed["analytics.player_game_summary"] > 100
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{base}/raw.schedule?limit=0", timeout=30)
        assert refused.value.code == 400 and json.loads(refused.value.read()) == {"error": "limit 0: give 1 to 10000 rows"}
        answers = {}
        for inside in (True, False):
            monkeypatch.setenv("NBADB_CONSUMER", consumer_in(50, inside))
            result = run_cli(night, data_dir)
            assert result.exit_code == 0, result.output
            answers[inside] = json.loads(result.stdout)
    assert answers[True]["path"] == "api" and answers[False]["path"] == "export"
    assert answers[True]["total"] > 100
    assert {k: answers[True][k] for k in ("columns", "rows", "total")} == \
        {k: answers[False][k] for k in ("columns", "rows", "total")}
    with control.control(settings, read_only=True) as con:
        cycles = con.execute("SELECT game_day, mode, tables_compared FROM ops.rollout_cycles WHERE track = 'serving' "
                             "ORDER BY recorded_at").fetchall()
        unequal = con.execute("SELECT count(*) FROM ops.rollout_parity WHERE track = 'serving' "
                              "AND only_legacy + only_strategic + differing_rows > 0").fetchall()[0][0]
    assert [(d, m) for d, m, _ in cycles] == [(date(2023, 11, 6), "shadow"), (date(2023, 11, 6), "dual_write")]
    assert 0 < cycles[0][2] < cycles[1][2] == len(build_graph().order)  # what the morning touched; every table
    assert unequal == 0

    monkeypatch.setenv("NBADB_CONSUMER", consumer_in(50, True))
    result = run_cli(night, data_dir)  # the server gone: a reader routed to the API is told, in one line
    assert result.exit_code == 2 and "no `nbadb serve` holds" in result.output
