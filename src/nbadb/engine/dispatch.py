"""Turn pending outbox events (plus any requested dates) into one run request per processor.

Several events for the same processor in one dispatch cycle coalesce into one run over the
union of their dates; the run's signatures then find exactly which entities changed.
"""

from __future__ import annotations

from datetime import date

import duckdb

from nbadb.engine.events import Event, pending_events
from nbadb.engine.request import ProcessingMode, RunMode, RunRequest, Trigger
from nbadb.engine.spec import ProcessorSpec


def _latest_scheduled_date(con: duckdb.DuckDBPyConnection) -> date | None:
    return con.execute("SELECT max(game_date) FROM raw.schedule").fetchall()[0][0]


def plan_run(
    con: duckdb.DuckDBPyConnection,
    spec: ProcessorSpec,
    producers: frozenset[str],
    requested: tuple[date, date] | None,
    *,
    trigger_source: str = "manual",
    mode: RunMode = "incremental",
    processing_mode: ProcessingMode | None = None,
    force: bool = False,
) -> RunRequest | None:
    """The one run this processor needs now, or None when nothing asks for it."""
    events = pending_events(con, spec.name, producers & spec.input_tables)
    if not events and requested is None:
        return None
    starts, ends = [], []
    if requested is not None:
        starts.append(requested[0])
        ends.append(requested[1])
    if events:
        event_dates = [d for e in events for d in e.game_dates]
        starts.append(min(event_dates))
        ends.append(max(event_dates))
        if spec.propagation == "following_dates":
            latest = _latest_scheduled_date(con)
            if latest:
                ends.append(latest)
    return RunRequest(
        processor=spec.name,
        start_date=min(starts),
        end_date=max(ends),
        trigger=_trigger(events, trigger_source),
        mode=mode,
        processing_mode=processing_mode,
        force=force,
    )


def _trigger(events: list[Event], fallback: str) -> Trigger:
    if not events:
        return Trigger(source=fallback, chain=(fallback,))
    sources = tuple(dict.fromkeys(e.producer for e in events))
    longest = max((e.trigger_chain for e in events), key=len)
    return Trigger(source=sources[0], event_ids=tuple(e.event_id for e in events), chain=longest, sources=sources)
