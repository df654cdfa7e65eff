"""Alerts reach a webhook receiver on loopback once per incident — a breaker forced open, a failing
processor (NBADB_FAULT_PROCESSORS), a red health — through a receiver that first answers 500, and
never storm; every alert sent or given up is in ops.alerts, and the webhook's secret never shows.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections import Counter
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.request import urlopen

import pytest

from nbadb.engine import breakers
from nbadb.monitor.alerts import ATTEMPTS, GIVEN_UP, SENT, parse_webhooks, send_alerts
from nbadb.monitor.incidents import Incident, IncidentKind
from nbadb.warehouse.connection import open_warehouse, warehouse

from serve_support import FakeClock, eastern, served

SECRET = "T0KEN-3f9a-do-not-leak"
FAILING = "analytics.player_game_summary"
GBM = "predictions.player_prop_predictions:gbm"


class Receiver:
    """A webhook receiver on 127.0.0.1 whose first answer on each path is 500."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict]] = []
        self.errors: Counter[str] = Counter()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                first = self.path not in receiver.errors
                if first:
                    receiver.errors[self.path] += 1
                else:
                    receiver.received.append((self.path, body))
                self.send_response(500 if first else 200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"


@pytest.fixture()
def receiver():
    found = Receiver()
    yield found
    found.server.shutdown()


def test_each_incident_reaches_the_receiver_once_through_a_500_and_a_storm_of_failures(
        early_november, copy_warehouse, db, receiver, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("NBADB_FAULT_PROCESSORS", FAILING)
    data_dir = copy_warehouse(early_november, tmp_path / "alerts")
    with warehouse(data_dir / "nba.duckdb") as con:
        breakers.force_open(con, GBM, "system", 600, eastern(2023, 11, 6, 1))
    hooks = f"{receiver.url('/json/' + SECRET)},slack={receiver.url('/slack/' + SECRET)}"
    clock = FakeClock(eastern(2023, 11, 6, 18))
    caplog.set_level(logging.INFO)
    with served(data_dir, clock, alert_webhooks=hooks) as app:
        ran = [app.run_due()]
        for when in (eastern(2023, 11, 7, 3), eastern(2023, 11, 8, 18), eastern(2023, 11, 9, 3)):
            clock.set(when)  # the failing processor fails night after night: a storm
            ran.append(app.run_due())
        page = urlopen(f"http://127.0.0.1:{app.port}/alerts").read().decode()
    assert [r.cycle_kind for rs in ran for r in rs] == ["health", "weekly", "morning", "night", "health", "morning",
                                                        "night"]

    json_keys = Counter(body["incident_key"] for path, body in receiver.received if path.startswith("/json/"))
    assert {f"breaker_open:{GBM}", f"run_failed:{FAILING}", "health_red:pipeline"} <= set(json_keys)
    assert max(json_keys.values()) == 1, json_keys  # one message per incident, however many runs failed
    slack = [body for path, body in receiver.received if path.startswith("/slack/")]
    assert len(slack) == len(json_keys) and all(b["text"] and b["blocks"] for b in slack)
    assert receiver.errors == Counter({f"/json/{SECRET}": 1, f"/slack/{SECRET}": 1})

    with db(data_dir) as con:
        failed_runs = con.execute("SELECT count(*) FROM ops.processor_runs WHERE processor = ? AND status = 'failed'",
                                  [FAILING]).fetchall()[0][0]
        alerts = con.execute("SELECT incident_key, destination, status, attempts, http_status FROM ops.alerts "
                             "ORDER BY first_attempt_at, last_attempt_at").fetchall()
        stored = json.dumps(con.execute("SELECT * FROM ops.alerts").fetchall(), default=str)
    assert failed_runs >= 2
    assert len(alerts) == 2 * len(json_keys) and {s for _, _, s, _, _ in alerts} == {SENT}
    assert sorted(a for _, _, _, a, _ in alerts)[-2:] == [2, 2]  # each destination's first alert: 500, then sent
    assert SECRET not in stored and SECRET not in page and SECRET not in caplog.text
    assert f"run_failed:{FAILING}" in page


def test_an_unreachable_webhook_is_retried_with_backoff_given_up_recorded_and_alerted_again_only_when_it_reopens(tmp_path):
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    hooks = parse_webhooks(f"http://127.0.0.1:{port}/hook/{SECRET}")
    incident = Incident(IncidentKind.HEALTH_RED, "pipeline", "health is red: 1 problem (breaker)")
    slept: list[float] = []
    con = open_warehouse(tmp_path / "nba.duckdb")
    try:
        now = datetime(2023, 11, 6, 12)
        assert send_alerts(con, [incident], hooks, now, timedelta(hours=6), sleep=slept.append) == 1
        assert slept == [0.5, 1.0, 2.0]  # backoff between the four attempts
        window = timedelta(hours=6)
        assert send_alerts(con, [incident], hooks, now + timedelta(hours=9), window, sleep=slept.append) == 0  # still open
        assert send_alerts(con, [], hooks, now + timedelta(hours=10), window) == 0  # resolved
        assert send_alerts(con, [incident], hooks, now + timedelta(hours=11), window, sleep=slept.append) == 1  # reopened
        assert send_alerts(con, [], hooks, now + timedelta(hours=12), window) == 0
        assert send_alerts(con, [incident], hooks, now + timedelta(hours=13), window) == 0  # flapping: within the window
        rows = con.execute("SELECT status, attempts, http_status, error, destination FROM ops.alerts").fetchall()
    finally:
        con.close()
    assert [r[:3] for r in rows] == [(GIVEN_UP, ATTEMPTS, None)] * 2 and slept == [0.5, 1.0, 2.0] * 2
    assert rows[0][3] == "ConnectionRefusedError" and SECRET not in rows[0][4]


def test_a_webhook_setting_that_is_not_a_url_is_refused_without_showing_it():
    with pytest.raises(Exception) as refused:
        parse_webhooks(f"ftp://example.invalid/{SECRET}")
    assert "NBADB_ALERT_WEBHOOKS" in str(refused.value) and SECRET not in str(refused.value)
