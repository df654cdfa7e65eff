"""DuckLake as the warehouse (warehouse.lake), with a SQLite catalog and with a PostgreSQL one (a real
server from the system packages, started here on a Unix socket in a temp folder): a reader process
answers while a replay writes, and two writer processes commit side by side."""

from __future__ import annotations

import itertools
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest

from nbadb.config import Settings
from nbadb.errors import WarehouseError
from nbadb.warehouse.stores import Store

CATALOGS = ("sqlite", "postgres")
PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))


@pytest.fixture(scope="module")
def postgres() -> Iterator[Callable[[], str]]:
    """A PostgreSQL server of the system packages on a Unix socket only: a function that creates a
    database on it and returns the lake catalog's conninfo. Its folder is
    outside pytest's (which only root may enter), since the server runs as user postgres."""
    if not PG_BIN:
        pytest.fail("PostgreSQL is not installed: `make test` installs it (apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="nbadb-postgres-"))
    os.chmod(root, 0o777)
    data, socket_dir = root / "data", root / "socket"
    socket_dir.mkdir()
    os.chmod(socket_dir, 0o777)
    user = pwd.getpwnam("postgres")
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    bin_dir = PG_BIN[-1]
    subprocess.run([*as_postgres, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
                   check=True, capture_output=True)
    subprocess.run([*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "-l", str(root / "log"), "-o",
                    f"-c listen_addresses='' -c unix_socket_directories='{socket_dir}'", "start"],
                   check=True, capture_output=True)
    created = itertools.count()

    def new_database() -> str:
        name = f"nbadb_{next(created)}"
        subprocess.run([*as_postgres, str(bin_dir / "createdb"), "-h", str(socket_dir), "-U", "postgres", name],
                       check=True, capture_output=True)
        return f"postgres:dbname={name} host={socket_dir} user={user.pw_name}"

    try:
        yield new_database
    finally:
        subprocess.run([*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def lake_env(tmp_path: Path, catalog: str, postgres_conninfo: str | None) -> dict[str, str]:
    env = {**os.environ, "NBADB_DATA_DIR": str(tmp_path)}
    if catalog == "postgres":
        env["NBADB_LAKE_CATALOG"] = postgres_conninfo or ""
    return env


SCRIPT = textwrap.dedent("""
    import json, sys, time
    from datetime import date
    from nbadb.config import Settings
    from nbadb.warehouse.stores import Store
    from nbadb.orchestrate.workspace import open_workspace
    settings = Settings()
    action, first, last = sys.argv[1], date.fromisoformat(sys.argv[2]), date.fromisoformat(sys.argv[3])
    with open_workspace(settings=settings, store=Store("lake", settings)) as ws:
        if action == "replay":
            from nbadb.orchestrate.replay import replay
            failed = sum(o.failed for o in replay(ws, first, last, phases=frozenset({3})))
        else:
            from nbadb.orchestrate.ingest import ingest_dates
            failed = len(ingest_dates(ws, first, last).failed)
    print(json.dumps({"failed": failed, "finished": time.time()}))
""")
READER = textwrap.dedent("""
    import json, sys, time
    from nbadb.config import Settings
    from nbadb.warehouse.stores import Store
    answers, deadline = [], time.time() + float(sys.argv[1])
    while time.time() < deadline:
        t = time.time()
        con = Store("lake", Settings()).open(read_only=True)
        rows = con.execute("SELECT count(*) FROM raw.player_boxscores").fetchall()[0][0]
        con.close()
        answers.append([t, time.time() - t, rows])
        time.sleep(0.2)
    print(json.dumps(answers))
""")


def _start(script: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", script, *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _result(process: subprocess.Popen) -> object:
    out, err = process.communicate(timeout=900)
    assert process.returncode == 0, err[-2000:]
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.parametrize("catalog", CATALOGS)
def test_a_reader_process_answers_from_the_lake_while_a_replay_writes_it(tmp_path: Path, catalog: str,
                                                                          request: pytest.FixtureRequest) -> None:
    conninfo = request.getfixturevalue("postgres")() if catalog == "postgres" else None
    env = lake_env(tmp_path, catalog, conninfo)
    subprocess.run([sys.executable, "-c", SCRIPT, "ingest", "2022-10-18", "2022-10-18"], env=env, check=True,
                   capture_output=True)  # the lake exists, with a first day
    writer = _start(SCRIPT, ["replay", "2022-10-19", "2022-10-23"], env)
    reader = _start(READER, ["20"], env)
    written, answers = _result(writer), _result(reader)
    assert written["failed"] == 0
    during = [a for a in answers if a[0] < written["finished"]]
    assert len(during) >= 5, answers  # answered again and again while the replay wrote
    assert max(seconds for _, seconds, _ in during) < 10
    counts = [rows for _, _, rows in answers]
    assert counts == sorted(counts) and counts[-1] > counts[0]  # consistent snapshots, growing as commits land


@pytest.mark.parametrize("catalog", CATALOGS)
def test_two_writer_processes_commit_to_one_lake_side_by_side_and_lose_nothing(tmp_path: Path, catalog: str,
                                                                               request: pytest.FixtureRequest) -> None:
    conninfo = request.getfixturevalue("postgres")() if catalog == "postgres" else None
    env = lake_env(tmp_path / "lake", catalog, conninfo)
    subprocess.run([sys.executable, "-c", SCRIPT, "ingest", "2022-10-18", "2022-10-18"], env=env, check=True,
                   capture_output=True)
    first = _start(SCRIPT, ["ingest", "2022-10-19", "2022-10-25"], env)
    second = _start(SCRIPT, ["ingest", "2022-11-01", "2022-11-07"], env)
    assert _result(first)["failed"] == 0 and _result(second)["failed"] == 0

    file_settings = Settings(data_dir=tmp_path / "file")
    for lo, hi in (("2022-10-18", "2022-10-18"), ("2022-10-19", "2022-10-25"), ("2022-11-01", "2022-11-07")):
        subprocess.run([sys.executable, "-c", SCRIPT.replace('Store("lake", settings)', 'Store("file", settings)'),
                        "ingest", lo, hi], env={**os.environ, "NBADB_DATA_DIR": str(file_settings.data_dir)},
                       check=True, capture_output=True)
    query = ("SELECT game_id, player_id, pts, known_at FROM raw.player_boxscores ORDER BY ALL")
    lake = Store("lake", Settings(data_dir=tmp_path / "lake", lake_catalog=env.get("NBADB_LAKE_CATALOG", "")))
    lake_con, file_con = lake.open(read_only=True), Store("file", file_settings).open(read_only=True)
    try:
        assert lake_con.execute(query).fetchall() == file_con.execute(query).fetchall()
        runs = "SELECT processor, status, count(*) FROM ops.processor_runs GROUP BY ALL ORDER BY ALL"
        assert lake_con.execute(runs).fetchall() == file_con.execute(runs).fetchall()
    finally:
        lake_con.close()
        file_con.close()


def test_a_lake_replayed_day_by_day_merges_its_small_files_and_keeps_every_row(tmp_path: Path) -> None:
    from nbadb.warehouse.lake import SMALL_FILE_BYTES, SMALL_FILES_PER_TABLE

    days = ("2022-10-18", "2022-10-18"), ("2022-10-19", "2022-10-23")
    for store, folder in (("lake", tmp_path / "lake"), ("file", tmp_path / "file")):
        script = SCRIPT.replace('Store("lake", settings)', f'Store("{store}", settings)')
        subprocess.run([sys.executable, "-c", script, "ingest", *days[0]], env=lake_env(folder, "sqlite", None),
                       check=True, capture_output=True)
        assert _result(_start(script, ["replay", *days[1]], lake_env(folder, "sqlite", None)))["failed"] == 0
    lake = Store("lake", Settings(data_dir=tmp_path / "lake")).open(read_only=True)
    file = Store("file", Settings(data_dir=tmp_path / "file")).open(read_only=True)
    try:
        metadata = "__ducklake_metadata_lake"
        [(merged,)] = lake.execute(f"SELECT count(*) FROM {metadata}.ducklake_files_scheduled_for_deletion").fetchall()
        [(most,)] = lake.execute(f"""SELECT max(n) FROM (SELECT count(*) AS n FROM {metadata}.ducklake_data_file
                                     WHERE end_snapshot IS NULL AND file_size_bytes < {SMALL_FILE_BYTES}
                                     GROUP BY table_id)""").fetchall()
        assert merged > SMALL_FILES_PER_TABLE  # the days' small files were merged (the merged ones wait for deletion)
        assert most <= SMALL_FILES_PER_TABLE  # and no table is left with more than that
        for query in ("SELECT * EXCLUDE (run_id, ingested_at) FROM analytics.player_game_summary ORDER BY ALL",
                      "SELECT processor, status, count(*) FROM ops.processor_runs GROUP BY ALL ORDER BY ALL"):
            rows = lake.execute(query).fetchall()
            assert rows and rows == file.execute(query).fetchall()
    finally:
        lake.close()
        file.close()


def _boxscore_rows(settings: Settings) -> int:
    con = Store("lake", settings).open(read_only=True)
    try:
        return con.execute("SELECT count(*) FROM raw.player_boxscores").fetchall()[0][0]
    finally:
        con.close()


def test_a_lake_data_folder_moved_elsewhere_opens_where_it_is_now_and_takes_new_commits(tmp_path: Path) -> None:
    made, moved = tmp_path / "made", tmp_path / "moved"
    subprocess.run([sys.executable, "-c", SCRIPT, "ingest", "2022-10-18", "2022-10-18"],
                   env=lake_env(made, "sqlite", None), check=True, capture_output=True)
    shutil.move(made, moved)  # the catalog still records the folder it was made in, which is gone
    day_one = _boxscore_rows(Settings(data_dir=moved))
    files_before = set((moved / "lake").rglob("*.parquet"))
    assert day_one > 0
    assert _result(_start(SCRIPT, ["ingest", "2022-10-19", "2022-10-19"], lake_env(moved, "sqlite", None)))["failed"] == 0
    assert _boxscore_rows(Settings(data_dir=moved)) > day_one
    # the new commit's files are in the folder the lake is now, and the recorded folder was not recreated
    assert set((moved / "lake").rglob("*.parquet")) > files_before and not made.exists()


def test_a_shared_postgresql_catalog_refuses_a_data_folder_other_than_the_one_it_recorded(
        tmp_path: Path, postgres: Callable[[], str]) -> None:
    conninfo = postgres()
    subprocess.run([sys.executable, "-c", SCRIPT, "ingest", "2022-10-18", "2022-10-18"],
                   env=lake_env(tmp_path / "first", "postgres", conninfo), check=True, capture_output=True)
    elsewhere = Store("lake", Settings(data_dir=tmp_path / "second", lake_catalog=conninfo))
    with pytest.raises(WarehouseError, match="does not match existing data path"):
        elsewhere.open(read_only=True)
    assert _boxscore_rows(Settings(data_dir=tmp_path / "first", lake_catalog=conninfo)) > 0  # still whole where it is


def test_a_transaction_the_catalog_refused_while_busy_is_run_again_and_any_other_error_is_not(monkeypatch) -> None:
    from nbadb.warehouse import transactions

    monkeypatch.setattr(transactions, "CATALOG_BUSY_WAIT_SECONDS", 0)
    con = duckdb.connect()
    con.execute("CREATE TABLE t (x INTEGER PRIMARY KEY)")
    runs: list[str] = []

    def busy_twice() -> str:
        runs.append("run")
        con.execute("INSERT INTO t VALUES (?)", [len(runs)])
        if len(runs) < 3:
            raise duckdb.TransactionException("Failed to commit DuckLake transaction: database is locked")
        return "committed"

    assert transactions.committed(con, busy_twice) == "committed" and len(runs) == 3
    assert con.execute("SELECT x FROM t").fetchall() == [(3,)]  # the refused attempts left nothing

    def broken() -> None:
        runs.append("broken")
        con.execute("INSERT INTO t VALUES (3)")  # a duplicate key

    with pytest.raises(duckdb.ConstraintException):
        transactions.committed(con, broken)
    assert runs.count("broken") == 1 and con.execute("SELECT x FROM t").fetchall() == [(3,)]


def test_a_read_transaction_sees_one_state_keeps_its_temp_tables_and_leaves_nothing_open_when_it_fails(
        tmp_path: Path) -> None:
    from nbadb.warehouse.transactions import read_transaction

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("CREATE TABLE t (x INTEGER)")
    other = con.cursor()
    with read_transaction(con):
        before = con.execute("SELECT count(*) FROM t").fetchall()
        other.execute("INSERT INTO t VALUES (1)")  # another connection commits meanwhile
        assert con.execute("SELECT count(*) FROM t").fetchall() == before == [(0,)]  # the block reads one state
        con.execute("CREATE TEMP TABLE made AS SELECT 42 AS x")
    assert con.execute("SELECT x FROM made").fetchall() == [(42,)]  # committed: what the block made stays
    assert con.execute("SELECT count(*) FROM t").fetchall() == [(1,)]  # and the next read sees the other's row

    with pytest.raises(duckdb.CatalogException):
        with read_transaction(con):
            con.execute("CREATE TEMP TABLE lost AS SELECT 1 AS x")
            con.execute("SELECT * FROM no_such_table")
    con.execute("BEGIN TRANSACTION")  # no transaction was left open
    con.execute("COMMIT")
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'lost'").fetchall() == [(0,)]
