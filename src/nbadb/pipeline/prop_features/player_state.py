"""A player's running state after each of his games, read as published: the stats the prop features
are made of (season, last-10, last-3/5, career windows, exponentially weighted means) and his
previous season's totals, with the league's per-minute rates of each season.

Words used here and by the feature processor:
- a player's *games*: his counted games (point_in_time.counted_games) in analytics.player_game_summary
  as known at the cutoff; a player plays at most once a date, so "rows before" is "dates before";
- *top5*: he was among the five players of his team with the most minutes in the game (ties: more
  points, then the lower player id), the starter proxy;
- *state after game g*: windows over his games up to and including g; the features for date D read
  the state after his last game before D (an ASOF join), so they never see D itself;
- *career_n* of a game: how many games he had played up to and including it (his career count);
- *read window*: the games the states a run reads are made of: from each read state's season opener
  or its KEPT_GAMES-th last game, whichever is earlier, to the latest read state. A day's run computes
  states over those games only (a season at most per player), not over his whole career;
- *EWM with half-life h*: Σ w_i·x_i / Σ w_i over his last K games (any season), newest weight 1,
  each older game ×0.5^(1/h); K = 20 for h = 5 and K = 45 for h = 15 (weights beyond K are below
  0.07 and 0.13 of the newest). Computed from a list in date order, gathered for the states read
  only (ewms_sql): the same bits in any run.
Sums are exact (integers, or minutes as exact decimals), so a batch and a day-by-day run agree.
"""

from __future__ import annotations

from nbadb.pipeline.point_in_time import as_known, counted_games, exact

SUMMARY = "analytics.player_game_summary"
STATS = ("minutes", "pts", "reb", "ast", "fg3m", "fg3a", "fga", "fta")
EWM_WINDOWS = ((5, 20), (15, 45))  # (half-life in games, games kept)
KEPT_GAMES = 10  # the longest career window of state_sql (min_a10); the EWMs gather their own games (ewms_sql)
_SEASON = "PARTITION BY player_id, season ORDER BY game_date"
_CAREER = "PARTITION BY player_id ORDER BY game_date"


def prev_season_sql(season: str) -> str:
    """The label of the season before `season` ('2024-25' -> '2023-24')."""
    year = f"(cast(left({season}, 4) AS INTEGER) - 1)"
    return f"({year}::VARCHAR || '-' || lpad((({year} + 1) % 100)::VARCHAR, 2, '0'))"


def ewm_weights_sql(half_life: int, kept: int) -> str:
    """The EWM weights of a player's last `kept` games, oldest first: 0.5^(j/half_life) for j = kept - 1 .. 0
    (the newest has weight 1, each older ×0.5^(1/half_life)). A constant: planned once, not computed per game."""
    return f"list_transform(range({kept - 1}, -1, -1), lambda j: pow(0.5, j / {half_life}))"


def _value(stat: str) -> str:
    return exact(stat) if stat == "minutes" else stat


# Every counted game as known, with its top5 flag (computed over all players of the game).
GAMES = f"""SELECT player_id, game_id, game_date, season, team_id, {', '.join(f'{_value(s)} AS {s}' for s in STATS)},
       row_number() OVER (PARTITION BY game_id, team_id ORDER BY minutes DESC, pts DESC, player_id) <= 5 AS top5
    FROM {as_known(SUMMARY)}
    WHERE {counted_games()} AND minutes IS NOT NULL AND game_date < $end"""


def numbered_sql(games: str) -> str:
    """Rows of relation `games` with their career_n."""
    return f"SELECT *, row_number() OVER ({_CAREER}) AS career_n FROM ({games}) g"


def read_window_sql(numbered: str, reads: str) -> str:
    """Rows of `numbered` (numbered_sql's) in the read window of `reads` (player_id, season, career_n of
    each state read): every row the season and career windows of a read state cover."""
    return f"""SELECT m.* FROM ({numbered}) m
    JOIN (SELECT r.player_id, min(least(r.career_n - {KEPT_GAMES - 1}, o.opener_n)) AS first_n,
                 max(r.career_n) AS last_n
          FROM ({reads}) r
          JOIN (SELECT player_id, season, min(career_n) AS opener_n FROM ({numbered}) g GROUP BY ALL) o
            USING (player_id, season)
          GROUP BY r.player_id) w
      ON w.player_id = m.player_id AND m.career_n BETWEEN w.first_n AND w.last_n"""


def state_sql(games: str) -> str:
    """Per game of relation `games` (numbered_sql's rows, all of a player's games in the window of any
    state read from it): the player's state after it (module docstring), without the EWMs (`ewms_sql`)."""
    sums = [f"sum({s}) OVER season_so_far AS s_{s}" for s in STATS]
    recent = [f"sum({s}) OVER season_l10 AS l10_{s}" for s in STATS]
    windows = {
        "season_so_far": f"{_SEASON} ROWS UNBOUNDED PRECEDING",
        "season_l10": f"{_SEASON} ROWS 9 PRECEDING", "season_l5": f"{_SEASON} ROWS 4 PRECEDING",
        "season_l3": f"{_SEASON} ROWS 2 PRECEDING",
        "career_l10": f"{_CAREER} ROWS 9 PRECEDING", "career_l5": f"{_CAREER} ROWS 4 PRECEDING",
    }
    return f"""SELECT player_id, game_id, game_date, season, team_id,
        count(*) OVER season_so_far AS gp_s, {', '.join(sums)},
        count(*) OVER season_l10 AS n_l10, {', '.join(recent)},
        avg(minutes) OVER season_l3 AS min_l3, avg(minutes) OVER season_l5 AS min_l5,
        cast(minutes AS DOUBLE) AS min_l1, avg(minutes) OVER career_l10 AS min_a10,
        avg(top5::INTEGER) OVER career_l5 AS top5_a5, avg(top5::INTEGER) OVER season_so_far AS top5_s,
        sqrt((sum(pts * pts) OVER season_so_far - (sum(pts) OVER season_so_far) ^ 2 / count(*) OVER season_so_far)
             / nullif(count(*) OVER season_so_far - 1, 0)) AS sd_s_pts,
        career_n AS gp_career
    FROM ({games}) g
    WINDOW {', '.join(f'{name} AS ({frame})' for name, frame in windows.items())}"""


def ewms_sql(numbered: str, reads: str) -> str:
    """Per state of `reads` (player_id, game_date, career_n; one row each): the EWMs ewm<h>_<stat> over his
    last K games up to it, rows of `numbered` (numbered_sql's). His last games are gathered once per state
    read, as one list sorted by career_n, and each EWM's values are its last K: windows over every game of
    the read window, or one ordered aggregate per EWM, cost a day's run 0.2-0.3 s."""
    longest = max(k for _, k in EWM_WINDOWS)
    fields = ", ".join(f"'{s}': cast(m.{s} AS DOUBLE)" for s in STATS)
    # each window's games and the weights of as many games (the last of the kept weights): the i-th game weighs w[i]
    windows = ", ".join(f"games[-{k}:] AS games{h}, {ewm_weights_sql(h, k)}[{k} - least(len(games), {k}) + 1:] AS w{h}"
                        for h, k in EWM_WINDOWS)
    ewms = ", ".join(f"list_sum(list_transform(games{h}, lambda g, i: g.{s} * w{h}[i])) / list_sum(w{h}) AS ewm{h}_{s}"
                     for h, _ in EWM_WINDOWS for s in STATS)
    return f"""SELECT player_id, game_date, {ewms}
    FROM (SELECT player_id, game_date, {windows}
          FROM (SELECT r.player_id, r.game_date, list_sort(list({{'n': m.career_n, {fields}}})) AS games
                FROM ({reads}) r
                JOIN ({numbered}) m ON m.player_id = r.player_id
                 AND m.career_n BETWEEN r.career_n - {longest - 1} AND r.career_n
                GROUP BY r.player_id, r.game_date) gathered) cut"""


def season_totals_sql(games: str) -> str:
    """Per player and season of `games`: games, totals and the share of games in his team's top five."""
    return f"""SELECT player_id, season, count(*) AS gp, {', '.join(f'sum({s}) AS {s}' for s in STATS)},
        avg(top5::INTEGER) AS top5
    FROM ({games}) g GROUP BY player_id, season"""


def league_rates_sql(games: str) -> str:
    """Per season of `games`: the league's per-minute rate of every stat (Σ stat / Σ minutes)."""
    return f"""SELECT season, {', '.join(f'sum({s}) / sum(minutes) AS lg_{s}' for s in STATS if s != 'minutes')}
    FROM ({games}) g GROUP BY season"""
