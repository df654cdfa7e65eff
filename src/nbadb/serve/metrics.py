"""Prometheus metrics at /metrics, each computed from the warehouse when scraped (the ledger is the
counter: its rows only ever grow), in the text exposition format 0.0.4.

- nbadb_runs_total{processor,status}: ledger rows;
- nbadb_skips_total{processor,reason}: skipped runs by skip reason;
- nbadb_entities_processed_total / nbadb_entities_changed_total{processor}, and
  nbadb_waste_ratio{processor} = (processed − changed) / processed over runs that did work;
- nbadb_run_duration_seconds{processor}: a histogram of run durations (buckets DURATION_BUCKETS);
- nbadb_breaker_state{key,kind}: 0 CLOSED, 1 HALF_OPEN, 2 OPEN at the warehouse clock;
- nbadb_table_rows{table}, nbadb_table_age_seconds{table}: rows and age of the newest row;
- nbadb_serve_cycles_total{kind,status}, nbadb_alerts_total{kind,status};
- nbadb_health_problems: problems of the latest morning check; nbadb_snapshot_age_seconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

import duckdb

from nbadb.engine.request import utc_now
from nbadb.monitor.trends import latest_health
from nbadb.serve import queries
from nbadb.serve.views import warehouse_now

if TYPE_CHECKING:
    from nbadb.serve.app import ServeApp

DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BREAKER_STATES = {"CLOSED": 0, "HALF_OPEN": 1, "OPEN": 2}


def _label(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _family(name: str, kind: str, help_text: str, samples: Iterable[tuple[dict[str, object], float]],
            suffix: str = "") -> list[str]:
    out = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    for labels, value in samples:
        rendered = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
        out.append(f"{name}{suffix}{{{rendered}}} {value:g}" if rendered else f"{name}{suffix} {value:g}")
    return out


def render(app: ServeApp) -> str:
    now = app.clock()
    lines: list[str] = []
    with app.readers.reader() as con:
        runs = con.execute("SELECT processor, status, count(*) FROM ops.processor_runs GROUP BY ALL ORDER BY ALL").fetchall()
        lines += _family("nbadb_runs_total", "counter", "Runs in the ledger by processor and status.",
                         [({"processor": p, "status": s}, n) for p, s, n in runs])
        skips = con.execute("SELECT processor, skip_reason, count(*) FROM ops.processor_runs WHERE status = 'skipped' "
                            "GROUP BY ALL ORDER BY ALL").fetchall()
        lines += _family("nbadb_skips_total", "counter", "Skipped runs by processor and skip reason.",
                         [({"processor": p, "reason": r}, n) for p, r, n in skips])
        work = con.execute("""SELECT processor, sum(entities_processed), sum(entities_changed) FROM ops.processor_runs
            WHERE status IN ('success', 'partial') AND entities_processed > 0 GROUP BY ALL ORDER BY ALL""").fetchall()
        lines += _family("nbadb_entities_processed_total", "counter", "Entities processed by runs that did work.",
                         [({"processor": p}, processed) for p, processed, _ in work])
        lines += _family("nbadb_entities_changed_total", "counter", "Changed entities among those processed.",
                         [({"processor": p}, changed) for p, _, changed in work])
        lines += _family("nbadb_waste_ratio", "gauge", "Share of processed entities that had not changed.",
                         [({"processor": p}, (processed - changed) / processed) for p, processed, changed in work])
        lines += _durations(con)
        clock = warehouse_now(con, now)
        lines += _family("nbadb_breaker_state", "gauge", "Breaker state at the warehouse clock: 0 closed, 1 half-open, 2 open.",
                         [({"key": b["key"], "kind": b["kind"]}, BREAKER_STATES[b["state"]])
                         for b in queries.breaker_rows(con, clock)])
        tables = queries.freshness(con, app.ws.graph, now)
        lines += _family("nbadb_table_rows", "gauge", "Rows per pipeline table.",
                         [({"table": t["table"]}, t["rows"]) for t in tables])
        lines += _family("nbadb_table_age_seconds", "gauge", "Age of the newest row per table.",
                         [({"table": t["table"]}, t["age_hours"] * 3600) for t in tables if t["age_hours"] is not None])
        cycles = con.execute("SELECT cycle_kind, status, count(*) FROM ops.serve_cycles GROUP BY ALL ORDER BY ALL").fetchall()
        lines += _family("nbadb_serve_cycles_total", "counter", "Cycles nbadb serve ran, by kind and outcome.",
                         [({"kind": k, "status": s}, n) for k, s, n in cycles])
        alerts = con.execute("SELECT alert_kind, status, count(*) FROM ops.alerts GROUP BY ALL ORDER BY ALL").fetchall()
        lines += _family("nbadb_alerts_total", "counter", "Alerts by kind and outcome (sent, given_up).",
                         [({"kind": k, "status": s}, n) for k, s, n in alerts])
        latest = latest_health(con)
        lines += _family("nbadb_health_problems", "gauge", "Problems found by the latest morning health check.",
                         [({}, latest["problems"])] if latest else [])
    if app.snapshot_at is not None:
        lines += _family("nbadb_snapshot_age_seconds", "gauge", "Age of the read-only snapshot for CLI readers.",
                         [({}, (utc_now() - app.snapshot_at).total_seconds())])
    return "\n".join(lines) + "\n"


def _durations(con: duckdb.DuckDBPyConnection) -> list[str]:
    buckets = ", ".join(f"count(*) FILTER (WHERE duration_ms <= {b * 1000:g})" for b in DURATION_BUCKETS)
    rows = con.execute(f"SELECT processor, {buckets}, count(*), sum(duration_ms) / 1000.0 FROM ops.processor_runs "
                       "GROUP BY processor ORDER BY processor").fetchall()
    samples: list[str] = ["# HELP nbadb_run_duration_seconds Run durations.", "# TYPE nbadb_run_duration_seconds histogram"]
    for processor, *counts in rows:
        *cumulative, total, seconds = counts
        for bound, n in zip((*DURATION_BUCKETS, "+Inf"), (*cumulative, total)):
            samples.append(f'nbadb_run_duration_seconds_bucket{{processor="{_label(processor)}",le="{bound}"}} {n}')
        samples.append(f'nbadb_run_duration_seconds_sum{{processor="{_label(processor)}"}} {seconds or 0:g}')
        samples.append(f'nbadb_run_duration_seconds_count{{processor="{_label(processor)}"}} {total}')
    return samples
