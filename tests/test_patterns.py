"""The processing patterns fire in the real replay, save work, and never change an output.

One window of the 2023-24 replay spans the All-Star break (no games 2024-02-16 … 02-21). It is
replayed with every pattern on and with every pattern off; the ledgers differ, the tables do not.
A persistent fault injected into one processor opens its durable breaker after five failures; once
the fault is gone and the timeout has passed, one probe closes it and catches up on every deferred
date.
"""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest

from nbadb.config import BUNDLED_ARCHIVE, Settings
from nbadb.engine import breakers
from nbadb.engine.request import RunRequest, Trigger
from nbadb.engine.vocabulary import DecisionKind
from nbadb.orchestrate.corrections import publish_correction
from nbadb.orchestrate.daily import run_pipeline
from nbadb.orchestrate.replay import replay
from nbadb.orchestrate.workspace import Workspace, open_workspace
from nbadb.pipeline.raw import MORNING_TABLES, NIGHT_TABLES
from nbadb.pipeline.raw_v2 import raw_processors

START, END = date(2024, 2, 13), date(2024, 2, 23)
BREAK = [date(2024, 2, d) for d in range(16, 22)]
DEFENSE = "analytics.team_defense_game_summary"
PLAYER = "analytics.player_game_summary"
PATTERNS_OFF = dict(early_exit=False, smart_skip=False, processor_breakers=False, idempotency=False,
                    data_version_shortcut=False, coalesce_window_seconds=0)


def _ws(path: Path, **settings: object) -> Workspace:
    return open_workspace(BUNDLED_ARCHIVE, settings=Settings(data_dir=path, archive_dir=BUNDLED_ARCHIVE, **settings))


def _outputs(ws: Workspace) -> dict[str, list[tuple]]:
    """Every table's content (lineage aside), in a canonical order."""
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
    assert MORNING_TABLES | NIGHT_TABLES == {s.name for s in raw_processors("v1+v2")}  # either box scores' contract
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
        assert any(d.kind == DecisionKind.DUPLICATE_TRIGGERS for d in redelivered.decisions)
        # a producer that published the same event twice: one run, the copy counted, not redone
        publish_correction(ws, *_a_player_game(ws, END), {"pts": 1})
        ws.con.execute("INSERT INTO ops.events SELECT * FROM ops.events WHERE producer = 'raw.player_boxscores' "
                       "ORDER BY created_at DESC LIMIT 1")
        runs = [r for r in run_pipeline(ws, None) if r.processor == PLAYER]
        assert len(runs) == 1 and runs[0].status == "success"
        assert runs[0].metrics.duplicate_triggers == 1
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
            "SELECT game_id, player_id, pts FROM raw.player_boxscores WHERE game_date = ? "
            "AND 2 * fga + fg3a + fta > pts ORDER BY player_id LIMIT 20",  # one more point is possible
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
            assert player_runs[0].metrics.triggers == triggers
            assert any(d.kind == DecisionKind.COALESCED_TRIGGERS and d.facts["triggers"] == triggers
                       for d in player_runs[0].decisions)


@pytest.mark.parametrize("faulty", ["predictions.evaluation", DEFENSE])
def test_a_fault_for_five_simulated_days_opens_the_breaker_and_the_replay_recovers_by_itself(
        replays, tmp_path, faulty) -> None:
    """A fault injected into one processor for five simulated days: its breaker opens, runs on the
    replay's clock (so it half-opens on later simulated days, and each probe while the fault lasts
    fails again); once the fault is gone the next probe succeeds and catches up on every deferred
    date. Every current-truth table of the facts then equals a clean replay's. As-of snapshots taken
    while the processor was down were taken without its rows, as published, and stay so (and so does
    the evaluation of the predictions made then); from the recovery on they equal the clean replay's
    too. A fault in the evaluation, which nothing reads, leaves every table equal."""
    last_fault = START + timedelta(days=4)
    settings = dict(fault_processors=f"{faulty}@{START}..{last_fault}", processor_breaker_timeout_seconds=30 * 3600)
    with _ws(tmp_path / "faulty", **settings) as ws:
        outcomes = replay(ws, START, END)
        runs = ws.con.execute(
            "SELECT as_of_date, coalesce(skip_reason, status), decisions_made FROM ops.processor_runs "
            "WHERE processor = ? ORDER BY finished_at", [faulty]).fetchall()
        failed_days = {d for d, s, _ in runs if s == "failed"}
        assert failed_days and max(failed_days) <= last_fault
        assert any("breaker_opened" in decisions for _, _, decisions in runs), "five failures open the breaker"
        assert any(s == "breaker_open" for _, s, _ in runs), "while open, runs are refused"
        probes = [(d, s) for d, s, decisions in runs if "breaker_probe" in decisions]
        assert probes and probes[-1][1] == "success", "a later simulated day's probe succeeds once the fault is gone"
        recovered = probes[-1][0]
        assert breakers.read(ws.con, faulty, "processor").state == "CLOSED"
        assert sum(o.failed for o in outcomes) == len([s for _, s, _ in runs if s == "failed"])
        with _ws(replays["on"]) as clean:
            got, want = _outputs(ws), _outputs(clean)
            for name, spec in ws.graph.specs.items():
                if spec.phase < 2:
                    continue
                reads_snapshots = any(ws.graph.specs[t].kind == "as_of" for t in spec.input_tables
                                      if t in ws.graph.specs)
                if (spec.kind == "current_truth" and not reads_snapshots) or faulty == "predictions.evaluation":
                    assert got[name] == want[name], name
                else:
                    since = f"{spec.date_column} > DATE '{recovered}'"
                    assert _rows_where(ws, name, since) == _rows_where(clean, name, since), name


def _rows_where(ws: Workspace, table: str, where: str) -> list[tuple]:
    return ws.con.execute(f"SELECT * EXCLUDE (run_id, ingested_at) FROM {table} WHERE {where} ORDER BY ALL").fetchall()


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
        assert any(d.kind == DecisionKind.UNKNOWN_SOURCE for d in results[PLAYER].decisions)
        irrelevant = {r.processor: r for r in run_pipeline(ws, (END, END), trigger_sources=("raw.injuries",), as_of=END)}
        assert irrelevant[PLAYER].skip_reason == "irrelevant_source"
