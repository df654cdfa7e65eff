"""Exit criteria as data: what a provider's own measurements must show before it enters a stage.

A criterion guards the entry into one stage (from the stage before it): a metric
(rollout.providers.metrics), a comparator, a threshold and the minimum number of game days the
provider must have spent in its current stage. The criteria in force are DEFAULT_CRITERIA overlaid
by what operators set (`nbadb providers set-criteria`, ops.provider_criteria: a row replaces the
default of its (stage, metric), a dropped row removes it), so a default changed in a later nbadb
reaches every warehouse that did not set its own.

The defaults ask, before a book's lines are looked at in earnest (shadow) and before they are
served (partial, full), for what the seven books of the bundled 2024-25 feed show on their
ordinary days: lines for most of the day's games, within half a point of the other books' consensus
for three in four players or more (their median difference is 0), taken under twelve hours before
tip-off (the feed's morning snapshot is 8-12 hours before), hardly anything quarantined; and, while
shadowed, recommendations that mostly agree with the served ones; while partly served, calls that hit
at its lines about as often as at the consensus.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import duckdb

from nbadb.pipeline.provider_stages import Stage

CRITERIA_TABLE = "ops.provider_criteria"


class Comparator(StrEnum):
    AT_LEAST = ">="
    AT_MOST = "<="
    ABOVE = ">"
    BELOW = "<"

    def holds(self, value: float, threshold: float) -> bool:
        return _OPERATORS[self](value, threshold)


_OPERATORS = {Comparator.AT_LEAST: operator.ge, Comparator.AT_MOST: operator.le, Comparator.ABOVE: operator.gt,
              Comparator.BELOW: operator.lt}


@dataclass(frozen=True)
class Criterion:
    stage: Stage  # the stage whose entry it guards
    metric: str
    comparator: Comparator
    threshold: float
    min_game_days: int

    def as_dict(self) -> dict[str, object]:
        return {"stage": self.stage.label, "metric": self.metric, "comparator": str(self.comparator),
                "threshold": self.threshold, "min_game_days": self.min_game_days}

    def __str__(self) -> str:
        return f"{self.metric} {self.comparator} {self.threshold:g} over at least {self.min_game_days} game days"


def _line_quality(stage: Stage, days: int) -> tuple[Criterion, ...]:
    return (
        Criterion(stage, "coverage_games", Comparator.AT_LEAST, 0.5, days),
        Criterion(stage, "agreement_within_half", Comparator.AT_LEAST, 0.75, days),
        Criterion(stage, "median_abs_diff", Comparator.AT_MOST, 0.5, days),
        Criterion(stage, "freshness_minutes", Comparator.AT_MOST, 720, days),
        Criterion(stage, "quarantine_rate", Comparator.AT_MOST, 0.05, days),
    )


DEFAULT_CRITERIA: tuple[Criterion, ...] = (
    Criterion(Stage.DARK, "lines_offered", Comparator.AT_LEAST, 1, 1),  # a book without data stays disabled
    *_line_quality(Stage.SHADOW, 5),
    *_line_quality(Stage.PARTIAL_ACTIVE, 5),
    Criterion(Stage.PARTIAL_ACTIVE, "shadow_agreement", Comparator.AT_LEAST, 0.8, 5),
    *_line_quality(Stage.FULL_ACTIVE, 5),
    Criterion(Stage.FULL_ACTIVE, "hit_rate_edge", Comparator.AT_LEAST, -0.05, 5),
)


def criteria_in_force(con: duckdb.DuckDBPyConnection) -> list[Criterion]:
    """Every criterion in force: the defaults, each (stage, metric) replaced or dropped by a stored row."""
    stored = {(Stage.from_label(s), m): (c, t, d, dropped) for s, m, c, t, d, dropped in con.execute(
        f"SELECT stage, metric, comparator, threshold, min_game_days, dropped FROM {CRITERIA_TABLE}").fetchall()}
    merged = {(c.stage, c.metric): c for c in DEFAULT_CRITERIA}
    for (stage, metric), (comparator, threshold, days, dropped) in stored.items():
        if dropped:
            merged.pop((stage, metric), None)
        else:
            merged[(stage, metric)] = Criterion(stage, metric, Comparator(comparator), threshold, days)
    return sorted(merged.values(), key=lambda c: (c.stage, c.metric))


def criteria_for(con: duckdb.DuckDBPyConnection, stage: Stage) -> list[Criterion]:
    """The criteria guarding the entry into `stage`."""
    return [c for c in criteria_in_force(con) if c.stage == stage]


def store(con: duckdb.DuckDBPyConnection, stage: Stage, metric: str, criterion: Criterion | None, actor: str,
          at: datetime) -> None:
    """Set (or, with `criterion` None, drop) the criterion of (stage, metric); inside the caller's transaction."""
    values = (str(criterion.comparator), criterion.threshold, criterion.min_game_days) if criterion else (None,) * 3
    con.execute(f"DELETE FROM {CRITERIA_TABLE} WHERE stage = ? AND metric = ?", [stage.label, metric])
    con.execute(f"INSERT INTO {CRITERIA_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [stage.label, metric, *values, criterion is None, at, actor])
