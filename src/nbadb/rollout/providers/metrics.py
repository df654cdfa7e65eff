"""The measurements a provider's criteria and telemetry read, from its own data.

Each metric is one aggregate over one of three row sets of a book, restricted to some game days:
- `days`: its telemetry rows (predictions.provider_telemetry: counts as known before each cutoff);
- `lines`: its main lines per player and market (analytics.provider_lines);
- `outcomes`: once results exist, each of its lines for which the served ensemble made a call
  (OVER/UNDER against the consensus) on a player-game with a result: whether the call hit at its line
  and at the consensus (a push counts neither way), and the closing-line value of each: for an OVER,
  closing line minus the line (for an UNDER the reverse), the closing line being the median of every
  read book's latest main line snapped before the game's tip-off.
Ratios pool their parts over the days (sum over sum), medians run over every line of the days, so a
measure over many days is not an average of daily figures. The same definitions give the figures
per game day (`daily`) and over a window (`measure`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

import duckdb

from nbadb.pipeline.provider_lines import PROVIDER_LINES_TABLE
from nbadb.pipeline.provider_telemetry import PROVIDER_TELEMETRY
from nbadb.pipeline.predictions import PREDICTIONS_TABLE
from nbadb.pipeline.prop_features.processor import TARGETS
from nbadb.pipeline.upcoming import MAIN_LINE_ORDER

Source = Literal["days", "lines", "outcomes"]


@dataclass(frozen=True)
class Metric:
    name: str
    meaning: str
    source: Source
    aggregate: str  # SQL over the source's rows


METRICS: tuple[Metric, ...] = (
    Metric("lines_offered", "lines the feed offered from it (read or not)", "days", "sum(lines_offered)"),
    Metric("coverage_games", "share of the day's games it has a line for", "days",
           "sum(games_with_line) / nullif(sum(games), 0)"),
    Metric("coverage_players", "share of the players we predict it has a line for", "days",
           "sum(predicted_players_with_line) / nullif(sum(predicted_players), 0)"),
    Metric("freshness_minutes", "median age of its lines at tip-off, minutes", "lines", "median(snapshot_age_minutes)"),
    Metric("agreement_within_half", "share of its lines within 0.5 of the served consensus", "days",
           "sum(lines_within_half) / nullif(sum(lines_compared), 0)"),
    Metric("median_abs_diff", "median absolute difference from the served consensus", "lines",
           "median(abs(line - consensus_line))"),
    Metric("quarantine_rate", "share of the lines read that were quarantined (bad odds, other rules, unknown names)",
           "days", "sum(lines_bad_odds + lines_other_rules + lines_unmatched) / nullif(sum(lines_offered - lines_not_read), 0)"),
    Metric("shadow_agreement", "share of served recommendations the verdict against its lines matched", "days",
           "sum(shadow_agreed) / nullif(sum(shadow_compared), 0)"),
    Metric("outcome_calls", "served calls on its lines with a result", "outcomes", "count(*)"),
    Metric("hit_rate", "served calls that hit at its lines", "outcomes", "avg(hit_at_line::INTEGER)"),
    Metric("consensus_hit_rate", "the same calls' hit rate at the consensus", "outcomes",
           "avg(hit_at_consensus::INTEGER)"),
    Metric("hit_rate_edge", "hit rate at its lines minus at the consensus", "outcomes",
           "avg(hit_at_line::INTEGER) - avg(hit_at_consensus::INTEGER)"),
    Metric("clv", "mean closing-line value of its lines for the served calls", "outcomes", "avg(clv)"),
    Metric("consensus_clv", "mean closing-line value of the consensus for the same calls", "outcomes",
           "avg(consensus_clv)"),
)
METRIC_NAMES = tuple(m.name for m in METRICS)

_ACTUAL = "CASE l.target " + " ".join(f"WHEN '{t}' THEN s.{t}" for t in TARGETS) + " END"


def _hit(line: str) -> str:
    return (f"CASE WHEN {_ACTUAL} = {line} THEN NULL WHEN c.recommendation = 'OVER' THEN {_ACTUAL} > {line} "
            f"ELSE {_ACTUAL} < {line} END")


def _clv(line: str) -> str:
    return f"CASE c.recommendation WHEN 'OVER' THEN k.closing_line - {line} ELSE {line} - k.closing_line END"


_ROWS = f"""
    days AS (SELECT * FROM {PROVIDER_TELEMETRY.name} WHERE bookmaker = $book AND list_contains($dates, game_date)),
    lines AS (SELECT * FROM {PROVIDER_LINES_TABLE} WHERE bookmaker = $book AND list_contains($dates, game_date)),
    closing AS (
        SELECT player_id, game_date, market, median(line) AS closing_line FROM (
            SELECT player_id, game_date, home_team_name, market, bookmaker, arg_max(line, {MAIN_LINE_ORDER}) AS line
            FROM raw.prop_lines
            WHERE list_contains($dates, game_date) AND snapshot_ts < tip_time_utc AND line IS NOT NULL
            GROUP BY ALL)
        GROUP BY ALL
    ),
    outcomes AS (
        SELECT l.game_date, {_hit('l.line')} AS hit_at_line, {_hit('l.consensus_line')} AS hit_at_consensus,
               {_clv('l.line')} AS clv, {_clv('l.consensus_line')} AS consensus_clv
        FROM lines l
        JOIN {PREDICTIONS_TABLE} c ON c.player_id = l.player_id AND c.game_date = l.game_date AND c.game_id = l.game_id
         AND c.target = l.target AND c.system = 'ensemble' AND c.line_source = 'prop_consensus'
         AND c.recommendation <> 'PASS'
        JOIN analytics.player_game_summary s ON s.player_id = l.player_id AND s.game_id = l.game_id
        LEFT JOIN closing k ON k.player_id = l.player_id AND k.game_date = l.game_date AND k.market = l.market
    )"""


def _query(group: str) -> str:
    """Every metric per `group` (an expression over game_date) of the rows of $book on $dates."""
    parts = []
    for source in ("days", "lines", "outcomes"):
        aggregates = ", ".join(f"{m.aggregate} AS {m.name}" for m in METRICS if m.source == source)
        parts.append(f"{source}_by AS (SELECT {group} AS g, {aggregates} FROM {source} GROUP BY ALL)")
    joined = " ".join(f"LEFT JOIN {s}_by USING (g)" for s in ("lines", "outcomes"))
    return f"WITH {_ROWS}, {', '.join(parts)} SELECT g, {', '.join(METRIC_NAMES)} FROM days_by {joined} ORDER BY g"


Values = dict[str, float | None]


def measure(con: duckdb.DuckDBPyConnection, bookmaker: str, dates: list[date]) -> Values:
    """Every metric of `bookmaker` pooled over `dates` (None where nothing was measured)."""
    rows = con.execute(_query("true"), {"book": bookmaker, "dates": dates}).fetchall() if dates else []
    return dict(zip(METRIC_NAMES, rows[0][1:])) if rows else dict.fromkeys(METRIC_NAMES)


def daily(con: duckdb.DuckDBPyConnection, bookmaker: str, dates: list[date]) -> dict[date, Values]:
    """Every metric of `bookmaker` per game day of `dates` it has telemetry for."""
    rows = con.execute(_query("game_date"), {"book": bookmaker, "dates": dates}).fetchall() if dates else []
    return {r[0]: dict(zip(METRIC_NAMES, r[1:])) for r in rows}
