"""The dashboard's pages: each renders one view (serve.views) as HTML with its charts (serve.svg)
and its filters as a GET form, so every filtered page has its own URL."""

from __future__ import annotations

from collections import defaultdict
from html import escape
from typing import TYPE_CHECKING, Any, Callable, Sequence

from nbadb.monitor.prediction_quality import GAIN_FORMAT, MAE_FORMAT, RATE_FORMAT, RETURN_FORMAT, format_interval
from nbadb.orchestrate.daily import DOWNSTREAM_PHASES
from nbadb.serve import svg, views
from nbadb.serve.html import cards, date_input, filter_form, layout, pager, select, table
from nbadb.serve.http import Request, Response
from nbadb.serve.queries import PAGE_SIZES, STATUSES, Page

if TYPE_CHECKING:
    from nbadb.serve.app import ServeApp


def _pivot(rows: Sequence[dict[str, Any]], x: str, series: str, value: str,
           names: Sequence[str] | None = None) -> tuple[list[str], dict[str, list[float | None]]]:
    """Rows (x, series, value) as x labels and one value list per series (None where missing)."""
    labels = sorted({str(r[x]) for r in rows})
    found: dict[str, dict[str, float]] = defaultdict(dict)
    for r in rows:
        if r[value] is not None:
            found[str(r[series])][str(r[x])] = r[value]
    return labels, {n: [found[n].get(label) for label in labels] for n in (names or sorted(found))}


def _page(data: dict[str, Any]) -> Page:
    return Page(**data["page"])


def page_size(data: dict[str, Any]) -> str:
    return select("limit", [str(n) for n in PAGE_SIZES], str(data["page"]["limit"]), "rows per page", offer_all=False)


def _counted(n: int, what: str) -> str:
    return f"{n} {what}{'s' * (n != 1)}"


def _health_card(problems: int, warnings: int) -> tuple[str, str]:
    """A health check's card: (text, css class). Warnings are counted beside "healthy", never hidden by it."""
    if problems:
        counted = [_counted(problems, "problem")] + ([_counted(warnings, "warning")] if warnings else [])
        return ", ".join(counted), "bad"
    return ("healthy, " + _counted(warnings, "warning"), "warn") if warnings else ("healthy", "ok")


def overview(app: ServeApp, request: Request) -> str:
    data = views.overview(app, request)
    health, counts = data["health"], data["counts"]
    state = ("no check yet", "") if health is None else _health_card(health["problems"], health["warnings"])
    following = data["next_cycles"][0] if data["next_cycles"] else None
    labels, series = _pivot(data["runs_per_day"][-400:], "day", "status", "runs", STATUSES)
    body = cards([
        ("health (latest check)", state[0], state[1]), ("runs in the ledger", f"{counts['runs']:,}", ""),
        ("failed runs", f"{counts['failed_runs']:,}", "bad" if counts["failed_runs"] else "ok"),
        ("quarantined rows", f"{counts['quarantined_rows']:,}", ""), ("predictions", f"{counts['predictions']:,}", ""),
        ("next cycle", f"{following['kind']} {following['day']}" if following else "none planned", ""),
    ])
    body += "<h2>Runs per game date</h2>" + svg.stacked_bars("runs per game date by status", labels,
                                                             {k: [v or 0 for v in vs] for k, vs in series.items()})
    body += "<h2>Latest cycles</h2>" + table(data["recent_cycles"], ("cycle_kind", "game_date", "status", "cycle_trigger",
                                                                      "runs", "runs_failed", "started_at", "error"))
    note = f"snapshot for read commands published {data['snapshot_at']:%Y-%m-%d %H:%M:%S} UTC" if data["snapshot_at"] else ""
    return layout(request, "Overview", body, note=note)


def runs(app: ServeApp, request: Request) -> str:
    data = views.runs(app, request)
    f = data["filters"]
    labels, series = _pivot(data["per_day"], "day", "status", "runs", STATUSES)
    _, seconds = _pivot(data["per_day"], "day", "status", "seconds", STATUSES)
    body = filter_form("/runs", select("processor", list(app.ws.graph.order), f["processor"]),
                       select("status", STATUSES, f["status"]), date_input("since", f["since"]),
                       date_input("until", f["until"]), page_size(data))
    body += svg.stacked_bars("runs per game date by status", labels, {k: [v or 0 for v in vs] for k, vs in series.items()})
    body += "<h2>Run time per game date</h2>" + svg.stacked_bars(
        "seconds of runs per game date by status", labels, {k: [v or 0 for v in vs] for k, vs in seconds.items()}, " s")
    body += "<h2>Runs</h2>" + table(data["runs"]) + pager(request, _page(data), len(data["runs"]))
    return layout(request, "Runs timeline", body)


def waste(app: ServeApp, request: Request) -> str:
    data = views.waste(app, request)
    report = data["report"]
    worked = [p for p in report["processors"] if p["work_seconds"]]
    body = filter_form("/waste", date_input("since", data["filters"]["since"]))
    body += "".join(f"<p><b>{escape(q[0].upper() + q[1:])}?</b> {escape(a)}</p>" for q, a in report["answers"].items())
    body += "<h2>Waste % per processor (runs that did work)</h2>" + svg.hbars(
        "waste % per processor", [(p["processor"], p["waste_pct"] or 0.0) for p in worked], " %")
    body += "<h2>Seconds of work per processor</h2>" + svg.hbars(
        "seconds of work per processor", [(p["processor"], p["work_seconds"]) for p in worked], " s")
    body += "<h2>Wasted seconds per processor</h2>" + svg.hbars(
        "seconds spent on unchanged entities per processor", [(p["processor"], p["wasted_seconds"]) for p in worked], " s")
    labels, series = _pivot(data["processor_trend"], "report_date", "processor", "waste_pct")
    body += "<h2>Waste % week by week (Monday reports)</h2>" + svg.lines("weekly waste % per processor", labels, series, " %")
    body += table(report["processors"], caption="per processor")
    return layout(request, "Waste per processor", body)


def patterns(app: ServeApp, request: Request) -> str:
    data = views.patterns(app, request)
    report = data["report"]
    body = filter_form("/patterns", date_input("since", data["filters"]["since"]))
    body += svg.hbars(f"runs each pattern fired in ({report['runs']} runs)",
                      [(p["pattern"], p["fired"]) for p in report["patterns"]])
    body += "<h2>Runs saved</h2>" + svg.hbars("runs saved per pattern",
                                              [(p["pattern"], p["runs_saved"] or 0) for p in report["patterns"]])
    labels, series = _pivot(data["trend"], "report_date", "pattern", "fired")
    body += "<h2>Fired week by week (Monday reports)</h2>" + svg.lines("weekly runs fired per pattern", labels, series)
    body += "<h2>Decision rules</h2>" + table(report["rules"])
    return layout(request, "Processing patterns", body)


def breakers(app: ServeApp, request: Request) -> str:
    data = views.breakers(app, request)
    rows = data["breakers"]
    body = svg.hbars("consecutive failures per breaker (colour: state)",
                     [(b["key"], b["consecutive_failures"]) for b in rows],
                     colors=[svg.color_of(b["state"], 0) for b in rows]) if rows else ""
    body += table(rows, caption="circuit breakers")
    return layout(request, "Circuit breakers", body, note=f"states at the warehouse clock {data['clock']:%Y-%m-%d %H:%M} UTC")


def gaps(app: ServeApp, request: Request) -> str:
    data = views.gaps(app, request)
    names = [s.name for s in app.ws.graph.in_phases(DOWNSTREAM_PHASES)]
    per = defaultdict(int)
    for g in data["gaps"]:
        per[g["processor"]] += 1
    body = filter_form("/gaps", select("processor", names, data["filters"]["processor"]),
                       date_input("since", data["filters"]["since"]))
    body += svg.hbars("gaps per processor", sorted(per.items(), key=lambda kv: -kv[1])) if per else ""
    body += table(data["gaps"], caption="dates with upstream data but no good run (repair: nbadb gaps --fill)")
    return layout(request, "Gaps", body)


def freshness(app: ServeApp, request: Request) -> str:
    data = views.freshness(app, request)
    aged = [t for t in data["tables"] if t["age_hours"] is not None]
    body = svg.hbars("age of the newest row, hours (colour: against the freshness rule)",
                     [(t["table"], t["age_hours"]) for t in aged], " h", [svg.color_of(t["state"], 0) for t in aged])
    body += table(data["tables"])
    return layout(request, "Freshness per table", body, note=f"ages at {data['now']:%Y-%m-%d %H:%M} UTC")


def quarantine(app: ServeApp, request: Request) -> str:
    data = views.quarantine(app, request)
    f = data["filters"]
    tables = [app.ws.graph.specs[n].output_table for n in app.ws.graph.order]
    body = filter_form("/quarantine", select("table", tables, f["table"]),
                       select("reason", sorted({r["reason"] for r in data["reasons"]}), f["reason"], "rule"),
                       select("stage", ("source", "output"), f["stage"]), page_size(data))
    totals: dict[str, int] = defaultdict(int)
    for r in data["reasons"]:
        totals[r["reason"]] += r["records"]
    body += svg.hbars("quarantined rows per rule", sorted(totals.items(), key=lambda kv: -kv[1])[:15])
    body += "<h2>Rows</h2>" + table(data["rows"]) + pager(request, _page(data), len(data["rows"]))
    return layout(request, "Quarantine", body)


def backfill(app: ServeApp, request: Request) -> str:
    found = views.backfill(app, request)["backfill"]
    if found is None:
        return layout(request, "Latest backfill", '<p class="empty">no backfill yet.</p>')
    dates = found["dates"]
    state = {"finished": "ok", "stopped": "bad"}.get(str(found["status"]), "warn")
    body = cards([("status", str(found["status"]), state),
                  ("window", f"{found['start_date']} .. {found['end_date']}", ""),
                  ("dates done", f"{found['dates_done']} / {found['dates_total']}", ""),
                  ("failed", str(found["dates_by_status"].get("failed", 0)), ""),
                  ("warned", str(found["dates_by_status"].get("warned", 0)), "")])
    if found["stop_reason"]:
        body += f'<p class="bad">stopped on {escape(str(found["stopped_on"]))}: {escape(found["stop_reason"])}</p>'
    body += "<h2>Dates by status</h2>" + svg.strip("backfill dates by status",
                                                  [(str(d["game_date"]), d["status"]) for d in dates])
    body += "<h2>Batches</h2>" + table(found["batches"])
    if found["errors"]:
        body += "<h2>Failed checks by signature</h2>" + table(found["errors"])
    body += "<h2>Dates</h2>" + table(dates)
    return layout(request, "Latest backfill", body)


def predictions(app: ServeApp, request: Request) -> str:
    data = views.predictions(app, request)
    f, choices = data["filters"], data["choices"]
    body = filter_form("/predictions", date_input("date", f["date"]), select("system", choices["system"], f["system"]),
                       select("target", choices["target"], f["target"]), select("call", choices["call"], f["call"]),
                       select("line_source", choices["line_source"], f["line_source"], "line source"), page_size(data))
    rows = data["predictions"]
    points = [(r["line_value"], r["predicted_value"], r["call"]) for r in rows if r["line_value"] is not None]
    body += svg.scatter("predicted value against the line, by call", points, "line", "predicted")
    no_game = f["date"] and not rows and not data["games"]
    shown = table(rows) if not no_game else (
        f'<p class="empty">no game is scheduled on {f["date"]} (the published schedule): nothing to predict.</p>')
    body += "<h2>Predictions</h2>" + shown + pager(request, _page(data), len(rows))
    note = (f"predictions for {f['date']} (today is {data['today']}; the latest day with predictions on or before it "
            "unless a date is chosen)") if f["date"] else "no predictions yet"
    return layout(request, "Predictions against lines", body, note=note)


def _interval(i: dict[str, float | None], spec: str) -> str:
    """An estimate with its 95 % interval, as `nbadb report predictions` writes it."""
    return format_interval(i["value"], i["low"], i["high"], spec)


def evaluation(app: ServeApp, request: Request) -> str:
    data = views.evaluation(app, request)
    f = data["filters"]
    body = filter_form("/evaluation", select("season", data["seasons"], f["season"], offer_all=False),
                       select("target", data["targets"], f["target"]))
    body += "<h2>MAE per system, week by week (the rows the baseline predicts)</h2>"
    weekly = data["mae_by_week"]
    for target in sorted({r["target"] for r in weekly}) or [f["target"] or "every target"]:
        labels, series = _pivot([r for r in weekly if r["target"] == target], "week", "system", "mae")
        body += f"<h3>{escape(target)}</h3>" + svg.lines(f"{target}: MAE per system per week", labels, series)
    report = data["report"] or {"accuracy": [], "calibration": [], "betting": [], "not_ready": []}
    body += "<h2>Accuracy against the baseline (95 % intervals over game days)</h2>" + "".join(
        f'<p class="warn">{escape(n["system"])} has no prediction on {n["days"]} of these game days '
        f'({n["first_day"]} to {n["last_day"]}): not ready, {escape(n["reason"] or "no reason recorded")}</p>'
        for n in report["not_ready"]) + table([
        {"system": a["system"], "target": a["target"], "rows": a["rows"], "MAE": _interval(a["mae"], MAE_FORMAT),
         "baseline MAE": _interval(a["baseline_mae"], MAE_FORMAT), "gain %": _interval(a["gain_pct"], GAIN_FORMAT),
         "verdict": a["label"]}
        for a in report["accuracy"]], caption="accuracy")
    points: dict[str, list[tuple[float, float, int]]] = defaultdict(list)
    for b in report["calibration"]:
        points[f"{b['system']} {b['target']}"].append((b["mean_p_over"], b["observed_over"], b["rows"]))
    body += "<h2>Calibration: P(over) against how often the over came in</h2>" + svg.calibration(
        "calibration per system and target, real lines", dict(points))
    bets = [b for b in report["betting"] if b["bets"]]
    body += "<h2>OVER/UNDER calls at the books' real odds</h2>" + svg.hbars(
        "hit rate of the calls against real prop lines (ROI in the table)",
        [(f"{b['system']} {b['target']}", b["hit_rate"]["value"]) for b in bets], " %")
    body += table([{"system": b["system"], "target": b["target"], "bets": b["bets"],
                    "hit %": _interval(b["hit_rate"], RATE_FORMAT), "ROI %": _interval(b["roi"], RETURN_FORMAT),
                    "consensus bets": b["consensus_bets"],
                    "consensus ROI %": _interval(b["consensus_roi"], RETURN_FORMAT)} for b in report["betting"]],
                  caption="betting")
    return layout(request, "Evaluation", body)


def health(app: ServeApp, request: Request) -> str:
    data = views.health(app, request)
    now, trend = data["now"], data["trend"]
    labels = [str(t["check_date"]) for t in trend]
    severities = [f["severity"] for f in now["findings"]]
    body = cards([("now", *_health_card(severities.count("problem"), severities.count("warning")))])
    body += "<h2>Morning checks</h2>" + svg.lines("problems and warnings per morning check", labels, {
        "problems": [t["problems"] for t in trend], "warnings": [t["warnings"] for t in trend]})
    body += "<h2>Findings now</h2>" + table(now["findings"])
    return layout(request, "Health", body)


def alerts(app: ServeApp, request: Request) -> str:
    data = views.alerts(app, request)
    per: dict[str, int] = defaultdict(int)
    for a in data["alerts"]:
        per[f"{a['alert_kind']} ({a['status']})"] += 1
    hooks = ", ".join(data["webhooks"]) or "none configured (NBADB_ALERT_WEBHOOKS)"
    body = f"<p>webhooks: {hooks}</p>" + svg.hbars("alerts by kind and outcome", sorted(per.items()))
    body += table(data["alerts"])
    return layout(request, "Alerts", body)


def schedule(app: ServeApp, request: Request) -> str:
    data = views.schedule(app, request)
    recent = data["recent"]
    body = "<h2>Next cycles</h2>" + table(data["next"]) + "<h2>Due now</h2>" + table(data["due"], caption="due cycles")
    body += "<h2>Cycles run</h2>" + svg.hbars("runs per recent cycle", [
        (f"{r['cycle_kind']} {r['game_date']}", r["runs"]) for r in recent[:20] if r["runs"]])
    body += table(recent)
    return layout(request, "Schedule", body, note=f"clock {data['now']:%Y-%m-%d %H:%M} UTC; times in America/New_York")


PAGES: dict[str, Callable[[ServeApp, Request], str]] = {
    "/": overview, "/runs": runs, "/waste": waste, "/patterns": patterns, "/breakers": breakers, "/gaps": gaps,
    "/freshness": freshness, "/quarantine": quarantine, "/backfill": backfill, "/predictions": predictions,
    "/evaluation": evaluation, "/health": health, "/alerts": alerts, "/schedule": schedule,
}


def page_handler(app: ServeApp, render: Callable[[ServeApp, Request], str]) -> Callable[[Request, dict[str, str]], Response]:
    return lambda request, _: Response.html(render(app, request))
