"""The canonical run request every processor run starts from, and the typed result it ends with."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Literal

from nbadb.engine.vocabulary import Decision, SkipReason, Status

if TYPE_CHECKING:
    from nbadb.engine.events import Event

RunMode = Literal["incremental", "full", "backfill"]
ProcessingMode = Literal["entity", "date"]


def new_run_id() -> str:
    return uuid.uuid4().hex[:16]


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


@dataclass(frozen=True)
class Trigger:
    """Why a run happens: the source table (or 'manual'/'schedule'), the events, the chain."""

    source: str = "manual"
    event_ids: tuple[str, ...] = ()
    chain: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    # The dates were asked for (by a user or a schedule), not only implied by events.
    requested: bool = True
    # The dispatcher planned this run from a read of the outbox that found no unconsumed event for
    # the processor (so the data-version shortcut need not read it again).
    none_pending: bool = False


@dataclass(frozen=True)
class SourceQuarantine:
    """Rows a source publication quarantined, as a raw run sees them: the entities they belong to,
    and whether some could not be attributed to any (a malformed key). A republished entity that
    would lose rows while some were quarantined keeps its stored version (engine.runner)."""

    entity_ids: frozenset[str] = frozenset()
    unattributed: bool = False

    def __bool__(self) -> bool:
        return bool(self.entity_ids) or self.unattributed


@dataclass(frozen=True)
class RunRequest:
    processor: str
    start_date: date
    end_date: date
    trigger: Trigger = field(default_factory=Trigger)
    mode: RunMode = "incremental"
    processing_mode: ProcessingMode | None = None
    entity_ids: tuple[str, ...] | None = None
    source_quarantine: SourceQuarantine = SourceQuarantine()
    force: bool = False
    # "Today" for early exit (a replay sets the simulated day); None: the latest scheduled date.
    as_of: date | None = None
    # The run's instant in the warehouse's world (engine.clock): when what it writes is published,
    # what freezes as-of dates and what the breakers time out on. None: the warehouse clock.
    run_as_of_ts: datetime | None = None
    run_id: str = field(default_factory=new_run_id)
    # Its `started` event was committed before it ran, with the other runs of its publication
    # (engine.ledger.announce), so the run does not commit one of its own.
    announced: bool = False


@dataclass
class RunMetrics:
    entities_in_scope: int = 0
    entities_changed: int = 0
    entities_processed: int = 0
    rows_written: int = 0
    triggers: int = 0  # outbox events this run was asked to consume (coalesced into it)
    duplicate_triggers: int = 0  # of those, already consumed by an earlier run (idempotency)
    rows_quarantined: int = 0  # output rows that broke a row rule
    entities_held: int = 0  # republished entities that lost rows and kept their stored version
    dates_frozen: int = 0  # as-of dates left as they were said before their cutoff

    @property
    def waste_pct(self) -> float | None:
        if not self.entities_processed:
            return None
        return 100.0 * (self.entities_processed - self.entities_changed) / self.entities_processed


@dataclass(frozen=True)
class ChangeSet:
    """What a run changed, read from `_changes` (forced re-runs of unchanged entities are work, not
    change): how many (entity, date) pairs, the dates, the entity ids, and `digest`
    (ops.processor_runs.change_signature: equal digests, equal changes): md5 of the decimal text of the
    sum of each pair's 64-bit number, the first 16 hex digits of md5("YYYY-MM-DD|entity") (an
    order-free digest). engine.signatures.change_set reads it."""

    count: int = 0
    dates: tuple[date, ...] = ()
    entity_ids: tuple[str, ...] = ()
    digest: str | None = None


@dataclass
class RunResult:
    run_id: str
    processor: str
    status: Status
    skip_reason: SkipReason | None = None
    processing_mode: ProcessingMode | None = None
    metrics: RunMetrics = field(default_factory=RunMetrics)
    error: str | None = None
    decisions: list[Decision] = field(default_factory=list)
    changes: ChangeSet = field(default_factory=ChangeSet)
    event: Event | None = None  # the outbox event this run published
    duration_ms: float = 0.0
