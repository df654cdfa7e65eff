"""The ledger's vocabulary: run statuses, skip reasons, optimizations and decisions as types.

Every word the ledger stores comes from here, so reports compare enum values and typed columns and
never parse prose. A decision is a record: its kind, the facts it rests on (typed values) and a
sentence for people; `ops.processor_runs.decisions_made` holds the list as JSON objects.

Words defined here:
- deferred skip: a skip that postpones the work rather than finding none (its trigger events
  stay pending, so a later run catches up);
- nothing to do: a skip that means the patterns worked (the inputs were already processed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Mapping


class Status(StrEnum):
    SUCCESS = "success"
    SKIPPED = "skipped"
    FAILED = "failed"
    PARTIAL = "partial"  # some part of the processor failed or was skipped; its entities stay unsigned


class SkipReason(StrEnum):
    NO_GAMES = "no_games"  # early exit: no game on the dates
    OFF_SEASON = "off_season"  # early exit: no game within two weeks either side
    TOO_HISTORICAL = "too_historical"  # early exit: older than the processor's max_days_back outside backfill
    FUTURE_DATE = "future_date"  # early exit: results cannot exist yet
    IRRELEVANT_SOURCE = "irrelevant_source"  # smart skip: every trigger is a table the processor does not read
    BREAKER_OPEN = "breaker_open"  # the processor's (or every part's) circuit breaker is open
    DUPLICATE_TRIGGER = "duplicate_trigger"  # idempotency: every trigger event was consumed already
    NO_CHANGES = "no_changes"  # data-version shortcut or change detection: inputs match the stored signatures
    MISSING_DEPENDENCY = "missing_dependency"  # a required input has too few rows for the dates
    STALE_DEPENDENCY = "stale_dependency"  # an input is older than its freshness rule
    FROZEN = "frozen"  # as-of snapshot dates whose tip-off has passed and that were already computed

    @property
    def early_exit(self) -> bool:
        return self in EARLY_EXITS

    @property
    def deferred(self) -> bool:
        return self in (SkipReason.BREAKER_OPEN, SkipReason.STALE_DEPENDENCY)

    @property
    def nothing_to_do(self) -> bool:
        return self in (SkipReason.NO_CHANGES, SkipReason.DUPLICATE_TRIGGER, SkipReason.FROZEN)


EARLY_EXITS = frozenset({SkipReason.NO_GAMES, SkipReason.OFF_SEASON, SkipReason.TOO_HISTORICAL,
                         SkipReason.FUTURE_DATE})


class Optimization(StrEnum):
    """A processing pattern that saved work in a run (`optimizations_used`)."""

    EARLY_EXIT = "early_exit"
    SMART_SKIP = "smart_skip"
    CIRCUIT_BREAKER = "circuit_breaker"
    IDEMPOTENT_TRIGGER = "idempotent_trigger"
    DATA_VERSION_SHORTCUT = "data_version_shortcut"
    CHANGE_DETECTION = "change_detection"
    ENTITY_LEVEL_PROCESSING = "entity_level_processing"
    COALESCED_TRIGGERS = "coalesced_triggers"
    FROZEN_DATES = "frozen_dates"


class DecisionKind(StrEnum):
    EARLY_EXIT = "early_exit"
    UNKNOWN_SOURCE = "unknown_source"  # smart skip fails open on a table nbadb does not know
    IRRELEVANT_SOURCE = "irrelevant_source"
    BREAKER_OPEN = "breaker_open"
    BREAKER_PROBE = "breaker_probe"
    BREAKER_OPENED = "breaker_opened"
    BREAKER_CLOSED = "breaker_closed"
    DUPLICATE_TRIGGERS = "duplicate_triggers"
    COALESCED_TRIGGERS = "coalesced_triggers"
    DATA_VERSION_SHORTCUT = "data_version_shortcut"
    MISSING_INPUT = "missing_input"
    STALE_INPUT = "stale_input"
    STALE_INPUT_WARNING = "stale_input_warning"
    UNCHANGED = "unchanged"
    FORCED = "forced"
    HELD_INCOMPLETE = "held_incomplete"  # republished entities that lost rows keep their stored version
    FROZEN = "frozen"  # as-of dates past tip-off left as they were said
    SNAPSHOTS = "snapshots"  # an as-of run computed in several published states (engine.snapshots)
    MODE = "mode"
    ROWS_QUARANTINED = "rows_quarantined"
    PART_SKIPPED_OPEN = "part_skipped_open"
    PART_NOT_READY = "part_not_ready"
    PART_FAILED = "part_failed"
    PARTIAL = "partial"


@dataclass(frozen=True)
class Decision:
    """One decision a run took: what kind, on which facts, said in a sentence."""

    kind: DecisionKind
    text: str
    facts: Mapping[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"kind": str(self.kind), "text": self.text, **({"facts": dict(self.facts)} if self.facts else {})}
