"""A processor declared as data: what it reads, what it writes, its grain and its SQL."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

Propagation = Literal["same_date", "following_dates"]


@dataclass(frozen=True)
class InputSpec:
    """One table a processor reads.

    `required`: the run is skipped `missing_dependency` when this input has no rows for the dates.
    """

    table: str
    date_column: str = "game_date"
    required: bool = True


@dataclass(frozen=True)
class OutputCheck:
    """A contract rule on transform output: `violation_sql` is a predicate true for bad rows."""

    name: str
    violation_sql: str


@dataclass(frozen=True)
class ProcessorSpec:
    """Everything the engine needs to run a processor. Output table = `name`.

    `transform_sql` selects the output columns. It may reference `$start` / `$end` and the temp
    table `_scope(entity_id VARCHAR, game_date DATE)` listing the entities to (re)compute.
    `signature_sql` selects `(entity_id, game_date, part_hash)` rows describing every input an
    output entity depends on; None means the processor reads a source and its change is detected
    on its normalised output instead.
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

    @property
    def output_table(self) -> str:
        return self.name

    @property
    def input_tables(self) -> frozenset[str]:
        return frozenset(i.table for i in self.inputs)

    @cached_property
    def code_version(self) -> str:
        """Hash of everything that decides the output: SQL, grain, checks and settings."""
        text = "\x1f".join(
            [
                self.transform_sql,
                self.signature_sql or "",
                self.entity_key,
                self.date_column,
                repr(self.checks),
                repr(self.settings),
            ]
        )
        return hashlib.md5(text.encode()).hexdigest()[:12]
