"""Alerts: each incident (monitor.incidents) posted to the configured webhooks when it opens, with
retries, and every alert sent or given up recorded in `ops.alerts`.

- Webhooks come from NBADB_ALERT_WEBHOOKS: comma-separated, each `URL` (a generic JSON body) or
  `slack=URL` (a Slack-compatible body: `text` and one mrkdwn section).
- Delivery: up to ATTEMPTS posts; a connection error, a timeout or an HTTP status other than 2xx
  is retried after BACKOFF_SECONDS · 2^(n−1) (at most BACKOFF_CAP_SECONDS), then given up.
- One message per incident: `ops.incidents` keeps each incident from the check that first saw it
  (opened) to the first check that no longer does (resolved). Only an incident that opens is
  alerted, so a storm of failing runs, night after night, is one message.
- Dedupe window: an incident that reopens within the window of its last alert to a destination
  (it flaps) is not alerted there again.
- Time: attempts are stamped on the caller's clock (`nbadb serve`'s), the one the window is read on.
- Secrets: a webhook URL may carry one (Slack's do). Only its redacted form (scheme, host, port and
  an 8-digit sha256 of the whole URL) is ever stored, logged or shown.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Literal
from urllib.parse import urlsplit

import duckdb

from nbadb.errors import ConfigError
from nbadb.monitor.incidents import Incident

log = logging.getLogger("nbadb.alerts")
ATTEMPTS = 4
BACKOFF_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 30.0
TIMEOUT_SECONDS = 5.0
SENT, GIVEN_UP = "sent", "given_up"
PayloadFormat = Literal["json", "slack"]
# post(url, body) -> HTTP status; raises OSError when nothing answered.
Post = Callable[[str, bytes], int]


@dataclass(frozen=True)
class Webhook:
    url: str
    payload_format: PayloadFormat

    @property
    def destination(self) -> str:
        """The URL without its secret parts: what is stored, logged and shown."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}/… " \
               f"#{hashlib.sha256(self.url.encode()).hexdigest()[:8]}"


def parse_webhooks(text: str) -> list[Webhook]:
    hooks = []
    for item in (i.strip() for i in text.split(",") if i.strip()):
        fmt, _, url = item.partition("=") if item.startswith("slack=") else ("json", "", item)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            shown = Webhook(url, "json").destination if parts.hostname else "an entry"
            raise ConfigError(f"NBADB_ALERT_WEBHOOKS: {shown} is not an http(s) URL; use URL or slack=URL, comma-separated")
        hooks.append(Webhook(url, fmt))  # type: ignore[arg-type]
    return hooks


def body(incident: Incident, payload_format: PayloadFormat, detected_at: datetime) -> bytes:
    if payload_format == "slack":
        text = f":rotating_light: *nbadb {incident.kind}* — {incident.message}"
        payload: dict[str, object] = {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}
    else:
        payload = {"source": "nbadb", "incident_key": incident.key, "kind": str(incident.kind),
                   "subject": incident.subject, "message": incident.message, "facts": incident.facts,
                   "detected_at": detected_at.isoformat(timespec="seconds") + "Z"}
    return json.dumps(payload, default=str).encode()


def post_json(url: str, data: bytes) -> int:
    request = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return response.status
    except urllib.error.HTTPError as answered:
        return answered.code


def recently_alerted(con: duckdb.DuckDBPyConnection, now: datetime, window: timedelta) -> set[tuple[str, str]]:
    return {(k, d) for k, d in con.execute(
        "SELECT DISTINCT incident_key, destination FROM ops.alerts WHERE first_attempt_at >= ?", [now - window]).fetchall()}


@dataclass(frozen=True)
class Delivery:
    status: str
    attempts: int
    http_status: int | None
    error: str | None


def deliver(hook: Webhook, data: bytes, post: Post, sleep: Callable[[float], None]) -> Delivery:
    status, error = None, None
    for attempt in range(1, ATTEMPTS + 1):
        try:
            status, error = post(hook.url, data), None
            if 200 <= status < 300:
                return Delivery(SENT, attempt, status, None)
            error = f"HTTP {status}"
        except OSError as exc:  # refused, reset, timed out: nothing answered
            cause = exc.reason if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, OSError) else exc
            status, error = None, type(cause).__name__
        if attempt < ATTEMPTS:
            sleep(min(BACKOFF_CAP_SECONDS, BACKOFF_SECONDS * 2 ** (attempt - 1)))
    return Delivery(GIVEN_UP, ATTEMPTS, status, error)


def open_incidents(con: duckdb.DuckDBPyConnection, incidents: list[Incident], now: datetime) -> list[Incident]:
    """Record the check at `now` in ops.incidents; return the incidents it opened (not open before)."""
    seen = {i.key: i for i in incidents}
    still_open = {k for (k,) in con.execute("SELECT incident_key FROM ops.incidents WHERE resolved_at IS NULL").fetchall()}
    con.execute("UPDATE ops.incidents SET resolved_at = ? WHERE resolved_at IS NULL AND NOT list_contains(?, incident_key)",
                [now, list(seen)])
    con.execute("UPDATE ops.incidents SET last_seen_at = ? WHERE resolved_at IS NULL", [now])
    opened = [i for k, i in seen.items() if k not in still_open]
    if opened:
        con.executemany(
            """INSERT INTO ops.incidents (incident_key, incident_kind, subject, message, opened_at, last_seen_at)
            VALUES (?, ?, ?, ?, ?, ?)""", [[i.key, str(i.kind), i.subject, i.message, now, now] for i in opened])
    return opened


def send_alerts(con: duckdb.DuckDBPyConnection, incidents: list[Incident], hooks: list[Webhook], now: datetime,
                window: timedelta, *, post: Post = post_json, sleep: Callable[[float], None] = time.sleep) -> int:
    """Take note of the incidents open at `now` and alert the ones that opened, except to a destination
    alerted about the same incident within `window`; record each alert. Returns how many were recorded."""
    opened = open_incidents(con, incidents, now)
    already = recently_alerted(con, now, window)
    recorded = 0
    for incident in opened:
        for hook in hooks:
            if (incident.key, hook.destination) in already:
                continue
            started = time.monotonic()
            outcome = deliver(hook, body(incident, hook.payload_format, now), post, sleep)
            finished = now + timedelta(seconds=time.monotonic() - started)
            log.log(logging.INFO if outcome.status == SENT else logging.WARNING, "alert %s to %s: %s after %d attempts",
                    incident.key, hook.destination, outcome.status, outcome.attempts)
            con.execute(
                """INSERT INTO ops.alerts (alert_id, incident_key, alert_kind, subject, message, destination,
                    payload_format, status, attempts, http_status, error, facts, first_attempt_at, last_attempt_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [uuid.uuid4().hex[:16], incident.key, str(incident.kind), incident.subject, incident.message,
                 hook.destination, hook.payload_format, outcome.status, outcome.attempts, outcome.http_status,
                 outcome.error, json.dumps(incident.facts, default=str), now, finished])
            recorded += 1
    return recorded


ALERT_COLUMNS = ("alert_id", "incident_key", "alert_kind", "subject", "message", "destination", "payload_format",
                 "status", "attempts", "http_status", "error", "first_attempt_at", "last_attempt_at")


def recent_alerts(con: duckdb.DuckDBPyConnection, limit: int = 100) -> list[dict[str, object]]:
    rows = con.execute(f"SELECT {', '.join(ALERT_COLUMNS)} FROM ops.alerts ORDER BY first_attempt_at DESC, "
                       "last_attempt_at DESC LIMIT ?", [limit]).fetchall()
    return [dict(zip(ALERT_COLUMNS, r)) for r in rows]
