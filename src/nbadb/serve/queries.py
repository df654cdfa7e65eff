"""What the dashboard pages and the API show, read from the warehouse: one function per subject,
each taking validated filters and returning plain rows (lists of dicts) the two render alike.

Words defined here:
- page: `limit` rows from `offset`, newest first;
- predictions date: the day asked for, else the latest day with predictions on or before today
  (Eastern) — "today's predictions" on a warehouse whose season has ended are its last ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import duckdb

from nbadb.engine import breakers
from nbadb.engine.dag import ProcessorGraph
from nbadb.engine.vocabulary import Status
from nbadb.monitor.health import freshness_rules
from nbadb.pipeline.probabilities import call_odds_sql

STATUSES = tuple(str(s) for s in Status)
PAGE_SIZES = (25, 50, 100, 200)


@dataclass(frozen=True)
class Page:
    limit: int = 50
    offset: int = 0


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | list[Any] | None = None) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r)) for r in cursor.fetchall()]


def runs_per_day(con: duckdb.DuckDBPyConnection, processor: str | None, since: date | None,
                 until: date | None) -> list[dict[str, Any]]:
    """Runs per game date (the day a run was for) and status: the runs timeline."""
    return _rows(con, """
        SELECT coalesce(as_of_date, start_date) AS day, status, count(*) AS runs, sum(duration_ms) / 1000.0 AS seconds
        FROM ops.processor_runs
        WHERE ($processor IS NULL OR processor = $processor) AND ($since IS NULL OR coalesce(as_of_date, start_date) >= $since)
          AND ($until IS NULL OR coalesce(as_of_date, start_date) <= $until)
        GROUP BY ALL ORDER BY day, status""", {"processor": processor, "since": since, "until": until})


def runs_page(con: duckdb.DuckDBPyConnection, processor: str | None, status: str | None, since: date | None,
              until: date | None, page: Page) -> list[dict[str, Any]]:
    return _rows(con, """
        SELECT run_id, processor, coalesce(as_of_date, start_date) AS day, start_date, end_date, status, skip_reason,
               processing_mode, entities_changed, entities_processed, waste_pct, rows_written, duration_ms, finished_at
        FROM ops.processor_runs
        WHERE ($processor IS NULL OR processor = $processor) AND ($status IS NULL OR status = $status)
          AND ($since IS NULL OR coalesce(as_of_date, start_date) >= $since)
          AND ($until IS NULL OR coalesce(as_of_date, start_date) <= $until)
        ORDER BY finished_at DESC, run_id LIMIT $limit OFFSET $offset""",
                 {"processor": processor, "status": status, "since": since, "until": until, "limit": page.limit,
                  "offset": page.offset})


def breaker_rows(con: duckdb.DuckDBPyConnection, clock: datetime) -> list[dict[str, Any]]:
    return [{"key": b.key, "kind": b.kind, "state": b.state_at(clock), "consecutive_failures": b.consecutive_failures,
             "times_opened": b.times_opened, "opened_at": b.opened_at, "retry_at": b.retry_at, "last_error": b.last_error}
            for b in breakers.list_breakers(con)]


def freshness(con: duckdb.DuckDBPyConnection, graph: ProcessorGraph, now: datetime) -> list[dict[str, Any]]:
    """Per pipeline table: rows, newest row written, its age in hours, and the freshness rule on it."""
    rules = freshness_rules(graph)
    tables = [graph.specs[n].output_table for n in graph.order]
    newest = con.execute(" UNION ALL ".join(
        f"SELECT '{t}', count(*), max(ingested_at) FROM {t}" for t in tables)).fetchall()
    out = []
    for table, rows, latest in newest:
        warn, fail = rules.get(table, (None, None))
        age = (now - latest).total_seconds() / 3600 if latest else None
        out.append({"table": table, "rows": rows, "newest_row_at": latest, "age_hours": age,
                    "warn_hours": warn, "fail_hours": fail,
                    "state": "empty" if latest is None else "stale" if fail is not None and age > fail else
                    "ageing" if warn is not None and age > warn else "fresh"})
    return out


def quarantine_reasons(con: duckdb.DuckDBPyConnection, table: str | None) -> list[dict[str, Any]]:
    return _rows(con, """SELECT table_name, reason, stage, count(*) AS records FROM ops.quarantine
        WHERE $table IS NULL OR table_name = $table GROUP BY ALL ORDER BY records DESC, table_name, reason""",
                 {"table": table})


def quarantine_page(con: duckdb.DuckDBPyConnection, table: str | None, reason: str | None, stage: str | None,
                    page: Page) -> list[dict[str, Any]]:
    return _rows(con, """
        SELECT table_name, record_key, record_date, stage, reason, coalesce(source_file, run_id) AS origin,
               row_values, ingested_at
        FROM ops.quarantine
        WHERE ($table IS NULL OR table_name = $table) AND ($reason IS NULL OR reason = $reason)
          AND ($stage IS NULL OR stage = $stage)
        ORDER BY ingested_at DESC, table_name, record_key LIMIT $limit OFFSET $offset""",
                 {"table": table, "reason": reason, "stage": stage, "limit": page.limit, "offset": page.offset})


def prediction_dates(con: duckdb.DuckDBPyConnection) -> list[date]:
    return [d for (d,) in con.execute(
        "SELECT DISTINCT game_date FROM predictions.player_prop_predictions ORDER BY 1 DESC").fetchall()]


def predictions_day(con: duckdb.DuckDBPyConnection, today: date) -> date | None:
    return con.execute("SELECT max(game_date) FROM predictions.player_prop_predictions WHERE game_date <= ?",
                       [today]).fetchall()[0][0]


def prediction_choices(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """The values each prediction filter can take."""
    found = con.execute("""SELECT list(DISTINCT system ORDER BY system), list(DISTINCT target ORDER BY target),
        list(DISTINCT recommendation ORDER BY recommendation), list(DISTINCT line_source ORDER BY line_source)
        FROM predictions.player_prop_predictions""").fetchall()[0]
    return {name: [v for v in values or [] if v is not None]
            for name, values in zip(("system", "target", "call", "line_source"), found)}


def predictions(con: duckdb.DuckDBPyConnection, day: date, system: str | None, target: str | None, call: str | None,
                line_source: str | None, page: Page) -> list[dict[str, Any]]:
    return _rows(con, f"""
        SELECT p.game_date, p.game_id, p.player_id, coalesce(c.player_name, CAST(p.player_id AS VARCHAR)) AS player,
               p.system, p.target, p.predicted_value, p.line_value, p.line_source, p.edge, p.confidence,
               p.recommendation AS call, {call_odds_sql('p')} AS call_odds, p.ev, p.bookmaker, p.form_age_days,
               p.form_quality
        FROM predictions.player_prop_predictions p
        LEFT JOIN (SELECT DISTINCT player_id, game_date, player_name FROM analytics.upcoming_player_game_context) c
          ON c.player_id = p.player_id AND c.game_date = p.game_date
        WHERE p.game_date = $day AND ($system IS NULL OR p.system = $system) AND ($target IS NULL OR p.target = $target)
          AND ($call IS NULL OR p.recommendation = $call) AND ($line_source IS NULL OR p.line_source = $line_source)
        ORDER BY p.confidence DESC NULLS LAST, player, p.target, p.system LIMIT $limit OFFSET $offset""",
                 {"day": day, "system": system, "target": target, "call": call, "line_source": line_source,
                  "limit": page.limit, "offset": page.offset})


def seasons_evaluated(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [s for (s,) in con.execute(
        "SELECT DISTINCT season FROM predictions.evaluation WHERE season IS NOT NULL ORDER BY 1 DESC").fetchall()]


def mae_by_week(con: duckdb.DuckDBPyConnection, season: str, target: str | None) -> list[dict[str, Any]]:
    """MAE per target, week of game dates (the week's Monday) and system, on the rows the report judges
    (player-games the baseline predicts: a player's first game of a season has no season average, so the
    other systems are not scored on rows the baseline is not). The stats' errors are never added up."""
    return _rows(con, """
        SELECT target, date_trunc('week', game_date)::DATE AS week, system, count(*) AS rows, avg(abs_error) AS mae
        FROM predictions.evaluation
        WHERE season = $season AND ($target IS NULL OR target = $target) AND baseline_value IS NOT NULL
        GROUP BY ALL ORDER BY target, week, system""", {"season": season, "target": target})


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Headline counts for the overview."""
    runs, failed, quarantined, predictions_ = con.execute("""SELECT
        (SELECT count(*) FROM ops.processor_runs), (SELECT count(*) FROM ops.processor_runs WHERE status = 'failed'),
        (SELECT count(*) FROM ops.quarantine), (SELECT count(*) FROM predictions.player_prop_predictions)""").fetchall()[0]
    return {"runs": runs, "failed_runs": failed, "quarantined_rows": quarantined, "predictions": predictions_}
