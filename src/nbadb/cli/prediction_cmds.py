"""Commands about predictions: `nbadb predict` and `nbadb report predictions`."""

from __future__ import annotations

from datetime import timedelta

import typer
from rich.markup import escape

from nbadb.cli.common import DataTable, JsonOption, check_choice, check_season, command, console, parse_date, print_json
from nbadb.cli.ledger_cmds import report_app
from nbadb.errors import ConfigError
from nbadb.pipeline.prop_features.processor import TARGETS

SYSTEMS = ("ensemble", "baseline", "heuristic", "gbm")
CALLS = ("OVER", "UNDER", "PASS")


def predict(
    date_: str = typer.Option(..., "--date", help="The game day to predict, YYYY-MM-DD."),
    system: str = typer.Option("ensemble", "--system", help=f"Whose predictions to show: {', '.join(SYSTEMS)}."),
    target: str = typer.Option(None, "--target", help=f"Show only this stat: {', '.join(TARGETS)}."),
    call: str = typer.Option(None, "--call", help=f"Show only this call: {', '.join(CALLS)}."),
    limit: int = typer.Option(40, "--limit", min=1, help="Rows shown in the table (--json prints all)."),
    as_json: bool = JsonOption,
) -> None:
    """Predict a game day before tip-off and call OVER/UNDER/PASS against its prop lines.

    Publishes the day from the archive, runs the pipeline for it before tip-off and prints the
    predictions against the lines (real prop lines where the archive has them)."""
    from nbadb.orchestrate.predict import predict_date
    from nbadb.orchestrate.workspace import open_workspace

    check_choice(system, "system", SYSTEMS)
    check_choice(target, "target", TARGETS)
    check_choice(call, "call", CALLS)
    day = parse_date(date_)
    with open_workspace() as ws:
        outcome = predict_date(ws, day, system)
    shown = [p for p in outcome.predictions
             if target in (None, p["target"]) and call in (None, p["recommendation"])]
    if as_json:
        print_json({**outcome.as_dict(), "predictions": shown, "shown_of": len(outcome.predictions),
                    "filters": {"target": target, "call": call}})
    else:
        _render_predict(outcome, shown, limit)
        if min(len(shown), limit) < len(outcome.predictions) and not outcome.no_game:
            console.print(f"shown: {_shown(len(shown), limit, len(outcome.predictions), target=target, call=call)}")
    if any(r.status == "failed" for r in outcome.results):
        raise typer.Exit(1)


def _shown(matching: int, limit: int, total: int, **filters: str | None) -> str:
    """Which of the day's predictions the table shows: those the filters keep, the first `limit` of them."""
    chosen = ", ".join(f"{k} {v}" for k, v in filters.items() if v)
    if matching <= limit:
        return f"{matching} of the {total} predictions ({chosen})"
    if chosen:
        return f"{limit} of the {matching} predictions with {chosen}, of the day's {total} (--limit {limit})"
    return f"{limit} of the {total} predictions (--limit {limit})"


def _render_predict(outcome, shown: list[dict], limit: int) -> None:
    if outcome.no_game:
        console.print(f"no game is scheduled on {outcome.day} (the published schedule): nothing to predict")
        return
    if outcome.games is None:
        console.print("[yellow]note:[/] the archive has no schedule or team-log file: no game of the day is known")
    table = DataTable(title=f"{outcome.system} predictions for {outcome.day} (real lines first, calls before passes, "
                            "then by confidence)")
    numbers = ("predicted", "line", "edge", "confidence", "odds", "EV %", "form age (days)")
    for col in ("player", "game", "target", "predicted", "line", "line source", "edge", "confidence", "call",
                "odds", "EV %", "book", "form age (days)", "form quality"):
        table.add_column(col, justify="right" if col in numbers else "left")
    for p in shown[:limit]:
        table.add_row(str(p["player_name"] or p["player_id"]), p["game_id"], p["target"], f"{p['predicted']:.1f}",
                      "-" if p["line"] is None else f"{p['line']:.1f}", p["line_source"] or "-",
                      "-" if p["edge"] is None else f"{p['edge']:+.1f}",
                      "-" if p["confidence"] is None else f"{p['confidence']:.2f}", p["recommendation"],
                      "-" if p["call_odds"] is None else f"{p['call_odds']:+.0f}",
                      "-" if p["ev"] is None else f"{100 * p['ev']:+.1f}", p["bookmaker"] or "-",
                      "-" if p["form_age_days"] is None else str(p["form_age_days"]), p["form_quality"] or "-")
    console.print(table)
    calls = ", ".join(f"{outcome.count('prop_consensus', r)} {r}" for r in CALLS)
    console.print(f"{len(outcome.predictions)} predictions; {outcome.count('prop_consensus')} against real prop lines: "
                  f"{calls}; {outcome.count('estimated')} against estimated lines")
    unformed = sum(p["form_quality"] in ("none", "stale") for p in outcome.predictions)
    if unformed:
        console.print(f"[yellow]{unformed} of them without current form[/] (no game this season or last, or none in "
                      "30 days): the systems' guesses for a player they know nothing recent of, with no confidence "
                      "and no call")
    if (gap := outcome.unpublished) is not None and gap.nothing:
        console.print(f"[yellow]note:[/] no box score is published before {outcome.day}: no player has form; publish "
                      f"the season's earlier days first (`nbadb ingest --start <its first day> --end "
                      f"{outcome.day - timedelta(days=1)}`)")
    elif gap is not None:
        spans = ", ".join(str(a) if a == b else f"{a} .. {b}" for a, b in gap.ranges)
        first, last = gap.ranges[0][0], gap.ranges[-1][1]
        console.print(f"[yellow]note:[/] no box score is published for {spans} ({gap.days} day{'s' * (gap.days > 1)}): "
                      f"these predictions do not see those games; publish them first (`nbadb ingest --start {first} "
                      f"--end {last}` publishes what is missing and leaves the rest as it is)")
    matched, total = outcome.prop_match
    if total:
        console.print(f"prop-line names matched to NBA player ids: {matched}/{total} ({100 * matched / total:.1f}%)")
    else:
        console.print("no prop lines in the archive for this day: every line is estimated")
    if outcome.systems:
        s = outcome.systems
        listed = {k: ", ".join(s[k]) or "-" for k in ("succeeded", "failed", "skipped_open", "not_ready")}
        span = s["start_date"] if s["start_date"] == s["end_date"] else f"{s['start_date']}..{s['end_date']}"
        console.print(f"systems (run {s['run_id']} for {span}, {s['status']}): succeeded {listed['succeeded']}; "
                      f"failed {listed['failed']}; skipped (breaker open) {listed['skipped_open']}; "
                      f"not ready {listed['not_ready']}")
        for part, error in s["errors"].items():
            console.print(f"  [yellow]{part}:[/] {escape(str(error))}")
    others = {name: n for name, n in outcome.by_system.items() if name != outcome.system}
    if not outcome.predictions and not outcome.feature_rows:
        console.print("[yellow]no predictions:[/] the feature store has no row for this day's players "
                      "(ingest or replay the days before it first)")
    elif not outcome.predictions and others:
        console.print(f"[yellow]no {outcome.system} predictions[/] for {outcome.day}; the others made some "
                      f"({', '.join(f'{name} {n}' for name, n in others.items())}): {outcome.system} was not ready "
                      "that day (the reason above when its run recorded one; a run over several seasons counts a "
                      "system that predicted any of its days as succeeded)")
    elif not outcome.predictions:
        console.print(f"[yellow]no predictions:[/] the feature store has {outcome.feature_rows} players for this day "
                      "and no system predicted any of them (each system's reason above; the baseline needs a game of "
                      "the player's in the warehouse)")


def report_predictions(
    season: str = typer.Option(None, "--season", help="Only this season, e.g. 2024-25."),
    start: str = typer.Option(None, "--start", help="First game date, YYYY-MM-DD."),
    end: str = typer.Option(None, "--end", help="Last game date, YYYY-MM-DD."),
    target: str = typer.Option(None, "--target", help=f"Only this target: {', '.join(TARGETS)}."),
    system: str = typer.Option(None, "--system", help=f"Only this system: {', '.join(SYSTEMS)}."),
    as_json: bool = JsonOption,
) -> None:
    """How much better than the season-average baseline each system is, and its calls at the real odds.

    Per system and target: MAE, RMSE, bias against the baseline on the same rows with 95 % game-day
    bootstrap intervals (gains inside the noise are labelled); hit rate and ROI of OVER/UNDER at the
    quoting book's real odds next to following the consensus; calibration; breakdowns by month,
    form quality and line source."""
    from nbadb.monitor.prediction_quality import quality_report
    from nbadb.orchestrate.workspace import open_workspace

    if season is not None:
        check_season(season)
    if target is not None:
        check_choice(target, "target", TARGETS)
    if system is not None:
        check_choice(system, "system", SYSTEMS)
    first, last = parse_date(start, "start"), parse_date(end, "end")
    if first and last and first > last:
        raise ConfigError(f"--start {first} is after --end {last}: give start <= end")
    with open_workspace(read_only=True) as ws:
        report = quality_report(ws.con, season=season, start=first, end=last, target=target, system=system)
    if as_json:
        print_json(report.as_dict())
    else:
        render_quality(report)


def render_quality(report) -> None:
    from nbadb.monitor.prediction_quality import GAIN_FORMAT, MAE_FORMAT, RATE_FORMAT, RETURN_FORMAT

    for n in report.not_ready:
        console.print(f"[yellow]note:[/] {escape(n.system)} has no prediction on {n.days} of these game days "
                      f"({n.first_day} to {n.last_day}): not ready, {escape(n.reason or 'no reason recorded')}",
                      highlight=False)
    if not report.evaluated_rows:
        console.print("no evaluated predictions for these filters "
                      "(a prediction is evaluated once its game's result is published)")
        return
    for title, rows in (("accuracy against the season-average baseline (95 % game-day bootstrap)", report.accuracy),
                        ("breakdowns (month, form, line source)", report.breakdowns)):
        table = DataTable(title=title)
        for col in ("group", "target", "system", "rows", "days", "MAE", "baseline MAE", "gain %", "", "RMSE", "bias"):
            table.add_column(col, justify="left" if col in ("group", "target", "system", "") else "right")
        for a in rows:
            table.add_row(a.group, a.target, a.system, f"{a.rows:,}", str(a.days), a.mae.format(MAE_FORMAT),
                          a.baseline_mae.format(MAE_FORMAT), a.gain_pct.format(GAIN_FORMAT), a.label,
                          f"{a.rmse:.3f}", f"{a.bias:+.3f}")
        console.print(table)
    bets = DataTable(title="OVER/UNDER at the real odds (rows with a real line and a result) vs follow the consensus")
    for col in ("target", "system", "rows", "bets", "hit rate %", "ROI %", "consensus bets", "consensus hit %",
                "consensus ROI %"):
        bets.add_column(col, justify="left" if col in ("target", "system") else "right")
    for b in report.betting:
        bets.add_row(b.target, b.system, f"{b.rows:,}", f"{b.bets:,}", b.hit_rate.format(RATE_FORMAT),
                     b.roi.format(RETURN_FORMAT), f"{b.consensus_bets:,}", b.consensus_hit_rate.format(RATE_FORMAT),
                     b.consensus_roi.format(RETURN_FORMAT))
    console.print(bets if report.betting else "no prediction has both a real line and a result")
    calibration = DataTable(title="calibration on real lines: mean P(over) vs observed share of overs")
    for col in ("target", "system", "P(over) bin", "rows", "mean P(over)", "observed"):
        calibration.add_column(col, justify="left" if col in ("target", "system") else "right")
    for c in report.calibration:
        calibration.add_row(c.target, c.system, c.bin, f"{c.rows:,}", f"{c.mean_p_over:.3f}", f"{c.observed_over:.3f}")
    console.print(calibration if report.calibration else
                  "no calibration to show: no prediction has a P(over) at a real line and a result")


def register(app: typer.Typer) -> None:
    command(app, predict)
    command(report_app, report_predictions, "predictions")
