"""The processing patterns fire in the real replay, save work, and never change an output.

One window of the 2023-24 replay spans the All-Star break (no games 2024-02-16 … 02-21). It is
replayed with every pattern on and with every pattern off; the ledgers differ, the tables do not.
A persistent fault injected into one processor opens its durable breaker after five failures; once
the fault is gone and the timeout has passed, one probe closes it and catches up on every deferred
date.
"""

from __future__ import annotations

import shutil
import time
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from nbadb.config import BUNDLED_ARCHIVE, Settings
from nbadb.engine import breakers
from nbadb.engine.request import RunRequest, Trigger, utc_now
from nbadb.orchestrate.corrections import publish_correction
from nbadb.orchestrate.daily import run_pipeline
from nbadb.orchestrate.replay import MORNING_TABLES, NIGHT_TABLES, replay
from nbadb.orchestrate.workspace import Workspace, open_workspace
from nbadb.pipeline.raw import RAW_PROCESSORS

START, END = date(2024, 2, 13), date(2024, 2, 23)
LATER = date(2024, 2, 25)  # two more game days
BREAK = [date(2024, 2, d) for d in range(16, 22)]
DEFENSE = "analytics.team_defense_game_summary"
PLAYER = "analytics.player_game_summary"
PATTERNS_OFF = dict(early_exit=False, smart_skip=False, processor_breakers=False, idempotency=False,
                    data_version_shortcut=False, coalesce_window_seconds=0)


def _ws(path: Path, **settings: object) -> Workspace:
    return open_workspace(BUNDLED_ARCHIVE, settings=Settings(data_dir=path, archive_dir=BUNDLED_ARCHIVE, **settings))


def _outputs(ws: Workspace) -> dict[str, list[tuple]]:
    tables = [n for n, s in ws.graph.specs.items() if s.phase >= 2]
    return {t: ws.con.execute(f"SELECT * EXCLUDE (run_id, ingested_at) FROM {t} ORDER BY ALL").fetchall()
            for t in tables}


def _reasons(ws: Workspace, processor: str | None = None) -> Counter:
    rows = ws.con.execute(
        "SELECT coalesce(skip_reason, status) FROM ops.processor_runs WHERE $p IS NULL OR processor = $p",
        {"p": processor},
    ).fetchall()
    return Counter(r[0] for r in rows)


@pytest.fixture(scope="module")
def replays(tmp_path_factory) -> dict[str, Path]:
    """The window replayed with every pattern on and with every pattern off."""
    paths = {}
    for name, settings in (("on", {}), ("off", PATTERNS_OFF)):
        path = tmp_path_factory.mktemp(f"patterns_{name}")
        with _ws(path, **settings) as ws:
            outcomes = replay(ws, START, END)
            assert not any(o.failed for o in outcomes)
        paths[name] = path
    return paths


def test_replay_splits_the_raw_tables_into_morning_and_night() -> None:
    assert MORNING_TABLES | NIGHT_TABLES == {s.name for s in RAW_PROCESSORS}
    assert not MORNING_TABLES & NIGHT_TABLES


def test_patterns_fire_where_they_should(replays) -> None:
    with _ws(replays["on"]) as on, _ws(replays["off"], **PATTERNS_OFF) as off:
        # All-Star break: early exit for every downstream processor that needs games
        skipped_on_break = on.con.execute(
            "SELECT DISTINCT start_date FROM ops.processor_runs WHERE processor = $p AND skip_reason = 'no_games'",
            {"p": PLAYER},
        ).fetchall()
        assert sorted(d for (d,) in skipped_on_break) == BREAK
        # each game day's morning trigger (schedule, injuries) does not concern the box-score summaries
        assert _reasons(on, PLAYER)["irrelevant_source"] >= 5
        decisions = on.con.execute(
            "SELECT decisions_made FROM ops.processor_runs WHERE skip_reason = 'irrelevant_source' LIMIT 1"
        ).fetchall()[0][0]
        assert "none of which it reads" in decisions
        # switched off, the same days go through detection and dependency checks instead
        assert not {"no_games", "off_season", "irrelevant_source"} & set(_reasons(off))
        assert _reasons(on)["success"] == _reasons(off)["success"]


def test_switching_patterns_off_changes_no_output(replays) -> None:
    with _ws(replays["on"]) as on, _ws(replays["off"], **PATTERNS_OFF) as off:
        assert _outputs(on) == _outputs(off)


def test_a_redelivered_event_is_an_idempotent_no_op(replays, tmp_path) -> None:
    path = tmp_path / "idem"
    shutil.copytree(replays["on"], path)
    with _ws(path) as ws:
        before = _outputs(ws)
        event_id, producer = ws.con.execute(
            "SELECT e.event_id, e.producer FROM ops.events e JOIN ops.event_consumption c USING (event_id) "
            "WHERE c.consumer = $p ORDER BY e.created_at DESC LIMIT 1", {"p": PLAYER}
        ).fetchall()[0]
        day = ws.con.execute("SELECT game_dates[1] FROM ops.events WHERE event_id = ?", [event_id]).fetchall()[0][0]
        redelivered = ws.engine.run(RunRequest(
            processor=PLAYER, start_date=day, end_date=day,
            trigger=Trigger(source=producer, event_ids=(event_id,), sources=(producer,), requested=False),
        ))
        assert (redelivered.status, redelivered.skip_reason) == ("skipped", "duplicate_trigger")
        assert any("duplicate" in d for d in redelivered.decisions)
        # a producer that published the same event twice: one run, the copy counted, not redone
        publish_correction(ws, *_a_player_game(ws, END), {"pts": 1})
        ws.con.execute("INSERT INTO ops.events SELECT * FROM ops.events WHERE producer = 'raw.player_boxscores' "
                       "ORDER BY created_at DESC LIMIT 1")
        runs = [r for r in run_pipeline(ws, None) if r.processor == PLAYER]
        assert len(runs) == 1 and runs[0].status == "success"
        assert any("ignored 1 duplicate" in d for d in runs[0].decisions)
        assert _outputs(ws)[PLAYER] != before[PLAYER]  # the correction itself went through, once
        consumed = ws.con.execute(
            "SELECT count(*), count(DISTINCT event_id) FROM ops.event_consumption WHERE consumer = ?", [PLAYER]
        ).fetchall()[0]
        assert consumed[0] == consumed[1]


def _a_player_game(ws: Workspace, day: date) -> tuple[str, int]:
    return ws.con.execute(
        "SELECT game_id, player_id FROM raw.player_boxscores WHERE game_date = ? ORDER BY pts DESC LIMIT 1", [day]
    ).fetchall()[0]


@pytest.mark.parametrize("window", [600.0, 0.0])
def test_a_burst_of_triggers_coalesces_into_one_run(replays, tmp_path, window) -> None:
    """Twenty corrections publish forty events (each revises a player row and his team's row); within
    the window they become one run of the player summary, with coalescing off one run each."""
    path = tmp_path / f"burst{window}"
    shutil.copytree(replays["on"], path)
    with _ws(path, coalesce_window_seconds=window) as ws:
        picks = ws.con.execute(
            "SELECT game_id, player_id, pts FROM raw.player_boxscores WHERE game_date = ? ORDER BY player_id LIMIT 20",
            [END],
        ).fetchall()
        for game_id, player_id, pts in picks:
            publish_correction(ws, game_id, player_id, {"pts": pts + 1})
        triggers = ws.con.execute(
            "SELECT count(*) FROM ops.events e WHERE producer IN ('raw.player_boxscores', 'raw.team_boxscores') "
            "AND NOT EXISTS (SELECT 1 FROM ops.event_consumption c WHERE c.event_id = e.event_id AND c.consumer = ?)",
            [PLAYER],
        ).fetchall()[0][0]
        assert triggers == 40
        player_runs = [r for r in run_pipeline(ws, None) if r.processor == PLAYER]
        assert len(player_runs) == (1 if window else triggers)
        assert sum(r.metrics.entities_changed for r in player_runs) == 20
        if window:
            assert f"coalesced {triggers} triggers into this run" in player_runs[0].decisions


def test_a_persistent_failure_opens_the_breaker_and_the_probe_catches_up(replays, tmp_path) -> None:
    # the replay with a persistent fault in one processor, two game days past the window
    faulty = dict(fault_processors=DEFENSE, processor_breaker_timeout_seconds=3600)
    fresh = tmp_path / "faulty"
    with _ws(fresh, **faulty) as ws:
        replay(ws, START, LATER)
        reasons = _reasons(ws, DEFENSE)
        statuses = [s for (s,) in ws.con.execute(
            "SELECT coalesce(skip_reason, status) FROM ops.processor_runs WHERE processor = ? "
            "AND coalesce(skip_reason, '') NOT IN ('no_games', 'irrelevant_source') ORDER BY finished_at", [DEFENSE]
        ).fetchall()]
        assert statuses[:5] == ["failed"] * 5 and reasons["failed"] == 5  # opens after exactly five failures
        # its unconsumed events ask for it every cycle after that: each is refused while open
        assert len(statuses) > 7 and set(statuses[5:]) == {"breaker_open"}
        state = breakers.read(ws.con, DEFENSE, "processor")
        assert state.state == "OPEN" and state.consecutive_failures == 5
    # the state survives a restart; the fault is removed; after the timeout one probe runs
    with _ws(fresh, processor_breaker_timeout_seconds=1) as ws:
        assert breakers.read(ws.con, DEFENSE, "processor").state == "OPEN"
        # half an hour passes (the row's retry time, set from the 3600 s timeout, is moved into the past)
        ws.con.execute("UPDATE ops.circuit_breakers SET retry_at = opened_at + INTERVAL 1 SECOND")
        time.sleep(1.1)
        assert breakers.read(ws.con, DEFENSE, "processor").state_at(utc_now()) == "HALF_OPEN"
        probe = [r for r in run_pipeline(ws, None) if r.processor == DEFENSE]
        assert [r.status for r in probe] == ["success"]
        assert any("probe" in d for d in probe[0].decisions)
        assert breakers.read(ws.con, DEFENSE, "processor").state == "CLOSED"
        # the deferred events were kept, so the catch-up run covered every failed date
        with _ws(replays["on"]) as clean:
            assert _defense_until(ws, END) == _defense_until(clean, END)
        assert ws.con.execute(f"SELECT max(game_date) FROM {DEFENSE}").fetchall()[0][0] == LATER


def _defense_until(ws: Workspace, day: date) -> list[tuple]:
    return ws.con.execute(
        f"SELECT * EXCLUDE (run_id, ingested_at) FROM {DEFENSE} WHERE game_date <= ? ORDER BY ALL", [day]
    ).fetchall()


def test_dates_older_than_ninety_days_exit_early_outside_backfill(replays, tmp_path) -> None:
    path = tmp_path / "hist"
    shutil.copytree(replays["on"], path)
    with _ws(path) as ws:
        old = date(2023, 11, 1)
        results = {r.processor: r for r in run_pipeline(ws, (old, old), as_of=END)}
        assert results[PLAYER].skip_reason == "too_historical"
        backfill = {r.processor: r for r in run_pipeline(ws, (old, old), as_of=END, mode="backfill")}
        assert backfill[PLAYER].skip_reason != "too_historical"
        future = {r.processor: r for r in run_pipeline(ws, (date(2024, 2, 24), date(2024, 2, 24)), as_of=END)}
        assert future[PLAYER].skip_reason == "future_date"


def test_an_unknown_trigger_source_fails_open(replays, tmp_path) -> None:
    path = tmp_path / "unknown"
    shutil.copytree(replays["on"], path)
    with _ws(path) as ws:
        results = {r.processor: r for r in run_pipeline(ws, (END, END), trigger_sources=("nba_api.live",), as_of=END)}
        assert results[PLAYER].skip_reason != "irrelevant_source"
        assert any("fail open" in d for d in results[PLAYER].decisions)
        irrelevant = {r.processor: r for r in run_pipeline(ws, (END, END), trigger_sources=("raw.injuries",), as_of=END)}
        assert irrelevant[PLAYER].skip_reason == "irrelevant_source"
