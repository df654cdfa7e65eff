"""The engine through real runs on real data: skips, failures, crash safety, the waste report."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from nbadb.config import BUNDLED_ARCHIVE, Settings
from nbadb.engine.request import RunRequest, new_run_id
from nbadb.engine.runner import Engine
from nbadb.engine.spec import ProcessorSpec
from nbadb.monitor.waste import recommend, waste_report
from nbadb.orchestrate.corrections import publish_correction
from nbadb.orchestrate.ingest import publish
from nbadb.orchestrate.workspace import open_workspace

START, END = date(2023, 10, 24), date(2023, 10, 31)


def _workspace(path: Path):
    return open_workspace(BUNDLED_ARCHIVE, settings=Settings(data_dir=path))


def _table(con, table: str) -> list[tuple]:
    return con.execute(f"SELECT * EXCLUDE (run_id, ingested_at) FROM {table} ORDER BY ALL").fetchall()


def test_rerun_without_upstream_change_skips_and_rewrites_nothing(tmp_path: Path) -> None:
    with _workspace(tmp_path) as ws:
        first = publish(ws, START, END)
        assert {r.status for r in first.results} <= {"success", "skipped"}
        before = ws.con.execute("SELECT row_hash, run_id FROM raw.player_boxscores ORDER BY ALL").fetchall()
        second = publish(ws, START, END)
        ran = [r for r in second.results if r.skip_reason != "missing_dependency"]
        assert ran and all(r.status == "skipped" and r.skip_reason == "no_changes" for r in ran)
        after = ws.con.execute("SELECT row_hash, run_id FROM raw.player_boxscores ORDER BY ALL").fetchall()
        assert before == after  # same hashes and the same writing runs: nothing rewritten
        ledger = ws.con.execute(
            "SELECT status, skip_reason, rows_written FROM ops.processor_runs WHERE run_id IN "
            f"({','.join(repr(r.run_id) for r in ran)})"
        ).fetchall()
        assert all(s == "skipped" and why == "no_changes" and rows == 0 for s, why, rows in ledger)


def test_a_transform_that_raises_is_recorded_failed_with_its_message(tmp_path: Path) -> None:
    with _workspace(tmp_path) as ws:
        publish(ws, START, START)
        good = ws.graph.specs["raw.team_boxscores"]
        broken = replace(good, transform_sql=(
            "SELECT * REPLACE (CASE WHEN pts >= 0 THEN error('upstream feed sent garbage') END AS team_name) "
            f"FROM ({good.transform_sql}) t"))
        engine = Engine(ws.con, {**ws.graph.specs, good.name: broken}, ws.settings)
        before = _table(ws.con, "raw.team_boxscores")
        result = engine.run(RunRequest(processor=good.name, start_date=START, end_date=START, force=True))
        assert result.status == "failed"
        assert "upstream feed sent garbage" in result.error
        status, error = ws.con.execute(
            "SELECT status, error FROM ops.processor_runs WHERE run_id = ?", [result.run_id]
        ).fetchall()[0]
        assert status == "failed" and "upstream feed sent garbage" in error
        assert _table(ws.con, "raw.team_boxscores") == before


def test_a_transform_that_ignores_its_scope_fails_its_contract(tmp_path: Path) -> None:
    """A transform must compute only the entities the engine asked for: rows of other entities would
    overwrite good rows with work nobody asked for. The contract catches them and nothing is written."""
    scope_join = "JOIN _scope s ON cast(t.team_id AS VARCHAR) = s.entity_id AND t.game_date = s.game_date"
    with _workspace(tmp_path) as ws:
        publish(ws, START, START)
        good = ws.graph.specs["analytics.team_offense_game_summary"]
        assert scope_join in good.transform_sql
        careless = replace(good, transform_sql=good.transform_sql.replace(scope_join, ""))
        engine = Engine(ws.con, {**ws.graph.specs, good.name: careless}, ws.settings)
        request = RunRequest(processor=good.name, start_date=START, end_date=START, processing_mode="entity")
        assert engine.run(request).status == "success"  # every team is new: all of them are in scope
        before = _table(ws.con, good.name)
        game_id, player_id, pts = ws.con.execute(
            "SELECT game_id, player_id, pts FROM raw.player_boxscores WHERE game_date = ? ORDER BY ALL LIMIT 1",
            [START],
        ).fetchall()[0]
        publish_correction(ws, game_id, player_id, {"pts": pts + 3})  # two teams change, the others do not
        result = engine.run(replace(request, run_id=new_run_id()))
        assert result.status == "failed"
        assert "rows outside the entities it was asked for" in result.error
        assert _table(ws.con, good.name) == before


def test_a_transform_whose_columns_differ_from_its_table_fails_naming_them_even_after_the_processor_succeeded(
        tmp_path: Path) -> None:
    """The column check runs once per code version and schema: a run of the same code version that wrote rows
    since the last migration is the evidence that it passed. A changed transform is a new code version, and a
    migration voids the evidence of every run before it; either way the check runs, and nothing is written."""
    with _workspace(tmp_path) as ws:
        publish(ws, START, START)
        good = ws.graph.specs["raw.team_boxscores"]
        before = _table(ws.con, good.name)
        renamed = replace(good, transform_sql=(
            f"SELECT * EXCLUDE (team_name), team_name AS club_name FROM ({good.transform_sql}) t"))
        request = RunRequest(processor=good.name, start_date=START, end_date=START, force=True)
        result = Engine(ws.con, {**ws.graph.specs, good.name: renamed}, ws.settings).run(request)
        assert result.status == "failed"
        assert "missing ['team_name'], unexpected ['club_name']" in result.error
        assert _table(ws.con, good.name) == before
        ws.con.execute("ALTER TABLE raw.team_boxscores ADD COLUMN venue VARCHAR")  # a migration's change
        ws.con.execute("INSERT INTO ops.schema_migrations VALUES (9999, 'a column added', now()::TIMESTAMP)")
        result = Engine(ws.con, ws.graph.specs, ws.settings).run(replace(request, run_id=new_run_id()))
        assert result.status == "failed"
        assert "missing ['venue'], unexpected []" in result.error
        assert _table(ws.con, good.name) == [row + (None,) for row in before]


def test_unknown_input_or_cycle_is_rejected_at_load_time() -> None:
    from nbadb.engine.dag import ProcessorGraph
    from nbadb.engine.spec import InputSpec
    from nbadb.errors import SpecError

    a = ProcessorSpec(name="analytics.a", phase=3, inputs=(InputSpec("analytics.b"),), entity_key="x", transform_sql="")
    b = ProcessorSpec(name="analytics.b", phase=3, inputs=(InputSpec("analytics.a"),), entity_key="x", transform_sql="")
    with pytest.raises(SpecError, match="cycle"):
        ProcessorGraph([a, b], frozenset())
    c = ProcessorSpec(name="analytics.c", phase=3, inputs=(InputSpec("raw.nowhere"),), entity_key="x", transform_sql="")
    with pytest.raises(SpecError, match="raw.nowhere"):
        ProcessorGraph([c], frozenset())


CRASHING_RUN = textwrap.dedent(
    """
    import os, sys, threading
    from datetime import date
    from pathlib import Path
    from nbadb.config import BUNDLED_ARCHIVE, Settings
    from nbadb.engine import ledger
    from nbadb.orchestrate.ingest import publish
    from nbadb.orchestrate.workspace import open_workspace

    where, delay = sys.argv[2], float(sys.argv[3])
    if where == "before_commit":
        original = ledger.write_terminal
        def write_then_die(*args, **kwargs):
            original(*args, **kwargs)          # output, signatures and ledger row are written, not committed
            if args[1].spec.name == "raw.player_boxscores":
                os.kill(os.getpid(), 9)
        ledger.write_terminal = write_then_die
    elif where == "between_runs":  # killed once the publication's first run has committed
        from nbadb.engine.runner import Engine
        first_run = Engine.run
        def run_then_die(self, request):
            first_run(self, request)
            os.kill(os.getpid(), 9)
        Engine.run = run_then_die
    else:
        threading.Timer(delay, lambda: os.kill(os.getpid(), 9)).start()
    ws = open_workspace(BUNDLED_ARCHIVE, settings=Settings(data_dir=Path(sys.argv[1])))
    publish(ws, date(2023, 10, 24), date(2024, 1, 31))
    """
)


@pytest.mark.parametrize("where,delay", [("before_commit", 0.0), ("timer", 1.2), ("timer", 1.6)])
def test_kill_9_mid_run_leaves_a_consistent_warehouse(tmp_path: Path, where: str, delay: float) -> None:
    crashed = tmp_path / "crashed"
    proc = subprocess.run(
        [sys.executable, "-c", CRASHING_RUN, str(crashed), where, str(delay)], capture_output=True, text=True
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    with _workspace(crashed) as ws:
        orphans = ws.con.execute(
            """SELECT run_id, processor FROM ops.run_events GROUP BY ALL
            HAVING count(*) FILTER (WHERE event = 'finished') = 0"""
        ).fetchall()
        if where == "before_commit":
            assert "raw.player_boxscores" in {p for _, p in orphans}
            assert ws.con.execute("SELECT count(*) FROM raw.player_boxscores").fetchall()[0][0] == 0
        for run_id, processor in orphans:  # a run killed before its commit left nothing but its start
            assert not ws.con.execute("SELECT count(*) FROM ops.processor_runs WHERE run_id = ?", [run_id]).fetchall()[0][0]
            assert not ws.con.execute(f"SELECT count(*) FROM {processor} WHERE run_id = ?", [run_id]).fetchall()[0][0]
        # every committed run is whole: ledger rows, signatures and output agree
        for run_id, in ws.con.execute("SELECT run_id FROM ops.processor_runs WHERE status = 'success'").fetchall():
            assert ws.con.execute("SELECT count(*) FROM ops.run_events WHERE run_id = ? AND event = 'finished'",
                                  [run_id]).fetchall()[0][0] == 1
        resumed = publish(ws, date(2023, 10, 24), date(2024, 1, 31))
        assert not resumed.failed
        crashed_tables = {t: _table(ws.con, t) for t in ("raw.player_boxscores", "raw.team_boxscores", "raw.schedule")}
    with _workspace(tmp_path / "clean") as clean:
        publish(clean, date(2023, 10, 24), date(2024, 1, 31))
        for table, rows in crashed_tables.items():
            assert rows == _table(clean.con, table), table


def test_a_publication_killed_between_its_runs_shows_in_health_until_it_is_published_again(
        tmp_path: Path, run_cli) -> None:
    """A publication's runs are announced before the first runs (engine.ledger.announce): killed after
    its first run committed, the ones that never ran are orphaned starts, so `health` exits 1 naming
    them; publishing the window again completes it and health has no such problem left."""
    crashed = tmp_path / "crashed"
    proc = subprocess.run([sys.executable, "-c", CRASHING_RUN, str(crashed), "between_runs", "0"],
                          capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    with _workspace(crashed) as ws:
        ran = {p for (p,) in ws.con.execute("SELECT processor FROM ops.processor_runs").fetchall()}
        never_ran = {p for (p,) in ws.con.execute(
            "SELECT processor FROM ops.run_events GROUP BY ALL HAVING count(*) FILTER (WHERE event = 'finished') = 0"
        ).fetchall()}
    assert len(ran) == 1 and len(never_ran) >= 3 and not ran & never_ran, (ran, never_ran)
    health = run_cli(["health", "--json"], crashed)
    assert health.exit_code == 1, health.output
    orphaned = {f["subject"] for f in json.loads(health.stdout)["findings"] if f["check"] == "orphaned start"}
    assert orphaned == never_ran
    with _workspace(crashed) as ws:
        assert not publish(ws, date(2023, 10, 24), date(2024, 1, 31)).failed
    health = run_cli(["health", "--json"], crashed)
    assert not [f for f in json.loads(health.stdout)["findings"] if f["check"] == "orphaned start"], health.stdout


def test_waste_report_recomputed_from_raw_ledger_rows(tmp_path: Path) -> None:
    with _workspace(tmp_path) as ws:
        publish(ws, START, END, )
        for mode in ("date", "entity"):
            ws.engine.run(RunRequest(processor="raw.schedule", start_date=START, end_date=END, force=True,
                                     processing_mode=mode))
        full = waste_report(ws.con, None)
        report = {(r.processor, r.processing_mode): r for r in full.rows}
        rows = ws.con.execute(
            """SELECT processor, processing_mode, entities_processed, entities_changed, duration_ms, start_date, end_date
            FROM ops.processor_runs WHERE status = 'success' AND entities_processed > 0"""
        ).fetchall()
    assert report
    for p in full.processors:  # the per-processor view: entity-weighted waste, wasted seconds
        mine = [r for r in rows if r[0] == p.processor]
        processed, changed = sum(r[2] for r in mine), sum(r[3] for r in mine)
        assert p.entities_processed == processed and p.entities_changed == changed
        if processed:
            assert p.waste_pct == pytest.approx(100 * (processed - changed) / processed, abs=0.01)
        assert p.wasted_seconds == pytest.approx(sum(r[4] * (r[2] - r[3]) / r[2] for r in mine) / 1000, abs=0.002)
    assert set(full.answers) == {"where is work wasted", "is entity-level processing worth it",
                                 "what did the patterns save"}
    groups: dict[tuple[str, str], list[tuple]] = {}
    for row in rows:
        groups.setdefault((row[0], row[1]), []).append(row)
    assert set(groups) == set(report)
    for key, runs in groups.items():
        wastes = [100.0 * (p - c) / p for _, _, p, c, _, _, _ in runs]
        wasted_h = sum(d * w / 100 for (_, _, _, _, d, _, _), w in zip(runs, wastes)) / 3.6e6
        weeks = max((max(r[6] for r in runs) - min(r[5] for r in runs)).days / 7, 1.0)
        got = report[key]
        assert got.runs == len(runs)
        assert got.avg_waste_pct == pytest.approx(sum(wastes) / len(wastes), abs=0.01)
        assert got.wasted_hours == pytest.approx(wasted_h)
        assert got.weeks == pytest.approx(weeks, abs=0.01)
        per_week = wasted_h / weeks
        assert got.recommendation == recommend(sum(wastes) / len(wastes), per_week, len(runs),
                                               15 / per_week if per_week else None)


def test_recommendation_rules() -> None:
    assert recommend(35, 2.5, 11, 6) == "implement entity-level"
    assert recommend(35, 2.5, 10, 6) == "monitor closely"
    assert recommend(25, 1.5, 50, 10) == "monitor closely"
    assert recommend(25, 0.5, 50, 30) == "date-level sufficient"


def test_the_engines_league_calendar_agrees_with_the_schedule_and_follows_its_writes(tmp_path: Path) -> None:
    """Early exit answers from the engine's in-memory calendar: it must give what a scan of
    raw.schedule gives, and see dates a run of the schedule processor just wrote."""
    with _workspace(tmp_path) as ws:
        publish(ws, START, START)
        assert ws.engine.calendar().dates == (START,)
        publish(ws, START, END)  # the schedule processor writes the other dates
        calendar = ws.engine.calendar()
        assert calendar.dates[0] == START and len(calendar.dates) > 1
        for day in [date(2023, 10, 20), START, date(2023, 10, 27), END, date(2023, 11, 5)]:
            for span in (0, 2):
                start, end = day, date.fromordinal(day.toordinal() + span)
                want = ws.con.execute(
                    """SELECT count(*) FILTER (WHERE game_date BETWEEN $s AND $e),
                              max(game_date) FILTER (WHERE game_date < $s), min(game_date) FILTER (WHERE game_date > $e),
                              max(game_date) FILTER (WHERE game_date <= $e)
                    FROM raw.schedule""",
                    {"s": start, "e": end},
                ).fetchall()[0]
                got = (calendar.games_between(start, end), calendar.last_before(start), calendar.first_after(end),
                       calendar.latest_on_or_before(end))
                assert got == want, (start, end)


def test_the_sequential_and_threads_executors_write_the_same_tables_and_ledger(tmp_path: Path) -> None:
    """The processors of one wave read nothing another of the wave writes, so the `threads` executor
    may run them side by side on their own connections: a replay through every phase writes the
    same tables and the same ledger (runs, statuses, changes) as the `sequential` one."""
    from nbadb.orchestrate.replay import replay
    from nbadb.pipeline.registry import build_graph

    graph = build_graph()
    written_before: set[str] = set()
    for wave in graph.waves(graph.in_phases({3, 4, 5})):
        names = {s.name for s in wave}
        for spec in wave:  # every input is a source, a raw table, or written by an earlier wave
            assert not spec.input_tables & names
            assert spec.input_tables & set(graph.specs) - {s.name for s in graph.in_phases({2})} <= written_before
        written_before |= names
    outputs = [s.name for s in graph.in_phases({2, 3, 4, 5})]
    tables, ledgers = {}, {}
    for executor in ("sequential", "threads"):
        settings = Settings(data_dir=tmp_path / executor, executor=executor, executor_width=2)
        with open_workspace(BUNDLED_ARCHIVE, settings=settings) as ws:
            assert not any(o.failed for o in replay(ws, START, date(2023, 10, 28)))
            tables[executor] = {t: _table(ws.con, t) for t in outputs}
            ledgers[executor] = sorted(ws.con.execute(
                "SELECT processor, start_date, end_date, status, coalesce(skip_reason, ''), entities_changed, "
                "rows_written FROM ops.processor_runs").fetchall())
    assert tables["sequential"] == tables["threads"]
    assert ledgers["sequential"] == ledgers["threads"]
