"""Gap repair (smart backfill): run every gap through the real pipeline, oldest date first.

Each gap becomes one `run_pipeline((d, d), processors={P}, mode="backfill")` call, so it goes through
the whole engine lifecycle (prechecks, change detection, breakers, one transaction) and lands in
the ledger with run_mode `backfill`. Gaps of the same date run in graph order, so a repaired
producer is in place before its consumers run. What a repaired run changed is published to the
outbox as usual.

A repair can open gaps further down: a consumer held back on a date because its producer's rows
were missing (missing_dependency) has upstream data once the producer is repaired. So the gaps are
found again after each round and the new ones filled, until a round finds none it has not tried
(a gap that a round could not fill is not tried again).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Callable

from nbadb.engine.request import RunResult
from nbadb.monitor.gaps import Gap
from nbadb.orchestrate.daily import run_pipeline
from nbadb.orchestrate.workspace import Workspace
from nbadb.warehouse.connection import duckdb_threads


@dataclass
class FillOutcome:
    """The runs a fill made, one list per gap, in the order they ran."""

    runs: list[tuple[Gap, list[RunResult]]] = field(default_factory=list)

    @property
    def outcomes(self) -> Counter[str]:
        """How the runs ended: `success`, `partial`, `failed`, or `skipped:<reason>`."""
        return Counter(
            r.status + (f":{r.skip_reason}" if r.skip_reason else "") for _, results in self.runs for r in results
        )

    @property
    def filled(self) -> int:
        """Gaps a run wrote (success or partial); a skipped one (a frozen date, say) is not filled."""
        return sum(any(r.status in ("success", "partial") for r in results) for _, results in self.runs)

    @property
    def failed(self) -> int:
        return sum(r.status == "failed" for _, results in self.runs for r in results)

    def as_dict(self) -> dict[str, object]:
        return {
            "gaps": len(self.runs),
            "filled": self.filled,
            "outcomes": dict(self.outcomes),
            "runs": [
                {**gap.as_dict(), "run_id": r.run_id, "status": r.status, "skip_reason": r.skip_reason,
                 "error": r.error}
                for gap, results in self.runs for r in results
            ],
        }


def fill_order(ws: Workspace, gaps: list[Gap]) -> list[Gap]:
    """Oldest date first; on one date, producers before consumers."""
    rank = {name: i for i, name in enumerate(ws.graph.order)}
    return sorted(gaps, key=lambda g: (g.game_date, rank[g.processor]))


def fill_gaps(
    ws: Workspace, find: Callable[[], list[Gap]], *, on_round: Callable[[list[Gap]], None] | None = None,
    on_gap: Callable[[Gap, list[RunResult]], None] | None = None,
) -> FillOutcome:
    """Run each gap `find` returns in backfill mode, round after round (see the module docstring);
    `on_round` is told of each round's gaps before they run, `on_gap` after each one."""
    outcome = FillOutcome()
    tried: set[tuple[str, date]] = set()
    with duckdb_threads(ws.con, 1):  # one date of one processor per run: small statements
        while todo := [g for g in find() if (g.processor, g.game_date) not in tried]:
            if on_round:
                on_round(todo)
            for gap in fill_order(ws, todo):
                tried.add((gap.processor, gap.game_date))
                results = run_pipeline(ws, (gap.game_date, gap.game_date), processors=frozenset({gap.processor}),
                                       mode="backfill")
                outcome.runs.append((gap, results))
                if on_gap:
                    on_gap(gap, results)
    return outcome
