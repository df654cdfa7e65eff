"""`nbadb serve` as a user runs it (a child process of the real CLI) on a replayed warehouse:
read commands answer within a second from the snapshot while it runs cycles, write commands refuse
in one line, the API is versioned and read-only, control actions need the bearer token, and the
token never shows in a page, an answer or the log.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest

from nbadb.config import BUNDLED_ARCHIVE, PROJECT_ROOT
from nbadb.engine import breakers
from nbadb.engine.request import utc_now
from nbadb.warehouse.connection import warehouse
from nbadb.warehouse.snapshot import ServerInfo, live_server

from serve_support import eastern

TOKEN = "s3rve-T0KEN-never-shown"
FORCED = "predictions.player_prop_predictions:heuristic"
QUEUED = [("morning", "2023-11-06"), ("night", "2023-11-06"), ("morning", "2023-11-08"), ("night", "2023-11-08")]


@dataclass
class Served:
    proc: subprocess.Popen
    info: ServerInfo
    data_dir: Path
    log: Path

    def call(self, path: str, *, method: str = "GET", body: dict | None = None, token: str | None = None) -> tuple[int, bytes]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        data = json.dumps(body).encode() if body is not None else None
        try:
            with urlopen(Request(self.info.url + path, data=data, method=method, headers=headers), timeout=30) as r:
                return r.status, r.read()
        except HTTPError as answered:
            return answered.code, answered.read()


@pytest.fixture(scope="module")
def served_cli(early_november, tmp_path_factory) -> Iterator[Served]:
    from conftest import copy_warehouse

    data_dir = copy_warehouse(early_november, tmp_path_factory.mktemp("served_cli"))
    with warehouse(data_dir / "nba.duckdb") as con:
        breakers.force_open(con, FORCED, "system", 600, eastern(2023, 11, 6, 1))
    log = data_dir / "serve.log"
    env = {**os.environ, "NBADB_DATA_DIR": str(data_dir), "NBADB_ARCHIVE_DIR": str(BUNDLED_ARCHIVE),
           "NBADB_API_TOKEN": TOKEN}
    with log.open("w") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "nbadb.cli.app", "serve", "--port", "0"], env=env,
                                stdout=sink, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while (info := live_server(data_dir)) is None or info.pid != proc.pid:
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
    served = Served(proc, info, data_dir, log)
    while not (schedule := json.loads(served.call("/api/v1/schedule")[1]))["recent"] or schedule["due"]:
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()  # it catches up as it starts
        time.sleep(0.2)
    yield served
    if proc.poll() is None:  # the module's last test stops it itself
        proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=120) == 0, log.read_text()
    assert live_server(data_dir) is None  # server.json is gone with it


def _cycles_done(served: Served) -> list[dict]:
    status, body = served.call("/api/v1/schedule")
    assert status == 200
    return [c for c in json.loads(body)["recent"] if (c["cycle_kind"], c["game_date"]) in QUEUED]


def test_read_commands_answer_within_a_second_from_the_snapshot_while_serve_runs_cycles(served_cli, run_cli):
    for kind, day in QUEUED:
        status, body = served_cli.call("/api/v1/control/cycles", method="POST", body={"kind": kind, "day": day}, token=TOKEN)
        assert status == 202, body
    reads = []
    for args in (["status"], ["runs"], ["health"], ["status"], ["runs"], ["health"]):
        began, t0 = utc_now(), time.perf_counter()
        result = run_cli(args, served_cli.data_dir)
        reads.append((args, began, utc_now(), time.perf_counter() - t0))
        assert result.exit_code in ((0, 1) if args == ["health"] else (0,)), result.output + result.stderr
        assert "reading its snapshot of" in result.stderr and "Traceback" not in result.output
    deadline = time.monotonic() + 300
    while len(done := _cycles_done(served_cli)) < len(QUEUED):
        assert time.monotonic() < deadline and served_cli.proc.poll() is None, served_cli.log.read_text()
        time.sleep(0.5)
    assert {c["status"] for c in done} == {"done"} and all(c["runs"] for c in done)
    first = min(datetime.fromisoformat(str(c["started_at"])) for c in done)
    last = max(datetime.fromisoformat(str(c["finished_at"])) for c in done)
    during = [(args, seconds) for args, began, ended, seconds in reads if first <= began and ended <= last]
    assert len(during) >= 3, (reads, first, last)  # the reads met the cycles at work
    assert all(seconds < 1.0 for _, seconds in during), during


def test_write_commands_refuse_in_one_line_while_serve_holds_the_warehouse(served_cli, run_cli, no_traceback):
    for args in (["run", "--date", "2023-11-06"], ["breakers", "reset", FORCED], ["ingest", "--date", "2023-11-06"]):
        result = run_cli(args, served_cli.data_dir)
        assert result.exit_code == 4 and no_traceback(result), result.output + result.stderr
        message = " ".join(result.stderr.split())  # one message (the terminal may wrap it)
        assert message.startswith(f"error: nbadb serve (pid {served_cli.proc.pid}") and message.count("error:") == 1


def test_control_actions_need_the_bearer_token_and_it_never_shows(served_cli, run_cli):
    reset = f"/api/v1/control/breakers/{FORCED}/reset"
    assert served_cli.call(reset, method="POST")[0] == 401
    assert served_cli.call(reset, method="POST", token="guess")[0] == 401
    status, body = served_cli.call(reset, method="POST", token=TOKEN)
    assert status == 200 and json.loads(body)["state"] == "CLOSED"
    listed = run_cli(["breakers", "list", "--json"], served_cli.data_dir)  # the snapshot after the reset
    assert {b["key"]: b["state"] for b in json.loads(listed.stdout)}[FORCED] == "CLOSED"
    status, body = served_cli.call("/api/v1/control/cycles", method="POST", body={"kind": "dawn", "day": "2023-11-06"},
                                   token=TOKEN)
    assert status == 400 and "kind 'dawn'" in json.loads(body)["error"]
    pages = b"".join(served_cli.call(p)[1] for p in ("/", "/alerts", "/schedule", "/api/v1/overview", "/metrics"))
    assert TOKEN.encode() not in pages and TOKEN not in served_cli.log.read_text()


def test_serve_says_at_start_when_its_archive_has_no_game_day_ahead(served_cli):
    """On the bundled archive, whose seasons are over by today's wall clock, the server only ever runs
    its checks: it says so as it starts, with the folder where the coming days' files would go."""
    said = re.search(r"note: the archive's game calendar has no game day from (\S+) on \(its last is (\S+)\): until "
                     r"files of the coming days reach (\S+) ", served_cli.log.read_text())
    assert said, served_cli.log.read_text()
    today, last, folder = said.groups()
    assert last < today and Path(folder) == BUNDLED_ARCHIVE


def test_the_api_is_versioned_and_read_only(served_cli):
    assert served_cli.call("/api/v1/runs", method="POST")[0] == 405
    status, body = served_cli.call("/api/v1/runs?status=bogus")
    assert status == 400 and json.loads(body) == {"error": "status 'bogus': use one of success, skipped, failed, partial"}
    status, body = served_cli.call("/api/v1/runs?limit=25")
    runs = json.loads(body)["runs"]
    assert status == 200 and len(runs) == 25
    status, body = served_cli.call(f"/api/v1/runs/{runs[0]['run_id']}")
    assert status == 200 and json.loads(body)["run_id"] == runs[0]["run_id"]
    status, body = served_cli.call("/api/v1/schedule")
    cycle = json.loads(body)["recent"][-1]  # the first cycle serve ran: the health check it caught up on
    status, body = served_cli.call(f"/api/v1/manifests/{cycle['pass_id']}")
    assert status == 200 and json.loads(body)["cycle_kind"] == cycle["cycle_kind"]
    status, body = served_cli.call("/api/v1/manifests/0123456789abcdef")
    assert status == 404 and "no manifest" in json.loads(body)["error"]
    assert served_cli.call("/api/v2/runs")[0] == 404
    status, body = served_cli.call("/api/v1")  # the index: every endpoint, and each read one answers
    listed = json.loads(body)["endpoints"]
    assert status == 200 and {"method": "POST", "path": "/api/v1/control/cycles"} in listed
    reads = [e["path"] for e in listed if e["method"] == "GET" and "{" not in e["path"]]
    assert len(reads) > 10 and {p: served_cli.call(p)[0] for p in reads} == dict.fromkeys(reads, 200)


def test_a_query_parameter_no_handler_reads_is_refused_naming_the_ones_it_takes(served_cli):
    status, body = served_cli.call("/api/v1/predictions?day=2023-11-06")  # the parameter is `date`
    error = json.loads(body)["error"]
    assert status == 400 and "unknown parameter 'day' for /api/v1/predictions" in error and "date" in error
    status, body = served_cli.call("/runs?sinse=2023-11-01&status=success")
    assert status == 400 and b"unknown parameter &#x27;sinse&#x27; for /runs" in body
    assert served_cli.call("/metrics?format=json")[0] == 400
    assert served_cli.call("/api/v1/predictions?date=2023-11-06&limit=25")[0] == 200


def test_a_malformed_request_gets_a_4xx_in_one_line_and_no_traceback(served_cli):
    """Numbers past BIGINT or not in ASCII digits, a body length that is not one, a request line past
    the standard library's limit: each answered 4xx at once (a Content-Length of -1 used to hold the
    thread reading to the end of the stream), nothing logged as a failure."""
    import http.client

    for path in ("/runs?page=99999999999999999999999", "/api/v1/runs?page=%C2%B2",
                 "/api/v1/tables/raw.schedule?offset=9223372036854775808&limit=1",
                 "/api/v1/tables/raw.schedule?limit=%C2%B2"):
        status, body = served_cli.call(path)
        assert status == 400 and b"is not a whole number from 0 to" in body, (path, status, body)
    for length, expected in (("-1", 400), ("abc", 400), (str(10**9), 413)):
        conn = http.client.HTTPConnection(served_cli.info.host, served_cli.info.port, timeout=10)
        conn.putrequest("POST", "/api/v1/control/cycles")
        conn.putheader("Content-Length", length)
        conn.endheaders()
        answer = conn.getresponse()
        assert answer.status == expected and "Content-Length" in json.loads(answer.read())["error"], length
        conn.close()
    assert served_cli.call("/api/v1?" + "a" * 70_000)[0] == 414
    for body in ({"kind": "health", "day": 20231106}, {"kind": "health", "day": "2023-11-06", "extra": 1}):
        status, answer = served_cli.call("/api/v1/control/cycles", method="POST", body=body, token=TOKEN)
        assert status == 400, (body, answer)  # a cycle request is kind and day, the day as text
    assert "Traceback" not in served_cli.log.read_text()


def test_the_dashboards_waste_answers_count_what_the_patterns_saved(served_cli):
    """The waste page's third answer reads the runs each pattern saved, as `nbadb report waste` does
    (it said "nothing yet" beside a patterns page that counted saved runs)."""
    saved = sum(p["runs_saved"] or 0 for p in json.loads(served_cli.call("/api/v1/patterns")[1])["report"]["patterns"])
    answer = json.loads(served_cli.call("/api/v1/waste")[1])["report"]["answers"]["what did the patterns save"]
    assert saved > 0 and answer.startswith(f"{saved:,} runs skipped"), (saved, answer)


def test_an_action_given_a_query_parameter_is_refused_before_it_acts():
    from nbadb.errors import ConfigError
    from nbadb.serve.http import Request as HttpRequest, Response, Router

    acted = []
    router = Router()
    router.add("POST", "/api/v1/control/cycles", lambda request, _: acted.append(request) or Response.json({}))
    with pytest.raises(ConfigError, match="unknown parameter 'kind'"):  # the kind belongs in the JSON body
        router.dispatch(HttpRequest("POST", "/api/v1/control/cycles", {"kind": "morning"}, {}, b"{}"))
    assert acted == []


def test_metrics_count_what_the_ledger_holds_and_feed_the_grafana_dashboard(served_cli):
    status, body = served_cli.call("/metrics")
    text = body.decode()
    runs = sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith("nbadb_runs_total{"))
    snapshot = Path(live_server(served_cli.data_dir).snapshot)
    with warehouse(snapshot, read_only=True) as con:
        ledger = con.execute("SELECT count(*) FROM ops.processor_runs").fetchall()[0][0]
    assert status == 200 and runs == ledger
    exposed = set(re.findall(r"^# TYPE (nbadb_\w+) ", text, re.MULTILINE))
    dashboard = json.loads((PROJECT_ROOT / "deploy" / "grafana" / "nbadb-dashboard.json").read_text())
    charted = {name for panel in dashboard["panels"] for target in panel["targets"]
               for name in re.findall(r"(nbadb_\w+?)(?:_bucket)?\b", target["expr"])}
    assert charted and charted <= exposed, charted - exposed  # the Grafana dashboard charts only metrics we expose


def test_stopping_serve_finishes_the_cycle_in_progress_starts_no_queued_one_and_waits_out_a_second_signal(served_cli):
    """Last in the module: it stops the module's server. Cycles queued, then Ctrl-C and a service
    manager's SIGTERM: the one in progress (if one started) finishes, the others never start, the
    second signal is told to wait, and serve exits 0 with its server.json gone. Before, every queued
    cycle ran, a second signal said nothing was written, and a second SIGTERM aborted (exit 134)."""
    queued = [("morning", "2023-11-09"), ("night", "2023-11-09"), ("morning", "2023-11-10")]
    for kind, day in queued:
        assert served_cli.call("/api/v1/control/cycles", method="POST", body={"kind": kind, "day": day},
                               token=TOKEN)[0] == 202
    served_cli.proc.send_signal(signal.SIGINT)
    time.sleep(0.5)
    served_cli.proc.send_signal(signal.SIGTERM)
    assert served_cli.proc.wait(timeout=300) == 0
    log = served_cli.log.read_text()
    assert "Traceback" not in log and "terminate called" not in log and "still stopping" in log, log[-3000:]
    assert log.count("not started: nbadb serve is stopping") >= len(queued) - 1, log[-3000:]
    assert live_server(served_cli.data_dir) is None
    with warehouse(served_cli.data_dir / "nba.duckdb", read_only=True) as con:
        ran = con.execute("SELECT count(*) FROM ops.serve_cycles WHERE game_date IN ('2023-11-09', '2023-11-10')"
                          ).fetchall()[0][0]
    assert ran <= 1
