"""A team's running state after each of its games, read as published: possessions, game minutes,
points scored and allowed, and the opponents' three-pointers, rebounds and assists allowed, summed
over its season so far; and per season the team's and the league's totals.

Words: *poss* of a team-game = the mean of both sides' possessions; *gmin* = max(team minutes, 240)/5
(48 per regulation game); pace = Σposs·48 / Σgmin; ortg / drtg = points scored / allowed per 100
poss; d3m, dreb, dast = the opponents' FG3M, REB, AST per 100 poss. The features shrink each toward
the team's previous season (the league's when it has none) with PRIOR_GAMES games of weight.
"""

from __future__ import annotations

from nbadb.pipeline.point_in_time import as_known, counted_games, exact

OFFENSE, DEFENSE = "analytics.team_offense_game_summary", "analytics.team_defense_game_summary"
PRIOR_GAMES = 10
# per 100 possessions: (name, summed column)
PER_100 = (("ortg", "pts"), ("drtg", "opp_pts"), ("d3m", "opp_fg3m"), ("dreb", "opp_reb"), ("dast", "opp_ast"))
_SUMS = ("poss", "gmin", "pts", "opp_pts", "opp_fg3m", "opp_reb", "opp_ast")
_SEASON = "PARTITION BY team_id, season ORDER BY game_date"

GAMES = f"""SELECT o.team_id, o.game_id, o.game_date, o.season,
       {exact('0.5 * (o.possessions + o.opp_possessions)')} AS poss,
       {exact('greatest(coalesce(o.minutes, 240), 240) / 5')} AS gmin,
       o.pts, o.opp_pts, d.opp_fg3m, d.opp_reb, d.opp_ast
    FROM {as_known(OFFENSE)} o
    JOIN {as_known(DEFENSE)} d ON d.team_id = o.team_id AND d.game_id = o.game_id
    WHERE {counted_games('o')} AND o.game_date < $end AND o.possessions IS NOT NULL AND o.opp_possessions IS NOT NULL"""


def state_sql(games: str) -> str:
    """Per team-game of `games`: the season so far including it, and the date of its 5th-last game."""
    return f"""SELECT team_id, game_id, game_date, season, count(*) OVER so_far AS t_gp,
        {', '.join(f'sum({s}) OVER so_far AS {s}' for s in _SUMS)},
        min(game_date) OVER last_5 AS l5_first_date
    FROM ({games}) g
    WINDOW so_far AS ({_SEASON} ROWS UNBOUNDED PRECEDING), last_5 AS ({_SEASON} ROWS 4 PRECEDING)"""


def rates_sql(sums: str) -> str:
    """pace and the per-100 rates from the sums of relation alias `sums`."""
    per_100 = [f"100 * {sums}.{col} / {sums}.poss AS {name}" for name, col in PER_100]
    return f"48 * {sums}.poss / {sums}.gmin AS pace, {', '.join(per_100)}"


def season_rates_sql(games: str, key: str) -> str:
    """Per (`key`, season) of `games` (key: 'team_id' or a constant for the league): the season's rates."""
    return f"""SELECT {key} AS team_id, season, {rates_sql('t')}
    FROM (SELECT {key}, season, {', '.join(f'sum({s}) AS {s}' for s in _SUMS)} FROM ({games}) g GROUP BY ALL) t"""


def shrunk_sql(state: str, prior: str, name: str) -> str:
    """Rate `name` after a team's season so far (`state`, null sums before its first game) shrunk
    toward `prior` (SQL with `{name}` standing for the rate's column) with PRIOR_GAMES games of weight."""
    k, prior_value = PRIOR_GAMES, prior.format(name=name)
    if name == "pace":
        return (f"(cast(coalesce({state}.poss, 0) AS DOUBLE) * 48 + {k} * 48 * {prior_value}) "
                f"/ (cast(coalesce({state}.gmin, 0) AS DOUBLE) + {k} * 48)")
    col = dict(PER_100)[name]
    return (f"(cast(coalesce({state}.{col}, 0) AS DOUBLE) + {k} * {prior_value}) "
            f"/ (cast(coalesce({state}.poss, 0) AS DOUBLE) / 100 + {k})")
