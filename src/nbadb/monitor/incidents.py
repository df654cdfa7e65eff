"""Incidents: what an operator must hear about, read from the warehouse as it is now.

Kinds (`IncidentKind`), each about one subject; the key `kind:subject` is what alerts dedupe on:
- `breaker_open`: a breaker not CLOSED at the warehouse clock (subject: its key);
- `run_failed`: a processor whose latest run failed (subject: the processor);
- `health_red`: the health check found a problem (subject: `pipeline`);
- `stale_table`: a table older than its freshness rule (subject: the table);
- `skipping`: a processor skipping more than 80 % of its runs (monitor.health's rule);
- `no_pattern_week`: runs for the last week's game dates, and no processing pattern fired in any;
- `backfill_validation_failed`: a date of the latest backfill failed its validation (monitor.backfill);
- `cycle_failed`: the latest `nbadb serve` cycle of a kind raised (subject: the cycle kind).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import duckdb

from nbadb.engine.dag import ProcessorGraph
from nbadb.monitor.backfill import failed_validations
from nbadb.monitor.health import HealthReport, health_report
from nbadb.monitor.patterns import patterns_report

PATTERN_WEEK = timedelta(days=7)


class IncidentKind(StrEnum):
    BREAKER_OPEN = "breaker_open"
    RUN_FAILED = "run_failed"
    HEALTH_RED = "health_red"
    STALE_TABLE = "stale_table"
    SKIPPING = "skipping"
    NO_PATTERN_WEEK = "no_pattern_week"
    BACKFILL_VALIDATION_FAILED = "backfill_validation_failed"
    CYCLE_FAILED = "cycle_failed"


# The health findings that are incidents of their own, by check name (monitor.health).
_FINDING_KINDS = {"breaker": IncidentKind.BREAKER_OPEN, "latest run failed": IncidentKind.RUN_FAILED,
                  "skipping most runs": IncidentKind.SKIPPING}


@dataclass(frozen=True)
class Incident:
    kind: IncidentKind
    subject: str
    message: str
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.subject}"


def _from_health(report: HealthReport) -> list[Incident]:
    found = []
    for f in report.findings:
        if f.check in _FINDING_KINDS and (f.severity == "problem" or f.check == "skipping most runs"):
            found.append(Incident(_FINDING_KINDS[f.check], f.subject, f"{f.check}: {f.subject}: {f.detail}",
                                  {"severity": f.severity}))
        elif f.check == "freshness" and f.severity == "problem":
            found.append(Incident(IncidentKind.STALE_TABLE, f.subject, f"stale table {f.subject}: {f.detail}"))
    problems = [f for f in report.findings if f.severity == "problem"]
    if problems:
        found.append(Incident(IncidentKind.HEALTH_RED, "pipeline",
                              f"health is red: {len(problems)} problem{'s' * (len(problems) != 1)} ({', '.join(sorted({f.check for f in problems}))})",
                              {"problems": len(problems)}))
    return found


def _no_pattern(con: duckdb.DuckDBPyConnection, graph: ProcessorGraph, clock: datetime) -> list[Incident]:
    since = (clock - PATTERN_WEEK).date()
    report = patterns_report(con, graph, since)
    if report.runs == 0 or any(p.fired for p in report.patterns):
        return []
    return [Incident(IncidentKind.NO_PATTERN_WEEK, "patterns",
                     f"no processing pattern fired in {report.runs} runs for game dates since {since}",
                     {"runs": report.runs, "since": str(since)})]


def _backfill(con: duckdb.DuckDBPyConnection) -> list[Incident]:
    return [Incident(IncidentKind.BACKFILL_VALIDATION_FAILED, f"{d['backfill_id']}:{d['game_date']}",
                     f"backfill {d['backfill_id']}: {d['game_date']} failed validation: {d['error'] or '-'}",
                     {"attempts": d["attempts"]})
            for d in failed_validations(con)]


def _cycles(con: duckdb.DuckDBPyConnection) -> list[Incident]:
    rows = con.execute(
        """SELECT cycle_kind, arg_max(game_date, started_at), arg_max(status, started_at), arg_max(error, started_at)
        FROM ops.serve_cycles GROUP BY cycle_kind""").fetchall()
    return [Incident(IncidentKind.CYCLE_FAILED, kind, f"the {kind} cycle of {day} failed: {error}", {"day": str(day)})
            for kind, day, status, error in rows if status == "failed"]


def detect(con: duckdb.DuckDBPyConnection, graph: ProcessorGraph, clock: datetime, now: datetime) -> list[Incident]:
    """Every incident open now. `clock`: the warehouse clock (breakers); `now`: the wall clock (ages)."""
    report = health_report(con, graph, clock, now)
    return [*_from_health(report), *_no_pattern(con, graph, clock), *_backfill(con), *_cycles(con)]
