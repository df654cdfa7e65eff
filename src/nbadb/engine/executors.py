"""Who runs the runs: the one seam through which every driver executes processor runs.

A driver (a publication, a pipeline pass, the replay, a backfill, `serve`, a Prefect flow) plans
its runs and hands them over one wave at a time, as batches: one batch per processor, whose
requests run in order, and no processor of a wave reads what another one writes. The executor
returns each batch's results in the order the batches were given.

- `sequential` (width 1, the default): every batch on the workspace's engine, one after another.
- `threads` (width > 1): batches side by side, each on an engine of its own connection to the
  same warehouse (its own temp tables and transactions; runs of different processors touch
  different rows, and the ledger, outbox and run events only receive appends). DuckDB releases
  Python's lock while it works, so the runs overlap on the cores.

Like SQLMesh's concurrency helper: one way to execute runs, sequential when its width is 1.
Prefect's executor (`prefect`, an optional extra: orchestrate.prefect.executor) is this one with each
run made a Prefect task run (`run`); a batch's thread carries its caller's context (a flow run's).

Listeners (like pybreaker's): callables told of each run, its request and its result, once the run
has committed, on the thread that handed the wave over and in the order the batches were given.
They observe (orchestrate.manifests writes a file per run); they never change a run.
"""

from __future__ import annotations

import contextvars
import queue
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Callable, Protocol

from nbadb.engine.request import RunRequest, RunResult

if TYPE_CHECKING:
    from nbadb.engine.runner import Engine

Batch = list[RunRequest]
RunListener = Callable[[RunRequest, RunResult], None]
RunOn = Callable[["Engine", RunRequest], RunResult]


def run_on(engine: Engine, request: RunRequest) -> RunResult:
    """The plain way to run a request: on `engine`, in this thread."""
    return engine.run(request)


class Executor(Protocol):
    def run_wave(self, batches: list[Batch]) -> list[list[RunResult]]:
        """Run independent batches (each in order); their results in the order given."""

    def close(self) -> None:
        """Release what the executor holds (threads, connections)."""

    def add_listener(self, listener: RunListener) -> None:
        """Tell `listener` of every run this executor completes from now on."""


class LocalExecutor:
    """Runs a wave's batches on up to `width` engines: the given one, then engines on their own
    connections created on first need and kept for the executor's life. `run` runs one request on
    an engine (default: `Engine.run`)."""

    def __init__(self, engine: Engine, width: int = 1, run: RunOn = run_on) -> None:
        self.engine = engine
        self.width = max(1, width)
        self.run = run
        self._idle: queue.SimpleQueue[Engine] = queue.SimpleQueue()
        self._engines: list[Engine] = []
        self._pool: ThreadPoolExecutor | None = None
        self._listeners: list[RunListener] = []

    def add_listener(self, listener: RunListener) -> None:
        self._listeners.append(listener)

    def run_wave(self, batches: list[Batch]) -> list[list[RunResult]]:
        batches = [b for b in batches if b]
        if self.width == 1 or len(batches) <= 1:
            return [[self._told(request, self.run(self.engine, request)) for request in batch] for batch in batches]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.width, thread_name_prefix="nbadb-run")
        futures = [self._pool.submit(contextvars.copy_context().run, self._run_batch, batch) for batch in batches]
        results = [future.result() for future in futures]
        for batch, done in zip(batches, results):
            for request, result in zip(batch, done):
                self._told(request, result)
        return results

    def _told(self, request: RunRequest, result: RunResult) -> RunResult:
        """Tell the listeners of a committed run; hand its result on."""
        for listener in self._listeners:
            listener(request, result)
        return result

    def _run_batch(self, batch: Batch) -> list[RunResult]:
        try:
            engine = self._idle.get_nowait()
        except queue.Empty:
            engine = self.engine.on_own_connection()
            self._engines.append(engine)
        try:
            return [self.run(engine, request) for request in batch]
        finally:
            self._idle.put(engine)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        for engine in self._engines:
            engine.con.close()
        self._engines.clear()
        self._idle = queue.SimpleQueue()
