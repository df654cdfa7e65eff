"""The outbox: completion events carrying changed entity ids, and who has consumed them."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date

import duckdb


@dataclass(frozen=True)
class Event:
    event_id: str
    producer: str
    game_dates: tuple[date, ...]
    entity_ids: tuple[str, ...]
    trigger_chain: tuple[str, ...]


def append_event(
    con: duckdb.DuckDBPyConnection, producer: str, run_id: str, changed: list[tuple[str, date]], chain: list[str]
) -> str:
    """Inside the run's transaction: publish which entities on which dates changed."""
    event_id = uuid.uuid4().hex[:16]
    dates = sorted({d for _, d in changed})
    entities = sorted({e for e, _ in changed})
    con.execute(
        "INSERT INTO ops.events VALUES (?, ?, ?, ?, ?, ?, now()::TIMESTAMP)",
        [event_id, producer, run_id, dates, entities, json.dumps(chain)],
    )
    return event_id


_PENDING = """FROM ops.events e
    WHERE list_contains($producers, e.producer)
      AND NOT EXISTS (SELECT 1 FROM ops.event_consumption c WHERE c.event_id = e.event_id AND c.consumer = $consumer)"""


def has_pending(con: duckdb.DuckDBPyConnection, consumer: str, producers: frozenset[str]) -> bool:
    """Whether any event from `producers` waits for `consumer`."""
    if not producers:
        return False
    return bool(con.execute(
        f"SELECT count(*) FROM (SELECT 1 {_PENDING} LIMIT 1)", {"producers": sorted(producers), "consumer": consumer}
    ).fetchall()[0][0])


def pending_events(con: duckdb.DuckDBPyConnection, consumer: str, producers: frozenset[str]) -> list[Event]:
    """Events from the consumer's inputs that it has not consumed yet, oldest first."""
    if not producers:
        return []
    rows = con.execute(
        f"""SELECT e.event_id, e.producer, e.game_dates, e.entity_ids, e.trigger_chain {_PENDING}
        ORDER BY e.created_at, e.event_id""",
        {"producers": sorted(producers), "consumer": consumer},
    ).fetchall()
    return [
        Event(r[0], r[1], tuple(r[2]), tuple(r[3]), tuple(json.loads(r[4]) if r[4] else ()))
        for r in rows
    ]


def mark_consumed(con: duckdb.DuckDBPyConnection, consumer: str, event_ids: tuple[str, ...], run_id: str) -> None:
    """Inside the consumer run's transaction, so a crash never loses nor double-counts a trigger."""
    if event_ids:
        con.executemany(
            "INSERT INTO ops.event_consumption VALUES (?, ?, ?, now()::TIMESTAMP)",
            [[e, consumer, run_id] for e in event_ids],
        )
