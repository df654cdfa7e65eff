"""Pipeline health: what needs an operator now, from the breakers table, the ledger and the tables.

Checks (each finding is a `problem` or a `warning`; the pipeline is healthy without problems):

- breakers: every breaker whose state, as seen now, is not CLOSED (OPEN, or HALF_OPEN once its
  retry time passed) is a problem;
- latest run failed: a processor whose most recent run failed is a problem;
- recent failures: failed runs in the last 24 h are a warning (a later success means the
  processor recovered; a failure that is still the latest run is also a problem above);
- freshness: a table's rule is the strictest `max_age_fail_hours` / `max_age_warn_hours` any
  consumer declares on it (InputSpec); its age is now − max(ingested_at). Older than the fail
  rule is a problem, older than the warn rule a warning, no rows at all a warning;
- skipping: a processor that skipped more than 80 % of its runs in the last 7 days for reasons
  other than "nothing to do" (`no_changes`, `duplicate_trigger` — the patterns working) is
  possibly misconfigured: a warning. A raw table's `missing_dependency` is not counted: its source
  published nothing of its kind for those dates (the archive's coverage, e.g. box-score files of one
  season); a source that stops is the freshness check's to report;
- never ran: a processor of the graph without any ledger row is a warning;
- quarantined most: a raw table more than half of whose records published in the last 7 days went
  to quarantine (ops.quarantine at the source stage, one per record key, against the rows that
  reached the table) is a warning with the rules that caught them: a feed whose format changed, or
  lines whose players nothing published can match, would otherwise leave the table empty in silence;
- orphaned starts: a run a crash left behind (monitor.orphans) is a problem until a later run of
  its processor completes its dates;
- results missing: scheduled games (pre-season and All-Star aside) whose night publication
  (engine.clock.night) has passed at the warehouse clock without a box score are a warning: the
  source has not published them, and their players' form stops before them (an archive whose box
  scores end before its schedule does, a night cycle that never brought them). So are such games
  with a team box score but no player rows while the player logs are fed (2024-25's NBA Cup final:
  its stats do not count, and the league's player logs leave it out): their predictions are never
  judged.
- unpublished days: days inside a season's published span that a day's publication never covered
  (monitor.publications: a replay started a day late, a rejected file never retried, a serve down
  overnight) are a warning, one per season: what the source released then is in no table.
- unfinished backfill: the latest backfill stopped on a blocking failure is a problem; one still
  recorded running with dates not done is a warning (it runs now, or it was killed: the record is the
  same, and `nbadb backfill --resume` continues a killed one).

A table nothing was ever fed into is not the pipeline's fault: a raw table whose kind of file no
publication ever brought (the archive has none, or none for the dates published), a processor that
requires a source table of the warehouse still empty (no provider transition, no prop-line feed),
and everything that requires one of them are listed as not applicable (`unfed_tables`), not warned
about.
Time is UTC wall clock (the ledger's finished_at and every ingested_at are UTC), but breaker
states are read at the warehouse clock (engine.clock), the clock their runs count on.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import duckdb

from nbadb.engine import breakers
from nbadb.engine.clock import night_sql
from nbadb.engine.dag import ProcessorGraph
from nbadb.engine.request import utc_now
from nbadb.monitor.backfill import RUNNING, backfill_progress, latest_backfill_id
from nbadb.monitor.orphans import orphans
from nbadb.monitor.publications import UnpublishedDay, unpublished_days
from nbadb.pipeline.point_in_time import counted_games
from nbadb.pipeline.raw import SOURCE_KIND_OF
from nbadb.sources.files import KINDS

FAILURE_WINDOW = timedelta(hours=24)
SKIP_WINDOW = timedelta(days=7)
SKIP_SHARE_WARNING = 0.8
QUARANTINE_WINDOW = timedelta(days=7)
QUARANTINE_SHARE_WARNING = 0.5
# Skip reasons that mean "nothing to do": a processor skipping for these is working as designed.
NOTHING_TO_DO = ("no_changes", "duplicate_trigger", "frozen")

Severity = Literal["problem", "warning", "not applicable"]


@dataclass(frozen=True)
class Finding:
    check: str
    severity: Severity
    subject: str
    detail: str


@dataclass
class HealthReport:
    checked_at: datetime
    findings: list[Finding] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not any(f.severity == "problem" for f in self.findings)

    def as_dict(self) -> dict[str, object]:
        return {"healthy": self.healthy, "checked_at": str(self.checked_at),
                "findings": [asdict(f) for f in self.findings]}


def _breakers(con: duckdb.DuckDBPyConnection, clock: datetime) -> list[Finding]:
    out = []
    for b in breakers.list_breakers(con):
        state = b.state_at(clock)
        if state != "CLOSED":
            retry = f"; probe allowed from {b.retry_at:%Y-%m-%d %H:%M:%S} UTC" if b.retry_at else ""
            out.append(Finding("breaker", "problem", b.key,
                               f"{state} ({b.kind}, {b.consecutive_failures} consecutive failures{retry}); "
                               f"last error: {b.last_error or '-'}"))
    return out


def _failures(con: duckdb.DuckDBPyConnection, now: datetime) -> list[Finding]:
    """Failed latest runs (problems) and failures in the last 24 h (warnings), one query."""
    rows = con.execute(
        """WITH latest AS (
            SELECT processor, arg_max(struct_pack(run_id := run_id, status := status, error := error,
                                                  finished_at := finished_at), finished_at) AS run
            FROM ops.processor_runs GROUP BY processor),
        recent AS (
            SELECT processor, count(*) AS failures, max(finished_at) AS last_failure
            FROM ops.processor_runs WHERE status = 'failed' AND finished_at >= $since GROUP BY processor)
        SELECT l.processor, l.run.run_id, l.run.status, l.run.error, l.run.finished_at,
               coalesce(r.failures, 0), r.last_failure
        FROM latest l LEFT JOIN recent r USING (processor)
        WHERE l.run.status = 'failed' OR r.failures > 0
        ORDER BY l.processor""",
        {"since": now - FAILURE_WINDOW},
    ).fetchall()
    out = []
    for processor, run_id, status, error, finished_at, failures, last_failure in rows:
        if status == "failed":
            out.append(Finding("latest run failed", "problem", processor,
                               f"run {run_id} at {finished_at:%Y-%m-%d %H:%M:%S} UTC: {error}"))
        if failures:
            since = "still failing" if status == "failed" else f"recovered: latest run {run_id} ended {status}"
            out.append(Finding("failures in the last 24 h", "warning", processor,
                               f"{failures} failed runs, last at {last_failure:%Y-%m-%d %H:%M:%S} UTC; {since}"))
    return out


def freshness_rules(graph: ProcessorGraph) -> dict[str, tuple[float | None, float | None]]:
    """Per table any consumer declares an age rule on: (strictest warn hours, strictest fail hours)."""
    rules: dict[str, tuple[float | None, float | None]] = {}
    for spec in graph.specs.values():
        for i in spec.inputs:
            if i.max_age_warn_hours is None and i.max_age_fail_hours is None:
                continue
            warn, fail = rules.get(i.table, (None, None))
            rules[i.table] = (_strictest(warn, i.max_age_warn_hours), _strictest(fail, i.max_age_fail_hours))
    return rules


def _strictest(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def unfed_tables(con: duckdb.DuckDBPyConnection, graph: ProcessorGraph) -> dict[str, str]:
    """Tables nothing was ever fed into, each with why: raw tables whose kind of file no publication
    brought, processors reading only source tables of the warehouse that are still empty (no provider
    transition, no prop-line feed), every processor that requires one of these (the reason names the
    first table of the chain) and every processor without a required input none of whose inputs was
    ever fed (a folder of player logs alone has no schedule, team logs or lines for the upcoming
    games' context)."""
    seen = {k for (k,) in con.execute("SELECT DISTINCT kind FROM ops.source_files").fetchall()}
    unfed = {table: f"no rows of {' or '.join(KINDS[k].pattern for k in kinds)} were ever published (no such file, "
                    "or none for the dates published)"
             for table, kinds in SOURCE_KIND_OF.items() if table in graph.specs and not seen & set(kinds)}
    stored = {f"{s}.{t}" for s, t in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database()").fetchall()}
    for name in graph.order:
        inputs = [i.table for i in graph.specs[name].inputs]
        required = [i.table for i in graph.specs[name].inputs if i.required]
        if name in unfed:
            continue
        if not required:  # it works from any of its inputs: unfed when none of them ever was
            if inputs and all(t in unfed for t in inputs):
                unfed[name] = f"needs one of {', '.join(inputs)}: none was ever fed"
            continue
        empty_sources = [t for t in required if t in graph.source_tables and t in stored
                         and not con.execute(f"SELECT EXISTS (SELECT 1 FROM {t})").fetchall()[0][0]]
        upstream = next((t for t in required if t in unfed), None)
        if upstream is not None:  # named by the table at the root of the chain
            unfed[name] = unfed[upstream] if unfed[upstream].startswith("needs ") else \
                f"needs {upstream}: {unfed[upstream]}"
        elif empty_sources:
            unfed[name] = f"nothing recorded in {', '.join(empty_sources)} yet"
    return unfed


def _freshness(con: duckdb.DuckDBPyConnection, graph: ProcessorGraph, now: datetime,
               unfed: dict[str, str]) -> list[Finding]:
    rules = {t: r for t, r in freshness_rules(graph).items() if t not in unfed}
    if not rules:
        return []
    newest = dict(con.execute(
        " UNION ALL ".join(f"SELECT '{t}', max(ingested_at) FROM {t}" for t in sorted(rules))
    ).fetchall())
    out = []
    for table, (warn, fail) in sorted(rules.items()):
        if newest[table] is None:
            out.append(Finding("freshness", "warning", table, "no rows yet"))
            continue
        age = (now - newest[table]).total_seconds() / 3600
        rule = f"newest row {age:.1f} h old"
        if fail is not None and age > fail:
            out.append(Finding("freshness", "problem", table, f"{rule} (> {fail:g} h allowed)"))
        elif warn is not None and age > warn:
            out.append(Finding("freshness", "warning", table, f"{rule} (> {warn:g} h warning)"))
    return out


def _skipping(con: duckdb.DuckDBPyConnection, now: datetime, unfed: dict[str, str]) -> list[Finding]:
    rows = con.execute(
        """SELECT processor, count(*) AS runs,
                  count(*) FILTER (WHERE counted) AS skips, histogram(skip_reason) FILTER (WHERE counted)
        FROM (SELECT *, status = 'skipped' AND NOT list_contains($nothing, skip_reason)
                        AND NOT (skip_reason = 'missing_dependency' AND list_contains($sources, processor)) AS counted
              FROM ops.processor_runs WHERE finished_at >= $since)
        GROUP BY processor HAVING skips > $share * runs ORDER BY processor""",
        {"since": now - SKIP_WINDOW, "nothing": list(NOTHING_TO_DO), "share": SKIP_SHARE_WARNING,
         "sources": list(SOURCE_KIND_OF)},
    ).fetchall()
    return [
        Finding("skipping most runs", "warning", processor,
                f"{skips} of {runs} runs in the last 7 days skipped "
                f"({', '.join(f'{r} {n}' for r, n in sorted(reasons.items(), key=lambda x: -x[1]))}); "
                "possibly misconfigured")
        for processor, runs, skips, reasons in rows if processor not in unfed
    ]


def _never_ran(con: duckdb.DuckDBPyConnection, graph: ProcessorGraph, unfed: dict[str, str]) -> list[Finding]:
    ran = {r[0] for r in con.execute("SELECT DISTINCT processor FROM ops.processor_runs").fetchall()}
    return [Finding("never ran", "warning", name, "no run in the ledger") for name in graph.order
            if name not in ran and name not in unfed]


def _quarantined(con: duckdb.DuckDBPyConnection, now: datetime) -> list[Finding]:
    since = now - QUARANTINE_WINDOW
    caught = con.execute(
        """SELECT table_name, count(DISTINCT record_key), histogram(reason) FROM ops.quarantine
        WHERE stage = 'source' AND ingested_at >= $since AND list_contains($tables, table_name)
        GROUP BY table_name ORDER BY table_name""",
        {"since": since, "tables": list(SOURCE_KIND_OF)}).fetchall()
    out = []
    for table, records, rules in caught:
        kept = con.execute(f"SELECT count(*) FROM {table} WHERE ingested_at >= $since",
                           {"since": since}).fetchall()[0][0]
        if records > QUARANTINE_SHARE_WARNING * (records + kept):
            named = ", ".join(f"{rule} {n}" for rule, n in sorted(rules.items(), key=lambda x: -x[1]))
            out.append(Finding("quarantined most", "warning", table,
                               f"{records} of {records + kept} records published in the last 7 days went to quarantine "
                               f"({named}); nbadb quarantine --table {table} lists them"))
    return out


def _unfinished_backfill(con: duckdb.DuckDBPyConnection) -> list[Finding]:
    backfill_id = latest_backfill_id(con)
    if backfill_id is None:
        return []
    b = backfill_progress(con, backfill_id)
    undone = b["dates_by_status"].get("pending", 0)
    span = f"backfill {backfill_id} of {b['start_date']}..{b['end_date']}"
    if b["status"] == "stopped":
        return [Finding("unfinished backfill", "problem", backfill_id,
                        f"{span} stopped on {b['stopped_on']}: {b['stop_reason']}; {undone} dates not done. "
                        "Fix the cause, then `nbadb backfill --resume`")]
    if b["status"] == RUNNING and undone:
        return [Finding("unfinished backfill", "warning", backfill_id,
                        f"{span} is recorded running with {undone} of {b['dates_total']} dates not done: it runs "
                        "now, or it was cut short (`nbadb backfill --resume` continues it)")]
    return []


def _orphans(con: duckdb.DuckDBPyConnection) -> list[Finding]:
    return [Finding("orphaned start", "problem", o.processor,
                    f"run {o.run_id} for {o.start_date}..{o.end_date} started (or was announced with its "
                    f"publication) at {o.started_at:%Y-%m-%d %H:%M:%S} UTC and never finished (the process died); "
                    "it wrote nothing, and the next run covering these dates completes them")
            for o in orphans(con) if o.resolved_by is None]


def _missing_results(con: duckdb.DuckDBPyConnection, clock: datetime) -> list[Finding]:
    past = f"{counted_games('s')} AND {night_sql('s.game_date')} <= $clock"
    teamless = _games(con, f"""SELECT s.* FROM raw.schedule s WHERE {past}
        AND NOT EXISTS (SELECT 1 FROM raw.team_boxscores b WHERE b.game_id = s.game_id)""", clock)
    playerless = _games(con, f"""SELECT s.* FROM raw.schedule s WHERE {past}
        AND EXISTS (SELECT 1 FROM raw.team_boxscores b WHERE b.game_id = s.game_id)
        AND NOT EXISTS (SELECT 1 FROM raw.player_boxscores p WHERE p.game_id = s.game_id)
        AND EXISTS (SELECT 1 FROM raw.player_boxscores)""", clock)
    found = []
    if teamless:
        found.append(Finding("results missing", "warning", "raw.team_boxscores",
                             f"{teamless} without a box score though their night has passed: the source has "
                             "not published them, and their players' form stops before them"))
    if playerless:
        found.append(Finding("results missing", "warning", "raw.player_boxscores",
                             f"{playerless} with a team box score but no player rows: their players' "
                             "predictions are never judged and their form goes on without them"))
    return found


def _games(con: duckdb.DuckDBPyConnection, games: str, clock: datetime) -> str | None:
    """`games` (schedule rows) as "N scheduled games (D1 to D2; e.g. G, season type T)", None when none."""
    count, first, last, example, kind = con.execute(
        f"SELECT count(*), min(game_date), max(game_date), min(game_id), arg_min(season_type, game_id) FROM ({games})",
        {"clock": clock}).fetchall()[0]
    if not count:
        return None
    return f"{count} scheduled game{'s' * (count > 1)} ({first} to {last}; e.g. {example}, {kind})"


LISTED_DAYS = 5  # unpublished days named in a finding; the rest are counted


def _unpublished(con: duckdb.DuckDBPyConnection, clock: datetime) -> list[Finding]:
    by_season: dict[str, list[UnpublishedDay]] = {}
    for day in unpublished_days(con, clock):
        by_season.setdefault(day.season, []).append(day)
    found = []
    for season, days in by_season.items():
        named = "; ".join(f"{d.day} ({'nothing published' if d.all_tables else ', '.join(d.tables)})"
                          for d in days[:LISTED_DAYS])
        more = f"; and {len(days) - LISTED_DAYS} more" if len(days) > LISTED_DAYS else ""
        found.append(Finding(
            "unpublished days", "warning", f"season {season}",
            f"{len(days)} day{'s' * (len(days) > 1)} between published days never published: {named}{more}. "
            "What the source released then is in no table, so no form, feature or evaluation knows of it; "
            "publish it late with nbadb replay (a simulated season) or nbadb ingest (a live one) for those dates"))
    return found


def _not_applicable(unfed: dict[str, str]) -> list[Finding]:
    return [Finding("nothing to feed it", "not applicable", table, why) for table, why in sorted(unfed.items())]


SEVERITY_ORDER = {"problem": 0, "warning": 1, "not applicable": 2}


def health_report(con: duckdb.DuckDBPyConnection, graph: ProcessorGraph, clock: datetime,
                  now: datetime | None = None) -> HealthReport:
    """Every check above, problems first. `clock`: the warehouse clock the breakers are read at."""
    now = now or utc_now()
    unfed = unfed_tables(con, graph)
    findings = [*_breakers(con, clock), *_failures(con, now), *_orphans(con), *_freshness(con, graph, now, unfed),
                *_skipping(con, now, unfed), *_never_ran(con, graph, unfed), *_quarantined(con, now),
                *_missing_results(con, clock), *_unpublished(con, clock), *_unfinished_backfill(con),
                *_not_applicable(unfed)]
    findings.sort(key=lambda f: SEVERITY_ORDER[f.severity])  # stable: checks keep their order
    return HealthReport(now, findings)
