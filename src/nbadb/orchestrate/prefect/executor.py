"""PrefectExecutor: every processor run of a wave is a Prefect task run, named after its processor
and dates and carrying its run_id and run_as_of_ts. nbadb's ledger stays the record; Prefect shows
the same runs (a failed run is a failed task run with nbadb's error).

Retries come from the processor's breaker policy and never add to it: a failed run is retried
while the breaker its failure counted on is still closed, at most failures_to_open − 1 times (so
the attempts never exceed what opens the breaker), each attempt a new run with a new run_id and
its own ledger row. Once the breaker is open the run is not retried, and later runs are skipped
`breaker_open` by the engine itself, not failed.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import task_run as current_task_run

from nbadb.engine import breakers
from nbadb.engine.executors import Batch, LocalExecutor, RunListener
from nbadb.engine.request import RunRequest, RunResult, new_run_id
from nbadb.engine.vocabulary import Status

if TYPE_CHECKING:
    from prefect.client.schemas.objects import TaskRun
    from prefect.states import State

    from nbadb.engine.runner import Engine


class ProcessorRunFailed(RuntimeError):
    """A processor run ended `failed`: the task run fails with nbadb's error. `retryable` is true
    while the processor's breaker is closed after this failure."""

    def __init__(self, result: RunResult, retryable: bool) -> None:
        super().__init__(f"{result.processor} run {result.run_id} failed: {result.error}")
        self.result = result
        self.retryable = retryable


def task_run_name(request: RunRequest) -> str:
    """`processor start..end [run <run_id>, as of <run_as_of_ts>]`."""
    dates = str(request.start_date) if request.start_date == request.end_date else f"{request.start_date}..{request.end_date}"
    as_of = request.run_as_of_ts.isoformat(timespec="minutes") if request.run_as_of_ts else "the warehouse clock"
    return f"{request.processor} {dates} [run {request.run_id}, as of {as_of}]"


def retries_allowed(engine: Engine, request: RunRequest) -> int:
    """Attempts the breaker policy leaves after the first: failures_to_open − 1 (the policy of the
    run's mode); none when processor breakers are off."""
    if not engine.settings.processor_breakers:
        return 0
    patterns = engine.specs[request.processor].patterns
    to_open = patterns.backfill_failures_to_open if request.mode == "backfill" else patterns.failures_to_open
    return max(0, to_open - 1)


def _breaker_closed(task: Any, task_run: TaskRun, state: State) -> bool:
    """Prefect's retry condition: only a failed run whose breaker is still closed is retried."""
    return isinstance(state.data, ProcessorRunFailed) and state.data.retryable


@task(cache_policy=NO_CACHE, persist_result=False, retry_condition_fn=_breaker_closed)
def run_processor(engine: Engine, request: RunRequest) -> RunResult:
    """One processor run through the engine's lifecycle; a retry is a new run (new run_id)."""
    if current_task_run.run_count > 1:
        request = replace(request, run_id=new_run_id())
    result = engine.run(request)
    if result.status == Status.FAILED:
        breaker = breakers.read(engine.con, request.processor, "processor")
        raise ProcessorRunFailed(result, retryable=breaker.state_at(engine.clock(request)) == "CLOSED")
    return result


def run_as_task(engine: Engine, request: RunRequest) -> RunResult:
    """Run `request` as a Prefect task run and return nbadb's result, failed or not."""
    spec = engine.specs[request.processor]
    runner = run_processor.with_options(
        task_run_name=task_run_name(request), retries=retries_allowed(engine, request), retry_delay_seconds=0,
        tags={"nbadb", f"processor:{spec.name}", f"phase:{spec.phase}"},
    )
    state = runner(engine, request, return_state=True)
    if state.is_completed():
        return state.result()
    error = state.result(raise_on_failure=False)
    if isinstance(error, ProcessorRunFailed):
        return error.result
    raise error


class PrefectExecutor:
    """The local executor's waves (batches side by side up to `width`, each in order) with every
    run a Prefect task run (see the module docstring)."""

    def __init__(self, engine: Engine, width: int = 1) -> None:
        self._local = LocalExecutor(engine, width, run=run_as_task)

    def run_wave(self, batches: list[Batch]) -> list[list[RunResult]]:
        return self._local.run_wave(batches)

    def close(self) -> None:
        self._local.close()

    def add_listener(self, listener: RunListener) -> None:
        self._local.add_listener(listener)
