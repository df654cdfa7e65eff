"""The outbox: completion events carrying changed entity ids, and who has consumed them.

An event's publication instant (`published_at`) is when what it announces became known
(engine.output.published_at): a pass whose own clock is earlier leaves it waiting (engine.dispatch),
as a replayed day cannot know a later night's."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime

import duckdb

from nbadb.engine.request import ChangeSet, utc_now


@dataclass(frozen=True)
class Event:
    event_id: str
    producer: str
    game_dates: tuple[date, ...]
    entity_ids: tuple[str, ...]
    trigger_chain: tuple[str, ...]
    created_at: datetime | None = None
    published_at: datetime | None = None  # None: stored before the instant was recorded


def append_event(
    con: duckdb.DuckDBPyConnection, producer: str, run_id: str, changed: ChangeSet, chain: list[str],
    published_at: datetime,
) -> Event:
    """Inside the run's transaction: publish which entities on which dates changed, known at `published_at`."""
    event = Event(
        event_id=uuid.uuid4().hex[:16],
        producer=producer,
        game_dates=changed.dates,
        entity_ids=changed.entity_ids,
        trigger_chain=tuple(chain),
        created_at=utc_now(),
        published_at=published_at,
    )
    con.execute(
        "INSERT INTO ops.events (event_id, producer, run_id, game_dates, entity_ids, trigger_chain, created_at, "
        "published_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [event.event_id, producer, run_id, list(event.game_dates), list(event.entity_ids), json.dumps(chain),
         event.created_at, published_at],
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
    yet, oldest first. Two small queries for all consumers."""
    pairs = [(consumer, producer) for consumer, tables in inputs.items() for producer in sorted(tables)]
    pending: dict[str, list[Event]] = {consumer: [] for consumer in inputs}
    if not pairs:
        return pending
    # The anti join first, on ids alone: reading every event's entity list would grow with the outbox.
    waiting = con.execute(
        """SELECT p.consumer, e.event_id FROM ops.events e
        JOIN (SELECT unnest($consumers) AS consumer, unnest($producers) AS producer) p ON p.producer = e.producer
        ANTI JOIN ops.event_consumption c ON c.event_id = e.event_id AND c.consumer = p.consumer""",
        {"consumers": [c for c, _ in pairs], "producers": [p for _, p in pairs]},
    ).fetchall()
    if not waiting:
        return pending
    rows = con.execute(
        """SELECT event_id, producer, game_dates, entity_ids, trigger_chain, created_at, published_at FROM ops.events
        WHERE list_contains($ids, event_id) ORDER BY created_at, event_id""",
        {"ids": list({event_id for _, event_id in waiting})},
    ).fetchall()
    events = [Event(r[0], r[1], tuple(r[2]), tuple(r[3]), tuple(json.loads(r[4]) if r[4] else ()), r[5], r[6])
              for r in rows]
    # each consumer once per id; an event stored twice is then pending twice, so the run sees the copy
    consumers_of: dict[str, dict[str, None]] = {}
    for consumer, event_id in waiting:
        consumers_of.setdefault(event_id, {})[consumer] = None
    for event in events:  # oldest first
        for consumer in consumers_of[event.event_id]:
            pending[consumer].append(event)
    return pending


def mark_consumed(con: duckdb.DuckDBPyConnection, consumer: str, event_ids: tuple[str, ...], run_id: str) -> None:
    """Inside the consumer run's transaction, so a crash never loses nor double-counts a trigger."""
    if event_ids:
        con.execute(
            "INSERT INTO ops.event_consumption (event_id, consumer, run_id, consumed_at) "
            "SELECT unnest($ids), $consumer, $run_id, now()::TIMESTAMP",
            {"ids": list(event_ids), "consumer": consumer, "run_id": run_id},
        )
