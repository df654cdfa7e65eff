"""The processor graph derived from declared inputs and outputs, checked when it is loaded."""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter

from nbadb.engine.spec import ProcessorSpec
from nbadb.errors import SpecError


class ProcessorGraph:
    """Processors keyed by name, in an order where every producer precedes its consumers."""

    def __init__(self, specs: list[ProcessorSpec], source_tables: frozenset[str]) -> None:
        self.specs: dict[str, ProcessorSpec] = {}
        self.source_tables = source_tables
        for spec in specs:
            if spec.name in self.specs:
                raise SpecError(f"two processors write {spec.name}")
            self.specs[spec.name] = spec
        for spec in specs:
            for table in spec.input_tables:
                if table not in self.specs and table not in source_tables:
                    raise SpecError(
                        f"{spec.name} reads {table}, which no processor writes and no source provides"
                    )
            _check_known_inputs(spec, self.specs, source_tables)
        graph = {s.name: {t for t in s.input_tables if t in self.specs} for s in specs}
        try:
            self.order: list[str] = list(TopologicalSorter(graph).static_order())
        except CycleError as exc:
            raise SpecError(f"processor inputs form a cycle: {' -> '.join(exc.args[1])}") from exc

    def consumers_of(self, table: str) -> list[ProcessorSpec]:
        return [self.specs[n] for n in self.order if table in self.specs[n].input_tables]

    def in_phases(self, phases: set[int]) -> list[ProcessorSpec]:
        return [self.specs[n] for n in self.order if self.specs[n].phase in phases]

    def waves(self, specs: list[ProcessorSpec]) -> list[list[ProcessorSpec]]:
        """`specs` in waves: a processor reads nothing that one of `specs` in its own or a later
        wave writes, so the processors of one wave can run side by side, each wave after the last."""
        chosen = {s.name: s for s in specs}
        level: dict[str, int] = {}
        for name in self.order:  # producers first
            if name in chosen:
                level[name] = 1 + max((level[t] for t in chosen[name].input_tables if t in level), default=-1)
        waves: list[list[ProcessorSpec]] = [[] for _ in range(max(level.values(), default=-1) + 1)]
        for name, n in level.items():
            waves[n].append(chosen[name])
        return waves


def _check_known_inputs(spec: ProcessorSpec, specs: dict[str, ProcessorSpec], source_tables: frozenset[str]) -> None:
    """Only an as-of processor reads inputs as published, only versioned ones (sources and
    current-truth tables), and never together with parts (which see the whole run's dates)."""
    for i in spec.known_inputs:
        if spec.kind != "as_of":
            raise SpecError(f"{spec.name} reads {i.table} as published but is not an as-of processor")
        if i.table not in source_tables and not specs[i.table].versioned:
            raise SpecError(f"{spec.name} reads {i.table} as published, but {i.table} keeps no versions")
    if spec.known_inputs and spec.parts:
        raise SpecError(f"{spec.name} has parts and reads inputs as published: parts see one snapshot only")
