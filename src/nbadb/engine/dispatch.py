"""Turn pending outbox events (plus any requested dates) into run requests per processor.

A dispatch cycle reads the pending events of every processor it will consider, and the dates
scheduled, once as it starts; then it adds the events its own runs publish, so a consumer later
in the cycle sees its producers' fresh changes without another query. Coalescing: a
processor's events created within the configured window of the first one become one run over
the union of their dates (the run's signatures then find exactly which entities changed); a
window of 0 gives one run per event. The events the cycle's own runs publish always join the
last run (a consumer runs after all its producers of the cycle: one run sees them all, however
long they took). Priority: a processor's runs go soonest date first.

A pass given a clock (a replayed or served step's instant) takes only the events published by then
(engine.events): one published later, by a replay that was stopped after that instant and run again
from an earlier day, waits for the pass of its own time, so the history is the one an uninterrupted
replay writes.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb

from nbadb.engine.calendar import LeagueCalendar
from nbadb.engine.events import Event, pending_events
from nbadb.engine.request import ProcessingMode, RunMode, RunRequest, Trigger
from nbadb.engine.spec import ProcessorSpec


class DispatchCycle:
    """Pending events per processor for one cycle over `specs` (in graph order)."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        specs: list[ProcessorSpec],
        producers: frozenset[str],
        calendar: LeagueCalendar,
        *,
        window_seconds: float = 30.0,
    ) -> None:
        self.con = con
        self.window = timedelta(seconds=window_seconds)
        self._inputs = {s.name: s.input_tables & producers for s in specs}
        self._pending = pending_events(con, self._inputs)
        self._own: set[str] = set()  # ids of the events the cycle's runs published
        self._horizons = self._read_horizons(calendar)

    def published(self, event: Event | None) -> None:
        """A run in this cycle published `event`: its consumers in the cycle will see it."""
        if event is None:
            return
        self._own.add(event.event_id)
        for consumer, tables in self._inputs.items():
            if event.producer in tables:
                self._pending[consumer].append(event)

    def _read_horizons(self, calendar: LeagueCalendar) -> dict[str, date | None]:
        """The last date each processor's rows can exist for, as the cycle starts (a schedule written
        while it runs does not move it): the latest scheduled date, or the processor's own latest
        signed date when later (dates known only from prop lines). Signatures are read only past the
        schedule's last date, so the read stays small however long the history."""
        scheduled = calendar.latest_on_or_before(date.max)
        later = dict(self.con.execute(
            "SELECT processor, max(game_date) FROM ops.entity_signatures WHERE game_date > $after GROUP BY processor",
            {"after": scheduled or date.min},
        ).fetchall())
        return {name: later.get(name, scheduled) for name in self._inputs}

    def plan(
        self,
        spec: ProcessorSpec,
        requested: tuple[date, date] | None,
        *,
        trigger_source: str = "manual",
        trigger_sources: tuple[str, ...] = (),
        mode: RunMode = "incremental",
        processing_mode: ProcessingMode | None = None,
        force: bool = False,
        as_of: date | None = None,
        clock: datetime | None = None,
    ) -> list[RunRequest]:
        """The runs this processor needs now (none when nothing asks for it), soonest date first."""
        groups = self._coalesce([e for e in self._pending.get(spec.name, []) if _published_by(e, clock)])
        if not groups and requested is None:
            return []
        lags = {i.table: timedelta(days=i.lag_days) for i in spec.inputs}
        horizon = self._horizons.get(spec.name) if groups else None
        requests = []
        for n, events in enumerate(groups or [[]]):
            asked = requested if n == 0 else None  # requested dates ride with the first run
            starts = [asked[0]] if asked else []
            ends = [asked[1]] if asked else []
            if events:
                event_dates = [d + lags.get(e.producer, timedelta()) for e in events for d in e.game_dates]
                if not asked and horizon is not None and min(event_dates) > horizon:
                    continue  # concerns dates not scheduled yet: the events wait for the run that covers them
                starts.append(min(event_dates))
                ends.append(max(event_dates))
                if spec.propagation == "following_dates" and horizon:
                    ends.append(horizon)
            trigger = _trigger(events, trigger_source, trigger_sources, requested=asked is not None)
            requests.append(RunRequest(
                processor=spec.name, start_date=min(starts), end_date=max(ends), trigger=trigger,
                mode=mode, processing_mode=processing_mode, force=force, as_of=as_of, run_as_of_ts=clock,
            ))
        return sorted(requests, key=lambda r: r.start_date)

    def _coalesce(self, events: list[Event]) -> list[list[Event]]:
        """Split events (oldest first) into windows that start at their first event."""
        groups: list[list[Event]] = []
        for event in events:
            first = groups[-1][0] if groups else None
            if first is not None and (event.event_id in self._own or _within(first, event, self.window)):
                groups[-1].append(event)
            else:
                groups.append([event])
        return groups


def _published_by(event: Event, clock: datetime | None) -> bool:
    """Whether a pass at `clock` may take `event` (a pass on the warehouse clock, None, takes every one)."""
    return clock is None or event.published_at is None or event.published_at <= clock


def _within(first: Event, event: Event, window: timedelta) -> bool:
    if first.created_at is None or event.created_at is None:
        return True
    return event.created_at - first.created_at <= window


def _trigger(events: list[Event], fallback: str, fallback_sources: tuple[str, ...], *, requested: bool) -> Trigger:
    if not events:  # the cycle read this processor's pending events: there were none
        return Trigger(source=fallback, chain=(fallback,), sources=fallback_sources, requested=requested,
                       none_pending=True)
    sources = tuple(dict.fromkeys(e.producer for e in events))
    longest = max((e.trigger_chain for e in events), key=len)
    return Trigger(source=sources[0], event_ids=tuple(e.event_id for e in events), chain=longest, sources=sources,
                   requested=requested)
