"""Settings from the environment (prefix NBADB_) with sensible defaults."""

from __future__ import annotations

import os
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from nbadb.errors import ConfigError

if TYPE_CHECKING:
    from nbadb.warehouse.lake import LakeLocation

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BUNDLED_ARCHIVE = PROJECT_ROOT / "data" / "archive"


Count = Annotated[int, Field(ge=0)]  # 0 or more
AtLeastOne = Annotated[int, Field(ge=1)]
Span = Annotated[float, Field(ge=0)]  # seconds or minutes, 0 or more
Positive = Annotated[float, Field(gt=0)]
SECRET_SETTINGS = frozenset({"api_token", "alert_webhooks"})  # never echoed, not even when invalid


def _faults(value: str) -> list[tuple[str, date | None, date | None]]:
    """NBADB_FAULT_PROCESSORS's items (`name`, `name@D`, `name@D1..D2`) as (name, first, last day),
    days None for every day; ValueError on a day that is not an ISO date."""
    faults = []
    for item in (p.strip() for p in value.split(",") if p.strip()):
        name, _, days = item.partition("@")
        first, _, last = days.partition("..")
        start = date.fromisoformat(first) if days else None
        faults.append((name, start, date.fromisoformat(last) if last else start))
    return faults


def _per_core(width: int) -> int:
    """A configured width, where 0 means one per core."""
    return width if width > 0 else max(1, os.cpu_count() or 1)


class Settings(BaseSettings):
    """Every knob nbadb reads. Override with environment variables, e.g. NBADB_DATA_DIR."""

    model_config = SettingsConfigDict(env_prefix="NBADB_", extra="ignore")

    data_dir: Path = Path("nbadb-data")
    archive_dir: Path = BUNDLED_ARCHIVE
    database_name: str = "nba.duckdb"
    # Default processing mode when the engine has no reason to pick another.
    default_mode: Literal["entity", "date"] = "entity"
    # Runs whose changed share of entities exceeds this go date mode (cheaper set-based work).
    date_mode_threshold: Annotated[float, Field(ge=0, le=1)] = 0.6
    # Durable circuit breakers (ops.circuit_breakers): consecutive failures that open one,
    # consecutive half-open successes that close it, first open timeout and its backoff cap.
    breaker_failures_to_open: AtLeastOne = 3
    breaker_successes_to_close: AtLeastOne = 2
    breaker_timeout_seconds: Positive = 1800.0
    breaker_max_timeout_seconds: Positive = 6 * 3600.0
    # Processing patterns (engine.policies). Each can be switched off; outputs stay identical.
    early_exit: bool = True
    smart_skip: bool = True
    processor_breakers: bool = True
    idempotency: bool = True
    data_version_shortcut: bool = True
    # Who runs the runs (engine.executors): `sequential` one at a time, `threads` the processors of
    # one wave side by side on `executor_width` connections (0: one per core), `prefect` each run a
    # Prefect task run (the `prefect` extra), as wide as `threads`.
    executor: str = "sequential"
    executor_width: Count = 0
    # How many models a part fits side by side when a run lacks several (gbm; each fit is one-threaded
    # and deterministic, so the width changes the time, never the models). 0: one per core.
    fit_width: Count = 0
    # Triggers for one processor within this many seconds of the first become one run (0: one run each).
    coalesce_window_seconds: Span = 30.0
    # Processor breakers: an open one lets a probe run through after this long (doubling per failed probe).
    processor_breaker_timeout_seconds: Positive = 1800.0
    # Backfill validation (monitor.validation): the levels whose failed checks stop a backfill; a
    # failed check of another level is a warning.
    backfill_blocking_levels: str = "1,3,4,5"
    # Fault injection: comma-separated processor names whose runs fail (to exercise breakers), each
    # optionally for some days only: `name@2023-11-01..2023-11-05` or `name@2023-11-01` (the run's
    # today, a replay's simulated day).
    fault_processors: str = ""
    # Fault injection: comma-separated processor part names (e.g. "gbm") that raise when run.
    fault_systems: str = ""
    # The storage track's lake (warehouse.lake): its catalog, `sqlite:<file>` (default
    # `<data dir>/lake/catalog.sqlite`) or `postgres:<libpq conninfo>`, and its Parquet folder
    # (default `<data dir>/lake/data`).
    lake_catalog: str = ""
    lake_data_dir: Path | None = None
    # A JSON manifest per run under <data dir>/manifests/ (orchestrate.manifests).
    manifests: bool = True
    # `nbadb serve`: the bearer token its control actions need (none: control actions are refused),
    # how many days back a restart catches up missed cycles, and where each cycle exports tables.
    api_token: SecretStr | None = None
    serve_catch_up_days: Count = 7
    export_dir: Path | None = None
    # Alerts (monitor.alerts): webhook URLs, comma-separated, each `URL` (generic JSON) or
    # `slack=URL`; an incident alerted within the dedupe window is not sent again.
    alert_webhooks: SecretStr = SecretStr("")
    alert_dedupe_minutes: Span = 360.0

    @field_validator("fault_processors")
    @classmethod
    def _fault_days(cls, value: str) -> str:
        _faults(value)  # ValueError on a day that is not a date: pydantic reports it with the variable
        return value

    @property
    def database_path(self) -> Path:
        return self.data_dir / self.database_name

    @property
    def lake_location(self) -> "LakeLocation":
        from nbadb.warehouse.lake import LakeLocation

        catalog = self.lake_catalog or f"sqlite:{self.data_dir / 'lake' / 'catalog.sqlite'}"
        return LakeLocation.parse(catalog, self.lake_data_dir or self.data_dir / "lake" / "data")

    @property
    def control_path(self) -> Path:
        """The migration control plane's own database (rollout.control): phases, evidence, audit."""
        return self.data_dir / "control.duckdb"

    @property
    def checked_cache_dir(self) -> Path:
        """The archive's files as checked, kept so that a file is checked once (sources.checked)."""
        return self.data_dir / "cache" / "checked"

    @property
    def models_dir(self) -> Path:
        """Fitted models shared between processes and machines (pipeline.systems.model_store)."""
        return self.data_dir / "models"

    @property
    def live_archive_dir(self) -> Path:
        """Where `nbadb fetch` materialises what it fetched, in the archive's file layouts."""
        return self.data_dir / "live" / "archive"

    @property
    def raw_archive_dir(self) -> Path:
        """Where the live source archives every stats.nba.com response, byte for byte."""
        return self.data_dir / "live" / "raw"

    @property
    def run_width(self) -> int:
        """How many runs of one wave the executor runs at once."""
        if self.executor == "sequential":
            return 1
        return _per_core(self.executor_width)

    @property
    def model_fit_width(self) -> int:
        """How many models a part fits at once (fit_width; 0: one per core)."""
        return _per_core(self.fit_width)

    def fault_injected(self, processor: str, day: date) -> bool:
        """True when NBADB_FAULT_PROCESSORS makes `processor`'s run for `day` fail."""
        return any(name == processor and (first is None or first <= day <= last)
                   for name, first, last in _faults(self.fault_processors))

    @property
    def faulty_parts(self) -> frozenset[str]:
        return frozenset(p.strip() for p in self.fault_systems.split(",") if p.strip())


def settings_problems(exc: ValidationError) -> str:
    """Each invalid setting as its environment variable, the value given (unless secret) and why."""
    problems = []
    for error in exc.errors():
        name = "_".join(str(part) for part in error["loc"][:1])
        given = "" if name in SECRET_SETTINGS else f"={error.get('input')!r}"
        problems.append(f"NBADB_{name.upper()}{given}: {error['msg'].removeprefix('Value error, ')}")
    return "; ".join(problems)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, from the environment; ConfigError naming every invalid variable."""
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigError(settings_problems(exc)) from None
