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
- `oracle sits`: STRONGER with, as a column, the last-10 minutes per game of his roster teammates
  (the feature rows of his team on the date) who did not play: what knowing exactly who sits, beyond
  the injury moves, would be worth;
- `oracle minutes`: STRONGER with the player's actual minutes of the game as a column: what knowing
  availability and the rotation on the night would be worth.
The oracles are not forecasts (they read the game's result); they bound what more news before tip-off
could buy.

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
ORACLE_SITS = gbm.Recipe(STRONGER.parameters, STRONGER.max_rounds, STRONGER.patience,
                         extra_columns=("teammates_sat_minutes",))
ORACLE_MINUTES = gbm.Recipe(STRONGER.parameters, STRONGER.max_rounds, STRONGER.patience,
                            extra_columns=("actual_minutes",))

# the judged player-games of a season: the feature row, the result, the baseline's and gbm's values
_JUDGED = """
    SELECT f.* EXCLUDE (row_hash, run_id, ingested_at), e.actual_value, e.baseline_value, e.predicted_value
    FROM predictions.evaluation e
    JOIN precompute.player_prop_features f USING (player_id, game_date)
    WHERE e.season = $season AND e.target = $target AND e.system = 'gbm' AND e.baseline_value IS NOT NULL
    ORDER BY e.game_date, e.player_id"""
# per feature row: the player's actual minutes, and the last-10 minutes of his roster teammates who did not play
_ORACLES = """
    WITH roster AS (
        SELECT f.player_id, f.game_date, f.team_id, coalesce(f.mpg_l10, 0) AS mpg_l10,
               cast(a.minutes AS DOUBLE) AS actual_minutes, coalesce(a.minutes, 0) = 0 AS sat
        FROM precompute.player_prop_features f
        LEFT JOIN analytics.player_game_summary a ON a.player_id = f.player_id AND a.game_id = f.game_id)
    SELECT player_id, game_date, actual_minutes,
           sum(mpg_l10) FILTER (WHERE sat) OVER (PARTITION BY team_id, game_date)
             - CASE WHEN sat THEN mpg_l10 ELSE 0 END AS teammates_sat_minutes
    FROM roster"""


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
        oracles = ws.con.execute(_ORACLES).pl()
        judged = {t: ws.con.execute(_JUDGED, {"season": args.season, "target": t}).pl()
                     .join(oracles, on=["player_id", "game_date"], how="left", maintain_order="left") for t in targets}
        if judged[targets[0]].is_empty():
            parser.error(f"no evaluated prediction of {args.season} in this warehouse")
        window = {"start": judged[targets[0]]["game_date"].min(), "end": judged[targets[0]]["game_date"].max()}
        training = {}
        for seasons in (gbm.TRAINING_SEASONS, STRONGER_SEASONS):
            sql = training_rows_sql(seasons)
            rows = ws.con.execute(sql, used_params(sql, window)).pl().filter(pl.col("model_season") == args.season)
            training[seasons] = rows.join(oracles, on=["player_id", "game_date"], how="left", maintain_order="left")
    variants = (("refit", gbm.RECIPE, gbm.TRAINING_SEASONS), ("stronger", STRONGER, STRONGER_SEASONS),
                ("oracle sits", ORACLE_SITS, STRONGER_SEASONS), ("oracle minutes", ORACLE_MINUTES, STRONGER_SEASONS))
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
