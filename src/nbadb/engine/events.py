"""The outbox: completion events carrying changed entity ids, and who has consumed them."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime

import duckdb

from nbadb.engine.request import utc_now


@dataclass(frozen=True)
class Event:
    event_id: str
    producer: str
    game_dates: tuple[date, ...]
    entity_ids: tuple[str, ...]
    trigger_chain: tuple[str, ...]
    created_at: datetime | None = None


def append_event(
    con: duckdb.DuckDBPyConnection, producer: str, run_id: str, changed: list[tuple[str, date]], chain: list[str]
) -> Event:
    """Inside the run's transaction: publish which entities on which dates changed."""
    event = Event(
        event_id=uuid.uuid4().hex[:16],
        producer=producer,
        game_dates=tuple(sorted({d for _, d in changed})),
        entity_ids=tuple(sorted({e for e, _ in changed})),
        trigger_chain=tuple(chain),
        created_at=utc_now(),
    )
    con.execute(
        "INSERT INTO ops.events VALUES (?, ?, ?, ?, ?, ?, ?)",
        [event.event_id, producer, run_id, list(event.game_dates), list(event.entity_ids), json.dumps(chain),
         event.created_at],
    )
    return event


# A boolean SQL expression: some event from $producers waits for $consumer. (Anti joins: a
# correlated NOT EXISTS costs twice as much once the outbox holds a season of events.)
PENDING_EXISTS_SQL = """EXISTS (
    SELECT 1 FROM ops.events e
    ANTI JOIN (SELECT event_id FROM ops.event_consumption WHERE consumer = $consumer) c USING (event_id)
    WHERE list_contains($producers, e.producer))"""


def pending_events(con: duckdb.DuckDBPyConnection, inputs: dict[str, frozenset[str]]) -> dict[str, list[Event]]:
    """For each consumer (name -> the tables it reads), the events from its inputs it has not consumed
    yet, oldest first. One query for all consumers."""
    pairs = [(consumer, producer) for consumer, tables in inputs.items() for producer in sorted(tables)]
    pending: dict[str, list[Event]] = {consumer: [] for consumer in inputs}
    if not pairs:
        return pending
    rows = con.execute(
        """SELECT p.consumer, e.event_id, e.producer, e.game_dates, e.entity_ids, e.trigger_chain, e.created_at
        FROM ops.events e
        JOIN (SELECT unnest($consumers) AS consumer, unnest($producers) AS producer) p ON p.producer = e.producer
        ANTI JOIN ops.event_consumption c ON c.event_id = e.event_id AND c.consumer = p.consumer
        ORDER BY e.created_at, e.event_id""",
        {"consumers": [c for c, _ in pairs], "producers": [p for _, p in pairs]},
    ).fetchall()
    for r in rows:
        pending[r[0]].append(Event(r[1], r[2], tuple(r[3]), tuple(r[4]), tuple(json.loads(r[5]) if r[5] else ()), r[6]))
    return pending


def mark_consumed(con: duckdb.DuckDBPyConnection, consumer: str, event_ids: tuple[str, ...], run_id: str) -> None:
    """Inside the consumer run's transaction, so a crash never loses nor double-counts a trigger."""
    if event_ids:
        con.execute(
            "INSERT INTO ops.event_consumption SELECT unnest($ids), $consumer, $run_id, now()::TIMESTAMP",
            {"ids": list(event_ids), "consumer": consumer, "run_id": run_id},
        )
