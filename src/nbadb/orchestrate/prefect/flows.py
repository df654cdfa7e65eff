"""nbadb's Prefect flows. Each opens the warehouse only under the one-writer lease, checks the
league calendar before any work and ends `Skipped` (a Completed state) on a day without games.

- `nbadb-daily`: a day's morning or night, from an archive folder (the simulated morning/night of
  replay.morning_of / night_of) or live (`nbadb-live-poll`'s work);
- `nbadb-live-poll`: fetch the day from stats.nba.com, publish it, run the pipeline for it;
- `nbadb-fetch-day`: one day into the live archive folder, live or from the raw archive; no
  warehouse (a backfill fans these out across workers);
- `nbadb-train`: one (system, target)'s models into the shared model store; no warehouse;
- `nbadb-write-batch`: a backfill batch's warehouse writes (some phases), under the lease;
- `nbadb-backfill`: fetches fanned out, then per batch: write phases 2-4, train fanned out, write
  phase 5; children run as deployments on whichever worker of the pool is free.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from prefect import flow
from prefect.states import Completed, Failed, State

from nbadb.config import get_settings
from nbadb.engine.request import RunResult
from nbadb.engine.vocabulary import Status
from nbadb.orchestrate.prefect import limits
from nbadb.orchestrate.batches import BatchRunner, set_based_batch
from nbadb.orchestrate.prefect.children import run_children

EASTERN = ZoneInfo("America/New_York")
PARTS = ("morning", "night")
SOURCES = ("archive", "live")


def eastern_day(part: str, now: datetime | None = None) -> date:
    """The day a scheduled run serves: today (US Eastern) in the morning; at night the day whose
    games just ended (a night run after midnight serves the day before)."""
    now = now or datetime.now(EASTERN)
    return (now - timedelta(hours=12)).date() if part == "night" else now.date()


def _choice(value: str, name: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"{name} {value!r}: use one of {', '.join(choices)}")
    return value


def _day(text: str | None, part: str = "morning") -> date:
    if text is None:
        return eastern_day(part)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"day {text!r} is not a date; use YYYY-MM-DD") from None


def skipped(message: str) -> State:
    return Completed(name="Skipped", message=message)


def finished(results: list[RunResult], what: str) -> State:
    """Failed naming every failed run (with nbadb's error), else Completed with the counts."""
    failed = [r for r in results if r.status == Status.FAILED]
    if failed:
        return Failed(message=f"{what}: {len(failed)} runs failed: "
                      + "; ".join(f"{r.processor} run {r.run_id}: {r.error}" for r in failed))
    skips = sum(r.status == Status.SKIPPED for r in results)
    return Completed(message=f"{what}: {len(results) - skips} runs did work, {skips} skipped")


def worker() -> str:
    """The Prefect worker running this flow run (the process worker sets it), else this process."""
    return os.environ.get("PREFECT__WORKER_NAME") or f"pid {os.getpid()}"


def _poll(day: date) -> State:
    from nbadb.orchestrate.daily import run_pipeline
    from nbadb.orchestrate.fetch import fetch_to_archive, raw_source
    from nbadb.orchestrate.ingest import ingest_dates

    settings = get_settings()
    with limits.warehouse_lease(settings, settings.live_archive_dir) as ws:
        calendar = ws.engine.calendar()
        if calendar.is_live(day) and not calendar.games_between(day, day):
            return skipped(f"no game on {day} in the league calendar: nothing fetched")
        source = raw_source(settings.raw_archive_dir, from_raw=False, con=ws.con,
                            before_request=limits.before_stats_nba_request)
        with limits.nba_api_fetch_slot():
            fetched = fetch_to_archive(source, day, settings.live_archive_dir)
        if not fetched.games:
            return skipped(f"no game on {day} on the scoreboard: nothing to publish")
        published = ingest_dates(ws, day, day).results
        return finished(published + run_pipeline(ws, (day, day)), f"live {day}")


@flow(name="nbadb-live-poll")
def live_poll_flow(day: str | None = None) -> State:
    """Fetch `day` (default: today, US Eastern) from stats.nba.com, publish it, run the pipeline."""
    return _poll(_day(day))


@flow(name="nbadb-daily")
def daily_flow(part: str = "morning", day: str | None = None, source: str = "archive",
               archive: str | None = None) -> State:
    """The morning or night of `day` (default: the day the part serves, US Eastern)."""
    from nbadb.orchestrate.replay import morning_of, night_of

    _choice(part, "part", PARTS)
    _choice(source, "source", SOURCES)
    served = _day(day, part)
    if source == "live":
        return _poll(served)
    with limits.warehouse_lease(get_settings(), Path(archive) if archive else None) as ws:
        if not ws.source.game_dates(served, served):
            return skipped(f"no game on {served} in the archive's league calendar: nothing to do")
        if part == "morning":
            _, published, runs = morning_of(ws, served)
        else:
            published, runs = night_of(ws, served)
    return finished(published + runs, f"{part} of {served}")


@flow(name="nbadb-fetch-day")
def fetch_day_flow(day: str, from_raw: bool = False, raw: str | None = None, out: str | None = None) -> State:
    """One day into the live archive folder (`out`), live or re-parsed from the raw archive (`raw`)."""
    from nbadb.orchestrate.fetch import fetch_to_archive, raw_source

    settings = get_settings()
    raw_dir, out_dir = Path(raw or settings.raw_archive_dir), Path(out or settings.live_archive_dir)
    served = _day(day)
    if from_raw:
        outcome = fetch_to_archive(raw_source(raw_dir, from_raw=True), served, out_dir)
    else:
        with limits.nba_api_fetch_slot():
            source = raw_source(raw_dir, from_raw=False, before_request=limits.before_stats_nba_request)
            outcome = fetch_to_archive(source, served, out_dir)
    return Completed(message=f"fetched {served} on {worker()}: {outcome.games} games, {len(outcome.files)} files")


@flow(name="nbadb-train")
def train_flow(inputs: str, system: str, target: str) -> State:
    """Fit one (system, target)'s models from exported training inputs into the shared model store."""
    from nbadb.orchestrate.training import train

    fitted = train(Path(inputs), system, target, get_settings().models_dir)
    return Completed(message=f"trained {system}/{target} on {worker()}: {len(fitted)} models fitted")


@flow(name="nbadb-write-batch")
def write_batch_flow(start: str, end: str, phases: list[int], archive: str | None = None,
                     export_training_to: str | None = None) -> State:
    """A backfill batch's warehouse writes for `phases`, under the writer lease; then, when asked,
    the training inputs of the batch's prediction dates."""
    return write_batch(start, end, phases, archive, export_training_to, set_based_batch)


def write_batch(start: str, end: str, phases: list[int], archive: str | None, export_training_to: str | None,
                run_batch: BatchRunner) -> State:
    from nbadb.orchestrate.training import export_training_inputs

    lo, hi = _day(start), _day(end)
    with limits.warehouse_lease(get_settings(), Path(archive) if archive else None) as ws:
        results = run_batch(ws, lo, hi, frozenset(phases))
        if export_training_to:
            export_training_inputs(ws, lo, hi, Path(export_training_to))
    return finished(results, f"batch {lo}..{hi} phases {sorted(phases)} on {worker()}")


@flow(name="nbadb-backfill")
def backfill_flow(start: str, end: str, source: str = "archive", archive: str | None = None,
                  raw: str | None = None, batch_days: int = 30) -> State:
    """Backfill [start, end]: from an archive folder (`archive`), or fetched first — `live` from
    stats.nba.com, `raw` re-parsed from the raw archive — into the live archive folder."""
    _choice(source, "source", ("archive", "live", "raw"))
    lo, hi = _day(start), _day(end)
    if lo > hi or batch_days < 1:
        raise ValueError(f"backfill {lo}..{hi} in batches of {batch_days} days: give start <= end and batch_days >= 1")
    settings = get_settings()
    if source != "archive":
        archive = str(settings.live_archive_dir)
        days = [lo + timedelta(days=i) for i in range((hi - lo).days + 1)]
        run_children("nbadb-fetch-day", [{"day": str(d), "from_raw": source == "raw", "raw": raw, "out": archive}
                                         for d in days])
    return backfill_batches(lo, hi, batch_days, archive, settings.data_dir / "training")


def backfill_batches(start: date, end: date, batch_days: int, archive: str | None, training_root: Path) -> State:
    """Per batch of `batch_days` days: phases 2-4 written (and the training inputs exported), every
    (system, target) trained on the pool, then phase 5 written with the trained models."""
    from nbadb.orchestrate.training import training_jobs

    batches, lo = [], start
    while lo <= end:
        hi = min(end, lo + timedelta(days=batch_days - 1))
        batches.append((lo, hi))
        lo = hi + timedelta(days=1)
    for lo, hi in batches:
        inputs = training_root / f"{lo}_{hi}"
        run_children("nbadb-write-batch", [{"start": str(lo), "end": str(hi), "phases": [2, 3, 4], "archive": archive,
                                             "export_training_to": str(inputs)}])
        run_children("nbadb-train", [{"inputs": str(inputs), "system": s, "target": t} for s, t in training_jobs()])
        run_children("nbadb-write-batch", [{"start": str(lo), "end": str(hi), "phases": [5], "archive": archive}])
    return Completed(message=f"backfilled {start}..{end} in {len(batches)} batches")
