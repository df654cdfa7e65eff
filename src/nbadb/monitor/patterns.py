"""The patterns report: how often each processing pattern fired, what it saved, and the decision
rules of issue 5 — every number computed from the run ledger (plus the open gaps), none typed in.

Per pattern, over the runs whose dates start on or after `since`:

- fired: runs where the pattern decided something (see `PATTERNS` for each predicate);
- runs saved: runs that did no work because of it (each skip counts 1; a coalesced run of N
  triggers saves N − 1 runs; entity-level processing and gap repair save none);
- entities saved: entity-processing avoided. For skips, Σ entities_in_scope of the skipped runs —
  runs that stop before change detection record 0, so for early exit, smart skip, breakers,
  idempotency and the data-version shortcut this is a lower bound. For entity-level processing,
  Σ (entities_in_scope − entities_processed) over single-date entity-mode runs: on one date, date
  mode would have processed every entity in scope; for a multi-date run the ledger cannot tell how
  many dates changed, so those runs add nothing. Coalescing and gap repair: not measurable (null).

Decision rules (time base: the game dates the runs cover, as in the waste report):

- add caching: minutes spent in slow runs (duration ≥ `SLOW_RUN_SECONDS`) per active day (a game
  date some run started on) exceed 20;
- add idempotency: duplicate triggers exceed 10 % of triggers. Triggers = Σ per run its outbox
  events (ledger column `triggers`, at least 1 for a run asked directly); duplicates = Σ
  `duplicate_triggers`;
- add backfill automation: gaps exceed 3 per week. Gaps = processor-dates repaired by backfill
  runs + gaps open now (`nbadb gaps`); weeks = the span of the runs' game dates / 7, at least 1.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

import duckdb

from nbadb.engine.dag import ProcessorGraph
from nbadb.engine.vocabulary import EARLY_EXITS
from nbadb.monitor.gaps import find_gaps
from nbadb.monitor.waste import SPAN_WEEKS_SQL
from nbadb.warehouse.connection import execute

SLOW_RUN_SECONDS = 60.0
CACHING_MINUTES_PER_DAY = 20.0
IDEMPOTENCY_DUPLICATE_SHARE = 0.10
BACKFILL_GAPS_PER_WEEK = 3.0
EARLY_EXIT_REASONS = tuple(str(r) for r in sorted(EARLY_EXITS))

# The ledger rows in the window, with the typed facts the patterns read (no prose is parsed).
_RUNS_SQL = """SELECT * REPLACE (greatest(coalesce(triggers, 0), 1) AS triggers),
        from_json(coalesce(optimizations_used, '[]'), '["VARCHAR"]') AS opts,
        coalesce(duplicate_triggers, 0) AS duplicates
    FROM ops.processor_runs WHERE $since IS NULL OR start_date >= $since"""


@dataclass(frozen=True)
class Pattern:
    """How to read one pattern from a ledger row: SQL over the columns of `_RUNS_SQL`."""

    name: str
    fired: str
    runs_saved: str | None
    entities_saved: str | None


_SKIPPED_SCOPE = "coalesce(entities_in_scope, 0)"
PATTERNS: tuple[Pattern, ...] = (
    Pattern("early_exit", f"skip_reason IN {EARLY_EXIT_REASONS}", "1", _SKIPPED_SCOPE),
    Pattern("smart_skip", "skip_reason = 'irrelevant_source'", "1", _SKIPPED_SCOPE),
    Pattern("circuit_breaker", "skip_reason = 'breaker_open'", "1", _SKIPPED_SCOPE),
    Pattern("idempotency", "skip_reason = 'duplicate_trigger' OR duplicates > 0",
            "(skip_reason = 'duplicate_trigger')::INTEGER",
            f"CASE WHEN skip_reason = 'duplicate_trigger' THEN {_SKIPPED_SCOPE} ELSE 0 END"),
    Pattern("data_version_shortcut", "skip_reason = 'no_changes' AND list_contains(opts, 'data_version_shortcut')",
            "1", _SKIPPED_SCOPE),
    Pattern("change_detection", "skip_reason = 'no_changes' AND NOT list_contains(opts, 'data_version_shortcut')",
            "1", _SKIPPED_SCOPE),
    Pattern("entity_level_processing", "processing_mode = 'entity' AND status IN ('success', 'partial')", "0",
            "CASE WHEN start_date = end_date THEN entities_in_scope - entities_processed ELSE 0 END"),
    Pattern("coalescing", "triggers > 1", "greatest(triggers - 1, 0)", None),
    Pattern("frozen_as_of_dates", "coalesce(dates_frozen, 0) > 0", "(skip_reason = 'frozen')::INTEGER", None),
    Pattern("gap_repair", "run_mode = 'backfill'", None, None),
)


@dataclass(frozen=True)
class PatternRow:
    pattern: str
    fired: int
    share_of_runs_pct: float
    runs_saved: int | None
    entities_saved: int | None


@dataclass(frozen=True)
class Rule:
    rule: str
    measure: str
    value: float
    threshold: float

    @property
    def triggered(self) -> bool:
        return self.value > self.threshold


@dataclass(frozen=True)
class PatternsReport:
    runs: int
    patterns: list[PatternRow]
    rules: list[Rule]

    @property
    def runs_saved(self) -> dict[str, int]:
        """The runs each processing pattern saved (the waste report's third answer, monitor.waste)."""
        return {p.pattern: p.runs_saved or 0 for p in self.patterns}

    def as_dict(self) -> dict[str, object]:
        return {"runs": self.runs, "patterns": [asdict(p) for p in self.patterns],
                "rules": [{**asdict(r), "triggered": r.triggered} for r in self.rules]}


def _aggregates() -> str:
    """One select list: per pattern fired / runs saved / entities saved, then the rule inputs."""
    columns = []
    for p in PATTERNS:
        columns.append(f"count(*) FILTER (WHERE {p.fired})")
        for expr in (p.runs_saved, p.entities_saved):
            columns.append("NULL" if expr is None else f"coalesce(sum({expr}) FILTER (WHERE {p.fired}), 0)")
    return ", ".join([
        "count(*)", *columns,
        f"coalesce(sum(duration_ms) FILTER (WHERE duration_ms >= {SLOW_RUN_SECONDS * 1000}), 0) / 60000.0",
        "count(DISTINCT start_date)", "coalesce(sum(triggers), 0)", "coalesce(sum(duplicates), 0)",
        "count(*) FILTER (WHERE run_mode = 'backfill' AND status IN ('success', 'partial'))",
        f"coalesce({SPAN_WEEKS_SQL}, 1.0)",
    ])


def patterns_report(con: duckdb.DuckDBPyConnection, graph: ProcessorGraph, since: date | None = None) -> PatternsReport:
    """Every pattern's counts and the three decision rules, from one pass over the ledger."""
    row = execute(con, f"SELECT {_aggregates()} FROM ({_RUNS_SQL})", {"since": since}).fetchall()[0]
    runs, rest = row[0], list(row[1:])
    rows = []
    for p in PATTERNS:
        fired, saved, entities, rest = rest[0], rest[1], rest[2], rest[3:]
        rows.append(PatternRow(p.name, fired, round(100.0 * fired / runs, 2) if runs else 0.0, saved, entities))
    slow_minutes, active_days, triggers, duplicates, repaired, weeks = rest
    gaps = repaired + len(find_gaps(con, graph, since=since))
    rules = [
        Rule("add caching", f"minutes in runs >= {SLOW_RUN_SECONDS:g} s per active day",
             round(slow_minutes / active_days, 3) if active_days else 0.0, CACHING_MINUTES_PER_DAY),
        Rule("add idempotency", "duplicate triggers / triggers",
             round(duplicates / triggers, 4) if triggers else 0.0, IDEMPOTENCY_DUPLICATE_SHARE),
        Rule("add backfill automation", "gaps (repaired + open) per week", round(gaps / weeks, 3),
             BACKFILL_GAPS_PER_WEEK),
    ]
    return PatternsReport(runs, rows, rules)
