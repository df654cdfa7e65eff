"""Child flow runs on the work pool: submitted together, so any free worker takes each, then waited
for. A child that does not complete fails the parent with the child's own message."""

from __future__ import annotations

import time
from typing import Any

from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment

POLL_SECONDS = 1.0


class ChildFlowFailed(RuntimeError):
    """A child flow run ended in a state other than Completed."""


def deployment_of(flow_name: str) -> str:
    """nbadb names each deployment after its flow (orchestrate.prefect.deploy)."""
    return f"{flow_name}/{flow_name}"


def run_children(flow_name: str, parameters: list[dict[str, Any]]) -> list[FlowRun]:
    """Run the flow's deployment once per parameter set, side by side; their final flow runs."""
    submitted = [run_deployment(deployment_of(flow_name), parameters=p, timeout=0) for p in parameters]
    finished = [_final(run) for run in submitted]
    failed = [run for run in finished if not run.state or not run.state.is_completed()]
    if failed:
        raise ChildFlowFailed("; ".join(f"{run.name} ({flow_name}): {run.state.name if run.state else 'no state'}: "
                                        f"{run.state.message if run.state else ''}" for run in failed))
    return finished


def _final(run: FlowRun) -> FlowRun:
    """`run` as read once it reached a final state."""
    with get_client(sync_client=True) as client:
        while not (run.state and run.state.is_final()):
            time.sleep(POLL_SECONDS)
            run = client.read_flow_run(run.id)
    return run
