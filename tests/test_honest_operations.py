"""Operations that never hide anything: every user error is one line (no traceback), crashes and
Ctrl-C leave a ledger that says what happened, read commands never invent a warehouse, and
health speaks only about what the archive actually has."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from nbadb.config import BUNDLED_ARCHIVE
from nbadb.warehouse.connection import CLOSE_CHECKPOINT_BYTES, close_warehouse, open_warehouse

REPLAY = ["replay", "--start", "2023-10-24", "--end", "2023-10-27"]


def _nbadb(args: list[str], data_dir: Path, archive: Path = BUNDLED_ARCHIVE, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "NBADB_DATA_DIR": str(data_dir), "NBADB_ARCHIVE_DIR": str(archive)}
    return subprocess.Popen([sys.executable, "-m", "nbadb.cli.app", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def _wait_for_runs(data_dir: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    """Until the replay has finished some runs of its own (the ledger grows), so Ctrl-C meets it mid-work."""
    deadline = time.monotonic() + timeout
    log = data_dir / "nba.duckdb.wal"
    start = log.stat().st_size if log.exists() else 0
    while time.monotonic() < deadline and proc.poll() is None:
        if log.exists() and log.stat().st_size > start:
            time.sleep(2)
            return
        time.sleep(0.2)


@pytest.fixture(scope="module")
def replayed(tmp_path_factory, run_cli) -> Path:
    data_dir = tmp_path_factory.mktemp("replayed")
    result = run_cli(REPLAY, data_dir)
    assert result.exit_code == 0, result.output + result.stderr
    return data_dir


# -- every command, bad arguments ------------------------------------------------------------------

BAD_ARGUMENTS = [
    (["ingest", "--date", "2024-02-30"], 2, "is not a date"),
    (["ingest", "--start", "2024-01-10"], 2, "--start and --end go together"),
    (["ingest", "--season", "2023-25"], 2, "is not a season label"),
    (["ingest", "--date", "2024-01-10", "--games", "12,abc"], 2, "10-digit NBA game ids"),
    (["ingest", "--date", "2024-01-10", "--archive", "/nope/nowhere"], 3, "does not exist"),
    (["ingest", "--date", "2024-01-10", "--archive", "/etc/passwd"], 3, "/etc/passwd is a file, not a folder"),
    (["status", "--json", "--bogus"], 2, "No such option"),
    (["quarantine", "--table", "raw.nothing"], 2, "is not a table of the pipeline"),
    (["quarantine", "--limit", "0"], 2, "--limit"),
    (["quarantine", "--since", "yesterday"], 2, "is not a date"),
    (["run"], 2, "Missing option '--date'"),
    (["run", "--date", "2024-13-01"], 2, "is not a date"),
    (["run", "--date", "2024-01-10", "--processor", "raw.nothing"], 2, "unknown processor"),
    (["run", "--date", "2024-01-10", "--mode", "fast"], 2, "use one of entity, date"),
    (["replay", "--season", "24-25"], 2, "is not a season label"),
    (["replay", "--start", "2023-11-10", "--end", "2023-11-01"], 2, "is after --end"),
    (["replay", "--mode", "quick"], 2, "use one of entity, date"),
    (["replay", "--season", "1999-00"], 2, "is not in the archive"),
    (["ingest", "--date", "2023-11-01", "--games", "0022300999"], 2,
     "--games: no game 0022300999 in the archive's files for 2023-11-01..2023-11-01; nothing was published"),
    (["replay", "--season", "2024-25", "--start", "2023-10-01", "--end", "2023-10-05"], 2,
     "2023-10-01..2023-10-05: the archive has no day of season 2024-25 there (it has 2024-10-04..2025-04-13)"),
    (["replay", "--start", "2025-05-01"], 2, "--start 2025-05-01 is after --end 2025-04-13"),  # the season of --start
    (["correct", "--game", "123", "--player", "1", "--set", "pts=3"], 2, "give one 10-digit NBA game id"),
    (["correct", "--game", "0022300061", "--player", "1", "--set", "pts"], 2, "expected stat=number"),
    (["correct", "--game", "0022300061", "--player", "1", "--set", "dunks=3"], 2, "cannot correct dunks"),
    (["correct", "--game", "0022300061", "--player", "0", "--set", "pts=3"], 2, "--player"),
    (["correct", "--game", "0022300061", "--player", "1", "--set", "pts=3", "--at", "noon"], 2, "is not a date-time"),
    (["correct", "--game", "0022300061", "--player", "1", "--set", "pts=3"], 2, "no box score for player 1"),
    (["history", "--game", "x", "--player", "1"], 2, "--game 'x': give one 10-digit NBA game id"),
    (["report", "predictions", "--start", "2024-02-30"], 2, "--start '2024-02-30' is not a date"),
    (["schedule", "show", "--archive", "/etc/hostname"], 3, "is a file, not a folder"),
    (["history", "--game", "0022399999", "--player", "1"], 2, "no game 0022399999 in the warehouse's schedule"),
    (["history", "--game", "0022300061", "--player", "1"], 2, "no box score for player 1 in game 0022300061 (2023-10-24, LAL at DEN)"),
    (["crosscheck", "--season", "2021"], 2, "is not a season label"),
    (["crosscheck", "--season", "2021-22", "--examples", "-1"], 2, "--examples"),
    (["runs", "--limit", "-1"], 2, "--limit"),
    (["runs", "--status", "weird"], 2, "use one of success"),
    (["runs", "--processor", "raw.nothing"], 2, "unknown"),
    (["runs", "--since", "nope"], 2, "is not a date"),
    (["explain", "nosuchrun"], 2, "no run 'nosuchrun'"),
    (["report", "waste", "--since", "nope"], 2, "is not a date"),
    (["report", "patterns", "--since", "2024-02-31"], 2, "is not a date"),
    (["report", "predictions", "--season", "spring"], 2, "is not a season label"),
    (["report", "nothing"], 2, "No such command"),
    (["breakers", "reset", "never.recorded"], 2, "no breaker 'never.recorded'"),
    (["breakers", "open", "raw.nothing"], 2, "names no processor"),
    (["breakers", "open", "raw.schedule", "--minutes", "-5"], 2, "--minutes"),
    (["breakers", "open", "raw.schedule", "--minutes", "inf"], 2, "--minutes"),
    (["breakers", "open", "raw.schedule", "--minutes", "99999999999"], 2, "--minutes"),
    (["gaps", "--processor", "raw.schedule"], 2, "is not a downstream processor"),
    (["gaps", "--since", "then"], 2, "is not a date"),
    (["predict", "--date", "2024-01-32"], 2, "is not a date"),
    (["predict", "--date", "2024-01-10", "--system", "oracle"], 2, "use one of ensemble"),
    (["predict", "--date", "2024-01-10", "--limit", "0"], 2, "--limit"),
    (["predict", "--date", "2024-01-10", "--target", "blk"], 2, "use one of pts"),
    (["predict", "--date", "2024-01-10", "--call", "over"], 2, "use one of OVER"),
    (["main", "--season", "2023"], 2, "is not a season label"),
    (["main", "--last-days", "0"], 2, "--last-days"),
    (["processors", "--all"], 2, "No such option"),
    (["serve", "--host", "nowhere.example"], 2, "is not an IP address"),
    (["serve", "--port", "70000"], 2, "--port"),
    (["schedule", "show", "--count", "0"], 2, "--count"),
    (["schedule", "show", "--archive", "/nope/nowhere"], 3, "does not exist"),
    (["manifest", "../../etc/passwd"], 2, "is not a run or pass id"),
    (["manifest", "0123456789abcdef"], 2, "no manifest '0123456789abcdef'"),
    (["export", "--format", "xml"], 2, "use one of parquet, csv"),
    (["export", "--tables", "raw.nothing"], 2, "not a pipeline table"),
    (["export", "--tables", ","], 2, "name at least one table"),
    (["export", "--tables", "raw.schedule", "--to", "/proc/nbadb-exports"], 2,
     "cannot write the export to /proc/nbadb-exports: No such file or directory; nothing was published"),
    (["read", "raw.nothing"], 2, "table 'raw.nothing' is not a pipeline table"),
    (["read", "raw.schedule", "--limit", "0"], 2, "limit 0: give 1 to 10000 rows"),
    (["read", "raw.schedule", "--from", "2024-02-30"], 2, "--from '2024-02-30' is not a date"),
    (["read", "raw.schedule", "--from", "2024-02-02", "--to", "2024-02-01"], 2, "--from 2024-02-02 is after --to 2024-02-01"),
    (["read", "raw.schedule"], 2, "no export in"),
    (["rollout", "repair", "schema", "--day", "2024-02-30", "--by", "ann"], 2, "--day '2024-02-30' is not a date"),
    (["rollout", "repair", "serving", "--day", "2024-02-01", "--by", "ann"], 2, "serving is in phase 0"),
    (["rollout", "repair", "schema", "--day", "2024-02-01", "--by", "ann"], 2, "schema is in phase 0"),
    (["nonsense"], 2, "No such command"),
    # out-of-range numbers were "the warehouse cannot be read: Conversion Error", exit 4
    (["providers", "show", "draftkings", "--days", "99999999999999999999"], 2, "--days"),
    (["providers", "set-criteria", "shadow", "coverage_games", ">=", "0.5", "--min-game-days", "10000000000"], 2,
     "--min-game-days"),
]


@pytest.mark.parametrize(("args", "code", "message"), BAD_ARGUMENTS, ids=[" ".join(a) for a, _, _ in BAD_ARGUMENTS])
def test_every_command_refuses_a_bad_argument_in_one_line_without_a_traceback(
        args, code, message, replayed, copy_warehouse, run_cli, no_traceback, tmp_path):
    data_dir = copy_warehouse(replayed, tmp_path / "wh")
    result = run_cli(args, data_dir)
    text = " ".join((result.stdout + result.stderr).split())
    assert result.exit_code == code, (args, text)
    assert message in text, (args, text)
    assert no_traceback(result), text


INVALID_SETTINGS = [("NBADB_SERVE_CATCH_UP_DAYS", "abc", "Input should be a valid integer"),
                    ("NBADB_SERVE_CATCH_UP_DAYS", "-5", "Input should be greater than or equal to 0"),
                    ("NBADB_DEFAULT_MODE", "banana", "Input should be 'entity' or 'date'"),
                    ("NBADB_FAULT_PROCESSORS", "raw.schedule@2024-13-01", "month must be in 1..12")]


@pytest.mark.parametrize(("variable", "value", "why"), INVALID_SETTINGS, ids=[f"{v}={x}" for v, x, _ in INVALID_SETTINGS])
def test_an_invalid_setting_is_one_line_naming_its_variable(variable, value, why, monkeypatch, tmp_path):
    """NBADB_SERVE_CATCH_UP_DAYS=abc printed pydantic's traceback; -5, a mode that does not exist or a
    fault day that is not a date were taken silently (or failed later, far from their cause)."""
    monkeypatch.setenv(variable, value)
    proc = _nbadb(["status"], tmp_path)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and err.strip().startswith(f"error: {variable}={value!r}: {why}"), err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("data_dir", ["/proc/nbadb-data", "a file"])
def test_a_data_folder_that_cannot_be_made_is_one_line_naming_it(data_dir, run_cli, no_traceback, tmp_path):
    """NBADB_DATA_DIR under /proc, or naming a file: every writing command printed a FileNotFoundError
    (or FileExistsError) traceback from mkdir."""
    if data_dir == "a file":
        (tmp_path / "a file").write_text("not a folder")
        data_dir = str(tmp_path / "a file")
    result = run_cli(["ingest", "--date", "2024-01-10"], Path(data_dir))
    assert result.exit_code == 4 and no_traceback(result), result.output + result.stderr
    assert " ".join(result.stderr.split()).startswith(
        f"error: cannot make the warehouse's folder {data_dir} (NBADB_DATA_DIR): "), result.stderr


def _commands(command, path: list[str]):
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, [*path, name])


def test_every_option_reads_in_its_commands_help_as_written():
    """The help is rendered as markdown, which drops what looks like a tag (`<data dir>` read as
    "(default: /live/raw)"): every option's help and every command's text appear whole."""
    import re

    import typer
    from typer.testing import CliRunner

    from nbadb.cli.app import app

    def words(text: str) -> str:
        return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text.replace("`", "")).split())  # code spans lose their ticks

    missing = []
    for path, command in _commands(typer.main.get_command(app), []):
        shown = words(CliRunner().invoke(app, [*path, "--help"], terminal_width=200).output)
        written = [getattr(p, "help", None) for p in command.params] + (command.help or "").split("\n\n")
        missing += [(" ".join(path), h) for h in written if h and h.strip() and words(h) not in shown]
    assert not missing, missing


READ_COMMANDS = [["status"], ["runs"], ["explain", "abc"], ["report", "waste"], ["report", "patterns"],
                 ["report", "predictions", "--season", "2023-24"], ["health"], ["breakers", "list"], ["gaps"],
                 ["quarantine"], ["history", "--game", "0022300061", "--player", "1"],
                 ["crosscheck", "--season", "2021-22"], ["export"], ["backfill", "status"], ["backfill", "--resume"]]


@pytest.mark.parametrize("args", READ_COMMANDS, ids=[" ".join(a) for a in READ_COMMANDS])
def test_a_read_command_refuses_a_missing_warehouse_and_creates_nothing(args, run_cli, no_traceback, tmp_path):
    data_dir = tmp_path / "typo"
    result = run_cli(args, data_dir)
    assert result.exit_code == 4 and "no warehouse at" in result.stderr and no_traceback(result), result.stderr
    assert not data_dir.exists()


def test_a_damaged_or_foreign_warehouse_file_is_one_line(replayed, copy_warehouse, run_cli, no_traceback, tmp_path):
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "nba.duckdb").write_bytes(b"this is not a database" * 1000)
    for args in (["status"], ["run", "--date", "2023-10-25"]):
        result = run_cli(args, garbage)
        assert result.exit_code == 4 and "is not a readable nbadb warehouse" in result.stderr, result.stderr
        assert no_traceback(result) and len(result.stderr.strip().splitlines()) <= 2
    truncated = copy_warehouse(replayed, tmp_path / "truncated")
    path = truncated / "nba.duckdb"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    result = run_cli(["status"], truncated)
    assert result.exit_code == 4 and no_traceback(result), result.stdout + result.stderr


def test_a_warehouse_of_a_newer_schema_is_refused_by_every_open(replayed, copy_warehouse, run_cli, no_traceback, tmp_path):
    data_dir = copy_warehouse(replayed, tmp_path / "newer")
    with duckdb.connect(str(data_dir / "nba.duckdb")) as con:
        con.execute("INSERT INTO ops.schema_migrations (version, name, applied_at) VALUES (99, 'future', now())")
    for args in (["status"], ["crosscheck", "--season", "2021-22"], ["run", "--date", "2023-10-25"]):
        result = run_cli(args, data_dir)
        assert result.exit_code == 4 and "schema version 99" in result.stderr and no_traceback(result), args


# -- crashes and Ctrl-C ----------------------------------------------------------------------------


def test_kill_9_mid_replay_shows_an_orphan_until_the_next_run_completes_its_date(
        replayed, copy_warehouse, run_cli, tmp_path):
    data_dir = copy_warehouse(replayed, tmp_path / "crash")
    script = (
        "import os, sys; from nbadb.engine import ledger; original = ledger.record_started\n"
        "def started(con, request):\n"
        "    original(con, request)\n"
        "    if request.processor == 'precompute.player_daily_cache': os.kill(os.getpid(), 9)\n"
        "ledger.record_started = started\n"
        "from nbadb.cli.app import main; sys.argv = ['nbadb', 'replay', '--start', '2023-10-28', '--end', '2023-10-29']\n"
        "main()\n"
    )
    env = {**os.environ, "NBADB_DATA_DIR": str(data_dir), "NBADB_ARCHIVE_DIR": str(BUNDLED_ARCHIVE)}
    crashed = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    health = run_cli(["health", "--json"], data_dir)
    assert health.exit_code == 1
    orphans = [f for f in json.loads(health.stdout)["findings"] if f["check"] == "orphaned start"]
    assert [(o["severity"], o["subject"]) for o in orphans] == [("problem", "precompute.player_daily_cache")]
    runs = json.loads(run_cli(["runs", "--status", "orphaned", "--json"], data_dir).stdout)
    assert len(runs) == 1 and runs[0]["processor"] == "precompute.player_daily_cache"
    explained = run_cli(["explain", runs[0]["run_id"]], data_dir)
    assert explained.exit_code == 0 and "orphaned start" in explained.stdout
    again = run_cli(["replay", "--start", "2023-10-28", "--end", "2023-10-29"], data_dir)  # completes the date
    assert again.exit_code == 0, again.output
    health = run_cli(["health", "--json"], data_dir)
    assert not [f for f in json.loads(health.stdout)["findings"] if f["check"] == "orphaned start"]
    assert json.loads(run_cli(["runs", "--status", "orphaned", "--json"], data_dir).stdout) == []


def test_ctrl_c_ends_a_replay_at_once_records_nothing_failed_and_exits_130(replayed, copy_warehouse, run_cli, tmp_path):
    data_dir = copy_warehouse(replayed, tmp_path / "interrupted")
    proc = _nbadb(["replay", "--start", "2023-10-28", "--end", "2023-11-20"], data_dir)
    _wait_for_runs(data_dir, proc)
    assert proc.poll() is None, "the replay is still running"
    proc.send_signal(signal.SIGINT)
    t0 = time.monotonic()
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert time.monotonic() - t0 < 10
    assert "interrupted" in stderr and "Traceback" not in stderr
    with duckdb.connect(str(data_dir / "nba.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM ops.processor_runs WHERE status = 'failed'").fetchall()[0][0] == 0
        assert con.execute("SELECT count(*) FROM ops.circuit_breakers WHERE consecutive_failures > 0").fetchall()[0][0] == 0
        finished = con.execute("SELECT max(as_of_date) FROM ops.processor_runs").fetchall()[0][0]
    assert finished < date(2023, 11, 20), "the replay stopped"
    listed = run_cli(["runs", "--status", "interrupted", "--json"], data_dir)
    assert listed.exit_code == 0 and {r["status"] for r in json.loads(listed.stdout)} <= {"interrupted"}
    health = json.loads(run_cli(["health", "--json"], data_dir).stdout)
    assert not [f for f in health["findings"] if f["check"] == "orphaned start"], "a Ctrl-C leaves no orphan"


# -- determinism, forms, kinds -----------------------------------------------------------------------


def test_re_running_a_replayed_window_changes_no_row(replayed, copy_warehouse, run_cli, tmp_path):
    data_dir = copy_warehouse(replayed, tmp_path / "again")
    tables = ["raw.schedule", "raw.player_boxscores", "analytics.player_game_summary",
              "analytics.upcoming_team_game_context", "analytics.upcoming_player_game_context",
              "precompute.player_daily_cache", "precompute.ml_feature_store", "predictions.player_prop_predictions"]

    def snapshot() -> dict[str, list[tuple]]:
        with duckdb.connect(str(data_dir / "nba.duckdb"), read_only=True) as con:
            return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in tables}

    before = snapshot()
    assert run_cli(REPLAY, data_dir).exit_code == 0
    assert snapshot() == before  # every column, the team names of earlier days and the lineage included


def test_a_props_file_of_the_request_date_form_loads_alone_and_reconciles(archive_dir, run_cli, tmp_path):
    folder = tmp_path / "props_only"
    (folder / "props").mkdir(parents=True)
    (folder / "nba_api_payloads").mkdir()
    name = "player_threes_pregame_2024_25_through_2024-12-31.parquet"
    pl.read_parquet(archive_dir / "props" / name).filter(pl.col("REQUEST_DATE") <= date(2024, 10, 24)) \
        .write_parquet(folder / "props" / name)
    for payload in (archive_dir / "nba_api_payloads").glob("commonallplayers*.json"):
        (folder / "nba_api_payloads" / payload.name).write_bytes(payload.read_bytes())
    result = run_cli(["ingest", "--start", "2024-10-22", "--end", "2024-10-24", "--archive", str(folder), "--json"],
                     tmp_path / "wh")
    assert result.exit_code == 0, result.output + result.stderr
    out = json.loads(result.stdout)
    [props] = [r for r in out["runs"] if r["processor"] == "raw.prop_lines"]
    assert props["status"] == "success" and props["rows_written"] > 500
    files = [f for f in out["files"] if f["kind"] == "props"]
    assert files and all(f["source_rows"] == f["accepted"] + f["quarantined"] for f in files)
    assert sum(f["accepted"] for f in files) == props["rows_written"]
    with duckdb.connect(str(tmp_path / "wh" / "nba.duckdb"), read_only=True) as con:
        assert not con.execute("SELECT count(*) FROM ops.quarantine WHERE reason LIKE 'duplicate key%'").fetchall()[0][0]
        stored = con.execute("SELECT sum(rows_accepted), sum(source_rows) FROM ops.source_files "
                             "WHERE kind = 'props'").fetchall()[0]
    assert stored[0] == props["rows_written"]


def test_health_speaks_only_of_the_kinds_the_archive_has(replayed, run_cli):
    """No 2023-24 rows of box-score players or prop lines, no provider transition: those tables and what
    needs them are not applicable, and nothing else is warned about on a clean replay."""
    result = run_cli(["health", "--json"], replayed)
    findings = json.loads(result.stdout)["findings"]
    assert result.exit_code == 0, findings
    absent = {f["subject"]: f["detail"] for f in findings if f["severity"] == "not applicable"}
    assert set(absent) == {"raw.boxscore_players", "raw.prop_lines", "analytics.provider_lines",
                           "predictions.provider_shadow", "predictions.provider_telemetry", "raw.provider_stages"}
    assert absent["predictions.provider_shadow"].startswith("needs raw.prop_lines: no rows of props/*.parquet")
    assert absent["raw.provider_stages"] == "nothing recorded in ops.provider_audit yet"
    assert [f for f in findings if f["severity"] != "not applicable"] == []


def test_a_closed_warehouse_keeps_a_small_log_every_later_open_reads_and_folds_a_large_one(tmp_path):
    path = tmp_path / "nba.duckdb"
    log = tmp_path / "nba.duckdb.wal"
    con = open_warehouse(path)
    con.execute("CREATE TABLE ops.kept AS SELECT 1 AS n")
    close_warehouse(con)
    assert log.exists() and 0 < log.stat().st_size < CLOSE_CHECKPOINT_BYTES, "a small log is left for the next open"
    with duckdb.connect(str(path), read_only=True) as reader:
        assert reader.execute("SELECT n FROM ops.kept").fetchall() == [(1,)]
    con = open_warehouse(path)
    con.execute("CREATE TABLE ops.wide (s VARCHAR)")
    for _ in range(2):  # commits smaller than a row group go to the log whole
        con.execute("INSERT INTO ops.wide SELECT repeat('x', 100) || range FROM range(20000)")
    assert log.stat().st_size >= CLOSE_CHECKPOINT_BYTES
    close_warehouse(con)
    assert not log.exists() or log.stat().st_size == 0, "a log past the size is folded into the file"
    with duckdb.connect(str(path), read_only=True) as reader:
        assert reader.execute("SELECT (SELECT count(*) FROM ops.wide), (SELECT n FROM ops.kept)").fetchall() == [(40000, 1)]


def test_a_replay_past_the_archives_last_box_score_says_its_later_days_have_no_results(run_cli, tmp_path):
    """`nbadb main --season 2024-25` replayed January to April 2025 without a word that the bundled
    box scores end on 2024-12-31 (predictions made, none judged)."""
    past = run_cli(["replay", "--start", "2024-12-31", "--end", "2025-01-01"], tmp_path / "past")
    assert past.exit_code == 0, past.output
    note = "the archive has box scores of 2024-25 through 2024-12-31: the days after it are replayed without results"
    assert note in " ".join(past.output.split())
    within = run_cli(["replay", "--start", "2024-12-30", "--end", "2024-12-31"], tmp_path / "within")
    assert within.exit_code == 0 and "replayed without results" not in " ".join(within.output.split())


def test_text_a_user_typed_is_shown_as_written_never_read_as_markup(run_cli, no_traceback, tmp_path):
    """A sign-off's name and an incident's note are the user's own text: rich would read `[/ops]` as a
    closing tag and fail every later `rollout audit` on it, and `[bold]` would vanish."""
    typed = "[bold]Ana[/bold] [/ops]"
    signed = run_cli(["rollout", "signoff", "storage", "plan", "--by", typed], tmp_path)
    incident = run_cli(["rollout", "incident", "storage", "--severity", "P3", "--note", "[/lake] slow", "--by", typed],
                       tmp_path)
    audit = run_cli(["rollout", "audit"], tmp_path)
    for result in (signed, incident, audit):
        assert result.exit_code == 0 and no_traceback(result), result.output + result.stderr
    assert f"signed off by {typed}" in signed.stdout
    assert audit.stdout.count("[/ops]") == 2 and "[bold]Ana" in audit.stdout and "[/lake] slow" in audit.stdout


PLAIN_READS = [["status"], ["runs"], ["processors"], ["report", "waste"], ["report", "patterns"],
               ["report", "predictions", "--season", "2023-24"], ["health"], ["breakers", "list"], ["gaps"],
               ["quarantine"], ["history", "--game", "0022300061", "--player", "203999"], ["flags"],
               ["crosscheck", "--season", "2023-24"], ["rollout", "status"], ["rollout", "audit"], ["providers", "list"],
               ["predict", "--date", "2023-10-27"]]


@pytest.mark.parametrize("args", PLAIN_READS, ids=[" ".join(a) for a in PLAIN_READS])
def test_every_read_command_prints_its_tables_as_a_person_reads_them(args, replayed, run_cli, no_traceback):
    """The plain (not --json) output is a code path of its own: each read command renders it on a
    replayed warehouse, with no traceback and no error line."""
    result = run_cli(args, replayed)
    assert result.exit_code == 0 and no_traceback(result) and result.stdout.strip(), result.output + result.stderr
    assert "error" not in result.stderr.lower(), result.stderr
    assert "[/]" not in result.stdout, "a style meant for a cell is printed as text"


def test_explain_prints_a_replayed_run_as_a_person_reads_it(replayed, run_cli, no_traceback):
    runs = run_cli(["runs", "--processor", "predictions.player_prop_predictions", "--status", "success", "--json"],
                   replayed)
    worked = json.loads(runs.stdout)[0]
    result = run_cli(["explain", worked["run_id"]], replayed)
    assert result.exit_code == 0 and no_traceback(result), result.output + result.stderr
    assert result.stdout.startswith(f"predictions.player_prop_predictions run {worked['run_id']}: success")


def test_health_names_a_finished_game_whose_player_rows_never_came(run_cli, tmp_path):
    """2024-25's NBA Cup final (0062400001, 2024-12-17) is in the team logs, not in the player logs (its
    stats do not count): its players' predictions can never be judged, and health says so."""
    published = run_cli(["ingest", "--start", "2024-12-16", "--end", "2024-12-18", "--json"], tmp_path)
    assert published.exit_code == 0, published.output + published.stderr
    health = json.loads(run_cli(["health", "--json"], tmp_path).stdout)
    [finding] = [f for f in health["findings"] if f["subject"] == "raw.player_boxscores"]
    assert finding["check"] == "results missing" and finding["severity"] == "warning" and health["healthy"]
    assert finding["detail"].startswith("1 scheduled game (2024-12-17 to 2024-12-17; e.g. 0062400001, NBA Cup) "
                                        "with a team box score but no player rows")
    shown = run_cli(["health"], tmp_path).stdout
    assert "│ warning " in shown and "[/]" not in shown


def test_a_day_skipped_between_published_days_is_named_until_it_is_published(run_cli, tmp_path):
    """A replay that starts a day late leaves that day's games, lines and injury moves out of every
    table, and nothing downstream can see it: the replay's summary and health name the day until it
    is published (late). The months between two seasons are no one's skipped days."""
    assert run_cli(["ingest", "--start", "2024-04-14", "--end", "2024-04-14", "--json"], tmp_path).exit_code == 0
    assert run_cli(["replay", "--start", "2024-10-22", "--end", "2024-10-23", "--json"], tmp_path).exit_code == 0
    late = run_cli(["replay", "--start", "2024-10-25", "--end", "2024-10-25", "--json"], tmp_path)
    assert late.exit_code == 0 and json.loads(late.stdout)["unpublished_days"] == ["2024-10-24"], late.output
    health = json.loads(run_cli(["health", "--json"], tmp_path).stdout)
    [finding] = [f for f in health["findings"] if f["check"] == "unpublished days"]
    assert finding["severity"] == "warning" and finding["subject"] == "season 2024-25" and health["healthy"]
    assert finding["detail"].startswith("1 day between published days never published: 2024-10-24 (nothing published)")
    shown = run_cli(["health"], tmp_path).stdout
    assert "unpublished days" in shown and shown.rstrip().endswith("warning)")

    filled = run_cli(["replay", "--start", "2024-10-24", "--end", "2024-10-24", "--json"], tmp_path)
    assert filled.exit_code == 0 and json.loads(filled.stdout)["unpublished_days"] == [], filled.output
    health = json.loads(run_cli(["health", "--json"], tmp_path).stdout)
    assert not [f for f in health["findings"] if f["check"] == "unpublished days"], health


def test_a_folder_of_player_logs_alone_leaves_what_needs_a_schedule_not_applicable_not_misconfigured(run_cli, tmp_path):
    """Player logs without a schedule, team logs or lines give no upcoming game to build context, form
    or predictions for: those processors skip every day, and health called them "possibly
    misconfigured". Nothing is wrong with them; nothing can feed them, and health says which files would."""
    from conftest import bundled_subset

    archive = bundled_subset(tmp_path / "archive", "player_game_logs_2024_25_through_2024-12-31.parquet")
    replayed = run_cli(["replay", "--start", "2024-11-01", "--end", "2024-11-03", "--json"], tmp_path, archive=archive)
    assert replayed.exit_code == 0, replayed.output + replayed.stderr
    health = json.loads(run_cli(["health", "--json"], tmp_path, archive=archive).stdout)
    assert health["healthy"] and not [f for f in health["findings"] if f["severity"] == "warning"], health
    unfed = {f["subject"]: f["detail"] for f in health["findings"] if f["severity"] == "not applicable"}
    assert unfed["analytics.upcoming_team_game_context"] == \
        "needs one of raw.schedule, raw.team_boxscores, raw.prop_lines: none was ever fed"
    assert unfed["predictions.player_prop_predictions"] == unfed["precompute.player_daily_cache"] == \
        unfed["analytics.upcoming_team_game_context"]
    assert "raw.player_boxscores" not in unfed


def test_a_feed_that_went_to_quarantine_whole_is_a_health_warning_naming_the_rule(run_cli, tmp_path):
    """A folder of prop lines alone: no published player can be matched to a line's name, so every
    line went to quarantine and raw.prop_lines stayed empty while health said nothing of it."""
    from conftest import bundled_subset

    archive = bundled_subset(tmp_path / "archive", "props/player_threes_pregame_2024_25_through_2024-12-31.parquet")
    assert run_cli(["replay", "--start", "2024-11-01", "--end", "2024-11-02", "--json"], tmp_path,
                   archive=archive).exit_code == 0
    caught = json.loads(run_cli(["quarantine", "--table", "raw.prop_lines", "--limit", "10000", "--json"],
                                tmp_path, archive=archive).stdout)
    assert caught and {c["reason"] for c in caught} == {"player name not matched to an NBA player id"}
    health = json.loads(run_cli(["health", "--json"], tmp_path, archive=archive).stdout)
    [finding] = [f for f in health["findings"] if f["check"] == "quarantined most"]
    assert finding["subject"] == "raw.prop_lines" and finding["severity"] == "warning"
    assert finding["detail"].startswith(f"{len(caught)} of {len(caught)} records published in the last 7 days went "
                                        f"to quarantine (player name not matched to an NBA player id {len(caught)})")


def test_a_replay_names_what_an_open_breaker_held_back_though_no_run_failed(run_cli, tmp_path):
    """A processor whose breaker is open skips every day: nothing failed, so the replay ended with
    "no run failed" alone while the form cache wrote nothing for those days."""
    assert run_cli(["replay", "--start", "2024-10-22", "--end", "2024-10-22", "--json"], tmp_path).exit_code == 0
    opened = run_cli(["breakers", "open", "precompute.player_daily_cache", "--minutes", "100000"], tmp_path)
    assert opened.exit_code == 0, opened.output
    held = run_cli(["replay", "--start", "2024-10-23", "--end", "2024-10-24", "--json"], tmp_path)
    assert held.exit_code == 0 and json.loads(held.stdout)["held_back"] == [
        {"processor": "precompute.player_daily_cache", "reason": "breaker_open", "days": 2,
         "first": "2024-10-23", "last": "2024-10-24"}], held.output
    shown = " ".join(run_cli(["replay", "--start", "2024-10-25", "--end", "2024-10-25"], tmp_path).stdout.split())
    assert "no run failed held back: precompute.player_daily_cache (breaker_open) on 1 of these days, 2024-10-25 " \
           "to 2024-10-25: it wrote nothing for them" in shown, shown


def test_a_command_that_waits_for_another_writer_says_so_once_then_answers(replayed, copy_warehouse, tmp_path):
    """One process writes the warehouse at a time; a second one waits (up to 30 s), saying so once on
    stderr instead of sitting silent, and answers as soon as the first lets go."""
    data_dir = copy_warehouse(replayed, tmp_path / "held")
    holder = subprocess.Popen(  # holds the file until told to let go, however slow the machine
        [sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('held', flush=True); "
                               "sys.stdin.readline(); c.close()", str(data_dir / "nba.duckdb")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    waiting = _nbadb(["status", "--json"], data_dir)
    said = waiting.stderr.readline()  # the waiting command's first word, while the file is still held
    holder.communicate("go\n", timeout=10)
    out, rest = waiting.communicate(timeout=60)
    assert waiting.returncode == 0 and json.loads(out), rest
    assert (said + rest).splitlines() == [f"{data_dir / 'nba.duckdb'} is held by another process (a replay, a run, "
                                          "`nbadb serve`): waiting up to 30 s for it"]


def test_an_instant_with_an_offset_is_taken_in_utc_whatever_the_machines_time_zone(monkeypatch) -> None:
    """`--at 2024-11-05T12:00Z` on a machine in New York was stored as 07:00 (the local time)."""
    import time as clock
    from datetime import datetime

    from nbadb.cli.common import parse_instant

    monkeypatch.setenv("TZ", "America/New_York")
    clock.tzset()
    try:
        assert parse_instant("2024-11-05T12:00Z", "at") == datetime(2024, 11, 5, 12)
        assert parse_instant("2024-11-05T12:00-05:00", "at") == datetime(2024, 11, 5, 17)
        assert parse_instant("2024-11-05T12:00", "at") == datetime(2024, 11, 5, 12)
    finally:
        monkeypatch.undo()
        clock.tzset()


def test_an_incident_is_resolved_once(run_cli, no_traceback, tmp_path):
    """A second `rollout resolve` said "resolved" again and wrote a second resolve row."""
    recorded = run_cli(["rollout", "incident", "storage", "--severity", "P2", "--note", "lake slow", "--by", "ann"],
                       tmp_path)
    assert recorded.exit_code == 0, recorded.output + recorded.stderr
    incident_id = recorded.stdout.split("incident ")[1].split()[0]
    assert run_cli(["rollout", "resolve", incident_id, "--by", "bob"], tmp_path).exit_code == 0
    again = run_cli(["rollout", "resolve", incident_id, "--by", "bob"], tmp_path)
    assert again.exit_code == 2 and no_traceback(again)
    assert " ".join(again.stderr.split()).startswith(f"error: incident '{incident_id}' was resolved by bob at ")
    audit = json.loads(run_cli(["rollout", "audit", "--json"], tmp_path).stdout)
    assert [e["action"] for e in audit].count("resolve") == 1
