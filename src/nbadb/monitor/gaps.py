"""Gap detection: dates a downstream processor should have built but has not.

A date is a gap of processor P when
- P's upstream data exists on it: every *required* input holds rows with that date (its
  InputSpec date column); a processor without required inputs needs rows in any of its inputs;
- and the latest run of P that speaks about the date left it unbuilt, or no run covers it (a run
  covers the dates start_date <= d <= end_date).

A run speaks about its dates unless it exited early or skipped an irrelevant trigger (SILENT: it
says nothing of what the dates hold). It built them when it succeeded (`success`, `partial`) or had
nothing to do (no_changes, duplicate_trigger, frozen: the rows it would write are there); it left
them unbuilt when it failed or was held back (missing or stale inputs, an open breaker). The latest
one decides: a failed replay day is a gap although an earlier, wider run covered the date, and it
stays one after its inputs are repaired, until a run builds it.

Only processors of the downstream phases (3-5) are checked: the raw phase is fed by sources, not
by tables. Reads the input tables and the ledger; changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb

from nbadb.engine.dag import ProcessorGraph
from nbadb.engine.spec import ProcessorSpec
from nbadb.engine.vocabulary import EARLY_EXITS, SkipReason
from nbadb.errors import ConfigError
from nbadb.orchestrate.daily import DOWNSTREAM_PHASES
from nbadb.warehouse.connection import execute


def _quoted(reasons: frozenset[SkipReason]) -> str:
    return ", ".join(f"'{r}'" for r in sorted(reasons))


SILENT = EARLY_EXITS | {SkipReason.IRRELEVANT_SOURCE}
BUILT = frozenset(r for r in SkipReason if r.nothing_to_do)
_RUN_SQL = "struct_pack(run_id := r.run_id, status := r.status, skip_reason := r.skip_reason)"
_SPEAKS_SQL = f"r.run_id IS NOT NULL AND coalesce(r.skip_reason NOT IN ({_quoted(SILENT)}), true)"
_BUILT_SQL = f"(told.status IN ('success', 'partial') OR coalesce(told.skip_reason IN ({_quoted(BUILT)}), false))"


@dataclass(frozen=True)
class Gap:
    """One processor-date to repair, with the latest run that covered the date (if any)."""

    processor: str
    game_date: date
    reason: str
    latest_run_id: str | None
    latest_status: str | None
    latest_skip_reason: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "processor": self.processor, "game_date": str(self.game_date), "reason": self.reason,
            "latest_run_id": self.latest_run_id, "latest_status": self.latest_status,
            "latest_skip_reason": self.latest_skip_reason,
        }


def upstream_dates_sql(spec: ProcessorSpec) -> str:
    """SQL selecting column `d`: the dates on which `spec`'s upstream data exists."""
    required = [i for i in spec.inputs if i.required]
    chosen, combine = (required, " INTERSECT ") if required else (list(spec.inputs), " UNION ")
    return combine.join(f'SELECT DISTINCT "{i.date_column}" AS d FROM {i.table}' for i in chosen)


def downstream_specs(graph: ProcessorGraph, processor: str | None = None) -> list[ProcessorSpec]:
    """The processors `gaps` checks, in graph order (only `processor` when given)."""
    specs = graph.in_phases(DOWNSTREAM_PHASES)
    if processor is None:
        return specs
    chosen = [s for s in specs if s.name == processor]
    if not chosen:
        raise ConfigError(
            f"--processor {processor!r} is not a downstream processor; choose one of: {', '.join(s.name for s in specs)}"
        )
    return chosen


def _reason(status: str | None, skip_reason: str | None) -> str:
    if status is None:
        return "no run covers this date"
    if status == "failed":
        return "latest run failed"
    return f"no successful run (latest: {status}{f' {skip_reason}' if skip_reason else ''})"


def processor_gaps(con: duckdb.DuckDBPyConnection, spec: ProcessorSpec, since: date | None = None) -> list[Gap]:
    """The gaps of one processor, oldest first (dates on or after `since` when given)."""
    rows = execute(
        con,
        f"""WITH upstream AS ({upstream_dates_sql(spec)}),
        per_date AS (
            SELECT u.d, arg_max({_RUN_SQL}, r.finished_at) FILTER (WHERE {_SPEAKS_SQL}) AS told,
                   arg_max({_RUN_SQL}, r.finished_at) AS latest
            FROM upstream u
            LEFT JOIN ops.processor_runs r ON r.processor = $processor AND u.d BETWEEN r.start_date AND r.end_date
            WHERE u.d IS NOT NULL AND ($since IS NULL OR u.d >= $since)
            GROUP BY u.d)
        SELECT d, coalesce(told, latest).run_id, coalesce(told, latest).status, coalesce(told, latest).skip_reason
        FROM per_date WHERE told IS NULL OR NOT {_BUILT_SQL}
        ORDER BY d""",
        {"processor": spec.name, "since": since},
    ).fetchall()
    return [Gap(spec.name, d, _reason(status, skip), run_id, status, skip) for d, run_id, status, skip in rows]


def find_gaps(
    con: duckdb.DuckDBPyConnection, graph: ProcessorGraph, *, processor: str | None = None, since: date | None = None
) -> list[Gap]:
    """Every gap of the downstream processors (or of `processor`), by processor in graph order, then date."""
    return [gap for spec in downstream_specs(graph, processor) for gap in processor_gaps(con, spec, since)]
