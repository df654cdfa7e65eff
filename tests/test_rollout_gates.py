"""The gates' game-weeks (rollout.gates), counted on the bundled archive's league calendar: the
season's whole schedule, not only the days a warehouse has published so far."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from conftest import make_settings
from nbadb.rollout import control, gates, transitions
from nbadb.warehouse.transactions import committed
from rollout_support import days

OPENER = date(2022, 10, 18)  # 2022-23's opening night, a Tuesday: the week of Monday Oct 17


def test_a_game_week_entered_after_its_first_game_day_or_still_under_way_is_not_full(tmp_path: Path) -> None:
    """Shadow cycles from the season's second night (Wednesday Oct 19) through Wednesday Nov 2, as a
    fresh warehouse replayed from that Wednesday records them: only the week of Oct 24 is full. The
    warehouse itself would know no earlier game day of the first week and no later one of the last."""
    settings = make_settings(tmp_path)
    calendar = transitions.league_game_days(settings)
    assert {OPENER, date(2022, 11, 3), date(2022, 11, 6)} <= calendar
    with control.control(settings) as con:
        def write() -> None:
            for day in days(date(2022, 10, 19), date(2022, 11, 2)):
                control.record_cycle(con, "schema", day, 1, "shadow", games=1, tables=1, compared=1, divergent=0)

        committed(con, write)
        assert gates.full_game_weeks(con, "schema", "shadow", None, calendar) == 1
        published = {d for d in calendar if date(2022, 10, 19) <= d <= date(2022, 11, 2)}
        assert gates.full_game_weeks(con, "schema", "shadow", None, published) == 3, "what the gate counted before"
        committed(con, lambda: control.record_cycle(con, "schema", OPENER, 1, "shadow", games=1, tables=1,
                                                    compared=1, divergent=0))
        assert gates.full_game_weeks(con, "schema", "shadow", None, calendar) == 2
