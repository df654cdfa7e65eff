"""The columns of precompute.player_prop_features each gbm target model reads (REPORT §6 recipe):
the minutes set shared by every target, then the target's rates, form, team and teammate columns,
and its line (the line as a feature: null wherever no book quoted it before tip-off)."""

from __future__ import annotations

MINUTES_SET = (
    "gp_s", "mpg_s", "mpg_l10", "min_l5", "min_l3", "min_l1", "min_a10", "mpg_pv", "pv_gp", "gp_career",
    "top5_a5", "top5_s", "pv_top5", "days_rest_p", "missed_since_last", "new_team", "rest_days", "b2b",
    "o_b2b", "tm_il_min", "tm_il_new_min", "tm_missed_last_min", "tm_avail_min", "own_il_out",
    "net_diff", "abs_net_diff", "home", "t_gp", "ewm5_minutes", "ewm15_minutes", "tm_abs_min", "min_h",
)
_EXTRA_RATES = {"pts": ("fga", "fta", "fg3a"), "reb": (), "ast": (), "fg3m": ("fg3a",)}


def features(target: str) -> tuple[str, ...]:
    """The model columns of `target`."""
    own = (f"r_s_{target}", f"r_l10_{target}", f"r_pv_{target}", f"rate_shr_{target}", f"prior_{target}",
           f"pg_s_{target}", f"pg_l10_{target}", f"pg_pv_{target}", f"h_{target}", f"o_def_{target}_f",
           "pace_f", "t_ortg", "o_ortg", f"ewm5_{target}", f"ewm15_{target}", f"ewmr_{target}",
           "ewm15_fga", "ewm15_fta", "ewm15_fg3a", "tm_abs_pts", "tm_abs_shots", "tm_abs_ast", "tm_abs_reb",
           "tm_abs_3pa", f"line_{target}")
    extra = tuple(f"{k}_{s}" for s in _EXTRA_RATES[target] for k in ("r_s", "r_l10", "r_pv", "rate_shr"))
    return MINUTES_SET + own + extra + (("sd_s_pts",) if target == "pts" else ())
