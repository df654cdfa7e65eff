"""Prefect as nbadb's executor and scheduler (the `prefect` extra): processor runs as task runs,
flows for the daily cycle, live polling, one-day fetches, model training and backfills, and the
deployments, work pool and concurrency limits `nbadb prefect deploy` creates. Only these modules
import Prefect; nothing outside this package imports them except on request (NBADB_EXECUTOR=prefect,
`nbadb prefect ...`)."""
