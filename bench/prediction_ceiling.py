"""Benchmark: how far better fitting, or knowing a player's minutes, would take gbm on the rows
the evaluation judged, measured on an existing warehouse (issue 24's "≥ 5 % on points").

For each target, on the season's evaluated player-games (predictions.evaluation, with a baseline)
it fits gbm's recipe variants on the training rows the prediction part reads (earlier seasons,
results as published before the opener: pipeline.predictions.training_rows_sql) and prints each
variant's MAE and its gain over the season-average baseline with the report's 95 % game-day
bootstrap interval:
- `as served`: the stored gbm predictions (what `nbadb report predictions` shows);
- `refit`: gbm.RECIPE refitted here: its last column, the largest difference from the served value,
  is 0 when this script measures the real model;
- `stronger`: STRONGER on STRONGER_SEASONS seasons (more leaves, bins and rounds, slower rate);
- `oracle minutes`: STRONGER with the player's actual minutes of the game as a column. It is not a
  forecast: it bounds what knowing availability and rotation before tip-off would be worth.

    NBADB_DATA_DIR=<built by `nbadb main --season 2024-25`> .venv/bin/python bench/prediction_ceiling.py
        [--season 2024-25] [--targets pts,reb,ast,fg3m]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import polars as pl

from nbadb.monitor.prediction_quality import GAIN_FORMAT, MAE_FORMAT, gain_over_baseline
from nbadb.orchestrate.workspace import open_workspace
from nbadb.pipeline.predictions import training_rows_sql
from nbadb.pipeline.systems import gbm
from nbadb.pipeline.systems.common import TARGETS
from nbadb.warehouse.connection import used_params

STRONGER_SEASONS = 4
STRONGER = gbm.Recipe({**gbm.PARAMETERS, "learning_rate": 0.05, "num_leaves": 31, "max_bin": 255, "num_threads": 2},
                      max_rounds=2000, patience=50)
ORACLE = gbm.Recipe(STRONGER.parameters, STRONGER.max_rounds, STRONGER.patience, extra_columns=("actual_minutes",))

# the judged player-games of a season: the feature row, the result's minutes, the baseline's and gbm's values
_JUDGED = """
    SELECT f.* EXCLUDE (row_hash, run_id, ingested_at), e.actual_value, e.baseline_value, e.predicted_value,
           cast(a.minutes AS DOUBLE) AS actual_minutes
    FROM predictions.evaluation e
    JOIN precompute.player_prop_features f USING (player_id, game_date)
    JOIN analytics.player_game_summary a ON a.player_id = e.player_id AND a.game_id = e.game_id
    WHERE e.season = $season AND e.target = $target AND e.system = 'gbm' AND e.baseline_value IS NOT NULL
    ORDER BY e.game_date, e.player_id"""
_MINUTES = "SELECT player_id, game_id, cast(minutes AS DOUBLE) AS actual_minutes FROM analytics.player_game_summary"


def _line(target: str, variant: str, rows: int | None, judged: pl.DataFrame, predicted: np.ndarray,
          seconds: float | None) -> str:
    actual = judged["actual_value"].to_numpy().astype(float)
    err, base = np.abs(predicted - actual), np.abs(judged["baseline_value"].to_numpy().astype(float) - actual)
    gain = gain_over_baseline(judged["game_date"].to_numpy(), err, base)
    served = judged["predicted_value"].to_numpy().astype(float)
    return (f"{target:5s} {variant:15s} {'-' if rows is None else f'{rows:,}':>10s} {err.mean():{MAE_FORMAT}} "
            f"{base.mean():{MAE_FORMAT}} {gain.format(GAIN_FORMAT):>20s} {'-' if seconds is None else f'{seconds:.1f}':>6s}"
            f" {np.abs(predicted - served).max():12.2g}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--season", default="2024-25")
    parser.add_argument("--targets", default=",".join(TARGETS))
    args = parser.parse_args()
    targets = args.targets.split(",")
    unknown = sorted(set(targets) - set(TARGETS))
    if unknown:
        parser.error(f"unknown targets {unknown}; known: {', '.join(TARGETS)}")
    with open_workspace(read_only=True) as ws:
        judged = {t: ws.con.execute(_JUDGED, {"season": args.season, "target": t}).pl() for t in targets}
        if judged[targets[0]].is_empty():
            parser.error(f"no evaluated prediction of {args.season} in this warehouse")
        window = {"start": judged[targets[0]]["game_date"].min(), "end": judged[targets[0]]["game_date"].max()}
        training = {}
        for seasons in (gbm.TRAINING_SEASONS, STRONGER_SEASONS):
            sql = training_rows_sql(seasons)
            rows = ws.con.execute(sql, used_params(sql, window)).pl().filter(pl.col("model_season") == args.season)
            training[seasons] = rows.join(ws.con.execute(_MINUTES).pl(), on=["player_id", "game_id"])
    variants = (("refit", gbm.RECIPE, gbm.TRAINING_SEASONS), ("stronger", STRONGER, STRONGER_SEASONS),
                ("oracle minutes", ORACLE, STRONGER_SEASONS))
    print(f"{'target':5s} {'variant':15s} {'train rows':>10s} {'MAE':>5s} {'base':>5s} {'gain % [95 %]':>20s} {'fit s':>6s} {'max |Δ served|':>12s}")
    for target in targets:
        rows = judged[target]
        print(_line(target, "as served", None, rows, rows["predicted_value"].to_numpy().astype(float), None))
        for name, recipe, seasons in variants:
            t0 = time.perf_counter()
            model = gbm.fit(training[seasons], target, recipe)
            point, _ = gbm.forecast(model, rows, target, recipe)
            print(_line(target, name, len(training[seasons]), rows, point, time.perf_counter() - t0), flush=True)


if __name__ == "__main__":
    main()
