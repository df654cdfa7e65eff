"""Commands that read the ledger: runs, explain, report waste, processors."""

from __future__ import annotations

from typing import Optional

import typer
from rich.table import Table

from nbadb.cli.common import JsonOption, command, console, parse_date, print_json

report_app = typer.Typer(
    help="Decision reports computed from the run ledger.", no_args_is_help=True, rich_markup_mode="markdown"
)


def runs(
    processor: Optional[str] = typer.Option(None, "--processor", help="Only this processor."),
    status: Optional[str] = typer.Option(None, "--status", help="success, skipped, failed or partial."),
    since: Optional[str] = typer.Option(None, "--since", help="Runs whose dates end on or after this date."),
    limit: int = typer.Option(30, "--limit", help="How many rows, newest first."),
    as_json: bool = JsonOption,
) -> None:
    """Recent runs from the ledger (one row per run, at its terminal state)."""
    from nbadb.monitor.ledger import recent_runs
    from nbadb.orchestrate.workspace import open_workspace

    with open_workspace() as ws:
        rows = recent_runs(ws.con, processor=processor, status=status, since=parse_date(since, "since"), limit=limit)
    if as_json:
        print_json(rows)
        return
    table = Table(title="runs (newest first)")
    for col in ("run id", "processor", "dates", "status", "reason / mode", "changed", "processed", "waste %", "ms"):
        table.add_column(col)
    for r in rows:
        dates = str(r["start_date"]) if r["start_date"] == r["end_date"] else f"{r['start_date']}..{r['end_date']}"
        waste = "" if r["waste_pct"] is None else f"{r['waste_pct']:.0f}"
        table.add_row(r["run_id"], r["processor"], dates, r["status"], r["skip_reason"] or r["processing_mode"] or "",
                      str(r["entities_changed"]), str(r["entities_processed"]), waste, f"{r['duration_ms']:.0f}")
    console.print(table)


def explain(run_id: str = typer.Argument(..., help="A run id from `nbadb runs`."), as_json: bool = JsonOption) -> None:
    """Why a run ran or was skipped: its trigger chain, the decisions taken, what it consumed and produced."""
    from nbadb.monitor.ledger import explain_run
    from nbadb.orchestrate.workspace import open_workspace

    with open_workspace() as ws:
        run = explain_run(ws.con, run_id)
    if as_json:
        print_json(run)
        return
    verdict = run["status"] + (f" ({run['skip_reason']})" if run["skip_reason"] else "")
    console.print(f"[bold]{run['processor']}[/] run {run['run_id']}: {verdict}")
    console.print(f"  dates {run['start_date']} .. {run['end_date']}, mode {run['run_mode']}, "
                  f"processing {run['processing_mode'] or '-'}, {run['duration_ms']:.1f} ms")
    console.print(f"  triggered by {run['trigger_source']}; chain: {' -> '.join(run['trigger_chain'] or [])}")
    console.print(f"  entities: {run['entities_in_scope']} in scope, {run['entities_changed']} changed, "
                  f"{run['entities_processed']} processed; {run['rows_written']} rows written")
    for d in run["decisions_made"] or []:
        console.print(f"  decision: {d}")
    if run["optimizations_used"]:
        console.print(f"  optimizations: {', '.join(run['optimizations_used'])}")
    for e in run["consumed_events"]:
        console.print(f"  consumed event {e['event_id']} from {e['producer']} ({e['entities']} entities, dates {', '.join(e['game_dates'])})")
    if run["produced_event"]:
        console.print(f"  produced event {run['produced_event']['event_id']} ({run['produced_event']['entities']} entities)")
    if run["error"]:
        console.print(f"  [red]error:[/] {run['error']}")
    console.print(f"  timings (ms): {run['timings']}")


def render_waste(rows: list) -> None:
    table = Table(title="waste report (from the run ledger)")
    for col in ("processor", "mode", "runs", "avg waste %", "wasted h", "wasted h/week", "weeks to ROI", "recommendation"):
        table.add_column(col)
    for r in rows:
        roi = "never" if r.weeks_to_roi is None else f"{r.weeks_to_roi:,.0f}"
        table.add_row(r.processor, r.processing_mode, str(r.runs), f"{r.avg_waste_pct:.1f}", f"{r.wasted_hours:.6f}",
                      f"{r.wasted_hours_per_week:.6f}", roi, r.recommendation)
    console.print(table)


@report_app.command("waste")
def report_waste(
    since: Optional[str] = typer.Option(None, "--since", help="Only runs for dates on or after this date."),
    as_json: bool = JsonOption,
) -> None:
    """Per processor and mode: runs, average waste %, wasted hours, weeks-to-ROI and a recommendation."""
    from nbadb.monitor.waste import waste_report
    from nbadb.orchestrate.workspace import open_workspace

    with open_workspace() as ws:
        rows = waste_report(ws.con, parse_date(since, "since"))
    if as_json:
        print_json([r.as_dict() for r in rows])
    else:
        render_waste(rows)



def render_patterns(report) -> None:
    table = Table(title=f"processing patterns ({report.runs} runs in the ledger)")
    for col in ("pattern", "fired (runs)", "% of runs", "runs saved", "entities saved"):
        table.add_column(col)
    for p in report.patterns:
        table.add_row(p.pattern, str(p.fired), f"{p.share_of_runs_pct:.1f}",
                      "-" if p.runs_saved is None else str(p.runs_saved),
                      "-" if p.entities_saved is None else str(p.entities_saved))
    console.print(table)
    rules = Table(title="decision rules")
    for col in ("rule", "measure", "value", "threshold", "verdict"):
        rules.add_column(col)
    for r in report.rules:
        rules.add_row(r.rule, r.measure, f"{r.value:g}", f"{r.threshold:g}", "[bold]do it[/]" if r.triggered else "not needed")
    console.print(rules)


def report_patterns(
    since: Optional[str] = typer.Option(None, "--since", help="Only runs for dates on or after this date."),
    as_json: bool = JsonOption,
) -> None:
    """How often each processing pattern fired and what it saved, then the decision rules.

    Per pattern (early exit, smart skip, breakers, idempotency, data-version shortcut, change
    detection, entity-level processing, coalescing, gap repair): runs it fired in, runs and entity
    processing it saved; then the decision rules (caching, idempotency, backfill automation).
    Definitions: `nbadb.monitor.patterns`."""
    from nbadb.monitor.patterns import patterns_report
    from nbadb.orchestrate.workspace import open_workspace

    with open_workspace() as ws:
        report = patterns_report(ws.con, ws.graph, parse_date(since, "since"))
    if as_json:
        print_json(report.as_dict())
    else:
        render_patterns(report)


def processors(as_json: bool = JsonOption) -> None:
    """The processor graph: phase, grain, inputs and code version of every processor."""
    from nbadb.pipeline.registry import build_graph

    graph = build_graph()
    rows = [
        {"name": s.name, "phase": s.phase, "entity": s.entity_key, "date_column": s.date_column,
         "inputs": sorted(s.input_tables), "code_version": s.code_version, "description": s.description}
        for s in (graph.specs[n] for n in graph.order)
    ]
    if as_json:
        print_json(rows)
        return
    table = Table(title="processors (in run order)")
    for col in ("name", "phase", "entity", "inputs", "code"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["name"], str(r["phase"]), r["entity"], ", ".join(r["inputs"]), r["code_version"])
    console.print(table)


def register(app: typer.Typer) -> None:
    command(app, runs)
    command(app, explain)
    command(app, processors)
    command(report_app, report_patterns, "patterns")
    app.add_typer(report_app, name="report")
