"""Run independent processors side by side, each on its own connection to the warehouse.

The dispatcher hands over one wave at a time: processors none of which reads what another
writes (a publication's raw processors, each reading its own stage table, are one wave). DuckDB
releases Python's lock while it parses, plans and executes, so their runs overlap on the
machine's cores. Each lane is an engine on its own connection, so its temp tables (_out,
_scope, the signatures) are its own. Every run is still its own transaction. Runs of different
processors touch different output tables, signature rows and breaker rows, so their
transactions never conflict, and the ledger, outbox and run events only receive appends.

A wave starts the batches that have upstream changes to process (their runs carry outbox
events) before the batches that were only asked for a date, which mostly end in a skip: a lane
never waits behind skips while a run with work has not started.
"""

from __future__ import annotations

import queue
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from nbadb.engine.request import RunRequest, RunResult

if TYPE_CHECKING:
    from nbadb.engine.runner import Engine


class Lanes:
    """Up to `width` engines running batches of requests at once, created on first need and kept."""

    def __init__(self, engine: Engine, width: int) -> None:
        self.engine = engine
        self.width = max(1, width)
        self._idle: queue.SimpleQueue[Engine] = queue.SimpleQueue()
        self._lanes: list[Engine] = []
        self._executor: ThreadPoolExecutor | None = None

    def run(self, batches: list[list[RunRequest]]) -> list[list[RunResult]]:
        """Each batch's requests in order on one engine, batches side by side; results per batch,
        in the order of `batches`. A single batch (or width 1) runs on the main engine."""
        if self.width == 1 or len(batches) <= 1:
            return [[self.engine.run(request) for request in batch] for batch in batches]
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=self.width, thread_name_prefix="nbadb-lane")
        futures = {i: self._executor.submit(self._run_batch, batches[i]) for i in _work_first(batches)}
        return [futures[i].result() for i in range(len(batches))]

    def _run_batch(self, batch: list[RunRequest]) -> list[RunResult]:
        try:
            lane = self._idle.get_nowait()
        except queue.Empty:
            lane = self.engine.lane()
            self._lanes.append(lane)
        try:
            return [lane.run(request) for request in batch]
        finally:
            self._idle.put(lane)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown()
            self._executor = None
        for lane in self._lanes:
            lane.con.close()
        self._lanes.clear()
        self._idle = queue.SimpleQueue()


def _work_first(batches: list[list[RunRequest]]) -> list[int]:
    """Indexes of `batches`, those with a run triggered by outbox events first (stable otherwise)."""
    return sorted(range(len(batches)), key=lambda i: not any(r.trigger.event_ids for r in batches[i]))
