"""The schema track (rollout.schema): the box scores moved from contract v1 to v2 (pipeline.raw_v2),
walked from phase 0 to 3 and back on a real replay whose own evidence meets every gate.

The walk replays the last six weeks of 2021-22 (the box-score file covers 2017-22; the season's only
day of 15 games is its last, 2022-04-10), each day's publication only (the raw tables: the track is
about one of them): phase 0 on 2022-02-27, shadow the two game-weeks of 2022-02-28 and 03-07, dual
write the four of 03-14 to 04-10, then one day of phase 3 (2022-04-10 again, republished)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from nbadb.config import Settings
from nbadb.errors import ConfigError, GateError
from nbadb.monitor.crosscheck import crosscheck_season
from nbadb.orchestrate.corrections import publish_correction
from nbadb.orchestrate.replay import replay_day
from nbadb.orchestrate.workspace import open_workspace
from nbadb.pipeline.raw_v2 import V1_TABLE, V2_COLUMNS, V2_TABLE, v1_from_v2_sql, v2_from_v1_sql
from nbadb.rollout import control, transitions
from nbadb.rollout.control import CycleMode
from nbadb.rollout.schema import SchemaCycles, boxscores_relation, compare
from nbadb.warehouse.stores import Store
from rollout_support import days, switch_on

PHASES_RUN: frozenset[int] = frozenset()
FIRST_DAY = date(2022, 2, 27)
SHADOW_DAYS = (date(2022, 2, 28), date(2022, 3, 13))
DUAL_WRITE_DAYS = (date(2022, 3, 14), date(2022, 4, 10))
ALTERED_DAY, ALTERED_IN_DUAL_WRITE = date(2022, 3, 2), date(2022, 3, 16)


@pytest.fixture
def schema_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    switch_on(monkeypatch, "schema")


def replay(settings: Settings, *replayed: date, alter: date | None = None) -> CycleMode | None:
    """Replay the days through the schema track's cycle, as `nbadb replay` does (a workspace opened
    for them, its graph the contract of the phase); on `alter`, one v2 row of the day is given one
    more point inside the cycle, as a defect of v2's processor would. The cycles' mode."""
    with open_workspace(settings=settings, store=Store("file", settings)) as ws:
        contracts = SchemaCycles(settings)

        def work(day: date):
            def publish(on):
                outcome = replay_day(on, day, phases=PHASES_RUN)
                if day == alter:
                    on.con.execute(f"UPDATE {V2_TABLE} SET pts = pts + 1 WHERE rowid = (SELECT min(rowid) FROM "
                                   f"{V2_TABLE} WHERE game_date = ? AND status = 'played')", [day])
                return outcome
            return publish

        cycle = contracts.around(ws, lambda _, run: run(ws))
        for day in replayed:
            assert not cycle(day, work(day)).failed
        return contracts.mode


def sign(settings: Settings, actor: str, item: str) -> None:
    with control.control(settings) as con:
        control.record(con, actor=actor, action="signoff", track="schema", item=item)


def table_rows(settings: Settings, sql: str, *params: object) -> list[tuple]:
    with open_workspace(settings=settings, store=Store("file", settings), read_only=True) as ws:
        return ws.con.execute(sql, list(params)).fetchall()


def test_the_schema_track_walks_from_v1_to_v2_on_its_own_evidence_and_back_without_losing_a_row(
        tmp_path: Path, schema_flags: None) -> None:
    settings = Settings(data_dir=tmp_path / "rollout")
    assert replay(settings, FIRST_DAY) is None  # phase 0: v1 alone
    assert table_rows(settings, f"SELECT count(*) FROM {V2_TABLE}") == [(0,)]

    sign(settings, "ann", "plan")
    to_shadow = transitions.advance(settings, "schema", "ann")
    first_rows = table_rows(settings, f"SELECT count(*) FROM {V1_TABLE}")[0][0]
    assert {i.item: i.observed for i in to_shadow.evidence}["flag_path_check"] == \
        f"{first_rows} rows, 0 changed by the round trip"
    assert to_shadow.note == f"{first_rows} rows of {V1_TABLE}'s games written into {V2_TABLE}, mapped"

    assert replay(settings, *days(*SHADOW_DAYS), alter=ALTERED_DAY) == "shadow"
    with control.control(settings, read_only=True) as con:
        samples = con.execute("SELECT game_day, table_name, column_name, legacy_value, strategic_value "
                              "FROM ops.rollout_divergences WHERE track = 'schema'").fetchall()
        compared, divergent = con.execute("SELECT sum(rows_compared), sum(rows_divergent) FROM ops.rollout_cycles "
                                          "WHERE track = 'schema'").fetchall()[0]
    assert len(samples) == 1 and samples[0][:3] == (ALTERED_DAY, V1_TABLE, "pts")
    assert int(samples[0][4]) == int(samples[0][3]) + 1 and divergent == 1 and compared > 2500
    with pytest.raises(GateError, match="reviewer_signoffs"):
        transitions.advance(settings, "schema", "ann")
    sign(settings, "bob", "review")
    sign(settings, "cyd", "review")
    to_dual_write = transitions.advance(settings, "schema", "ann")
    altered_game = table_rows(settings, f"SELECT count(*) FROM {V1_TABLE} WHERE game_id = (SELECT game_id FROM "
                                        f"{V1_TABLE} WHERE game_date = ? ORDER BY rowid LIMIT 1)", ALTERED_DAY)[0][0]
    assert to_dual_write.to_phase == 2  # and v2 made to say what v1 says again: the altered game rewritten
    assert to_dual_write.note == f"{altered_game} rows of {V1_TABLE}'s games written into {V2_TABLE}, mapped"

    assert replay(settings, *days(*DUAL_WRITE_DAYS), alter=ALTERED_IN_DUAL_WRITE) == "dual_write"
    sign(settings, "dee", "operations")
    with pytest.raises(GateError, match=r"row_parity \(need 100% row parity on every table, latest cycle, "
                                        r"have 1 tables, unequal: raw.boxscore_players \(1 rows\)"):
        transitions.advance(settings, "schema", "ann")  # parity caught it, every cycle since
    assert transitions.repair(settings, "schema", "ann", DUAL_WRITE_DAYS[1]).endswith("unequal: none")
    to_v2 = transitions.advance(settings, "schema", "ann")
    evidence = {i.item: i.observed for i in to_v2.evidence}
    assert to_v2.to_phase == 3 and evidence["busy_day"] == "busiest: 15 games"
    assert evidence["row_parity"] == "1 tables, unequal: none"

    # phase 3: a correction restates the logs and v2, not v1; the box scores' readers read v2
    v1_rows = f"SELECT pts, superseded_by FROM {V1_TABLE}_versions WHERE game_id = ? AND player_id = ? ORDER BY 2 NULLS FIRST"
    game, player, points = table_rows(settings, f"SELECT game_id, player_id, pts FROM {V1_TABLE} "
                                                "WHERE game_date = ? AND pts > 0 ORDER BY game_id, player_id LIMIT 1",
                                      DUAL_WRITE_DAYS[1])[0]
    with open_workspace(settings=settings) as ws:
        assert V1_TABLE not in ws.graph.specs and V2_TABLE in ws.graph.specs
        assert not publish_correction(ws, game, player, {"pts": points + 2}).failed
        read_as_written = crosscheck_season(ws.con, "2021-22", boxscores=boxscores_relation(ws.graph))
        read_from_v1 = crosscheck_season(ws.con, "2021-22")
    assert table_rows(settings, v1_rows, game, player) == [(points, None)]  # v1 no longer written
    assert read_as_written.stat_mismatches == {} and read_from_v1.stat_mismatches == {"pts": 1}

    rolled_back = transitions.rollback(settings, "schema", "ann")
    game_rows = table_rows(settings, f"SELECT count(*) FROM {V2_TABLE} WHERE game_id = ?", game)[0][0]
    assert rolled_back.to_phase == 2  # the corrected game alone moved back into v1
    assert rolled_back.note == f"{game_rows} rows of {V2_TABLE}'s games written into {V1_TABLE}, mapped back"
    assert table_rows(settings, v1_rows, game, player) == [(points + 2, None), (points, "schema-track-rollback")]
    with open_workspace(settings=settings) as ws:
        assert compare(ws.con).equal


def test_a_season_of_box_scores_maps_between_v1_and_v2_exactly_and_v2s_processor_agrees_with_the_mapping(
        tmp_path: Path, schema_flags: None, ingest) -> None:
    """2021-22's 31,321 box score rows (DNP, DND and NWT rows included): ingested under v1, the
    advance to shadow maps them into v2; ingested again, v2's own processor, from the same staged
    rows, finds every row already as it would write it (same row hashes): nothing restated. Both
    round trips return every row unchanged."""
    settings = Settings(data_dir=tmp_path / "season")
    assert not ingest(settings.data_dir, season="2021-22").failed
    sign(settings, "ann", "plan")
    to_shadow = transitions.advance(settings, "schema", "ann")
    assert {i.item: i.observed for i in to_shadow.evidence}["flag_path_check"] == "31321 rows, 0 changed by the round trip"

    again = ingest(settings.data_dir, season="2021-22")
    v2_run = next(r for r in again.results if r.processor == V2_TABLE)
    assert v2_run.status == "success" and v2_run.metrics.rows_quarantined == 0
    v2 = f"SELECT {', '.join(V2_COLUMNS)} FROM {V2_TABLE}"
    with open_workspace(settings=settings, read_only=True) as ws:
        rows, seeded, statuses, restated = ws.con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE run_id = 'schema-track-seed'), histogram(status), "
            f"(SELECT count(*) FROM {V2_TABLE}_history) FROM {V2_TABLE}").fetchall()[0]
        changed = ws.con.execute(f"SELECT count(*) FROM ({v2} EXCEPT ALL "
                                 f"{v2_from_v1_sql(f'({v1_from_v2_sql(V2_TABLE)})')})").fetchall()[0][0]
        reasons = dict(ws.con.execute(f"SELECT status_reason, count(*) FROM {V2_TABLE} WHERE status <> 'played' "
                                      "GROUP BY ALL").fetchall())
        seconds = ws.con.execute(f"SELECT count(*) FILTER (WHERE seconds_played % 60 <> 0) FROM {V2_TABLE}").fetchall()
    with open_workspace(settings=settings) as ws:  # the comparison attaches its views' catalogs
        assert compare(ws.con).equal
    assert rows == seeded == 31321 and restated == 0 and changed == 0
    assert statuses["played"] == 26039 and sum(statuses.values()) - statuses["played"] == sum(reasons.values()) == 5282
    assert None not in reasons and "other" not in reasons and reasons["coach_decision"] > 3000
    assert seconds[0][0] > 20000  # seconds the logs' whole minutes do not have


def test_a_schema_move_is_refused_while_the_storage_tracks_lake_is_fed_by_run_id(tmp_path: Path, schema_flags: None) -> None:
    settings = Settings(data_dir=tmp_path / "both")
    assert replay(settings, FIRST_DAY) is None
    sign(settings, "ann", "plan")
    with control.control(settings) as con:  # as if the storage track had been advanced: its lake fed by run id
        control.record(con, actor="test fixture", action="advance", track="storage", from_phase=0, to_phase=1)
    with pytest.raises(ConfigError, match="the storage track's lake \\(phase 1\\) would not get"):
        transitions.advance(settings, "schema", "ann")
    with control.control(settings, read_only=True) as con:
        assert control.phase_of(con, "schema") == 0
    assert table_rows(settings, f"SELECT count(*) FROM {V2_TABLE}") == [(0,)]
