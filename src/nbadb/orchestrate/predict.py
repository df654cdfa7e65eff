"""Predict one date: publish what the archive released that day, run the pipeline for it as of that
day (upcoming context, form, features, predictions) and collect the predictions with their lines.

The pass runs at the day's pre-tip instant (or now, when that is earlier), as a replay's does: what
it says is what was known before tip-off, and the day is not frozen by it, so a day predicted before
its earlier days were published is predicted again, with them, once they are."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta

from nbadb.engine.calendar import LeagueCalendar
from nbadb.engine.request import RunResult
from nbadb.orchestrate.daily import run_pipeline
from nbadb.orchestrate.ingest import publish
from nbadb.orchestrate.replay import PRE_TIP_MARGIN
from nbadb.orchestrate.workspace import Workspace
from nbadb.pipeline.features import ML_FEATURE_STORE
from nbadb.pipeline.predictions import PLAYER_PROP_PREDICTIONS
from nbadb.pipeline.probabilities import call_odds_sql
from nbadb.pipeline.raw import SCHEDULE, SOURCE_KIND_OF

_PREDICTIONS = f"""
    SELECT p.player_id, c.player_name, p.game_id, p.target, p.system, round(p.predicted_value, 2) AS predicted,
           p.line_value AS line, p.line_source, round(p.edge, 2) AS edge, round(p.confidence, 3) AS confidence,
           p.recommendation, p.bookmaker,
           {call_odds_sql('p')} AS call_odds, round(p.ev, 3) AS ev, p.model_version, p.form_age_days, p.form_quality
    FROM predictions.player_prop_predictions p
    LEFT JOIN analytics.upcoming_player_game_context c ON c.player_id = p.player_id AND c.game_date = p.game_date
    WHERE p.game_date = $day AND p.system = $system
    ORDER BY p.line_source = 'prop_consensus' DESC, p.recommendation = 'PASS', p.confidence DESC NULLS LAST,
             c.player_name, p.target"""

# The first day before $day with a published box score (a publication of days without games, such as
# a predict of a day before the archive's first, starts nothing).
_FIRST_PUBLISHED = "SELECT min(game_date) FROM raw.player_boxscores WHERE game_date < $day"
# The box-score publications (ingest, replay, backfill) that covered days before $day.
_COVERED = """SELECT start_date, least(end_date, $day - 1) AS end_date FROM ops.processor_runs
    WHERE processor = 'raw.player_boxscores' AND status <> 'failed' AND start_date < $day"""
# The days from the first published box score up to the day before $day that no publication covered.
_UNPUBLISHED = f"""
    WITH covered AS ({_COVERED}),
    days AS (SELECT unnest(generate_series(({_FIRST_PUBLISHED}), $day - 1, INTERVAL 1 DAY))::DATE AS d)
    SELECT d FROM days ANTI JOIN covered c ON d BETWEEN c.start_date AND c.end_date ORDER BY d"""


@dataclass(frozen=True)
class Unpublished:
    """What is unseen before a predicted day: the day ranges no publication covered since the first
    published box score, or (`nothing`) no box score published before it."""

    nothing: bool
    ranges: tuple[tuple[date, date], ...] = ()

    @property
    def days(self) -> int:
        return sum((end - start).days + 1 for start, end in self.ranges)

    def as_dict(self) -> dict[str, object]:
        return {"nothing_published": self.nothing, "days": self.days,
                "ranges": [{"start": str(start), "end": str(end)} for start, end in self.ranges]}


def unpublished_before(ws: Workspace, day: date) -> Unpublished | None:
    """What no box-score publication covered before `day`, from its first published box score on (None:
    every day since then is in)."""
    if ws.con.execute(_FIRST_PUBLISHED, {"day": day}).fetchall()[0][0] is None:
        return Unpublished(True)
    ranges: list[tuple[date, date]] = []
    for (d,) in ws.con.execute(_UNPUBLISHED, {"day": day}).fetchall():
        if ranges and ranges[-1][1] == d - timedelta(days=1):
            ranges[-1] = (ranges[-1][0], d)
        else:
            ranges.append((d, d))
    return Unpublished(False, tuple(ranges)) if ranges else None


@dataclass
class PredictOutcome:
    day: date
    system: str
    prop_match: tuple[int, int]
    results: list[RunResult] = field(default_factory=list)
    predictions: list[dict[str, object]] = field(default_factory=list)
    systems: dict[str, object] = field(default_factory=dict)  # the latest prediction worker run for the day
    by_system: dict[str, int] = field(default_factory=dict)  # the day's predictions per system (every target)
    unpublished: Unpublished | None = None
    feature_rows: int = 0  # the day's rows in the feature store: the players the systems were asked about
    games: int | None = None  # the day's games in the published schedule; None: the archive has no schedule source

    @property
    def no_game(self) -> bool:
        """Nothing says the day has a game: none scheduled, no line, no player in the feature store."""
        return self.games == 0 and not self.prop_match[1] and not self.feature_rows

    def count(self, line_source: str, recommendation: str | None = None) -> int:
        return sum(p["line_source"] == line_source and recommendation in (None, p["recommendation"])
                   for p in self.predictions)

    def as_dict(self) -> dict[str, object]:
        matched, total = self.prop_match
        return {
            "day": str(self.day), "system": self.system,
            "prop_match": {"matched": matched, "total": total, "rate": matched / total if total else None},
            "runs": [{"processor": r.processor, "status": r.status, "skip_reason": r.skip_reason, "error": r.error}
                     for r in self.results],
            "systems": self.systems,
            "unpublished_days": self.unpublished and self.unpublished.as_dict(),
            "feature_rows": self.feature_rows, "games": self.games, "predictions_by_system": self.by_system,
            "predictions": self.predictions,
        }


def predict_date(ws: Workspace, day: date, system: str = "ensemble") -> PredictOutcome:
    """Publish `day` from the archive (a no-op for what is already in), run the pipeline for it with
    `day` as today, and read back its predictions of `system` (and which earlier days are unpublished)."""
    unpublished = unpublished_before(ws, day)
    published = publish(ws, day, day)
    pre_tip = min(ws.engine.now(), ws.engine.calendar().cutoff(day) - PRE_TIP_MARGIN)
    results = published.results + run_pipeline(ws, (day, day), as_of=day, clock=pre_tip)
    cursor = ws.con.execute(_PREDICTIONS, {"day": day, "system": system})
    names = [d[0] for d in cursor.description]
    predictions = [dict(zip(names, row)) for row in cursor.fetchall()]
    feature_rows = ws.con.execute(f"SELECT count(*) FROM {ML_FEATURE_STORE.name} WHERE game_date = $day",
                                  {"day": day}).fetchall()[0][0]
    games = LeagueCalendar.load(ws.con).games_between(day, day)
    scheduled = any(ws.source.available(kind) for kind in SOURCE_KIND_OF[SCHEDULE.name])
    by_system = dict(ws.con.execute(f"SELECT system, count(*) FROM {PLAYER_PROP_PREDICTIONS.output_table} "
                                    "WHERE game_date = $day GROUP BY ALL ORDER BY ALL", {"day": day}).fetchall())
    outcome = PredictOutcome(day, system, published.prop_match, results, predictions, unpublished=unpublished,
                             feature_rows=feature_rows, games=games if scheduled else None, by_system=by_system)
    worker = ws.con.execute(
        """SELECT run_id, status, start_date, end_date, systems_succeeded, systems_failed, systems_skipped_open,
                  systems_not_ready, errors
        FROM ops.prediction_worker_runs WHERE processor = $p AND start_date <= $day AND end_date >= $day
        ORDER BY recorded_at DESC LIMIT 1""",
        {"p": PLAYER_PROP_PREDICTIONS.name, "day": day},
    ).fetchall()
    if worker:
        run_id, status, first, last, ok, failed, skipped, not_ready, errors = worker[0]
        outcome.systems = {"run_id": run_id, "status": status, "start_date": str(first), "end_date": str(last),
                           "succeeded": ok, "failed": failed, "skipped_open": skipped, "not_ready": not_ready,
                           "errors": json.loads(errors)}
    return outcome
