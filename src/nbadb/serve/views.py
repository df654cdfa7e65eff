"""The data of each dashboard subject, filters read from the request: the pages render it as HTML,
the API returns it as JSON, so the two always show the same thing.

Each view takes the server (its reader pool, graph, clocks) and the request, and returns a dict.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

import duckdb

from nbadb.engine.calendar import LeagueCalendar
from nbadb.engine.clock import warehouse_clock
from nbadb.monitor.alerts import recent_alerts
from nbadb.monitor.backfill import latest_backfill
from nbadb.monitor.gaps import find_gaps
from nbadb.monitor.health import health_report
from nbadb.monitor.ledger import explain_run
from nbadb.monitor.patterns import patterns_report
from nbadb.monitor.prediction_quality import quality_report
from nbadb.monitor.trends import health_trend, latest_health, pattern_trend, processor_waste_trend, weekly_trend
from nbadb.monitor.waste import waste_report
from nbadb.orchestrate.daily import DOWNSTREAM_PHASES
from nbadb.serve import queries
from nbadb.serve.cycles import recent_cycles
from nbadb.serve.filters import choice_param, date_param, page_param, processor_param, table_param
from nbadb.serve.http import Request
from nbadb.serve.plan import eastern_today

if TYPE_CHECKING:
    from nbadb.serve.app import ServeApp


def warehouse_now(con: duckdb.DuckDBPyConnection, wall: datetime) -> datetime:
    """The warehouse clock (engine.clock) read on a reader connection."""
    return warehouse_clock(con, LeagueCalendar.load(con).is_live(wall.date()), wall)


def overview(app: ServeApp, request: Request) -> dict[str, Any]:
    with app.readers.reader() as con:
        return {"counts": queries.table_counts(con), "health": latest_health(con),
                "snapshot_at": app.snapshot_at, "recent_cycles": recent_cycles(con, 5),
                "next_cycles": [c.as_dict() for c in app.next_cycles(3)],
                "runs_per_day": queries.runs_per_day(con, None, None, None)}


def runs(app: ServeApp, request: Request) -> dict[str, Any]:
    processor = processor_param(request, app.ws.graph)
    status = choice_param(request, "status", queries.STATUSES)
    since, until, page = date_param(request, "since"), date_param(request, "until"), page_param(request)
    with app.readers.reader() as con:
        return {"filters": {"processor": processor, "status": status, "since": since, "until": until},
                "per_day": queries.runs_per_day(con, processor, since, until),
                "runs": queries.runs_page(con, processor, status, since, until, page), "page": asdict(page)}


def waste(app: ServeApp, request: Request) -> dict[str, Any]:
    since = date_param(request, "since")
    with app.readers.reader() as con:
        report = waste_report(con, since, patterns_report(con, app.ws.graph, since).runs_saved)
        return {"filters": {"since": since}, "report": report.as_dict(), "weekly": weekly_trend(con),
                "processor_trend": processor_waste_trend(con)}


def patterns(app: ServeApp, request: Request) -> dict[str, Any]:
    since = date_param(request, "since")
    with app.readers.reader() as con:
        return {"filters": {"since": since}, "report": patterns_report(con, app.ws.graph, since).as_dict(),
                "trend": pattern_trend(con)}


def breakers(app: ServeApp, request: Request) -> dict[str, Any]:
    with app.readers.reader() as con:
        clock = warehouse_now(con, app.clock())
        return {"clock": clock, "breakers": queries.breaker_rows(con, clock)}


def gaps(app: ServeApp, request: Request) -> dict[str, Any]:
    names = [s.name for s in app.ws.graph.in_phases(DOWNSTREAM_PHASES)]
    processor, since = choice_param(request, "processor", names), date_param(request, "since")
    with app.readers.reader() as con:
        found = find_gaps(con, app.ws.graph, processor=processor, since=since)
    return {"filters": {"processor": processor, "since": since}, "gaps": [g.as_dict() for g in found]}


def freshness(app: ServeApp, request: Request) -> dict[str, Any]:
    now = app.clock()
    with app.readers.reader() as con:
        return {"now": now, "tables": queries.freshness(con, app.ws.graph, now)}


def quarantine(app: ServeApp, request: Request) -> dict[str, Any]:
    table, page = table_param(request, app.ws.graph), page_param(request)
    stage = choice_param(request, "stage", ("source", "output"))
    with app.readers.reader() as con:
        reasons = queries.quarantine_reasons(con, table)
        reason = choice_param(request, "reason", sorted({r["reason"] for r in reasons}))
        return {"filters": {"table": table, "reason": reason, "stage": stage}, "reasons": reasons,
                "rows": queries.quarantine_page(con, table, reason, stage, page), "page": asdict(page)}


def backfill(app: ServeApp, request: Request) -> dict[str, Any]:
    with app.readers.reader() as con:
        return {"backfill": latest_backfill(con)}


def predictions(app: ServeApp, request: Request) -> dict[str, Any]:
    page = page_param(request)
    with app.readers.reader() as con:
        choices = queries.prediction_choices(con)
        system, target = choice_param(request, "system", choices["system"]), choice_param(request, "target", choices["target"])
        call = choice_param(request, "call", choices["call"])
        line_source = choice_param(request, "line_source", choices["line_source"])
        today = eastern_today(app.clock())
        day = date_param(request, "date") or queries.predictions_day(con, today)
        rows = queries.predictions(con, day, system, target, call, line_source, page) if day else []
        games = LeagueCalendar.load(con).games_between(day, day) if day else 0
        return {"filters": {"date": day, "system": system, "target": target, "call": call, "line_source": line_source},
                "today": today, "choices": choices, "dates": queries.prediction_dates(con)[:60], "predictions": rows,
                "games": games, "page": asdict(page)}


def evaluation(app: ServeApp, request: Request) -> dict[str, Any]:
    with app.readers.reader() as con:
        seasons = queries.seasons_evaluated(con)
        season = choice_param(request, "season", seasons) or (seasons[0] if seasons else None)
        targets = [t for (t,) in con.execute("SELECT DISTINCT target FROM predictions.evaluation ORDER BY 1").fetchall()]
        target = choice_param(request, "target", targets)
        if season is None:
            return {"filters": {"season": None, "target": target}, "seasons": seasons, "targets": targets,
                    "mae_by_week": [], "report": None}
        return {"filters": {"season": season, "target": target}, "seasons": seasons, "targets": targets,
                "mae_by_week": queries.mae_by_week(con, season, target),
                "report": quality_report(con, season=season, target=target).as_dict()}


def health(app: ServeApp, request: Request) -> dict[str, Any]:
    now = app.clock()
    with app.readers.reader() as con:
        report = health_report(con, app.ws.graph, warehouse_now(con, now), now)
        return {"now": report.as_dict(), "trend": health_trend(con)}


def alerts(app: ServeApp, request: Request) -> dict[str, Any]:
    with app.readers.reader() as con:
        return {"webhooks": [h.destination for h in app.webhooks], "alerts": recent_alerts(con)}


def schedule(app: ServeApp, request: Request) -> dict[str, Any]:
    with app.readers.reader() as con:
        return {"now": app.clock(), "next": [c.as_dict() for c in app.next_cycles(12)],
                "due": [c.as_dict() for c in app.due()], "recent": recent_cycles(con, 50)}


def run_detail(app: ServeApp, request: Request, run_id: str) -> dict[str, Any]:
    with app.readers.reader() as con:
        return explain_run(con, run_id)
