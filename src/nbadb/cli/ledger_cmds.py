"""Commands that read the ledger: runs, explain, report waste, processors."""

from __future__ import annotations

from typing import Optional

import typer
from rich.markup import escape
from rich.text import Text

from nbadb.cli.common import DataTable, JsonOption, check_choice, command, console, parse_date, print_json
from nbadb.errors import ConfigError

RUN_STATUSES = ("success", "skipped", "failed", "partial", "orphaned", "interrupted")

report_app = typer.Typer(
    help="Decision reports computed from the run ledger.", no_args_is_help=True, rich_markup_mode="markdown"
)


def runs(
    processor: Optional[str] = typer.Option(None, "--processor", help="Only this processor."),
    status: Optional[str] = typer.Option(None, "--status", help="success, skipped, failed, partial, orphaned or interrupted."),
    since: Optional[str] = typer.Option(None, "--since", help="Runs whose dates end on or after this date."),
    limit: int = typer.Option(30, "--limit", min=1, help="How many rows, newest first."),
    as_json: bool = JsonOption,
) -> None:
    """Recent runs from the ledger (one row per run, at its terminal state), and orphaned starts.

    An orphaned start is a run a crash left behind (it wrote nothing); it is listed until a later
    run of its processor completes its dates."""
    from nbadb.monitor.ledger import recent_runs
    from nbadb.orchestrate.workspace import open_workspace

    check_choice(status, "status", RUN_STATUSES)
    first = parse_date(since, "since")
    with open_workspace(read_only=True) as ws:
        if processor is not None and processor not in ws.graph.specs:
            raise ConfigError(f"--processor {processor!r}: unknown; see `nbadb processors`")
        rows = recent_runs(ws.con, processor=processor, status=status, since=first, limit=limit)
    if as_json:
        print_json(rows)
        return
    table = DataTable(title="runs (newest first)")
    for col in ("run id", "processor", "dates", "status", "reason / mode", "changed", "processed", "waste %", "ms"):
        table.add_column(col)
    for r in rows:
        dates = str(r["start_date"]) if r["start_date"] == r["end_date"] else f"{r['start_date']}..{r['end_date']}"
        waste = "" if r["waste_pct"] is None else f"{r['waste_pct']:.0f}"
        status = Text(r["status"], style="red" if r["status"] in ("failed", "orphaned") else "")
        table.add_row(r["run_id"], r["processor"], dates, status, r["skip_reason"] or r["processing_mode"] or "",
                      _count(r["entities_changed"]), _count(r["entities_processed"]), waste,
                      "" if r["duration_ms"] is None else f"{r['duration_ms']:.0f}")
    console.print(table)


def _count(value: object) -> str:
    return "" if value is None else str(value)


def explain(run_id: str = typer.Argument(..., help="A run id from `nbadb runs`."), as_json: bool = JsonOption) -> None:
    """Why a run ran or was skipped: its trigger chain, the decisions taken, what it consumed and produced."""
    from nbadb.monitor.ledger import ORPHANED, explain_run
    from nbadb.orchestrate.workspace import open_workspace

    with open_workspace(read_only=True) as ws:
        run = explain_run(ws.con, run_id)
    if as_json:
        print_json(run)
        return
    if run["status"] == ORPHANED:
        resolved = f"resolved by run {run['resolved_by']}" if run["resolved_by"] else "not resolved yet"
        console.print(f"[bold]{run['processor']}[/] run {run_id}: [red]orphaned start[/] at {run['started_at']} "
                      f"for {run['start_date']} .. {run['end_date']}: the process died before the run finished; it "
                      f"wrote nothing ({resolved})")
        return
    verdict = run["status"] + (f" ({run['skip_reason']})" if run["skip_reason"] else "")
    console.print(f"[bold]{run['processor']}[/] run {run['run_id']}: {verdict}")
    console.print(f"  dates {run['start_date']} .. {run['end_date']}, mode {run['run_mode']}, "
                  f"processing {run['processing_mode'] or '-'}, {run['duration_ms']:.1f} ms")
    console.print(f"  triggered by {run['trigger_source']}; chain: {' -> '.join(run['trigger_chain'] or [])}")
    console.print(f"  entities: {run['entities_in_scope']} in scope, {run['entities_changed']} changed, "
                  f"{run['entities_processed']} processed; {run['rows_written']} rows written")
    for d in run["decisions"]:
        console.print(f"  decision: {escape(str(d))}")
    if run["optimizations_used"]:
        console.print(f"  optimizations: {', '.join(run['optimizations_used'])}")
    for e in run["consumed_events"]:
        console.print(f"  consumed event {e['event_id']} from {e['producer']} ({e['entities']} entities, dates {', '.join(e['game_dates'])})")
    if run["produced_event"]:
        console.print(f"  produced event {run['produced_event']['event_id']} ({run['produced_event']['entities']} entities)")
    if run["error"]:
        console.print(f"  [red]error:[/] {escape(run['error'])}")
    console.print(f"  timings (ms): {run['timings']}")


def render_waste(report) -> None:
    """The decision report on one screen: three answers, then one row per processor."""
    for question, answer in report.answers.items():
        console.print(f"[bold]{question[0].upper() + question[1:]}?[/] {escape(str(answer))}")
    table = DataTable(title="work per processor (runs that did work: success or partial)")
    for col in ("processor", "runs", "with work", "entity mode", "processed", "changed", "waste %", "work s",
                "wasted s", "spared by entity mode", "rule says"):
        table.add_column(col, justify="left" if col in ("processor", "rule says") else "right")
    for p in report.processors:
        table.add_row(p.processor, f"{p.runs:,}", f"{p.work_runs:,}", f"{p.entity_runs:,}", f"{p.entities_processed:,}",
                      f"{p.entities_changed:,}", "-" if p.waste_pct is None else f"{p.waste_pct:.1f}",
                      f"{p.work_seconds:.1f}", f"{p.wasted_seconds:.1f}", f"{p.entities_spared:,}", p.recommendation)
    console.print(table)


def waste_with_patterns(ws, since):
    """The waste report with the runs each processing pattern saved (monitor.patterns)."""
    from nbadb.monitor.patterns import patterns_report
    from nbadb.monitor.waste import waste_report

    return waste_report(ws.con, since, patterns_report(ws.con, ws.graph, since).runs_saved)


def report_waste(
    since: Optional[str] = typer.Option(None, "--since", help="Only runs for dates on or after this date."),
    as_json: bool = JsonOption,
) -> None:
    """Where work is wasted, whether entity-level processing pays, what the patterns saved.

    Per processor: runs, entities processed and changed, waste %, wasted seconds, entity computations
    spared by entity mode, and the decision rule's verdict (definitions: `nbadb.monitor.waste`)."""
    from nbadb.orchestrate.workspace import open_workspace

    first = parse_date(since, "since")
    with open_workspace(read_only=True) as ws:
        report = waste_with_patterns(ws, first)
    if as_json:
        print_json(report.as_dict())
    else:
        render_waste(report)



def render_patterns(report) -> None:
    table = DataTable(title=f"processing patterns ({report.runs} runs in the ledger)")
    for col in ("pattern", "fired (runs)", "% of runs", "runs saved", "entities saved"):
        table.add_column(col)
    for p in report.patterns:
        table.add_row(p.pattern, str(p.fired), f"{p.share_of_runs_pct:.1f}",
                      "-" if p.runs_saved is None else str(p.runs_saved),
                      "-" if p.entities_saved is None else str(p.entities_saved))
    console.print(table)
    rules = DataTable(title="decision rules")
    for col in ("rule", "measure", "value", "threshold", "verdict"):
        rules.add_column(col)
    for r in report.rules:
        rules.add_row(r.rule, r.measure, f"{r.value:g}", f"{r.threshold:g}",
                      Text("do it", style="bold") if r.triggered else "not needed")
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

    first = parse_date(since, "since")
    with open_workspace(read_only=True) as ws:
        report = patterns_report(ws.con, ws.graph, first)
    if as_json:
        print_json(report.as_dict())
    else:
        render_patterns(report)


def processors(as_json: bool = JsonOption) -> None:
    """The processor graph: phase, grain, inputs and code version of every processor."""
    from nbadb.config import get_settings
    from nbadb.pipeline.registry import build_graph
    from nbadb.rollout.routing import schema_contract

    graph = build_graph(schema_contract(get_settings()))
    rows = [
        {"name": s.name, "phase": s.phase, "entity": s.entity_key, "date_column": s.date_column,
         "inputs": sorted(s.input_tables), "code_version": s.code_version, "description": s.description}
        for s in (graph.specs[n] for n in graph.order)
    ]
    if as_json:
        print_json(rows)
        return
    table = DataTable(title="processors (in run order)")
    for col in ("name", "phase", "entity", "inputs", "code"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["name"], str(r["phase"]), r["entity"], ", ".join(r["inputs"]), r["code_version"])
    console.print(table)


def register(app: typer.Typer) -> None:
    command(app, runs)
    command(app, explain)
    command(app, processors)
    command(report_app, report_waste, "waste")
    command(report_app, report_patterns, "patterns")
    app.add_typer(report_app, name="report")
