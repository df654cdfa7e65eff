"""Prefect as executor and scheduler (nbadb.orchestrate.prefect), under `prefect_test_harness`: one
temporary Prefect server for the whole session (PREFECT_HOME in a temp folder, analytics off), the
real engine on the bundled real data. A processor run is a task run; a flow writes what the same day
run in process writes; deployments run through real process workers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from nbadb.config import get_settings
from nbadb.orchestrate.workspace import open_workspace

NEXT_DAY = date(2023, 11, 15)  # the day after the session's replayed window (conftest.WINDOW_REPLAYED)
CONTENT_SCHEMAS = ("raw", "analytics", "precompute", "predictions")
LINEAGE = {"run_id", "ingested_at"}


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A temporary Prefect server (about 10 s to start here) with nbadb's concurrency limits."""
    home = tmp_path_factory.mktemp("prefect_home")
    os.environ.update({"PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                       "PREFECT_LOGGING_LEVEL": "WARNING"})
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    from nbadb.orchestrate.prefect.limits import ensure_limits

    with prefect_test_harness(server_startup_timeout=120):
        ensure_limits()
        yield PREFECT_API_URL.value()


@pytest.fixture
def nbadb_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[callable]:
    """`nbadb_env(data_dir, **NBADB_settings)`: the process's NBADB_* environment for flows run here."""

    def setup(data_dir: Path, **settings: str) -> None:
        monkeypatch.setenv("NBADB_DATA_DIR", str(data_dir))
        for name, value in settings.items():
            monkeypatch.setenv(f"NBADB_{name.upper()}", value)
        get_settings.cache_clear()

    yield setup
    get_settings.cache_clear()


def content(data_dir: Path) -> dict[str, list[tuple]]:
    """Every table of the pipeline's schemas, rows sorted, lineage columns (run_id, ingested_at) left out."""
    con = duckdb.connect(str(data_dir / "nba.duckdb"), read_only=True)
    try:
        tables = con.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables "
            f"WHERE table_schema IN {CONTENT_SCHEMAS} AND table_type = 'BASE TABLE' ORDER BY 1").fetchall()
        out = {}
        for (table,) in tables:
            columns = [c for (c,) in con.execute(f"SELECT column_name FROM (DESCRIBE {table})").fetchall()
                       if c not in LINEAGE]
            out[table] = con.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY ALL").fetchall()
        return out
    finally:
        con.close()


def ledger(data_dir: Path, since_run_ids: set[str]) -> Counter:
    """The ledger rows written after `since_run_ids`: (processor, status, skip_reason, entities_changed)."""
    con = duckdb.connect(str(data_dir / "nba.duckdb"), read_only=True)
    try:
        rows = con.execute("SELECT run_id, processor, status, skip_reason, entities_changed FROM ops.processor_runs").fetchall()
    finally:
        con.close()
    return Counter(tuple(r[1:]) for r in rows if r[0] not in since_run_ids)


def run_ids(data_dir: Path) -> set[str]:
    con = duckdb.connect(str(data_dir / "nba.duckdb"), read_only=True)
    try:
        return {r for (r,) in con.execute("SELECT run_id FROM ops.processor_runs").fetchall()}
    finally:
        con.close()


def task_runs_of(flow_run_id) -> list:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        return client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))


# -- the executor seam ---------------------------------------------------------------------------


def test_importing_nbadb_and_running_its_non_prefect_commands_never_imports_prefect(tmp_path: Path) -> None:
    code = f"""
import sys
from typer.testing import CliRunner
import nbadb, nbadb.cli.app
env = {{"NBADB_DATA_DIR": {str(tmp_path)!r}}}
for args in (["processors", "--json"], ["ingest", "--date", "2023-10-24", "--json"], ["run", "--date", "2023-10-24", "--json"],
             ["status", "--json"], ["runs", "--json"], ["health", "--json"], ["breakers", "list"],
             ["fetch", "--date", "2023-10-24", "--from-raw", "--raw", {str(tmp_path / 'no-raw')!r}]):
    result = CliRunner().invoke(nbadb.cli.app.app, args, env=env)
    assert result.exit_code in (0, 1, 3), (args, result.output)
print(sorted(m for m in sys.modules if m == "prefect" or m.startswith("prefect.")))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_an_unknown_executor_is_one_line_error_naming_the_choices(tmp_path: Path, run_cli, monkeypatch) -> None:
    monkeypatch.setenv("NBADB_EXECUTOR", "celery")
    result = run_cli(["run", "--date", "2023-10-24"], tmp_path)
    assert result.exit_code == 2
    assert "NBADB_EXECUTOR='celery': use one of sequential, threads, prefect" in result.output.replace("\n", " ")


def test_a_daily_flow_under_prefect_writes_the_same_tables_and_ledger_as_the_same_day_run_in_process(
    prefect_server: str, replayed_window, copy_warehouse, tmp_path: Path, nbadb_env
) -> None:
    from prefect.client.orchestration import get_client

    from nbadb.orchestrate.prefect.flows import daily_flow
    from nbadb.orchestrate.replay import replay_day
    from conftest import make_settings

    in_process = copy_warehouse(replayed_window.data_dir, tmp_path / "in_process")
    flows = copy_warehouse(replayed_window.data_dir, tmp_path / "flows")
    before = run_ids(in_process)
    t0 = time.perf_counter()
    with open_workspace(settings=make_settings(in_process)) as ws:
        assert not replay_day(ws, NEXT_DAY).failed
    in_process_seconds = time.perf_counter() - t0

    nbadb_env(flows, executor="prefect")
    t0 = time.perf_counter()
    states = [daily_flow(part=part, day=str(NEXT_DAY), return_state=True) for part in ("morning", "night")]
    flow_seconds = time.perf_counter() - t0
    assert [s.type.value for s in states] == ["COMPLETED", "COMPLETED"], [s.message for s in states]

    expected, got = content(in_process), content(flows)
    assert got.keys() == expected.keys()
    differing = [t for t in expected if got[t] != expected[t]]
    assert not differing, differing
    assert ledger(flows, before) == ledger(in_process, before) and sum(ledger(flows, before).values()) >= 15
    changed = sum(n for (_, _, _, c), n in ledger(flows, before).items() if c)

    task_runs = [t for s in states for t in task_runs_of(s.state_details.flow_run_id)]
    assert len(task_runs) == sum(ledger(flows, before).values())  # one task run per processor run
    con = duckdb.connect(str(flows / "nba.duckdb"), read_only=True)
    ledger_rows = {r[0]: r for r in con.execute(
        "SELECT run_id, processor, start_date, end_date, run_as_of_ts FROM ops.processor_runs").fetchall()}
    con.close()
    for task_run in task_runs:
        run_id = task_run.name.split("[run ")[1].split(",")[0]
        _, processor, start, end, as_of = ledger_rows[run_id]
        assert task_run.name.startswith(f"{processor} {start}") and str(end) in task_run.name
        assert as_of.isoformat(timespec="minutes") in task_run.name and task_run.state.is_completed()
        assert "nbadb" in task_run.tags and f"processor:{processor}" in task_run.tags
    with get_client(sync_client=True) as client:
        names = {client.read_flow_run(s.state_details.flow_run_id).flow_id for s in states}
    assert len(names) == 1
    print(f"\n{len(expected)} tables equal; {sum(ledger(flows, before).values())} ledger rows equal "
          f"({changed} with changes); in process {in_process_seconds:.1f} s, as two flows {flow_seconds:.1f} s")


def test_a_failing_processor_is_a_failed_task_run_with_nbadbs_error_retried_only_until_its_breaker_opens(
    prefect_server: str, replayed_window, copy_warehouse, tmp_path: Path, nbadb_env
) -> None:
    from nbadb.engine import breakers
    from nbadb.orchestrate.prefect.flows import daily_flow

    data_dir = copy_warehouse(replayed_window.data_dir, tmp_path / "faulty")
    nbadb_env(data_dir, executor="prefect", fault_processors="analytics.player_game_summary")
    assert daily_flow(part="morning", day=str(NEXT_DAY), return_state=True).is_completed()
    state = daily_flow(part="night", day=str(NEXT_DAY), return_state=True)
    assert state.is_failed() and "analytics.player_game_summary" in state.message
    assert "fault injected into analytics.player_game_summary" in state.message

    failed = [t for t in task_runs_of(state.state_details.flow_run_id) if t.state.is_failed()]
    assert [t.name.split(" ")[0] for t in failed] == ["analytics.player_game_summary"]
    (task_run,) = failed
    assert "InjectedFault: fault injected into analytics.player_game_summary" in task_run.state.message
    con = duckdb.connect(str(data_dir / "nba.duckdb"), read_only=True)
    try:
        attempts = con.execute("SELECT count(*), count(DISTINCT run_id) FROM ops.processor_runs "
                               "WHERE processor = 'analytics.player_game_summary' AND status = 'failed'").fetchall()[0]
        breaker = breakers.read(con, "analytics.player_game_summary", "processor")
    finally:
        con.close()
    # five attempts (the breaker's failures_to_open), each its own run and ledger row; the fifth opened it
    assert attempts == (5, 5) and task_run.run_count == 5
    assert breaker.state == "OPEN" and breaker.consecutive_failures == 5


# -- beyond one machine: deployments through process workers -------------------------------------

BACKFILL = (date(2023, 11, 15), date(2023, 11, 17))
POOL = "nbadb-test"


@contextmanager
def process_workers(prefect_server: str, data_dir: Path, archive_dir: Path) -> Iterator[None]:
    """nbadb's deployments on the test pool and two process workers, "machine-1" and "machine-2" (one
    flow run at a time each), on `data_dir`, stopped on exit."""
    from nbadb.orchestrate.prefect.deploy import deploy_all

    deployments = deploy_all(pool=POOL)
    assert "nbadb-fetch-day/nbadb-fetch-day" in deployments and "nbadb-backfill/nbadb-backfill" in deployments
    env = {**os.environ, "PREFECT_API_URL": prefect_server, "NBADB_DATA_DIR": str(data_dir),
           "NBADB_ARCHIVE_DIR": str(archive_dir), "PREFECT_WORKER_QUERY_SECONDS": "1",
           "PREFECT_WORKER_PREFETCH_SECONDS": "1"}
    prefect_cli = str(Path(sys.executable).parent / "prefect")
    workers = [subprocess.Popen([prefect_cli, "worker", "start", "--pool", POOL, "--type", "process",
                                 "--name", f"machine-{i}", "--limit", "1"], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL) for i in (1, 2)]
    try:
        yield
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)


def runs_since(parent_state, deployment: str) -> list:
    """The flow runs of `deployment` that started while the parent flow run (`parent_state`) ran."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

    with get_client(sync_client=True) as client:
        parent = client.read_flow_run(parent_state.state_details.flow_run_id)
        runs = client.read_flow_runs(deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[deployment])))
    return [r for r in runs if r.start_time and parent.start_time <= r.start_time <= parent.end_time]


def workers_of(runs: list) -> set[str]:
    """The workers named in the runs' final messages ("... on machine-1: ...")."""
    return {r.state.message.split(" on ")[1].split(":")[0] for r in runs}


def assert_one_at_a_time(writes: list, expected: int) -> None:
    """`expected` write runs, none starting before the previous one ended."""
    spans = sorted((r.start_time, r.end_time) for r in writes)
    assert len(spans) == expected and all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:]))



def test_two_process_workers_share_a_backfill_training_on_both_writing_one_at_a_time_into_the_in_process_tables(
    prefect_server: str, replayed_window, copy_warehouse, tmp_path: Path, nbadb_env, archive_dir: Path
) -> None:
    from conftest import make_settings
    from nbadb.orchestrate.prefect.flows import backfill_flow
    from nbadb.orchestrate.batches import set_based_batch

    in_process = copy_warehouse(replayed_window.data_dir, tmp_path / "in_process")
    distributed = copy_warehouse(replayed_window.data_dir, tmp_path / "distributed")
    with open_workspace(archive_dir, settings=make_settings(in_process)) as ws:
        assert not [r for r in set_based_batch(ws, *BACKFILL) if r.status == "failed"]

    with process_workers(prefect_server, distributed, archive_dir):
        nbadb_env(distributed, archive_dir=str(archive_dir))
        t0 = time.perf_counter()
        state = backfill_flow(start=str(BACKFILL[0]), end=str(BACKFILL[1]), batch_days=7, return_state=True)
        seconds = time.perf_counter() - t0
    assert state.is_completed(), state.message

    training, writes = runs_since(state, "nbadb-train"), runs_since(state, "nbadb-write-batch")
    assert len(training) == 4 and all(r.state.is_completed() for r in training)
    trained_on = workers_of(training)
    assert trained_on == {"machine-1", "machine-2"}, [r.state.message for r in training]
    fitted = sum(int(r.state.message.split(": ")[1].split(" ")[0]) for r in training)
    assert fitted >= 4 and len(list((distributed / "models" / "gbm").glob("*.pkl"))) == fitted
    assert_one_at_a_time(writes, 2)

    expected, got = content(in_process), content(distributed)
    differing = [t for t in expected if got.get(t) != expected[t]]
    assert not differing, differing
    print(f"\nbackfill {BACKFILL[0]}..{BACKFILL[1]} on two workers in {seconds:.1f} s: {fitted} gbm models fitted "
          f"on {sorted(trained_on)}, {len(writes)} writes one at a time, {len(expected)} tables equal in-process")


def test_two_process_workers_share_a_backfill_fetched_from_the_raw_archive_fetching_on_both_into_the_in_process_tables(
    prefect_server: str, tmp_path: Path, nbadb_env, archive_dir: Path
) -> None:
    """A backfill with source="raw" over the days of tests/recorded_raw.py: every day's fetch flow
    (re-parsing the recorded raw archive, no network) runs on the pool, on both workers; the batch
    writes take turns; the tables equal fetching the same days in process and backfilling those files."""
    from conftest import make_settings
    from nbadb.orchestrate.batches import set_based_batch
    from nbadb.orchestrate.fetch import fetch_to_archive, raw_source
    from nbadb.orchestrate.prefect.flows import backfill_flow
    from recorded_raw import GAME_DAY, build_raw_archive

    first, last = GAME_DAY - timedelta(days=2), GAME_DAY + timedelta(days=2)
    raw = build_raw_archive(tmp_path / "raw", first, last)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    in_process, distributed = tmp_path / "in_process", tmp_path / "distributed"
    fetched = in_process / "fetched"
    for day in days:
        fetch_to_archive(raw_source(raw, from_raw=True), day, fetched)
    with open_workspace(fetched, settings=make_settings(in_process)) as ws:
        assert not [r for r in set_based_batch(ws, first, last) if r.status == "failed"]

    with process_workers(prefect_server, distributed, archive_dir):
        nbadb_env(distributed, archive_dir=str(archive_dir))
        t0 = time.perf_counter()
        state = backfill_flow(start=str(first), end=str(last), source="raw", raw=str(raw), batch_days=7,
                              return_state=True)
        seconds = time.perf_counter() - t0
    assert state.is_completed(), state.message

    fetches = runs_since(state, "nbadb-fetch-day")
    assert sorted(r.parameters["day"] for r in fetches) == [str(d) for d in days]
    assert all(r.state.is_completed() and r.parameters["from_raw"] for r in fetches)
    fetched_on = workers_of(fetches)
    assert fetched_on == {"machine-1", "machine-2"}, [r.state.message for r in fetches]
    assert workers_of(runs_since(state, "nbadb-train")) == {"machine-1", "machine-2"}
    assert_one_at_a_time(runs_since(state, "nbadb-write-batch"), 2)

    expected, got = content(in_process), content(distributed)
    differing = [t for t in expected if got.get(t) != expected[t]]
    assert not differing, differing
    assert len(expected["raw.boxscore_players"]) == 23 and len(expected["raw.team_boxscores"]) == 2
    print(f"\nbackfill {first}..{last} from the raw archive on two workers in {seconds:.1f} s: {len(fetches)} fetch "
          f"flows on {sorted(fetched_on)}, training on both, 2 writes one at a time, {len(expected)} tables equal "
          f"in-process ({sum(map(len, expected.values()))} rows)")


def test_a_scheduled_run_on_a_day_without_games_ends_skipped_before_any_processor_runs(
    prefect_server: str, tmp_path: Path, nbadb_env, archive_dir: Path
) -> None:
    from nbadb.orchestrate.prefect.flows import daily_flow

    nbadb_env(tmp_path, executor="prefect", archive_dir=str(archive_dir))
    state = daily_flow(part="morning", day="2023-07-15", return_state=True)
    assert state.is_completed() and state.name == "Skipped"
    assert state.message == "no game on 2023-07-15 in the archive's league calendar: nothing to do"
    assert task_runs_of(state.state_details.flow_run_id) == [] and run_ids(tmp_path) == set()


def test_deployments_run_on_new_york_crons_with_tags_and_the_limits_exist(prefect_server: str) -> None:
    from prefect.client.orchestration import get_client

    from nbadb.orchestrate.prefect.deploy import deploy_all
    from nbadb.orchestrate.prefect.limits import limits

    deploy_all(pool="nbadb-test")
    with get_client(sync_client=True) as client:
        daily = client.read_deployment_by_name("nbadb-daily/nbadb-daily")
        poll = client.read_deployment_by_name("nbadb-live-poll/nbadb-live-poll")
        stored = {limit.name: client.read_global_concurrency_limit_by_name(limit.name) for limit in limits()}
    crons = {(s.schedule.cron, s.schedule.timezone, s.parameters.get("part")) for s in daily.schedules}
    assert crons == {("0 10 * * *", "America/New_York", "morning"), ("0 3 * * *", "America/New_York", "night")}
    assert {s.schedule.cron for s in poll.schedules} == {"*/15 19-23 * * *", "*/15 0-1 * * *"}
    assert {"nbadb", "warehouse-writer"} <= set(daily.tags) and "source:nba_api" in poll.tags
    assert stored["nbadb-warehouse-writer"].limit == 1
    assert stored["nbadb-stats-nba-com"].slot_decay_per_second == pytest.approx(1 / 0.6)


def test_prefect_deploy_refuses_bad_arguments_with_one_line(tmp_path: Path, run_cli, no_traceback) -> None:
    for args, message in ((["prefect", "deploy", "--pool", "a b"], "--pool 'a b'"),
                          (["prefect", "deploy", "--fetch-concurrency", "0"], "--fetch-concurrency 0")):
        result = run_cli(args, tmp_path)
        assert result.exit_code == 2 and message in result.output and no_traceback(result), result.output


def test_prefect_deploy_without_a_server_refuses_instead_of_deploying_to_a_temporary_one(tmp_path: Path) -> None:
    """Without PREFECT_API_URL, Prefect would start a temporary server, deploy to it and stop it with
    the command: deployments reported made, gone the moment they were listed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update({"PREFECT_HOME": str(tmp_path / "prefect"), "NBADB_DATA_DIR": str(tmp_path / "data")})
    done = subprocess.run([sys.executable, "-m", "nbadb.cli.app", "prefect", "deploy"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2 and "no Prefect server to deploy to" in done.stderr, done.stderr
    assert "Traceback" not in done.stdout + done.stderr and "temporary server" not in done.stdout + done.stderr
