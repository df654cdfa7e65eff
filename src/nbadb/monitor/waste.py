"""The decision report: where work is wasted, whether entity-level processing pays, what the patterns saved.

Reads only the ledger. Time is measured on the runs' game dates (so a replayed season counts as
the weeks it simulates). Per processor, over the runs that did work (success or partial):
- waste % = 100 × (Σ entities processed − Σ entities changed) / Σ entities processed;
- wasted seconds = Σ duration × waste% of each run;
- entities spared by entity mode = Σ (entities in scope − entities processed) over single-date
  entity-mode runs (date mode would have processed the whole date);
- the recommendation applies the decision rule to the per-(processor, mode) rows: implement (keep)
  entity-level processing when average waste > 30 %, more than 2 wasted hours a week, more than
  10 runs and it pays back its 15 engineering hours within 8 weeks; monitor closely above 20 %
  waste and 1 wasted hour a week; else date-level processing is sufficient.
The three answers say it in a sentence each, the pattern savings coming from monitor.patterns.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date

import duckdb

ROI_HOURS = 15.0
# Weeks spanned by the game dates of a group of ledger rows (at least one): the time base of the
# decision reports, so a replayed season counts as the weeks it simulates.
SPAN_WEEKS_SQL = "greatest(date_diff('day', min(start_date), max(end_date)) / 7.0, 1.0)"
IMPLEMENT, MONITOR, SUFFICIENT = "implement entity-level", "monitor closely", "date-level sufficient"


@dataclass
class WasteRow:
    """One processor and processing mode: the decision rule's inputs and verdict."""

    processor: str
    processing_mode: str
    runs: int
    avg_waste_pct: float
    wasted_hours: float
    weeks: float
    wasted_hours_per_week: float
    weeks_to_roi: float | None
    recommendation: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class ProcessorWaste:
    """One processor over the period: its runs, its work, what was wasted and what entity mode spared."""

    processor: str
    runs: int
    work_runs: int
    entity_runs: int
    entities_processed: int
    entities_changed: int
    waste_pct: float | None
    work_seconds: float
    wasted_seconds: float
    entities_spared: int
    recommendation: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class WasteReport:
    processors: list[ProcessorWaste] = field(default_factory=list)
    rows: list[WasteRow] = field(default_factory=list)
    answers: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {"answers": self.answers, "processors": [p.as_dict() for p in self.processors],
                "by_mode": [r.as_dict() for r in self.rows]}


def recommend(avg_waste_pct: float, wasted_per_week: float, runs: int, weeks_to_roi: float | None) -> str:
    if avg_waste_pct > 30 and wasted_per_week > 2 and runs > 10 and weeks_to_roi is not None and weeks_to_roi < 8:
        return IMPLEMENT
    if avg_waste_pct > 20 and wasted_per_week > 1:
        return MONITOR
    return SUFFICIENT


def waste_rows(con: duckdb.DuckDBPyConnection, since: date | None) -> list[WasteRow]:
    """Per processor and mode, the decision rule over the runs that did work."""
    rows = con.execute(
        f"""SELECT processor, processing_mode, count(*) AS runs, avg(waste_pct),
                  sum(duration_ms * waste_pct / 100.0) / 3600000.0,
                  {SPAN_WEEKS_SQL}
        FROM ops.processor_runs
        WHERE status IN ('success', 'partial') AND entities_processed > 0
          AND ($since IS NULL OR start_date >= $since)
        GROUP BY ALL ORDER BY processor, processing_mode""",
        {"since": since},
    ).fetchall()
    report = []
    for processor, mode, runs, avg_waste, wasted, weeks in rows:
        per_week = wasted / weeks
        to_roi = ROI_HOURS / per_week if per_week > 0 else None
        report.append(WasteRow(processor, mode, runs, round(avg_waste, 2), wasted, round(weeks, 2), per_week, to_roi,
                               recommend(avg_waste, per_week, runs, to_roi)))
    return report


def waste_report(con: duckdb.DuckDBPyConnection, since: date | None, runs_saved: dict[str, int] | None = None) -> WasteReport:
    """The report; `runs_saved`: runs each processing pattern saved (monitor.patterns), for the third answer."""
    rows = waste_rows(con, since)
    verdicts: dict[str, list[str]] = {}
    for r in rows:
        verdicts.setdefault(r.processor, []).append(r.recommendation)
    found = con.execute(
        """SELECT processor, count(*),
                  count(*) FILTER (WHERE status IN ('success', 'partial')),
                  count(*) FILTER (WHERE status IN ('success', 'partial') AND processing_mode = 'entity'),
                  coalesce(sum(entities_processed) FILTER (WHERE status IN ('success', 'partial')), 0),
                  coalesce(sum(entities_changed) FILTER (WHERE status IN ('success', 'partial')), 0),
                  coalesce(sum(duration_ms) FILTER (WHERE status IN ('success', 'partial')), 0) / 1000.0,
                  coalesce(sum(duration_ms * coalesce(waste_pct, 0) / 100.0)
                           FILTER (WHERE status IN ('success', 'partial')), 0) / 1000.0,
                  coalesce(sum(entities_in_scope - entities_processed)
                           FILTER (WHERE processing_mode = 'entity' AND status IN ('success', 'partial')
                                   AND start_date = end_date), 0)
        FROM ops.processor_runs WHERE $since IS NULL OR start_date >= $since
        GROUP BY processor ORDER BY processor""",
        {"since": since},
    ).fetchall()
    processors = []
    for name, runs, work, entity, processed, changed, seconds, wasted, spared in found:
        waste = round(100.0 * (processed - changed) / processed, 2) if processed else None
        verdict = IMPLEMENT if IMPLEMENT in verdicts.get(name, []) else (
            MONITOR if MONITOR in verdicts.get(name, []) else SUFFICIENT)
        processors.append(ProcessorWaste(name, runs, work, entity, processed, changed, waste, round(seconds, 3),
                                         round(wasted, 3), spared, verdict))
    return WasteReport(processors, rows, _answers(processors, runs_saved or {}))


def _answers(processors: list[ProcessorWaste], runs_saved: dict[str, int]) -> dict[str, str]:
    wasting = sorted((p for p in processors if p.wasted_seconds > 0), key=lambda p: -p.wasted_seconds)
    total_wasted = sum(p.wasted_seconds for p in processors)
    total_work = sum(p.work_seconds for p in processors)
    where = ("nowhere: no run processed an unchanged entity" if not wasting else
             f"{total_wasted:.1f} s of {total_work:.1f} s of work went to unchanged entities, most in "
             + ", ".join(f"{p.processor} ({p.wasted_seconds:.1f} s, {p.waste_pct:.0f} % waste)" for p in wasting[:3]))
    keep = [p.processor for p in processors if p.recommendation == IMPLEMENT]
    watch = [p.processor for p in processors if p.recommendation == MONITOR]
    spared = sum(p.entities_spared for p in processors)
    entity_runs = sum(p.entity_runs for p in processors)
    if keep:
        worth = f"yes for {', '.join(keep)}: the waste date mode would add pays back 15 h within 8 weeks"
    elif watch:
        worth = f"watch {', '.join(watch)} (waste > 20 %, > 1 wasted h/week); elsewhere date-level would be sufficient"
    else:
        worth = ("not needed by the rule (waste ≤ 20 % or < 1 wasted h/week everywhere); it still spared "
                 f"{spared:,} entity computations in {entity_runs:,} entity-mode runs at no cost")
    saved = sorted(((n, k) for k, n in runs_saved.items() if n), reverse=True)
    patterns = ("nothing yet" if not saved else
                f"{sum(n for n, _ in saved):,} runs skipped: " + ", ".join(f"{k} {n:,}" for n, k in saved))
    return {"where is work wasted": where, "is entity-level processing worth it": worth,
            "what did the patterns save": patterns}
