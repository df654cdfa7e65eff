"""`nbadb report predictions`: how much better than the naive baseline each system is, and whether
its OVER/UNDER calls make money at the books' real odds, with intervals that say what is noise.

From predictions.evaluation (one row per system, target and evaluated player-game), filtered by
season, dates, target and system:
- accuracy per system and target, on the rows where the baseline (season average so far) exists:
  MAE, RMSE, bias of the system; the baseline's MAE on the same rows; gain % = 100·(1 − MAE /
  baseline MAE). 95 % intervals from a game-day block bootstrap (BOOTSTRAP_RESAMPLES resamples of
  game days with replacement, seed SEED; each statistic recomputed inside each resample). A gain
  whose interval contains 0 is labelled "inside the noise". Under MIN_BOOTSTRAP_DAYS game days there
  is no interval (resampling one day gives that day back: a zero-width interval that never contains
  0) and the label says so.
- betting per system and target, on rows with a real line (line_source 'prop_consensus') and a
  result: bets (OVER/UNDER calls), hit rate (pushes excluded), ROI = profit / bets at the quoting
  book's real odds, with intervals; beside it "follow the consensus" (the market favourite's side) on
  the same rows.
- calibration: P(over) bins of 0.1 on rows with a real line: mean P(over) against the observed
  share of overs (pushes excluded).
- breakdowns of the MAE gain by month, by form quality (games played this season: 0, 1–5, 6–10,
  11+) and by line source.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

import duckdb
import numpy as np

from nbadb.pipeline.ensemble import SYSTEMS

BOOTSTRAP_RESAMPLES = 2000
SEED = 0
MIN_BOOTSTRAP_DAYS = 7  # fewer game days give no interval
TOO_FEW_DAYS = f"too few game days to tell (under {MIN_BOOTSTRAP_DAYS})"
CALIBRATION_BINS = 10
# A system missing from game days whose prediction run recorded no reason for it: a run over several
# seasons records a system as succeeded when it predicted any of its days (gbm before its first
# training season, say).
NO_REASON_RECORDED = ("no reason recorded: the prediction run covering these days counts a system that "
                      "predicted any of its days as succeeded")
FORM_BUCKETS = "CASE WHEN e.games_played_season = 0 THEN '0 games' WHEN e.games_played_season <= 5 THEN '1-5 games' " \
               "WHEN e.games_played_season <= 10 THEN '6-10 games' ELSE '11+ games' END"


@dataclass(frozen=True)
class Interval:
    value: float | None
    low: float | None
    high: float | None

    @property
    def contains_zero(self) -> bool:
        return self.low is not None and self.high is not None and self.low <= 0 <= self.high

    @property
    def measured(self) -> bool:
        """Whether the estimate has an interval (enough game days to resample)."""
        return self.low is not None

    def format(self, spec: str) -> str:
        return format_interval(self.value, self.low, self.high, spec)


# How the report's numbers read, in the CLI and on the dashboard: MAE to the thousandth, percentages
# to the tenth with a sign where they are a gain or a return.
MAE_FORMAT, GAIN_FORMAT, RATE_FORMAT, RETURN_FORMAT = ".3f", "+.1f", ".1f", "+.1f"


def format_interval(value: float | None, low: float | None, high: float | None, spec: str) -> str:
    """"4.441 [4.389, 4.493]": an estimate and its 95 % interval; "-" without an estimate; "4.441 [-, -]"
    without an interval (too few game days)."""
    if value is None:
        return "-"
    if low is None or high is None:
        return f"{value:{spec}} [-, -]"
    return f"{value:{spec}} [{low:{spec}}, {high:{spec}}]"


@dataclass(frozen=True)
class AccuracyRow:
    group: str
    system: str
    target: str
    rows: int
    days: int
    mae: Interval
    rmse: float
    bias: float
    baseline_mae: Interval
    gain_pct: Interval

    @property
    def label(self) -> str:
        if self.system == "baseline":
            return "the baseline"
        if not self.gain_pct.measured:
            return TOO_FEW_DAYS
        return "inside the noise" if self.gain_pct.contains_zero else ("better" if self.gain_pct.value > 0 else "worse")


@dataclass(frozen=True)
class BettingRow:
    system: str
    target: str
    rows: int
    bets: int
    hit_rate: Interval
    roi: Interval
    consensus_bets: int
    consensus_hit_rate: Interval
    consensus_roi: Interval


@dataclass(frozen=True)
class CalibrationRow:
    system: str
    target: str
    bin: str
    rows: int
    mean_p_over: float
    observed_over: float


@dataclass(frozen=True)
class NotReady:
    """A system with no prediction on `days` of the report's game days (first_day..last_day) for one
    `reason`: what the latest prediction run of each of those days recorded for it (engine.parts: no
    league prior before a season's first previous season, no gbm model yet, no season average yet, ...)."""

    system: str
    days: int
    first_day: date
    last_day: date
    reason: str


@dataclass(frozen=True)
class QualityReport:
    filters: dict[str, str | None]
    evaluated_rows: int
    accuracy: list[AccuracyRow]
    breakdowns: list[AccuracyRow]
    betting: list[BettingRow]
    calibration: list[CalibrationRow]
    not_ready: list[NotReady]

    def as_dict(self) -> dict:
        out = asdict(self)
        for key in ("accuracy", "breakdowns"):
            for row, obj in zip(out[key], getattr(self, key)):
                row["label"] = obj.label
        return out


class _Resampler:
    """Game-day block bootstrap weights: row r of `weights` counts how often each day was drawn."""

    def __init__(self, days: np.ndarray) -> None:
        self.unique, self.index = np.unique(days, return_inverse=True)
        rng = np.random.default_rng(SEED)
        draws = rng.integers(0, len(self.unique), size=(BOOTSTRAP_RESAMPLES, len(self.unique)))
        self.weights = np.stack([np.bincount(d, minlength=len(self.unique)) for d in draws]).astype(float)
        self.enough = len(self.unique) >= MIN_BOOTSTRAP_DAYS

    def sums(self, values: np.ndarray) -> tuple[float, np.ndarray]:
        """(total, total in each resample) of per-row `values`."""
        per_day = np.bincount(self.index, weights=values, minlength=len(self.unique))
        return float(per_day.sum()), self.weights @ per_day


def _floats(values: np.ndarray) -> np.ndarray:
    """A fetched column as floats, SQL NULL as NaN (DuckDB hands nullable columns out as masked arrays)."""
    return np.ma.filled(np.ma.asarray(values).astype(float), np.nan)


def _ratio(res: _Resampler, num: np.ndarray, den: np.ndarray, scale: float = 1.0) -> Interval:
    total_num, boot_num = res.sums(num)
    total_den, boot_den = res.sums(den)
    if total_den == 0:
        return Interval(None, None, None)
    if not res.enough:
        return Interval(scale * total_num / total_den, None, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        boot = scale * boot_num / boot_den
    low, high = np.nanpercentile(boot, [2.5, 97.5])
    return Interval(scale * total_num / total_den, float(low), float(high))


def _gain(res: _Resampler, err: np.ndarray, base: np.ndarray) -> Interval:
    e, boot_e = res.sums(err)
    b, boot_b = res.sums(base)
    if not res.enough:
        return Interval(100 * (1 - e / b), None, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        boot = 100 * (1 - boot_e / boot_b)
    low, high = np.nanpercentile(boot, [2.5, 97.5])
    return Interval(100 * (1 - e / b), float(low), float(high))


def gain_over_baseline(days: np.ndarray, errors: np.ndarray, baseline_errors: np.ndarray) -> Interval:
    """The % by which the MAE of absolute `errors` beats that of `baseline_errors` (rows of game `days`), with
    the report's game-day bootstrap interval."""
    return _gain(_Resampler(days), errors, baseline_errors)


def _where(filters: dict[str, object]) -> tuple[str, dict[str, object]]:
    clauses = [f"e.{'game_date >= $start' if k == 'start' else 'game_date <= $end' if k == 'end' else f'{k} = ${k}'}"
               for k, v in filters.items() if v is not None]
    return (" AND ".join(clauses) or "true"), {k: v for k, v in filters.items() if v is not None}


def _accuracy(con: duckdb.DuckDBPyConnection, where: str, params: dict, group: str) -> list[AccuracyRow]:
    rows = con.execute(f"""
        SELECT {group} AS grp, e.system, e.target, e.game_date, e.abs_error, e.error,
               abs(e.baseline_value - e.actual_value) AS baseline_error
        FROM predictions.evaluation e WHERE {where} AND e.baseline_value IS NOT NULL
        ORDER BY grp, e.system, e.target, e.game_date, e.player_id""", params).fetchnumpy()
    out = []
    keys = np.stack([rows["grp"].astype(str), rows["system"].astype(str), rows["target"].astype(str)], axis=1) \
        if len(rows["system"]) else np.empty((0, 3))
    for key in sorted({tuple(k) for k in keys}):
        mask = np.all(keys == np.array(key), axis=1)
        days, err, signed, base = (rows["game_date"][mask], _floats(rows["abs_error"][mask]),
                                   _floats(rows["error"][mask]), _floats(rows["baseline_error"][mask]))
        res, ones = _Resampler(days), np.ones(mask.sum())
        out.append(AccuracyRow(
            group=key[0], system=key[1], target=key[2], rows=int(mask.sum()), days=len(res.unique),
            mae=_ratio(res, err, ones), rmse=float(np.sqrt(np.mean(signed ** 2))), bias=float(np.mean(signed)),
            baseline_mae=_ratio(res, base, ones), gain_pct=_gain(res, err, base)))
    return out


def _betting(con: duckdb.DuckDBPyConnection, where: str, params: dict) -> list[BettingRow]:
    rows = con.execute(f"""
        SELECT e.system, e.target, e.game_date, e.profit, e.hit, e.consensus_profit,
               CASE WHEN e.actual_value = e.line_value THEN NULL
                    WHEN e.consensus_side = 'OVER' THEN e.actual_value > e.line_value
                    ELSE e.actual_value < e.line_value END AS consensus_hit
        FROM predictions.evaluation e WHERE {where} AND e.line_source = 'prop_consensus'
        ORDER BY e.system, e.target, e.game_date, e.player_id""", params).fetchnumpy()
    out = []
    for system, target in sorted(set(zip(rows["system"].astype(str), rows["target"].astype(str)))):
        mask = (rows["system"].astype(str) == system) & (rows["target"].astype(str) == target)
        res = _Resampler(rows["game_date"][mask])
        profit = _floats(rows["profit"][mask])
        bet = ~np.isnan(profit)
        hit = _floats(rows["hit"][mask])
        c_profit = _floats(rows["consensus_profit"][mask])
        c_bet = ~np.isnan(c_profit)
        c_hit = _floats(rows["consensus_hit"][mask])
        out.append(BettingRow(
            system=system, target=target, rows=int(mask.sum()), bets=int(bet.sum()),
            hit_rate=_ratio(res, np.nan_to_num(hit), (~np.isnan(hit)).astype(float), 100),
            roi=_ratio(res, np.nan_to_num(profit), bet.astype(float), 100), consensus_bets=int(c_bet.sum()),
            consensus_hit_rate=_ratio(res, np.nan_to_num(c_hit), (~np.isnan(c_hit)).astype(float), 100),
            consensus_roi=_ratio(res, np.nan_to_num(c_profit), c_bet.astype(float), 100)))
    return out


def _calibration(con: duckdb.DuckDBPyConnection, where: str, params: dict) -> list[CalibrationRow]:
    rows = con.execute(f"""
        SELECT e.system, e.target, least(floor(p.p_over * {CALIBRATION_BINS}), {CALIBRATION_BINS - 1}) AS b,
               count(*), avg(p.p_over), avg((e.actual_value > e.line_value)::INTEGER)
        FROM predictions.evaluation e
        JOIN predictions.player_prop_predictions p USING (player_id, game_date, target, system)
        WHERE {where} AND e.line_source = 'prop_consensus' AND p.p_over IS NOT NULL AND e.actual_value <> e.line_value
        GROUP BY ALL ORDER BY ALL""", params).fetchall()
    return [CalibrationRow(s, t, f"{b / CALIBRATION_BINS:.1f}-{(b + 1) / CALIBRATION_BINS:.1f}", n, mp, obs)
            for s, t, b, n, mp, obs in rows]


def _not_ready(con: duckdb.DuckDBPyConnection, filters: dict[str, object]) -> list[NotReady]:
    """The systems with no evaluated prediction on some of the report's game days (its filters but the
    system's), read from the predictions themselves: one note per system and reason, the reason being
    what the latest prediction run of each such day recorded for the system (NO_REASON_RECORDED when
    it recorded none)."""
    where, params = _where({**filters, "system": None})
    rows = con.execute(f"""
        WITH have AS (SELECT DISTINCT e.game_date AS day, e.system FROM predictions.evaluation e WHERE {where}),
        systems AS (SELECT unnest($systems::VARCHAR[]) AS system UNION SELECT DISTINCT system FROM predictions.evaluation),
        missing AS (SELECT d.day, s.system FROM (SELECT DISTINCT day FROM have) d CROSS JOIN systems s
                    ANTI JOIN have h ON h.day = d.day AND h.system = s.system),
        latest AS (
            SELECT d.day, arg_max(w.errors, w.recorded_at) AS errors
            FROM (SELECT DISTINCT day FROM missing) d JOIN ops.prediction_worker_runs w ON d.day BETWEEN w.start_date AND w.end_date
            WHERE w.processor = 'predictions.player_prop_predictions'
            GROUP BY d.day),
        why AS (SELECT m.system, m.day, json_extract_string(l.errors, '$."' || m.system || '"') AS reason
                FROM missing m LEFT JOIN latest l USING (day))
        SELECT system, count(*), min(day), max(day), coalesce(reason, $none) AS said
        FROM why WHERE $system IS NULL OR system = $system
        GROUP BY system, coalesce(reason, $none) ORDER BY system, min(day)""",
        {**params, "system": filters["system"], "systems": list(SYSTEMS), "none": NO_REASON_RECORDED}).fetchall()
    return [NotReady(system, days, first, last, reason) for system, days, first, last, reason in rows]


def quality_report(con: duckdb.DuckDBPyConnection, *, season: str | None = None, start: date | None = None,
                   end: date | None = None, target: str | None = None, system: str | None = None) -> QualityReport:
    filters = {"season": season, "start": start, "end": end, "target": target, "system": system}
    where, params = _where(filters)
    evaluated = con.execute(f"SELECT count(*) FROM predictions.evaluation e WHERE {where}", params).fetchall()[0][0]
    breakdowns = [row for group in ("'month ' || strftime(e.game_date, '%Y-%m')", f"'form ' || {FORM_BUCKETS}",
                                    "'line ' || coalesce(e.line_source, 'none')")
                  for row in _accuracy(con, where, params, group)]
    return QualityReport(
        filters={k: None if v is None else str(v) for k, v in filters.items()}, evaluated_rows=evaluated,
        accuracy=_accuracy(con, where, params, "'all'"), breakdowns=breakdowns,
        betting=_betting(con, where, params), calibration=_calibration(con, where, params),
        not_ready=_not_ready(con, filters))
