"""How good the predictions were: accuracy, calibration and hit rates from predictions.evaluation.

All figures come from one season's evaluated rows (predictions whose player-game has a result):

- accuracy per system and target: rows, MAE, RMSE and bias (mean of predicted − actual) over
  every evaluated row; and, over the rows where the naive baseline exists (the player's season
  average so far, from the same feature row), the system's MAE next to the baseline's MAE — the
  same rows for both, so the comparison is fair.
- calibration per system: confidence buckets of 0.1 from 0.5; per bucket the rows with a line
  and an outcome off the line, their mean confidence and how often the outcome fell on the
  predicted side of the line (what confidence claims to be).
- hit rate of OVER/UNDER recommendations per system and target, against real prop lines only
  (line_source = 'prop_consensus'); pushes do not count.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import duckdb

_TABLE = "predictions.evaluation"


@dataclass(frozen=True)
class Accuracy:
    system: str
    target: str
    rows: int
    mae: float
    rmse: float
    bias: float
    baseline_rows: int
    mae_on_baseline_rows: float | None
    baseline_mae: float | None

    @property
    def beats_baseline(self) -> bool | None:
        if self.mae_on_baseline_rows is None or self.baseline_mae is None:
            return None
        return self.mae_on_baseline_rows < self.baseline_mae


@dataclass(frozen=True)
class CalibrationBucket:
    system: str
    bucket: str
    rows: int
    mean_confidence: float
    side_hit_rate: float


@dataclass(frozen=True)
class HitRate:
    system: str
    target: str
    bets: int
    hits: int

    @property
    def hit_rate(self) -> float:
        return self.hits / self.bets


@dataclass
class PredictionReport:
    season: str
    evaluated_rows: int
    accuracy: list[Accuracy] = field(default_factory=list)
    calibration: list[CalibrationBucket] = field(default_factory=list)
    real_line_hits: list[HitRate] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "season": self.season,
            "evaluated_rows": self.evaluated_rows,
            "accuracy": [{**asdict(a), "beats_baseline": a.beats_baseline} for a in self.accuracy],
            "calibration": [asdict(c) for c in self.calibration],
            "real_line_hits": [{**asdict(h), "hit_rate": h.hit_rate} for h in self.real_line_hits],
        }


_ACCURACY = f"""
    SELECT system, target, count(*), avg(abs_error), sqrt(avg(error * error)), avg(error),
           count(baseline_value),
           avg(abs_error) FILTER (WHERE baseline_value IS NOT NULL),
           avg(abs(baseline_value - actual_value))
    FROM {_TABLE} WHERE season = $season GROUP BY ALL ORDER BY target, system"""

_CALIBRATION = f"""
    SELECT system, printf('%.1f-%.1f', b, b + 0.1) AS bucket, count(*), avg(confidence),
           avg(CASE WHEN (actual_value - line_value) * (predicted_value - line_value) > 0 THEN 1 ELSE 0 END)
    FROM (SELECT *, least(floor(confidence * 10) / 10, 0.9) AS b FROM {_TABLE}
          WHERE season = $season AND confidence IS NOT NULL
            AND actual_value <> line_value AND predicted_value <> line_value)
    GROUP BY system, b ORDER BY system, b"""

_REAL_LINE_HITS = f"""
    SELECT system, target, count(*), count(*) FILTER (WHERE hit)
    FROM {_TABLE} WHERE season = $season AND line_source = 'prop_consensus' AND hit IS NOT NULL
    GROUP BY ALL ORDER BY target, system"""


def prediction_report(con: duckdb.DuckDBPyConnection, season: str) -> PredictionReport:
    params = {"season": season}
    total = con.execute(f"SELECT count(*) FROM {_TABLE} WHERE season = $season", params).fetchall()[0][0]
    return PredictionReport(
        season=season,
        evaluated_rows=total,
        accuracy=[Accuracy(*r) for r in con.execute(_ACCURACY, params).fetchall()],
        calibration=[CalibrationBucket(*r) for r in con.execute(_CALIBRATION, params).fetchall()],
        real_line_hits=[HitRate(*r) for r in con.execute(_REAL_LINE_HITS, params).fetchall()],
    )
