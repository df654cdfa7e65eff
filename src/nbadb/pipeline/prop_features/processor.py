"""precompute.player_prop_features [player_id, game_date]: one row per player expected in a game on
D (analytics.upcoming_player_game_context), every column from what was published before D's cutoff.

Player (player_state; "his games" are those before D):
- minutes set: gp_s (games this season), mpg_s, mpg_l10, min_l5, min_l3 (this season), min_l1 (his
  last game, any season), min_a10 (last 10, any season), gp_career, top5_a5 / top5_s (share of his
  last 5 / season's games among his team's five most-played), days_rest_p = min(days since his last
  game, 30), new_team (his last game was for another team), missed_since_last (games of his team
  this season since his last one for it).
- pg_s_<x> = season average so far (the naive baseline), pg_l10_<x>, per-minute rates r_s_<x>,
  r_l10_<x>, previous season pv_gp, mpg_pv, pg_pv_<x>, r_pv_<x>, pv_top5;
- rate_shr_<x> = (s_x + K_x·prior_x) / (s_minutes + K_x), prior_x = (pv_x + 300·lg_x) / (pv_minutes
  + 300), lg_x = the league's rate of the previous season; K in minutes: SHRINK_MINUTES;
- ewm5_<x>, ewm15_<x> (player_state.EWM_WINDOWS), ewmr_<x> = ewm15_<x> / ewm15_minutes, sd_s_pts.
Team and opponent (team_state): t_/o_ pace, ortg, drtg (shrunk), pace_f = mean of both paces / the
league's last season; o_def_<x>_f = the opponent's allowed rate / the league's (pts: drtg / league
ortg); net_diff = (t_ortg − t_drtg) − (o_ortg − o_drtg) (blowout risk: abs_net_diff); rest_days =
min(team rest, 10), b2b, o_b2b; t_gp.
Availability as of D: il_out = his injury status as of D (moves dated before D, upcoming context)
is out / out for season and he has not played since that move; in_last = he played his team's last
game; recent = he played one of its last 5 this season; absent = recent · max(il_out, 1 − in_last).
Over his teammates on D (the context's roster of the team): tm_il_min = Σ mpg10·il_out,
tm_il_new_min = Σ mpg10·il_out·recent, tm_missed_last_min = Σ mpg10·(1 − in_last)·recent,
tm_avail_min = Σ mpg10·recent·(1 − il_out), tm_abs_{min,pts,shots,ast,reb,3pa} = Σ (per game over
the last 10 this season)·absent; own_il_out = his own il_out.
min_h = (3·min_l3 + 2·mpg_s·min(gp_s, 10)/10 + 2·mpg_pv·max(0, 10 − gp_s)/10) / (the weights
present), else min_a10, else 12; h_<x> = min_h · rate_shr_<x> · pace_f · o_def_<x>_f^0.5.
The lines: line_<target>, the served books' consensus as of D (upcoming context, snapshots taken
before the cutoff).
"""

from __future__ import annotations

from nbadb.engine.spec import InputSpec, OutputCheck, ProcessorSpec
from nbadb.pipeline.common import GAME_DAY_PATTERNS
from nbadb.pipeline.point_in_time import Columns, exact
from nbadb.pipeline.prop_features import player_state as ps
from nbadb.pipeline.prop_features import team_state as ts
from nbadb.pipeline.upcoming import UPCOMING_PLAYER_GAME_CONTEXT, UPCOMING_TEAM_GAME_CONTEXT

PROP_FEATURES_TABLE = "precompute.player_prop_features"
TARGETS = ("pts", "reb", "ast", "fg3m")
RATE_STATS = tuple(s for s in ps.STATS if s != "minutes")
SHRINK_MINUTES = {"pts": 150, "reb": 150, "ast": 150, "fg3a": 150, "fga": 150, "fta": 200, "fg3m": 250}
PRIOR_MINUTES = 300
OPPONENT_FACTOR = {"pts": "drtg", "reb": "dreb", "ast": "dast", "fg3m": "d3m"}
_LEAGUE_FACTOR = {"drtg": "ortg", "dreb": "dreb", "dast": "dast", "d3m": "d3m"}
MATE_SUMS = {"min": "mpg10", "pts": "pts10", "shots": "shots10", "ast": "ast10", "reb": "reb10", "3pa": "fg3a10"}

KEY_COLUMNS: Columns = (
    ("player_id", "BIGINT"), ("game_date", "DATE"), ("game_id", "VARCHAR"), ("season", "VARCHAR"),
    ("team_id", "BIGINT"), ("opponent_team_id", "BIGINT"),
)
_INTEGER = ("gp_s", "n_l10", "pv_gp", "gp_career", "days_rest_p", "missed_since_last", "rest_days", "t_gp")
_BOOLEAN = ("home", "new_team", "b2b", "o_b2b", "own_il_out")
FEATURES: tuple[str, ...] = (
    "gp_s", "n_l10", "mpg_s", "mpg_l10", "min_l5", "min_l3", "min_l1", "min_a10", "mpg_pv", "pv_gp", "gp_career",
    "top5_a5", "top5_s", "pv_top5", "days_rest_p", "missed_since_last", "new_team", "home",
    *(f"{kind}_{s}" for s in RATE_STATS for kind in ("pg_s", "pg_l10", "pg_pv", "r_s", "r_l10", "r_pv", "prior",
                                                       "rate_shr")),
    *(f"ewm{h}_{s}" for h, _ in ps.EWM_WINDOWS for s in ps.STATS), *(f"ewmr_{s}" for s in RATE_STATS), "sd_s_pts",
    "t_gp", "rest_days", "b2b", "o_b2b", "t_pace", "o_pace", "t_ortg", "t_drtg", "o_ortg", "o_drtg", "pace_f",
    *(f"o_def_{t}_f" for t in TARGETS), "net_diff", "abs_net_diff",
    "own_il_out", "tm_il_min", "tm_il_new_min", "tm_missed_last_min", "tm_avail_min",
    *(f"tm_abs_{k}" for k in MATE_SUMS), "min_h", *(f"h_{t}" for t in TARGETS), *(f"line_{t}" for t in TARGETS),
)
COLUMNS: Columns = (*KEY_COLUMNS, *((f, "INTEGER" if f in _INTEGER else "BOOLEAN" if f in _BOOLEAN else "DOUBLE")
                                    for f in FEATURES))


def _div(num: str, den: str) -> str:
    return f"cast({num} AS DOUBLE) / nullif(cast({den} AS DOUBLE), 0)"


def _season(col: str) -> str:
    """A season-window value of the joined state, only when that state is from D's season."""
    return f"CASE WHEN st.season = c.season THEN st.{col} END"


_PLAYER = f"""
    SELECT c.player_id, c.game_date, c.game_id, c.season, c.team_id, c.opponent_team_id, c.is_home AS home,
           c.injury_status, c.injury_move_date, {', '.join(f'c.line_{t}' for t in TARGETS)},
           st.game_date AS p_last_date, st.game_id AS p_last_game, st.team_id AS p_last_team,
           coalesce({_season('gp_s')}, 0) AS gp_s, coalesce({_season('n_l10')}, 0) AS n_l10,
           {', '.join(f"coalesce({_season(f's_{s}')}, 0) AS s_{s}, {_season(f'l10_{s}')} AS l10_{s}" for s in ps.STATS)},
           {_season('min_l3')} AS min_l3, {_season('min_l5')} AS min_l5, {_season('top5_s')} AS top5_s,
           {_season('sd_s_pts')} AS sd_s_pts, st.min_l1, st.min_a10, st.top5_a5, coalesce(st.gp_career, 0) AS gp_career,
           {', '.join(f'st.ewm{h}_{s}' for h, _ in ps.EWM_WINDOWS for s in ps.STATS)},
           coalesce(pv.gp, 0) AS pv_gp, pv.top5 AS pv_top5, {', '.join(f'pv.{s} AS pv_{s}' for s in ps.STATS)},
           {', '.join(f'lg.lg_{s}' for s in RATE_STATS)}
    FROM c
    ASOF LEFT JOIN pstate st ON st.player_id = c.player_id AND st.game_date < c.game_date
    LEFT JOIN ptot pv ON pv.player_id = c.player_id AND pv.season = {ps.prev_season_sql('c.season')}
    LEFT JOIN league lg ON lg.season = {ps.prev_season_sql('c.season')}"""

_TEAM_RATES = ("pace", *(name for name, _ in ts.PER_100))
_TEAM = f"""
    SELECT tc.team_id, tc.game_date, tc.opponent_team_id, least(tc.rest_days, 10) AS rest_days,
           coalesce(s.t_gp, 0) AS t_gp, s.game_date AS t_last_date, s.l5_first_date,
           {', '.join(f"{ts.shrunk_sql('s', 'coalesce(pv.{name}, lg.{name})', r)} AS {r}" for r in _TEAM_RATES)},
           {', '.join(f'lg.{r} AS lg_{r}' for r in _TEAM_RATES)}
    FROM tc
    ASOF LEFT JOIN tstate s ON s.team_id = tc.team_id AND s.season = tc.season AND s.game_date < tc.game_date
    LEFT JOIN trates pv ON pv.team_id = tc.team_id AND pv.season = {ps.prev_season_sql('tc.season')}
    LEFT JOIN lrates lg ON lg.season = {ps.prev_season_sql('tc.season')}"""

_RATES = ", ".join([
    _div("s_minutes", "gp_s") + " AS mpg_s", _div("l10_minutes", "n_l10") + " AS mpg_l10",
    _div("pv_minutes", "pv_gp") + " AS mpg_pv",
    *(f"{_div(f's_{s}', 'gp_s')} AS pg_s_{s}, {_div(f'l10_{s}', 'n_l10')} AS pg_l10_{s}, "
      f"{_div(f'pv_{s}', 'pv_gp')} AS pg_pv_{s}, {_div(f's_{s}', 's_minutes')} AS r_s_{s}, "
      f"{_div(f'l10_{s}', 'l10_minutes')} AS r_l10_{s}, {_div(f'pv_{s}', 'pv_minutes')} AS r_pv_{s}, "
      f"(cast(coalesce(pv_{s}, 0) AS DOUBLE) + {PRIOR_MINUTES} * lg_{s}) "
      f"/ (cast(coalesce(pv_minutes, 0) AS DOUBLE) + {PRIOR_MINUTES}) AS prior_{s}"
      for s in RATE_STATS),
    *(f"ewm15_{s} / nullif(ewm15_minutes, 0) AS ewmr_{s}" for s in RATE_STATS),
])
_SHRUNK = ", ".join(f"(cast(s_{s} AS DOUBLE) + {SHRINK_MINUTES[s]} * prior_{s}) "
                    f"/ (cast(s_minutes AS DOUBLE) + {SHRINK_MINUTES[s]}) AS rate_shr_{s}" for s in RATE_STATS)
# min_h's weights: 3 on the last three games, the season's mean growing with games played, last season's fading
_MIN_H = """CASE WHEN w_l3 + w_s + w_pv > 0
        THEN (w_l3 * coalesce(min_l3, 0) + w_s * coalesce(mpg_s, 0) + w_pv * coalesce(mpg_pv, 0)) / (w_l3 + w_s + w_pv)
        ELSE coalesce(min_a10, 12) END"""

_AVAILABILITY = f"""
    SELECT p.*,
           (p.injury_status IN ('out', 'out_for_season')
            AND (p.p_last_date IS NULL OR p.p_last_date <= p.injury_move_date))::INTEGER AS il_out,
           coalesce(p.p_last_team = p.team_id AND p.p_last_date = t.t_last_date, false)::INTEGER AS in_last,
           coalesce(p.p_last_team = p.team_id AND p.gp_s > 0 AND p.p_last_date >= t.l5_first_date, false)::INTEGER
               AS recent,
           coalesce(p.l10_minutes / nullif(p.n_l10, 0), 0) AS mpg10,
           {', '.join(f'coalesce(cast(p.l10_{s} AS DOUBLE) / nullif(p.n_l10, 0), 0) AS {s}10' for s in ('pts', 'ast', 'reb', 'fg3a'))},
           coalesce((p.l10_fga + 0.44 * p.l10_fta) / nullif(p.n_l10, 0), 0) AS shots10
    FROM rated p LEFT JOIN team_side t ON t.team_id = p.team_id AND t.game_date = p.game_date"""

_MATES = {
    "tm_il_min": "mpg10 * il_out", "tm_il_new_min": "mpg10 * il_out * recent",
    "tm_missed_last_min": "mpg10 * (1 - in_last) * recent", "tm_avail_min": "mpg10 * recent * (1 - il_out)",
    **{f"tm_abs_{k}": f"{col} * absent" for k, col in MATE_SUMS.items()},
}
# teammates' sums: the team's sum on D minus his own share, each share as an exact decimal (point_in_time.exact)
# so the sum is the same bits in any order
_TEAMMATES = ", ".join(
    f"cast(sum({exact(expr)}) OVER mates - {exact(expr)} AS DOUBLE) AS {name}" for name, expr in _MATES.items())


def _team_side(side: str, team: str) -> str:
    return f"LEFT JOIN team_side {side} ON {side}.team_id = {team} AND {side}.game_date = a.game_date"


_FEATURES_SELECT = ", ".join(f"cast({f} AS {t}) AS {f}" for f, t in COLUMNS)
_HEURISTIC = ", ".join(f"min_h * rate_shr_{t} * coalesce(pace_f, 1) * coalesce(sqrt(o_def_{t}_f), 1) AS h_{t}"
                       for t in TARGETS)

_TRANSFORM = f"""
    WITH c AS (SELECT * FROM {UPCOMING_PLAYER_GAME_CONTEXT.name} WHERE game_date BETWEEN $start AND $end),
    tc AS (SELECT * FROM {UPCOMING_TEAM_GAME_CONTEXT.name} WHERE game_date BETWEEN $start AND $end),
    games AS ({ps.GAMES}),
    mine AS ({ps.numbered_sql('SELECT * FROM games WHERE player_id IN (SELECT player_id FROM c)')}),
    pread AS (  -- the state each date reads: his last game before it
        SELECT DISTINCT m.player_id, m.game_date, m.season, m.career_n
        FROM c ASOF JOIN mine m ON m.player_id = c.player_id AND m.game_date < c.game_date
    ),
    pstates AS ({ps.state_sql(ps.read_window_sql('SELECT * FROM mine', 'SELECT * FROM pread'))}),
    pstate AS (SELECT * FROM pstates JOIN ({ps.ewms_sql('SELECT * FROM mine', 'SELECT * FROM pread')}) e
               USING (player_id, game_date)),
    ptot AS ({ps.season_totals_sql('SELECT * FROM mine')}),
    previous AS (SELECT DISTINCT {ps.prev_season_sql('season')} AS season
                 FROM (SELECT season FROM c UNION ALL SELECT season FROM tc)),
    league AS ({ps.league_rates_sql('SELECT * FROM games WHERE season IN (SELECT season FROM previous)')}),
    tgames AS (  -- the seasons the dates read: theirs (states) and the one before (priors)
        SELECT * FROM ({ts.GAMES}) WHERE season IN (SELECT season FROM tc UNION ALL SELECT season FROM previous)
    ),
    tstate AS ({ts.state_sql('SELECT * FROM tgames')}),
    trates AS ({ts.season_rates_sql('SELECT * FROM tgames', 'team_id')}),
    lrates AS ({ts.season_rates_sql('SELECT * FROM tgames', '0')}),
    team_side AS ({_TEAM}),
    player AS ({_PLAYER}),
    rated AS (
        SELECT *, {_SHRUNK}
        FROM (SELECT *, {_RATES} FROM player)
    ),
    available AS (SELECT *, recent * greatest(il_out, 1 - in_last) AS absent FROM ({_AVAILABILITY})),
    mates AS (
        SELECT a.*, {_TEAMMATES}
        FROM available a WINDOW mates AS (PARTITION BY team_id, game_id, game_date)
    ),
    situated AS (
        SELECT a.*, tt.t_gp, tt.rest_days, tt.rest_days = 1 AS b2b, ot.rest_days = 1 AS o_b2b,
               tt.pace AS t_pace, ot.pace AS o_pace, tt.ortg AS t_ortg, tt.drtg AS t_drtg,
               ot.ortg AS o_ortg, ot.drtg AS o_drtg, 0.5 * (tt.pace + ot.pace) / tt.lg_pace AS pace_f,
               {', '.join(f'ot.{OPPONENT_FACTOR[t]} / tt.lg_{_LEAGUE_FACTOR[OPPONENT_FACTOR[t]]} AS o_def_{t}_f' for t in TARGETS)},
               (tt.ortg - tt.drtg) - (ot.ortg - ot.drtg) AS net_diff,
               CASE WHEN a.p_last_team = a.team_id AND a.gp_s > 0 THEN tt.t_gp - tm.t_gp END AS missed_since_last,
               least(date_diff('day', a.p_last_date, a.game_date), 30) AS days_rest_p,
               a.p_last_team <> a.team_id AS new_team, a.il_out = 1 AS own_il_out,
               CASE WHEN a.min_l3 IS NOT NULL THEN 3 ELSE 0 END AS w_l3,
               CASE WHEN a.mpg_s IS NOT NULL THEN 2 * least(a.gp_s, 10) / 10 ELSE 0 END AS w_s,
               CASE WHEN a.mpg_pv IS NOT NULL THEN 2 * greatest(0, 10 - a.gp_s) / 10 ELSE 0 END AS w_pv
        FROM mates a
        {_team_side('tt', 'a.team_id')}
        {_team_side('ot', 'a.opponent_team_id')}
        LEFT JOIN tstate tm ON tm.team_id = a.p_last_team AND tm.game_id = a.p_last_game
    ),
    final AS (SELECT *, abs(net_diff) AS abs_net_diff, {_MIN_H} AS min_h FROM situated)
    SELECT {_FEATURES_SELECT}
    FROM (SELECT *, {_HEURISTIC} FROM final)"""

PLAYER_PROP_FEATURES = ProcessorSpec(
    name=PROP_FEATURES_TABLE,
    phase=4,
    inputs=(
        InputSpec(UPCOMING_PLAYER_GAME_CONTEXT.name), InputSpec(UPCOMING_TEAM_GAME_CONTEXT.name),
        InputSpec(ps.SUMMARY, required=False, lag_days=1),
        InputSpec(ts.OFFENSE, required=False, lag_days=1), InputSpec(ts.DEFENSE, required=False, lag_days=1),
    ),
    entity_key="player_id",
    propagation="following_dates",
    patterns=GAME_DAY_PATTERNS,
    kind="as_of",
    description="Point-in-time prop features per expected player-game: minutes, rates, form, team, availability, line.",
    transform_sql=_TRANSFORM,  # a row is the facts it is built from: its own signature
    checks=(
        OutputCheck("minutes features within 0..60", "greatest(mpg_s, mpg_l10, min_l3, min_a10, min_h) > 60",
                    invariant=True),
        OutputCheck("shrunk rates are never negative", "least(rate_shr_pts, rate_shr_reb, rate_shr_ast, "
                    "rate_shr_fg3m) < 0", invariant=True),
    ),
)
