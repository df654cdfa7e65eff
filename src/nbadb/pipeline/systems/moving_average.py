"""`moving_average`: recent form blended with the season, then adjusted for the situation.

Base, per target t: 0.2 · t_avg_last_5 + 0.3 · t_avg_last_10 + 0.5 · t_avg_season over the averages
that exist (weights renormalised). Early in a season it is shrunk towards last season's average as
if that were 3 more games: (n · blend + 3 · prev) / (n + 3) with n = games played this season; with
no game yet this season it is last season's average. No base → no prediction for that player-game.
(Weights and the 3 were chosen on 2022-23 games, not on the season the report evaluates.)

Adjustments (multiplicative, their product clipped to [0.85, 1.15]):
- fatigue: × (1 − 0.08 · (100 − fatigue_score) / 100). fatigue_score is 0–100 with 100 = fresh, so
  the factor is at most 1: a fresh player is never penalised, a tired one never predicted higher.
- pace: × (1 + 0.5 · (pace_factor − 1)); a faster expected game means more possessions for all.
- opponent defence (pts and fg3m only): × (1 + 0.5 · (opponent_defense − 1)), where
  opponent_defense > 1 means the opponent allows more than the league average.
A missing factor input leaves that factor at 1.
"""

from __future__ import annotations

from typing import Mapping

import polars as pl

from nbadb.pipeline.systems.common import TARGETS, output

WEIGHTS = {"avg_last_5": 0.2, "avg_last_10": 0.3, "avg_season": 0.5}
PRIOR_GAMES = 3
FATIGUE_MAX_PENALTY = 0.08
PACE_ELASTICITY = 0.5
DEFENCE_ELASTICITY = 0.5
DEFENCE_TARGETS = ("pts", "fg3m")
FACTOR_BOUNDS = (0.85, 1.15)


def _base(target: str) -> pl.Expr:
    cols = [(pl.col(f"{target}_{w}"), weight) for w, weight in WEIGHTS.items()]
    num = pl.sum_horizontal([c.fill_null(0) * w for c, w in cols])
    den = pl.sum_horizontal([c.is_not_null().cast(pl.Float64) * w for c, w in cols])
    blended = pl.when(den > 0).then(num / den)
    prev, n = pl.col(f"{target}_avg_prev_season"), pl.col("games_played_season").fill_null(0)
    shrunk = (n * blended + PRIOR_GAMES * prev) / (n + PRIOR_GAMES)
    return pl.coalesce(shrunk, blended, prev)


def _factor(target: str) -> pl.Expr:
    fatigue = 1 - FATIGUE_MAX_PENALTY * (100 - pl.col("fatigue_score").clip(0, 100)) / 100
    pace = 1 + PACE_ELASTICITY * (pl.col("pace_factor") - 1)
    factor = fatigue.fill_null(1) * pace.fill_null(1)
    if target in DEFENCE_TARGETS:
        factor = factor * (1 + DEFENCE_ELASTICITY * (pl.col("opponent_defense") - 1)).fill_null(1)
    return factor.clip(*FACTOR_BOUNDS)


def compute(frames: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    scope = frames["scope"]
    per_target = [
        scope.select("player_id", "game_date", pl.lit(t).alias("target"),
                     (_base(t) * _factor(t)).alias("predicted_value"))
        .filter(pl.col("predicted_value").is_not_null())
        for t in TARGETS
    ]
    return output(per_target)
