"""`nbadb prefect deploy`: the process work pool, the global concurrency limits and one deployment
per flow, each named after its flow. Schedules are cron in America/New_York:

- nbadb-daily: the morning at 10:00 (the day's schedule, injuries, lines; predictions before tip)
  and the night at 03:00 (the box scores of the day that just ended);
- nbadb-live-poll: every 15 minutes from 19:00 to 01:45 while games are on;
- nbadb-fetch-day, nbadb-train, nbadb-write-batch, nbadb-backfill: no schedule (a backfill is
  started by hand and fans out into the others).
A scheduled run on a day without games checks the league calendar first and ends `Skipped`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from prefect import Flow, deploy
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.exceptions import ObjectNotFound
from prefect.schedules import Cron, Schedule
from prefect.types.entrypoint import EntrypointType
from prefect.workers.process import ProcessWorker

from nbadb.orchestrate.prefect import flows, limits

TIMEZONE = "America/New_York"
DEFAULT_POOL = "nbadb"


@dataclass(frozen=True)
class DeploymentPlan:
    flow: Flow[..., Any]
    tags: tuple[str, ...]
    schedules: tuple[Schedule, ...] = field(default=())

    @property
    def name(self) -> str:
        return self.flow.name


def plans() -> tuple[DeploymentPlan, ...]:
    writer, nba_api = (limits.TAG, limits.WRITER_TAG), (limits.TAG, limits.NBA_API_TAG)
    return (
        DeploymentPlan(flows.daily_flow, (*writer, limits.ARCHIVE_TAG), (
            Cron("0 10 * * *", timezone=TIMEZONE, parameters={"part": "morning"}, slug="morning"),
            Cron("0 3 * * *", timezone=TIMEZONE, parameters={"part": "night"}, slug="night"),
        )),
        DeploymentPlan(flows.live_poll_flow, (*writer, limits.NBA_API_TAG), (
            Cron("*/15 19-23 * * *", timezone=TIMEZONE, slug="evening"),
            Cron("*/15 0-1 * * *", timezone=TIMEZONE, slug="after-midnight"),
        )),
        DeploymentPlan(flows.fetch_day_flow, nba_api),
        DeploymentPlan(flows.train_flow, (limits.TAG, limits.TRAINING_TAG)),
        DeploymentPlan(flows.write_batch_flow, writer),
        DeploymentPlan(flows.backfill_flow, (limits.TAG,)),
    )


def ensure_pool(pool: str) -> bool:
    """Create the process work pool unless it exists; True when it was created."""
    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(pool)
            return False
        except ObjectNotFound:
            client.create_work_pool(WorkPoolCreate(
                name=pool, type="process", base_job_template=ProcessWorker.get_default_base_job_template()))
            return True


def deploy_all(pool: str = DEFAULT_POOL, fetch_concurrency: int = limits.DEFAULT_FETCH_CONCURRENCY) -> list[str]:
    """Pool, limits and deployments; the deployments' names."""
    ensure_pool(pool)
    limits.ensure_limits(fetch_concurrency)
    deployments = [p.flow.to_deployment(p.name, schedules=list(p.schedules), tags=list(p.tags),
                                        entrypoint_type=EntrypointType.MODULE_PATH) for p in plans()]
    deploy(*deployments, work_pool_name=pool, build=False, push=False, print_next_steps_message=False,
           ignore_warnings=True)
    return [f"{p.name}/{p.name}" for p in plans()]
