"""A processor declared as data: what it reads, what it writes, its grain and its SQL."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Callable, Literal

if TYPE_CHECKING:
    import polars as pl

    from nbadb.engine.parts import PartInputs

Propagation = Literal["same_date", "following_dates"]
# What a processor's rows are (engine.runner enforces the difference):
# - current_truth: always the latest published facts; the table is versioned (a restated row's old
#   version moves to `<table>_history` with the time it was superseded), so "what did we know at T"
#   is a query over `<table>_versions`;
# - as_of: rows for date D computed only from what was published before D's cutoff (engine.clock),
#   frozen once the clock has passed it.
TableKind = Literal["current_truth", "as_of"]


def known_view(table: str) -> str:
    """The temp view under which an as-of processor reads current-truth `table` as it was published
    at its dates' cutoffs (engine.snapshots builds it for each snapshot of the run)."""
    return "_known_" + table.replace(".", "__")


@dataclass(frozen=True)
class InputSpec:
    """One table a processor reads, with its dependency rules (engine.policies.dependencies).

    `required`: the run is skipped `missing_dependency` when this input has fewer than `min_rows`
    rows for the dates. Freshness (age = now − newest `ingested_at` of those rows): older than
    `max_age_warn_hours` → a warning in decisions_made; older than `max_age_fail_hours` →
    skipped `stale_dependency`. `lag_days`: an event from this input on date d concerns this
    processor's rows from d + lag_days on (as-of processors read only games before their date).
    `read_on_its_date`: an as-of processor reads a row of it only for the date its date column
    names plus lag_days (prop lines, for their game's date), so the row is checked against that
    date's cutoff alone (engine.snapshots).
    """

    table: str
    date_column: str = "game_date"
    required: bool = True
    lag_days: int = 0
    min_rows: int = 1
    max_age_warn_hours: float | None = None
    max_age_fail_hours: float | None = None
    read_on_its_date: bool = False


@dataclass(frozen=True)
class Patterns:
    """How the engine's patterns treat a processor (engine.policies). They save work and never
    change results, so they are not part of the code version.

    `relevant_sources`: tables whose triggers concern it (None: its input tables); a trigger only
    from other known tables is skipped `irrelevant_source`. `needs_games`: exit early on dates
    without scheduled games. `needs_results`: exit early on dates after the run's today.
    `max_days_back`: exit early on dates older than that outside backfill mode.
    `failures_to_open` (`backfill_failures_to_open` in backfill mode): consecutive failed runs
    that open the processor's durable breaker.
    """

    relevant_sources: frozenset[str] | None = None
    needs_games: bool = False
    needs_results: bool = False
    max_days_back: int | None = None
    failures_to_open: int = 5
    backfill_failures_to_open: int = 10



@dataclass(frozen=True)
class OutputCheck:
    """A contract rule on transform output: `violation_sql` is a predicate true for bad rows.

    A row rule (the default) guards against bad input: the rows that break it go to ops.quarantine
    with the rule's name and the rest of the date is written. An `invariant` holds for any input
    when the transform is right, so breaking it is a defect of the transform: the run fails."""

    name: str
    violation_sql: str
    invariant: bool = False


@dataclass(frozen=True)
class PartSpec:
    """An independent piece of a processor's work, guarded by its own durable breaker.

    The engine runs each part before the transform (see engine.parts): it executes the `reads`
    queries (`(frame name, SQL)`; the SQL may use `$start`, `$end` and `_scope`), calls the pure
    `compute(frames) -> frame` (frames: engine.parts.PartInputs), and exposes the result as temp view `_part_<name>` with `columns`
    for the transform_sql to read. A part that raises, or whose breaker is open, leaves that view
    empty and makes the run `partial`. `version` names the compute code (it is part of the
    processor's code version). The breakers' thresholds are the configured ones (NBADB_BREAKER_*).
    """

    name: str
    compute: Callable[[PartInputs], pl.DataFrame] = field(compare=False, repr=False)
    reads: tuple[tuple[str, str], ...]
    columns: tuple[tuple[str, str], ...]
    version: str

    @property
    def table(self) -> str:
        return f"_part_{self.name}"


@dataclass(frozen=True)
class ProcessorSpec:
    """Everything the engine needs to run a processor. Output table = `name`.

    `transform_sql` selects the output columns. It may reference `$start` / `$end` and the temp
    table `_scope(entity_id VARCHAR, game_date DATE)` listing the entities to (re)compute.
    `signature_sql` selects `(entity_id, game_date, part_hash)` rows describing every input an
    output entity depends on. None means a row is its own signature: the engine runs the transform
    for every entity of the dates and detects change on the hashed output (a source's normalised
    rows, or rows that are exactly the facts they are built from), so the work is never done twice.
    An as-of processor reads a current-truth input as published by naming `known_view(table)` in
    its SQL (engine.snapshots); such inputs are its `known_inputs`.
    """

    name: str
    phase: int
    inputs: tuple[InputSpec, ...]
    entity_key: str
    transform_sql: str
    signature_sql: str | None = None
    date_column: str = "game_date"
    checks: tuple[OutputCheck, ...] = ()
    propagation: Propagation = "same_date"
    description: str = ""
    settings: tuple[tuple[str, object], ...] = field(default_factory=tuple)
    parts: tuple[PartSpec, ...] = ()
    patterns: Patterns = Patterns()
    kind: TableKind = "current_truth"

    @property
    def output_table(self) -> str:
        return self.name

    @property
    def versioned(self) -> bool:
        """Current-truth tables keep every version of a restated row (see TableKind)."""
        return self.kind == "current_truth"

    @property
    def signed_by_output(self) -> bool:
        """True when a row is its own signature (no `signature_sql`): see the class docstring."""
        return self.signature_sql is None

    @property
    def input_tables(self) -> frozenset[str]:
        return frozenset(i.table for i in self.inputs)

    @cached_property
    def known_inputs(self) -> tuple[InputSpec, ...]:
        """The inputs its SQL reads as published, through their `known_view`."""
        sql = self.transform_sql + (self.signature_sql or "")
        return tuple(i for i in self.inputs if known_view(i.table) in sql)

    @property
    def relevant_sources(self) -> frozenset[str]:
        return self.patterns.relevant_sources if self.patterns.relevant_sources is not None else self.input_tables

    @cached_property
    def code_version(self) -> str:
        """Hash of everything that decides the output: SQL, grain, checks and settings."""
        text = "\x1f".join(
            [
                self.transform_sql,
                self.signature_sql or "",
                self.entity_key,
                self.date_column,
                self.kind,
                repr(self.checks),
                repr(self.settings),
                *([repr(self.parts)] if self.parts else []),  # processors without parts keep their version
            ]
        )
        return hashlib.md5(text.encode()).hexdigest()[:12]
