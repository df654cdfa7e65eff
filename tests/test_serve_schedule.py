"""`nbadb serve`'s schedule: cycles at game-calendar hours (America/New_York), nothing on a day
without games, every missed game cycle caught up after a restart, and what it writes is what a
replay of the same days writes.

The planner is a pure function of the calendar and the time; the server test drives the real serve
app with a fake clock through a game day, a day without games and a restart, on a replayed
warehouse, and reads the ledger.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import duckdb

from nbadb.engine.calendar import LeagueCalendar
from nbadb.engine.clock import morning
from nbadb.monitor.health import health_report
from nbadb.orchestrate.replay import replay
from nbadb.orchestrate.workspace import open_workspace
from nbadb.serve.calendar import GameDay
from nbadb.serve.plan import GAME_LENGTH, PRE_TIP_LEAD, CycleKind, due_cycles, planned, upcoming
from nbadb.serve.trigger import CalendarTrigger

from serve_support import NO_GAMES, FakeClock, eastern, serve_settings, served

CHRISTMAS = GameDay(date(2024, 12, 25), 5, first_tip=datetime(2024, 12, 25, 17, 0), last_tip=datetime(2024, 12, 26, 3, 0))
TUESDAY, MONDAY = date(2024, 12, 24), date(2024, 12, 23)


def _kinds(cycles) -> list[tuple[str, date]]:
    return [(str(getattr(c, "kind", None) or c.cycle_kind), getattr(c, "day", None) or c.game_date) for c in cycles]


# -- the planner ------------------------------------------------------------------------------------


def test_a_game_day_runs_its_morning_before_the_first_tip_and_its_night_after_the_last_game_ends():
    cycles = {c.kind: c for c in planned({CHRISTMAS.day: CHRISTMAS}, CHRISTMAS.day, CHRISTMAS.day)}
    assert cycles[CycleKind.MORNING].due_at == CHRISTMAS.first_tip - PRE_TIP_LEAD < CHRISTMAS.first_tip
    assert cycles[CycleKind.NIGHT].due_at == CHRISTMAS.last_tip + GAME_LENGTH
    assert cycles[CycleKind.HEALTH].due_at == eastern(2024, 12, 25, 9)


def test_the_morning_cycle_is_never_due_before_the_morning_publication():
    early = GameDay(CHRISTMAS.day, 1, first_tip=datetime(2024, 12, 25, 13, 0), last_tip=datetime(2024, 12, 25, 13, 0))
    (cycle,) = [c for c in planned({early.day: early}, early.day, early.day) if c.kind is CycleKind.MORNING]
    assert cycle.due_at == morning(early.day)


def test_a_day_without_games_has_only_its_monitoring_cycles_and_monday_adds_the_weekly_reports():
    assert _kinds(planned({}, TUESDAY, TUESDAY)) == [("health", TUESDAY)]
    assert _kinds(planned({}, MONDAY, MONDAY)) == [("health", MONDAY), ("weekly", MONDAY)]


def test_after_downtime_every_missed_game_cycle_is_due_in_order_but_only_the_latest_check_of_each_kind():
    days = [date(2024, 12, 21), date(2024, 12, 22), date(2024, 12, 23)]
    calendar = {d: GameDay(d, 3, datetime.combine(d, datetime.min.time()) + timedelta(hours=23),
                           datetime.combine(d, datetime.min.time()) + timedelta(hours=26)) for d in days}
    due = due_cycles(calendar, eastern(2024, 12, 24, 12), done={("morning", days[0])}, since=days[0])
    assert _kinds(due) == [("night", days[0]), ("morning", days[1]), ("night", days[1]), ("weekly", days[2]),
                           ("morning", days[2]), ("night", days[2]), ("health", TUESDAY)]
    assert [c.due_at for c in due if c.kind.pipeline] == sorted(c.due_at for c in due if c.kind.pipeline)


def test_the_next_cycles_are_the_first_ones_due_after_now():
    now = eastern(2024, 12, 25, 9, 30)  # the health check is past, the morning cycle (10 am: noon tip) is not
    assert _kinds(upcoming({CHRISTMAS.day: CHRISTMAS}, now, 3)) == [
        ("morning", CHRISTMAS.day), ("night", CHRISTMAS.day), ("health", date(2024, 12, 26))]


def test_apschedulers_trigger_fires_at_each_cycle_of_the_calendar_in_turn():
    clock = FakeClock(eastern(2024, 12, 25, 9, 30))
    trigger = CalendarTrigger({CHRISTMAS.day: CHRISTMAS}, clock)
    first = trigger.get_next_fire_time(None, clock().replace(tzinfo=timezone.utc))
    assert first == (CHRISTMAS.first_tip - PRE_TIP_LEAD).replace(tzinfo=timezone.utc)
    clock.set(first.replace(tzinfo=None))
    assert trigger.get_next_fire_time(first, first) == (CHRISTMAS.last_tip + GAME_LENGTH).replace(tzinfo=timezone.utc)


# -- the server, on a fake clock --------------------------------------------------------------------


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    return con.execute(f"SELECT * EXCLUDE (run_id, ingested_at) FROM {table} ORDER BY ALL").fetchall()


def test_serve_runs_a_game_day_skips_a_day_without_games_and_catches_up_after_a_restart(
        early_november, copy_warehouse, db, tmp_path):
    data_dir = copy_warehouse(early_november, tmp_path / "served")
    clock = FakeClock(eastern(2023, 11, 6, 10))  # a Monday morning with games tonight
    with served(data_dir, clock) as app:
        assert _kinds(app.run_due()) == [("health", date(2023, 11, 6)), ("weekly", date(2023, 11, 6))]
        assert app.run_due() == []  # nothing is due twice
        clock.set(eastern(2023, 11, 6, 18))
        assert _kinds(app.run_due()) == [("morning", date(2023, 11, 6))]
        clock.set(eastern(2023, 11, 7, 3))
        assert _kinds(app.run_due()) == [("night", date(2023, 11, 6))]
        clock.set(eastern(2023, 11, 7, 23, 59))  # Election Day 2023: no game
        assert _kinds(app.run_due()) == [("health", NO_GAMES)]
    clock.set(eastern(2023, 11, 9, 12))  # the server was down for a day and a half
    with served(data_dir, clock) as app:
        caught_up = app.run_due()
        assert _kinds(caught_up) == [("morning", date(2023, 11, 8)), ("night", date(2023, 11, 8)),
                                     ("health", date(2023, 11, 9))]
        assert [r.cycle_trigger for r in caught_up] == ["catch_up"] * 3
        assert app.run_due() == []

    with db(data_dir) as con:
        runs_per_day = dict(con.execute(
            "SELECT as_of_date, count(*) FROM ops.processor_runs WHERE as_of_date >= '2023-11-06' GROUP BY 1").fetchall())
        assert set(runs_per_day) == {date(2023, 11, 6), date(2023, 11, 8)}  # nothing ran for the day without games
        assert con.execute("SELECT count(*) FROM ops.processor_runs WHERE status = 'failed'").fetchall() == [(0,)]
        cycles = con.execute("SELECT cycle_kind, game_date, count(*), bool_and(status = 'done'), sum(runs), "
                             "any_value(pass_id) FROM ops.serve_cycles GROUP BY 1, 2 ORDER BY 2, 1").fetchall()
        assert all(n == 1 and done for _, _, n, done, _, _ in cycles)
        assert {(k, d) for k, d, _, _, runs, _ in cycles if runs} == {
            ("morning", date(2023, 11, 6)), ("night", date(2023, 11, 6)), ("morning", date(2023, 11, 8)),
            ("night", date(2023, 11, 8))}
        health = con.execute("SELECT check_date FROM ops.health_checks ORDER BY 1").fetchall()
        assert health == [(date(2023, 11, 6),), (NO_GAMES,), (date(2023, 11, 9),)]
        assert con.execute("SELECT count(*) FROM ops.weekly_reports").fetchall() == [(1,)]
        served_tables = {t: _rows(con, t) for t in ("predictions.player_prop_predictions", "analytics.player_game_summary",
                                                     "predictions.evaluation")}
        pass_id = next(p for k, d, _, _, runs, p in cycles if (k, d) == ("night", date(2023, 11, 8)))
    night = json.loads((data_dir / "manifests" / "passes" / f"{pass_id}.json").read_text())
    assert night["cycle_kind"] == "night" and len(night["run_ids"]) == night["runs"] > 0
    assert all((data_dir / "manifests" / "runs" / f"{r}.json").is_file() for r in night["run_ids"])

    replayed_dir = copy_warehouse(early_november, tmp_path / "replayed")
    with open_workspace(settings=serve_settings(replayed_dir)) as ws:
        assert not any(day.failed for day in replay(ws, date(2023, 11, 6), date(2023, 11, 8)))
    with db(replayed_dir) as con:
        for table, rows in served_tables.items():
            assert _rows(con, table) == rows, f"{table}: serve wrote something a replay of the same days did not"


def test_files_added_to_the_archive_while_serve_runs_are_planned_and_published_without_a_restart(db, tmp_path):
    """The calendar and the files were read once, at start: the season's schedule dropped into the
    archive folder of a running server (as `nbadb fetch` writes a day there) was never planned, nor
    published, until a restart."""
    from conftest import bundled_subset

    archive = bundled_subset(tmp_path / "archive", "player_game_logs_2024_25_through_2024-12-31.parquet")
    data_dir = tmp_path / "served"
    clock = FakeClock(eastern(2024, 10, 22, 10))  # opening night, 2024-25
    with served(data_dir, clock, archive=archive) as app:
        assert _kinds(app.run_due()) == [("health", date(2024, 10, 22))]
        assert not app.calendar and all(c.kind == "health" for c in app.next_cycles(3))

        bundled_subset(archive, "schedule_2024_25.parquet", "team_game_logs_2024_25_through_2024-12-31.parquet")
        clock.set(eastern(2024, 10, 22, 18))
        assert _kinds(app.run_due()) == [("morning", date(2024, 10, 22))]
        assert app.calendar[date(2024, 10, 22)].games == 2
        assert _kinds(app.next_cycles(1)) == [("night", date(2024, 10, 22))]
        clock.set(eastern(2024, 10, 23, 3))
        assert _kinds(app.run_due()) == [("night", date(2024, 10, 22))]
    with db(data_dir) as con:
        assert con.execute("SELECT count(*) FROM raw.schedule").fetchall() == [(2,)]
        assert con.execute("SELECT count(DISTINCT game_id) FROM raw.team_boxscores").fetchall() == [(2,)]
        assert con.execute("SELECT count(*) FROM ops.processor_runs WHERE status = 'failed'").fetchall() == [(0,)]


def test_a_morning_cycle_leaves_the_warehouse_clock_before_the_days_tip_off(early_november, copy_warehouse, tmp_path):
    """The morning published the day's injury moves, which are known only at its night (engine.clock):
    from dawn on the warehouse clock stood at that night, so between the morning and the night cycle
    health reported the day's games as results missing and its night as never published."""
    from nbadb.engine.clock import latest_publication
    from nbadb.serve.views import warehouse_now

    clock = FakeClock(eastern(2023, 11, 6, 17))  # the morning cycle is due; the first tip is at 6 pm
    with served(copy_warehouse(early_november, tmp_path / "served"), clock) as app:
        assert ("morning", date(2023, 11, 6)) in _kinds(app.run_due())
        with app.readers.reader() as con:
            tip = LeagueCalendar.load(con).cutoff(date(2023, 11, 6))
            assert latest_publication(con) < tip and warehouse_now(con, clock()) < tip
            report = health_report(con, app.ws.graph, warehouse_now(con, clock()), clock())
        assert not [f for f in report.findings if f.check in ("results missing", "unpublished days")], report
        clock.set(eastern(2023, 11, 7, 3))
        assert _kinds(app.run_due()) == [("night", date(2023, 11, 6))]
        with app.readers.reader() as con:
            injuries = con.execute("SELECT count(*) FROM raw.injuries WHERE move_date = '2023-11-06'").fetchall()
        assert injuries[0][0] > 0  # the night brought them
