"""Backfill validation: five levels of checks per date, computed for a batch of dates at once.

Levels (`LEVELS`):
1. execution: every processor of the phases has a run covering the date, that run succeeded or
   skipped for a recorded reason, and no breaker is open;
2. output volume: each table's rows of the date within the range its day's games imply (`VOLUMES`):
   so many per counted game, or exactly as many as the table it is built from;
3. data quality: required fields present (`REQUIRED`), no stored row breaking a check of the
   processor that wrote it, the day's league averages in range (`AVERAGES`);
4. dependency chain: a processor's rows of the date were written after the input rows they read
   (for an as-of processor: the inputs' latest date before it, in the versions known at its cutoff);
5. business sampling: for a few players of the date (`SAMPLED_PLAYERS`, chosen by a digest of the
   player and the date), their form in precompute.player_daily_cache equals the same averages
   recomputed here in Python from the raw box scores as published by the date's cutoff.

Each check gives one `CheckResult` per date. A date with a failed check of a blocking level stops
the backfill; a failed check of another level is a warning (engine.config: backfill_blocking_levels).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterable

import duckdb

from nbadb.engine.calendar import LeagueCalendar
from nbadb.engine.dag import ProcessorGraph
from nbadb.engine.request import RunResult
from nbadb.engine.spec import ProcessorSpec
from nbadb.engine.vocabulary import Status
from nbadb.pipeline.point_in_time import counted_games

LEVELS = {1: "execution", 2: "output volume", 3: "data quality", 4: "dependency chain", 5: "business sampling"}
SAMPLED_PLAYERS = 3
FORM_TOLERANCE = 1e-9  # relative: the stored form and the Python recomputation agree to this


@dataclass(frozen=True)
class CheckResult:
    """One check of one date: `observed` against [expected_low, expected_high] where it measures."""

    game_date: date
    level: int
    name: str
    subject: str
    passed: bool
    observed: float | None = None
    expected_low: float | None = None
    expected_high: float | None = None
    detail: str | None = None


@dataclass(frozen=True)
class Volume:
    """Rows a table holds for a date (of counted games only when `counted`: the table has a season
    type): `per_game` (low, high) per counted game of the date, or exactly `factor` times the rows
    of `like` for the date."""

    table: str
    per_game: tuple[float, float] | None = None
    like: str | None = None
    factor: int = 1
    counted: bool = False


VOLUMES = (
    Volume("raw.team_boxscores", per_game=(2, 2), counted=True),
    Volume("raw.player_boxscores", per_game=(14, 40), counted=True),
    Volume("analytics.player_game_summary", like="raw.player_boxscores", counted=True),
    Volume("analytics.team_offense_game_summary", like="raw.team_boxscores", counted=True),
    Volume("analytics.team_defense_game_summary", like="raw.team_boxscores", counted=True),
    Volume("analytics.upcoming_team_game_context", per_game=(2, 2)),
    Volume("analytics.upcoming_player_game_context", per_game=(15, 60)),
    Volume("precompute.player_daily_cache", like="analytics.upcoming_player_game_context"),
    Volume("precompute.player_composite_factors", like="analytics.upcoming_player_game_context"),
    Volume("precompute.ml_feature_store", like="analytics.upcoming_player_game_context"),
)

REQUIRED = {
    "raw.player_boxscores": ("game_id", "player_id", "team_id", "minutes", "pts", "reb", "ast", "fg3m"),
    "raw.team_boxscores": ("game_id", "team_id", "pts"),
    "analytics.player_game_summary": ("player_id", "team_id", "minutes", "pts"),
    "analytics.team_offense_game_summary": ("team_id", "possessions", "offensive_rating"),
    "analytics.upcoming_team_game_context": ("team_id", "opponent_team_id", "game_id"),
    "analytics.upcoming_player_game_context": ("player_id", "game_id", "injury_status"),
    "precompute.player_daily_cache": ("player_id", "games_played_season", "calculation_quality"),
    "precompute.player_composite_factors": ("player_id", "fatigue_score"),
    "precompute.ml_feature_store": ("player_id", "calculation_quality", "data_quality_score",
                                    "can_use_for_ml_training"),
    "predictions.player_prop_predictions": ("player_id", "target", "system", "predicted_value", "recommendation"),
}

# (table, SQL mean over the date's rows, low, high): the bounds hold on every date of the bundled
# seasons (2015-16 .. 2024-25) with room to spare.
AVERAGES = (
    ("analytics.player_game_summary", "avg(pts)", 5.0, 16.0),
    ("analytics.player_game_summary", "avg(minutes)", 14.0, 32.0),
    ("analytics.team_offense_game_summary", "avg(pts)", 75.0, 150.0),
    ("analytics.team_offense_game_summary", "avg(pace)", 80.0, 125.0),
    ("precompute.player_daily_cache", "avg(pts_avg_season)", 3.0, 16.0),
)


def validate(
    con: duckdb.DuckDBPyConnection, graph: ProcessorGraph, calendar: LeagueCalendar, start: date, end: date,
    *, levels: frozenset[int], phases: frozenset[int], results: list[RunResult],
) -> list[CheckResult]:
    """Every check of `levels` for each date in [start, end], after the batch's `results` wrote it."""
    specs = [s for s in graph.specs.values() if s.phase in phases]
    tables = {s.output_table for s in specs}
    checks: list[CheckResult] = []
    if 1 in levels:
        checks += _execution(con, specs, start, end, results)
    if 2 in levels:
        checks += _volume(con, tables, start, end)
    if 3 in levels:
        checks += _quality(con, specs, start, end)
    if 4 in levels:
        checks += _chain(con, graph, specs, calendar, start, end)
    if 5 in levels and "precompute.player_daily_cache" in tables:
        checks += _sampling(con, calendar, start, end)
    return checks


def counted_games_by_date(con: duckdb.DuckDBPyConnection, start: date, end: date) -> dict[date, int]:
    """The counted games the schedule lists per date of [start, end]."""
    return dict(con.execute(
        f"SELECT game_date, count(*) FROM raw.schedule WHERE game_date BETWEEN ? AND ? AND {counted_games()} "
        "GROUP BY ALL", [start, end]).fetchall())


def _dates(start: date, end: date) -> list[date]:
    return [date.fromordinal(o) for o in range(start.toordinal(), end.toordinal() + 1)]


def _rows_by_date(con: duckdb.DuckDBPyConnection, table: str, column: str, start: date, end: date,
                  select: str = "count(*)", where: str = "true") -> dict[date, float]:
    return {d: v for d, v in con.execute(
        f'SELECT "{column}", {select} FROM {table} WHERE "{column}" BETWEEN ? AND ? AND {where} GROUP BY ALL',
        [start, end]).fetchall()}


# -- 1: execution ---------------------------------------------------------------------------------

PUBLICATION_PHASE = 2  # the raw tables' phase: what the sources publish


def _execution(con: duckdb.DuckDBPyConnection, specs: list[ProcessorSpec], start: date, end: date,
               results: list[RunResult]) -> list[CheckResult]:
    runs = con.execute(
        "SELECT processor, start_date, end_date, status, skip_reason, error FROM ops.processor_runs "
        "WHERE list_contains($ids, run_id) AND status <> 'started'", {"ids": [r.run_id for r in results]}).fetchall()
    open_breakers = [name for (name,) in con.execute(
        "SELECT breaker_key FROM ops.circuit_breakers WHERE state <> 'CLOSED' ORDER BY 1").fetchall()]
    # a publication processor (phase 2) is due only when its source had something to publish (the
    # batch ran it: an archive file, an audit entry); every downstream processor is due every date
    ran = {r.processor for r in results}
    due = [s for s in specs if s.phase > PUBLICATION_PHASE or s.name in ran]
    checks = []
    for day in _dates(start, end):
        for spec in due:
            covering = [r for r in runs if r[0] == spec.name and r[1] <= day <= r[2]]
            failed = [r for r in covering if r[3] == Status.FAILED]
            if not covering:
                checks.append(CheckResult(day, 1, "processor ran", spec.name, False, detail="no run covered the date"))
            elif failed:
                checks.append(CheckResult(day, 1, "processor ran", spec.name, False, detail=failed[-1][5]))
            else:
                outcome = ", ".join(sorted({r[3] + (f":{r[4]}" if r[4] else "") for r in covering}))
                checks.append(CheckResult(day, 1, "processor ran", spec.name, True, detail=outcome))
        checks.append(CheckResult(day, 1, "no breaker open", "breakers", not open_breakers,
                                  observed=len(open_breakers), expected_low=0, expected_high=0,
                                  detail=", ".join(open_breakers) or None))
    return checks


# -- 2: output volume -------------------------------------------------------------------------------

def _volume(con: duckdb.DuckDBPyConnection, tables: set[str], start: date, end: date) -> list[CheckResult]:
    games = counted_games_by_date(con, start, end)
    wanted = tables | {v.like for v in VOLUMES if v.table in tables}
    counts = {v.table: _rows_by_date(con, v.table, "game_date", start, end,
                                     where=counted_games() if v.counted else "true")
              for v in VOLUMES if v.table in wanted}
    checks = []
    for day in _dates(start, end):
        for v in VOLUMES:
            if v.table not in tables:
                continue
            rows = counts[v.table].get(day, 0)
            if v.per_game:
                low, high = v.per_game[0] * games.get(day, 0), v.per_game[1] * games.get(day, 0)
            else:
                low = high = v.factor * counts[v.like].get(day, 0)  # type: ignore[index]
            checks.append(CheckResult(day, 2, "rows for the day's games", v.table, low <= rows <= high,
                                      observed=rows, expected_low=low, expected_high=high))
    return checks


# -- 3: data quality ---------------------------------------------------------------------------------

def _quality(con: duckdb.DuckDBPyConnection, specs: list[ProcessorSpec], start: date, end: date) -> list[CheckResult]:
    checks = []
    for spec in specs:
        required = REQUIRED.get(spec.output_table, ())
        column = spec.date_column
        counts = [f"count(*) FILTER (WHERE \"{c}\" IS NULL)" for c in required]
        counts += [f"count(*) FILTER (WHERE coalesce({c.violation_sql}, false))" for c in spec.checks]
        if not counts:
            continue
        found = {row[0]: row[1:] for row in con.execute(
            f'SELECT "{column}", {", ".join(counts)} FROM {spec.output_table} WHERE "{column}" BETWEEN ? AND ? '
            "GROUP BY ALL", [start, end]).fetchall()}
        names = [f"{c} present" for c in required] + [c.name for c in spec.checks]
        for day in _dates(start, end):
            bad = found.get(day, (0,) * len(names))
            broken = [f"{name} ({n} rows)" for name, n in zip(names, bad) if n]
            checks.append(CheckResult(day, 3, "required fields and the processor's checks", spec.output_table,
                                      not broken, observed=sum(bad), expected_low=0, expected_high=0,
                                      detail="; ".join(broken) or None))
    tables = {s.output_table for s in specs}
    for table, mean, low, high in AVERAGES:
        if table not in tables:
            continue
        values = _rows_by_date(con, table, "game_date", start, end, mean)
        for day, value in sorted(values.items()):
            if value is not None:
                checks.append(CheckResult(day, 3, f"{mean} in range", table, low <= value <= high,
                                          observed=value, expected_low=low, expected_high=high))
    return checks


# -- 4: dependency chain -----------------------------------------------------------------------------

def _chain(con: duckdb.DuckDBPyConnection, graph: ProcessorGraph, specs: list[ProcessorSpec],
           calendar: LeagueCalendar, start: date, end: date) -> list[CheckResult]:
    days = _dates(start, end)
    con.execute("CREATE OR REPLACE TEMP TABLE _check_days AS SELECT unnest($d)::DATE AS day, unnest($c) AS cutoff",
                {"d": days, "c": [calendar.cutoff(d) for d in days]})
    checks = []
    for spec in specs:
        if spec.phase < 3:
            continue
        written = _rows_by_date(con, spec.output_table, spec.date_column, start, end, "min(ingested_at)")
        for i in spec.inputs:
            if i.table not in graph.specs:
                continue
            read = _newest_input_read(con, graph.specs[i.table], i.date_column, i.lag_days, spec.kind == "as_of",
                                      start, end)
            for day, oldest_output in sorted(written.items()):
                newest_input = read.get(day)
                if newest_input is None:
                    continue
                checks.append(CheckResult(
                    day, 4, "written after its inputs", f"{spec.output_table} <- {i.table}",
                    oldest_output >= newest_input,
                    detail=f"rows written {oldest_output}, input rows read written {newest_input}"))
    return checks


def _newest_input_read(con: duckdb.DuckDBPyConnection, producer: ProcessorSpec, column: str, lag: int,
                       as_of: bool, start: date, end: date) -> dict[date, datetime]:
    """Per date: when the newest input rows the date's rows read were written. An as-of reader reads
    the input's latest date up to the date minus `lag` (the versions known at its cutoff); a
    current-truth reader the input's current rows of the same date."""
    if not producer.versioned:
        return _rows_by_date(con, producer.output_table, column, start, end, "max(ingested_at)")
    if not as_of:
        return {d: t for d, t in con.execute(
            f'SELECT "{column}", max(ingested_at) FROM {producer.output_table} WHERE "{column}" BETWEEN ? AND ? '
            "GROUP BY ALL", [start, end]).fetchall()}
    versions = f"{producer.output_table}_versions"
    return {d: t for d, t in con.execute(
        f"""WITH recent AS (SELECT "{column}" AS read_date, known_at, superseded_at, ingested_at FROM {versions}
                            WHERE "{column}" BETWEEN $start - 30 AND $end),
        last_read AS (SELECT d.day, d.cutoff, max(r.read_date) AS read_date FROM _check_days d
                      JOIN recent r ON r.read_date <= d.day - {lag} AND r.read_date >= d.day - 30
                       AND r.known_at < d.cutoff GROUP BY ALL)
        SELECT l.day, max(r.ingested_at) FROM last_read l JOIN recent r ON r.read_date = l.read_date
        WHERE r.known_at < l.cutoff AND (r.superseded_at IS NULL OR r.superseded_at >= l.cutoff) GROUP BY ALL""",
        {"start": start, "end": end}).fetchall()}


# -- 5: business sampling ----------------------------------------------------------------------------

_SAMPLED_FORM = ("games_played_season", "pts_avg_last_5", "pts_avg_last_10", "pts_avg_season", "reb_avg_season",
                 "minutes_avg_season")


def _sampling(con: duckdb.DuckDBPyConnection, calendar: LeagueCalendar, start: date,
              end: date) -> list[CheckResult]:
    stored = con.execute(
        f"""SELECT player_id, game_date, season, {', '.join(_SAMPLED_FORM)} FROM precompute.player_daily_cache
        WHERE game_date BETWEEN ? AND ?
        QUALIFY row_number() OVER (PARTITION BY game_date ORDER BY md5(player_id::VARCHAR || game_date::VARCHAR))
                <= {SAMPLED_PLAYERS}""", [start, end]).fetchall()
    if not stored:
        return []
    games = defaultdict(list)
    for player, season, day, pts, reb, minutes, known_at, superseded_at in con.execute(
            """SELECT player_id, season, game_date, pts, reb, minutes, known_at, superseded_at
            FROM raw.player_boxscores_versions WHERE list_contains($players, player_id)
              AND list_contains($seasons, season) AND game_date < $end""",
            {"players": sorted({r[0] for r in stored}), "seasons": sorted({r[2] for r in stored}), "end": end}
    ).fetchall():
        games[(player, season)].append((day, pts, reb, minutes, known_at, superseded_at))
    checks = []
    for player, day, season, *form in stored:
        cutoff = calendar.cutoff(day)
        played = sorted((g for g in games[(player, season)]
                         if g[0] < day and g[4] < cutoff and (g[5] is None or g[5] >= cutoff)), reverse=True)
        expected = _recomputed_form(played)
        differing = [f"{name}: stored {got}, recomputed {want}" for name, got, want in zip(_SAMPLED_FORM, form, expected)
                     if not _same(got, want)]
        checks.append(CheckResult(day, 5, "form recomputed from the raw box scores", f"player {player}",
                                  not differing, detail="; ".join(differing) or None))
    return checks


def _recomputed_form(played: list[tuple]) -> tuple[float | None, ...]:
    """games, pts over the last 5 / last 10 / season, reb and minutes over the season, newest first."""
    def mean(values: Iterable[float]) -> float | None:
        values = list(values)
        return sum(values) / len(values) if values else None
    return (len(played), mean(g[1] for g in played[:5]), mean(g[1] for g in played[:10]), mean(g[1] for g in played),
            mean(g[2] for g in played), mean(g[3] for g in played))


def _same(got: float | None, want: float | None) -> bool:
    if got is None or want is None:
        return got is None and want is None
    return math.isclose(got, want, rel_tol=FORM_TOLERANCE, abs_tol=FORM_TOLERANCE)
