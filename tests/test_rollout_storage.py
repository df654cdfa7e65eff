"""The storage track walked from phase 0 to 3 and back on a real replay (rollout.storage,
rollout.transitions): the first seven weeks of 2022-23 — the shortest stretch of the bundled
archive whose own evidence can meet every gate (two full game-weeks of shadow, four of dual write
with a 15-game day, 2022-11-07, and dense and sparse days) — replayed day by day with the lake beside
the file, in lockstep with a legacy-only replay of the same days.

The walk runs each day's publication only (the raw tables), the other tests Phase 3 of the pipeline
too (the box-score summaries): the store under test is the same whatever the processors, and the
whole walk stays within the suite's time budget."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
import pytest

from nbadb.config import Settings
from nbadb.errors import GateError
from nbadb.orchestrate.replay import replay_day
from nbadb.orchestrate.workspace import Workspace, open_workspace
from nbadb.rollout import control, transitions
from nbadb.rollout.storage import StorageCycles
from nbadb.warehouse.stores import Store
from rollout_support import days, switch_on

PHASES_RUN = frozenset({3})
WALK_PHASES: frozenset[int] = frozenset()  # the walk's days: their publication only
SHADOW_DAYS = (date(2022, 10, 18), date(2022, 10, 30))  # game-weeks of Oct 17 and Oct 24
DUAL_WRITE_DAYS = (date(2022, 10, 31), date(2022, 11, 27))  # four game-weeks, 15 games on Nov 7
CONTENT_SCHEMAS = ("raw", "analytics", "precompute", "predictions")
LINEAGE = {"run_id", "ingested_at"}


def content(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """Every content table of the store, rows sorted, lineage (who wrote a row, when) left out."""
    tables = con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND list_contains(?, schema_name) ORDER BY 1, 2", [list(CONTENT_SCHEMAS)]).fetchall()
    out = {}
    for schema, table in tables:
        columns = [c for (c,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() AND schema_name = ? "
            "AND table_name = ? ORDER BY column_index", [schema, table]).fetchall() if c not in LINEAGE]
        out[f"{schema}.{table}"] = sorted(con.execute(f"SELECT {', '.join(columns)} FROM {schema}.{table}").fetchall(),
                                          key=repr)
    return out


class Walk:
    """The rollout replay a day at a time, and its legacy-only twin, caught up on the days walked when
    it is compared (one workspace: the same days, replayed alike)."""

    def __init__(self, root: Path, phases: frozenset[int] = PHASES_RUN) -> None:
        self.phases = phases
        self.settings = Settings(data_dir=root / "rollout")
        self.reference = Settings(data_dir=root / "legacy_only")
        self.walked: list[date] = []
        self.replayed = 0  # how many of the walked days the legacy-only twin has replayed

    def day(self, day: date, alter: Callable[[Workspace], None] | None = None) -> str:
        return self.days([day], {day: alter} if alter else {})

    def days(self, walked: list[date], alter: dict[date, Callable[[Workspace], None]] | None = None) -> str:
        """Replay the days through one opening of the track's cycles, as one `nbadb replay` does; their mode.
        `alter`: what to change in the strategic store after a day's work, by day."""
        with StorageCycles(self.settings) as cycles:
            for day in walked:
                def work(ws: Workspace, day: date = day):
                    outcome = replay_day(ws, day, phases=self.phases)
                    if ws is cycles.shadow and day in (alter or {}):
                        alter[day](ws)
                    return outcome

                assert not cycles.cycle(day, work).failed
                self.walked.append(day)
            return cycles.mode

    def serving_equals_legacy_only(self) -> bool:
        from nbadb.rollout.routing import serving_store

        with open_workspace(settings=self.reference, store=Store("file", self.reference)) as ws:
            for day in self.walked[self.replayed:]:
                assert not replay_day(ws, day, phases=self.phases).failed
        self.replayed = len(self.walked)
        serving = serving_store(self.settings, read_only=True).open(read_only=True)
        reference = Store("file", self.reference).open(read_only=True)
        try:
            return content(serving) == content(reference)
        finally:
            serving.close()
            reference.close()

    def audit(self, actor: str, action: str, item: str | None = None) -> None:
        with control.control(self.settings) as con:
            control.record(con, actor=actor, action=action, track="storage", item=item)


@pytest.fixture
def strategic_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    switch_on(monkeypatch, "storage")


def test_the_storage_track_walks_from_phase_0_to_3_on_its_own_evidence_and_every_rollback_keeps_the_legacy_replays_tables(
        tmp_path: Path, strategic_flags: None) -> None:
    walk = Walk(tmp_path, WALK_PHASES)
    settings = walk.settings

    with pytest.raises(GateError, match="plan_acknowledged"):
        transitions.advance(settings, "storage", "ann")
    walk.audit("ann", "signoff", "plan")
    assert transitions.advance(settings, "storage", "ann").to_phase == 1

    first_week = days(SHADOW_DAYS[0], date(2022, 10, 23))
    assert walk.days(first_week) == "shadow"
    with pytest.raises(GateError) as refused:
        transitions.advance(settings, "storage", "ann")
    for missing in ("shadow_game_weeks (need >= 2 full game-weeks of shadow, have 1)", "reviewer_signoffs",):
        assert missing in str(refused.value)

    # one strategic row altered on 2022-10-25: the shadow comparison records it with its key and values
    altered: list[tuple[str, str]] = []

    def alter(ws: Workspace) -> None:
        row = ws.con.execute("SELECT game_id, home_team_abbr FROM raw.schedule WHERE game_date = DATE '2022-10-25' "
                             "ORDER BY game_id LIMIT 1").fetchall()[0]
        ws.con.execute("UPDATE raw.schedule SET home_team_abbr = 'XXX' WHERE game_id = ?", [row[0]])
        altered.append(row)

    assert walk.days(days(date(2022, 10, 24), SHADOW_DAYS[1]), {date(2022, 10, 25): alter}) == "shadow"
    (game, home), = altered
    with control.control(settings, read_only=True) as con:
        samples = con.execute("SELECT table_name, row_key, column_name, legacy_value, strategic_value "
                              "FROM ops.rollout_divergences WHERE mode = 'shadow'").fetchall()
    assert samples == [("raw.schedule", f"{game}|2022-10-25", "home_team_abbr", home, "XXX")]

    walk.audit("bob", "signoff", "review")
    walk.audit("cyd", "signoff", "review")
    to_dual = transitions.advance(settings, "storage", "ann")  # one row in ~45k compared is under 0.1%
    assert to_dual.to_phase == 2 and {i.item for i in to_dual.evidence if i.met} >= {"divergence_rate", "rollback_runbook"}

    assert walk.days(days(*DUAL_WRITE_DAYS)) == "dual_write"
    with control.control(settings, read_only=True) as con:
        unequal = con.execute("SELECT count(*) FROM ops.rollout_parity WHERE "
                              "only_legacy + only_strategic + differing_rows > 0").fetchall()[0][0]
        tables = con.execute("SELECT count(DISTINCT table_name) FROM ops.rollout_parity").fetchall()[0][0]
    assert unequal == 0 and tables >= 30

    # a lake row changed behind the track's back: `nbadb rollout repair` copies the file to the lake again
    lake = Store("lake", settings).open()
    try:
        lake.execute("UPDATE raw.schedule SET home_team_abbr = 'XXX' WHERE game_date = ?", [DUAL_WRITE_DAYS[1]])
    finally:
        lake.close()
    repaired = transitions.repair(settings, "storage", "ann", DUAL_WRITE_DAYS[1])
    assert repaired.startswith("lake copied from the file; parity of ") and repaired.endswith("unequal: none")
    lake = Store("lake", settings).open(read_only=True)
    try:
        assert lake.execute("SELECT count(*) FROM raw.schedule WHERE home_team_abbr = 'XXX'").fetchall() == [(0,)]
    finally:
        lake.close()

    walk.audit("dee", "signoff", "operations")
    to_lake = transitions.advance(settings, "storage", "ann")
    assert to_lake.to_phase == 3
    assert {i.item: i.observed for i in to_lake.evidence}["busy_day"] == "busiest: 15 games"

    # phase 3: the lake alone; then back one phase at a time, each time equal to the legacy-only replay
    assert walk.day(date(2022, 11, 28)) == "strategic"
    for expected_phase, next_day in ((2, date(2022, 11, 29)), (1, date(2022, 11, 30)), (0, date(2022, 12, 1))):
        assert transitions.rollback(settings, "storage", "ann").to_phase == expected_phase
        assert walk.serving_equals_legacy_only()
        walk.day(next_day)
        assert walk.serving_equals_legacy_only()
    with control.control(settings, read_only=True) as con:
        actions = [a for (a,) in con.execute("SELECT action FROM ops.rollout_audit ORDER BY recorded_at").fetchall()]
    assert actions.count("advance") == 3 and actions.count("rollback") == 3 and actions.count("refused") == 2


def test_work_done_outside_the_shadow_cycles_reaches_the_lake_before_the_next_cycle_so_both_paths_start_alike(
        tmp_path: Path, strategic_flags: None) -> None:
    """A correction published and run between two shadow cycles (`nbadb correct`, `nbadb run`: commands
    that write through no cycle) reached the file alone: the lake went on without it, and on real
    2024-25 data the next cycle recorded 2,983 divergent rows (7.8 %) that the strategic path never made."""
    from nbadb.orchestrate.corrections import publish_correction
    from nbadb.orchestrate.daily import run_pipeline

    walk = Walk(tmp_path)
    walk.audit("ann", "signoff", "plan")
    assert transitions.advance(walk.settings, "storage", "ann").to_phase == 1
    for day in (date(2022, 10, 18), date(2022, 10, 19)):
        assert walk.day(day) == "shadow"
    with open_workspace(settings=walk.settings) as ws:  # what the serving store does outside any cycle
        game, player, pts = ws.con.execute("SELECT game_id, player_id, pts FROM analytics.player_game_summary "
                                           "WHERE game_date = DATE '2022-10-18' ORDER BY player_id LIMIT 1").fetchall()[0]
        assert not publish_correction(ws, game, player, {"pts": pts + 7}).failed
        assert not any(r.status == "failed" for r in run_pipeline(ws, (date(2022, 10, 19),) * 2, phases=PHASES_RUN))
    with StorageCycles(walk.settings) as cycles:
        assert not cycles.cycle(date(2022, 10, 20), lambda ws: replay_day(ws, date(2022, 10, 20), phases=PHASES_RUN)).failed
        copied = cycles.copied_runs
        legacy, lake = content(cycles.ws.con), content(cycles.shadow.con)
    assert copied > 0  # the correction's raw runs and the summary's run
    assert lake == legacy
    with control.control(walk.settings, read_only=True) as con:
        assert con.execute("SELECT sum(rows_divergent) FROM ops.rollout_cycles").fetchall()[0][0] == 0
    assert walk.day(date(2022, 10, 21)) == "shadow"


def test_serve_runs_its_game_day_through_the_storage_track_so_the_shadow_compares_what_serve_writes(
        early_november, copy_warehouse, tmp_path: Path, strategic_flags: None) -> None:
    """`nbadb serve`, the daily driver, opened the file alone: in shadow it never ran the lake beside
    it, so a served season recorded no shadow cycle and the lake fell behind."""
    from serve_support import FakeClock, eastern, served

    data_dir = copy_warehouse(early_november, tmp_path / "served")
    settings = Settings(data_dir=data_dir)
    with control.control(settings) as con:
        control.record(con, actor="ann", action="signoff", track="storage", item="plan")
    assert transitions.advance(settings, "storage", "ann").to_phase == 1
    clock = FakeClock(eastern(2023, 11, 6, 18))  # a game day's evening: its morning cycle is due
    with served(data_dir, clock) as app:
        assert [(r.cycle_kind, r.status) for r in app.run_due()][-1] == ("morning", "done")
        clock.set(eastern(2023, 11, 7, 3))
        assert [(r.cycle_kind, r.status) for r in app.run_due()] == [("night", "done")]
        assert app.cycles.mode == "shadow"
        legacy, lake = content(app.ws.con), content(app.cycles.shadow.con)
    assert lake == legacy
    with control.control(settings, read_only=True) as con:
        cycles = con.execute("SELECT game_day, mode, rows_compared, rows_divergent FROM ops.rollout_cycles "
                             "ORDER BY recorded_at").fetchall()
    assert [(d, m) for d, m, _, _ in cycles] == [(date(2023, 11, 6), "shadow")] * 2  # the morning and the night
    assert all(compared > 0 and divergent == 0 for _, _, compared, divergent in cycles)


def test_a_dual_write_cycle_carries_what_a_publication_quarantined_so_every_table_stays_at_parity(
        tmp_path: Path, strategic_flags: None) -> None:
    """A publication's quarantined rows carry its publication id, not a run's, and dual write copied
    runs only: on 2024-25, ops.quarantine stayed under 100 % parity after the first day whose prop
    lines named a player no box score had (B.J. Boston Jr, 2024-11-19), which the 2→3 gate never passes."""
    from conftest import bundled_subset
    from nbadb.rollout.storage import seed_lake

    archive = bundled_subset(tmp_path / "archive", "player_game_logs_2024_25_through_2024-12-31.parquet",
                             "team_game_logs_2024_25_through_2024-12-31.parquet", "schedule_2024_25.parquet",
                             "props/player_threes_pregame_2024_25_through_2024-12-31.parquet")
    settings = Settings(data_dir=tmp_path / "wh", archive_dir=archive)
    with open_workspace(archive, settings=settings, store=Store("file", settings)) as ws:
        assert not replay_day(ws, date(2024, 11, 18), phases=PHASES_RUN).failed
    with control.control(settings) as con:  # the gates are the walk's test; here the phase is entered directly
        control.record(con, actor="ann", action="advance", track="storage", from_phase=0, to_phase=2)
    seed_lake(settings)
    day = date(2024, 11, 19)
    with StorageCycles(settings, archive) as cycles:
        assert cycles.mode == "dual_write"
        assert not cycles.cycle(day, lambda ws: replay_day(ws, day, phases=PHASES_RUN)).failed
        published = cycles.ws.con.execute("SELECT count(*) FROM ops.quarantine WHERE stage = 'source' "
                                          "AND record_date = ?", [day]).fetchall()[0][0]
    assert published > 0  # the day's publication quarantined prop lines
    with control.control(settings, read_only=True) as con:
        unequal = con.execute("SELECT table_name FROM ops.rollout_parity WHERE game_day = ? "
                              "AND only_legacy + only_strategic + differing_rows > 0", [day]).fetchall()
        tables = con.execute("SELECT count(*) FROM ops.rollout_parity WHERE game_day = ?", [day]).fetchall()[0][0]
    assert unequal == [] and tables > 30
