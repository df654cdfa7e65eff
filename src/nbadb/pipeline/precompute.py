"""Phase 4: point-in-time player form and composite factors per player and as-of date D.

Both processors have one row per row of analytics.upcoming_player_game_context (a player
expected in a game on D) and read only games strictly before D.

precompute.player_daily_cache: form from the player's games of D's season before D
(analytics.player_game_summary), newest first.
- <stat>_avg_last_5 / _last_10 / _season for pts, reb, ast, fg3m and minutes: plain means over the
  last 5, the last 10 and all of those games (fewer when fewer exist; null with none).
- pts_std_last_10: sample standard deviation of pts over the last 10 (null below 2 games).
- usage_rate_avg_last_5 / _last_10 / _season: mean of the per-game usage_rate (percent).
- ts_pct_avg_last_10: true shooting pooled over the last 10 games: Σpts / (2·Σ(fga + 0.44·fta)).
- games_played_season; calculation_quality: 'complete' (10 or more prior games),
  'partial_N_games' (N = 1..9), 'no_prior_games'.
- <stat>_avg_prev_season, games_played_prev_season, prev_season: means over the player's most
  recent season before D's season among the three before it (null when he played in none), the
  early-season fallback.
Averages are exact (point_in_time.exact) and computed as running windows over the player's games
read as known (point_in_time.as_known): a date reads the windows of his last game before it. A row
is exactly the facts it is built from, so it is its own signature: a new game or a correction
changes only that player's later as-of dates (propagation 'following_dates'), and a correction to
a column the form does not read changes nothing.

precompute.player_composite_factors, each clamped to its range:
- fatigue_score, 0..100, 100 = fresh: 100 − 15 if back_to_back − 8 per game beyond 3 in the last
  7 days − 0.25 per minute beyond 120 in the last 7 days. A player on normal load (rest ≥ 2 days,
  ≤ 3 games and ≤ 120 minutes in the last 7 days) scores exactly 100: rest is never penalised.
- pace_factor, 0.85..1.15, unitless: expected game pace / league pace, where expected pace =
  mean of both teams' mean pace (possessions per 48 minutes, analytics.team_offense_game_summary)
  over their last 10 counted games of the season before D, and league pace = mean pace of every
  counted team-game of the season before D. A team without such games counts at league pace.
  > 1: a faster game than average (more possessions, more counting stats). Null without the
  player's team or without league games before D.
- usage_spike, 0.5..2.0, unitless: usage_rate_avg_last_5 / usage_rate_avg_season. > 1: recently
  used more than over his season. Null without a season usage.
- opponent_defense, 0.8..1.2, unitless: the opponent's mean defensive rating (points allowed per
  100 possessions, analytics.team_defense_game_summary) over its counted games of the season
  before D / the league's mean over every counted team-game of the season before D. > 1: the
  opponent allows more than average (a weaker defence, favourable to the player). An opponent
  without games counts at league average; null without an opponent or league games before D.
Team and league figures are running windows over the team games read as known. The row also keeps
every input of these formulas, so it is its own signature: the engine runs the transform for every
player of the dates and compares row hashes (the facts are computed once).
"""

from __future__ import annotations

from nbadb.engine.spec import InputSpec, OutputCheck, ProcessorSpec
from nbadb.pipeline.common import GAME_DAY_PATTERNS
from nbadb.pipeline.point_in_time import Columns, as_known, counted_games, exact, exact_avg, season_of_date_sql
from nbadb.pipeline.upcoming import UPCOMING_PLAYER_GAME_CONTEXT

_CONTEXT = UPCOMING_PLAYER_GAME_CONTEXT.name
_SUMMARY = "analytics.player_game_summary"
FORM_STATS = ("pts", "reb", "ast", "fg3m", "minutes")
RECENT_WINDOWS = (5, 10)
COMPLETE_GAMES = 10  # prior games of the season for a 'complete' row
PREVIOUS_SEASONS_BACK = 3

# -- precompute.player_daily_cache --------------------------------------------------------------


def _form_columns() -> str:
    """Per game of a player's season: his form over the games up to and including it (windows
    `so_far`, `last_5`, `last_10` of `_SEASON_GAMES`)."""
    recent = [f"avg({exact(s)}) OVER last_{n} AS {s}_avg_last_{n}" for s in FORM_STATS for n in RECENT_WINDOWS]
    return ", ".join([
        "count(*) OVER so_far AS games_played_season",
        *recent,
        *(f"avg({exact(s)}) OVER so_far AS {s}_avg_season" for s in FORM_STATS),
        # sample standard deviation from exact integer sums
        "sqrt((sum(pts * pts) OVER last_10 - (sum(pts) OVER last_10) ^ 2 / count(*) OVER last_10)"
        " / nullif(count(*) OVER last_10 - 1, 0)) AS pts_std_last_10",
        *(f"avg({exact('usage_rate')}) OVER last_{n} AS usage_rate_avg_last_{n}" for n in RECENT_WINDOWS),
        f"avg({exact('usage_rate')}) OVER so_far AS usage_rate_avg_season",
        "sum(pts) OVER last_10 / nullif(2 * (sum(fga) OVER last_10 + 0.44 * sum(fta) OVER last_10), 0)"
        " AS ts_pct_avg_last_10",
    ])


_FORM_OUTPUT = (
    *(f"{s}_avg_last_{n}" for s in FORM_STATS for n in RECENT_WINDOWS),
    *(f"{s}_avg_season" for s in FORM_STATS),
    "pts_std_last_10", *(f"usage_rate_avg_last_{n}" for n in RECENT_WINDOWS), "usage_rate_avg_season",
    "ts_pct_avg_last_10",
)
QUALITY_LABEL_SQL = (
    f"CASE WHEN games_played_season >= {COMPLETE_GAMES} THEN 'complete' "
    "WHEN games_played_season > 0 THEN 'partial_' || games_played_season || '_games' ELSE 'no_prior_games' END"
)
_SEASON_WINDOW = "PARTITION BY player_id, season ORDER BY game_date, game_id"

_CACHE_TRANSFORM = f"""
    WITH c AS (SELECT player_id, game_date, season FROM {_CONTEXT} WHERE game_date BETWEEN $start AND $end),
    games AS (  -- the games of the players and seasons of the dates, as known
        SELECT * FROM {as_known(_SUMMARY)}
        WHERE player_id IN (SELECT player_id FROM c) AND game_date < $end
          AND season >= {season_of_date_sql(f'$start - {PREVIOUS_SEASONS_BACK * 365}')}
    ),
    form AS (  -- after each game of a season: the form over that game and the earlier ones
        SELECT player_id, season, game_date, {_form_columns()}
        FROM games WHERE season IN (SELECT DISTINCT season FROM c)
        WINDOW so_far AS ({_SEASON_WINDOW} ROWS UNBOUNDED PRECEDING),
               {', '.join(f'last_{n} AS ({_SEASON_WINDOW} ROWS {n - 1} PRECEDING)' for n in RECENT_WINDOWS)}
    ),
    seasons AS (
        SELECT player_id, season, count(*) AS games, {', '.join(f'{exact_avg(s)} AS {s}_avg' for s in FORM_STATS)}
        FROM games GROUP BY player_id, season
    ),
    previous AS (  -- his most recent season before D's among the ones before it
        SELECT c.player_id, c.game_date, p.* EXCLUDE (player_id)
        FROM c ASOF JOIN seasons p ON p.player_id = c.player_id AND c.season > p.season
        WHERE p.season >= {season_of_date_sql(f'c.game_date - {PREVIOUS_SEASONS_BACK * 365}')}
    ),
    cache AS (
        SELECT c.player_id, c.game_date, c.season, coalesce(f.games_played_season, 0) AS games_played_season,
               {', '.join(f'f.{col}' for col in _FORM_OUTPUT)},
               p.season AS prev_season, coalesce(p.games, 0) AS games_played_prev_season,
               {', '.join(f'p.{s}_avg AS {s}_avg_prev_season' for s in FORM_STATS)}
        FROM c
        ASOF LEFT JOIN form f ON f.player_id = c.player_id AND f.season = c.season AND f.game_date < c.game_date
        LEFT JOIN previous p ON p.player_id = c.player_id AND p.game_date = c.game_date
    )
    SELECT *, {QUALITY_LABEL_SQL} AS calculation_quality FROM cache"""

_MINUTES_AVERAGES = tuple(f"minutes_avg_{w}" for w in ("last_5", "last_10", "season", "prev_season"))

PLAYER_DAILY_CACHE = ProcessorSpec(
    name="precompute.player_daily_cache",
    phase=4,
    inputs=(InputSpec(_CONTEXT), InputSpec(_SUMMARY, required=False, lag_days=1)),
    entity_key="player_id",
    propagation="following_dates",
    patterns=GAME_DAY_PATTERNS,
    kind="as_of",
    description="Player form as of D from his games of the season before D, with a previous-season fallback.",
    transform_sql=_CACHE_TRANSFORM,  # a row is the facts it is built from: its own signature
    checks=(
        OutputCheck("averages are never negative", f"least({', '.join(_FORM_OUTPUT)}) < 0"),
        OutputCheck("minutes averages within 0..60", f"greatest({', '.join(_MINUTES_AVERAGES)}) > 60"),
        OutputCheck("ts_pct within 0..1.5", "ts_pct_avg_last_10 > 1.5"),
        OutputCheck("calculation_quality matches the prior games",
                    f"calculation_quality IS DISTINCT FROM ({QUALITY_LABEL_SQL})", invariant=True),
        OutputCheck("no averages without prior games",
                    "games_played_season = 0 AND (pts_avg_season IS NOT NULL OR minutes_avg_last_5 IS NOT NULL)",
                    invariant=True),
        OutputCheck("previous-season averages exactly when there is a previous season",
                    "(prev_season IS NULL) <> (pts_avg_prev_season IS NULL) "
                    "OR (prev_season IS NULL) <> (games_played_prev_season = 0)", invariant=True),
    ),
)

# -- precompute.player_composite_factors --------------------------------------------------------

_OFFENSE, _DEFENSE = "analytics.team_offense_game_summary", "analytics.team_defense_game_summary"
RECENT_PACE_GAMES = 10
FATIGUE = {"back_to_back": 15, "normal_games_7": 3, "per_extra_game": 8, "normal_minutes_7": 120,
           "per_extra_minute": 0.25}
RANGES = {"fatigue_score": (0, 100), "pace_factor": (0.85, 1.15), "usage_spike": (0.5, 2.0),
          "opponent_defense": (0.8, 1.2)}

COMPOSITE_FACT_COLUMNS: Columns = (
    ("player_id", "BIGINT"), ("game_date", "DATE"), ("team_id", "BIGINT"), ("opponent_team_id", "BIGINT"),
    ("rest_days", "INTEGER"), ("back_to_back", "BOOLEAN"), ("games_last_7_days", "INTEGER"),
    ("minutes_last_7_days", "DOUBLE"), ("usage_rate_avg_last_5", "DOUBLE"), ("usage_rate_avg_season", "DOUBLE"),
    ("team_games_before", "INTEGER"), ("team_pace_last_10", "DOUBLE"), ("opponent_games_before", "INTEGER"),
    ("opponent_pace_last_10", "DOUBLE"), ("league_pace", "DOUBLE"), ("opponent_defensive_rating", "DOUBLE"),
    ("league_defensive_rating", "DOUBLE"),
)


def _team_season(table: str, value: str, last: int | None) -> str:
    """After each counted team-game of the dates' seasons (read as known): the team's games of the
    season so far and the exact mean of `value` over its last `last` of them (all when None)."""
    window = "PARTITION BY team_id, season ORDER BY game_date, game_id"
    frame = f"ROWS {last - 1} PRECEDING" if last else "ROWS UNBOUNDED PRECEDING"
    return f"""SELECT team_id, season, game_date, count(*) OVER ({window} ROWS UNBOUNDED PRECEDING) AS games,
               avg({exact(value)}) OVER ({window} {frame}) AS value
        FROM {as_known(table)} WHERE {counted_games()} AND season IN (SELECT season FROM days) AND game_date < $end"""


def _league_season(table: str, value: str) -> str:
    """After each date of the dates' seasons: the exact mean of `value` over every counted team-game
    of the season so far (read as known)."""
    window = "PARTITION BY season ORDER BY game_date ROWS UNBOUNDED PRECEDING"
    return f"""SELECT season, game_date, cast(sum(sum({exact(value)})) OVER ({window}) AS DOUBLE)
                      / sum(count(*)) OVER ({window}) AS value
        FROM {as_known(table)} WHERE {counted_games()} AND season IN (SELECT season FROM days) AND game_date < $end
        GROUP BY season, game_date"""


def _before(cte: str, alias: str, team: str | None) -> str:
    """ASOF join of `cte` as it stood after the last game of D's season before D (for `team`), for
    a row of `sides` (aliased s)."""
    on_team = f"{alias}.team_id = {team} AND " if team else ""
    return (f"ASOF LEFT JOIN {cte} {alias} ON {on_team}{alias}.season = s.season "
            f"AND {alias}.game_date < s.game_date")


_COMPOSITE_FACTS = f"""
    WITH c AS (SELECT * FROM {_CONTEXT} WHERE game_date BETWEEN $start AND $end),
    days AS (SELECT DISTINCT season FROM c),
    pace AS ({_team_season(_OFFENSE, 'pace', RECENT_PACE_GAMES)}),
    league_pace AS ({_league_season(_OFFENSE, 'pace')}),
    defense AS ({_team_season(_DEFENSE, 'defensive_rating', None)}),
    league_defense AS ({_league_season(_DEFENSE, 'defensive_rating')}),
    sides AS (SELECT DISTINCT game_date, season, team_id, opponent_team_id FROM c),
    factors AS (  -- per date and pairing (the same for every player of it)
        SELECT s.*, coalesce(tp.games, 0) AS team_games_before, tp.value AS team_pace_last_10,
               coalesce(op.games, 0) AS opponent_games_before, op.value AS opponent_pace_last_10,
               lp.value AS league_pace, od.value AS opponent_defensive_rating, ld.value AS league_defensive_rating
        FROM sides s
        {_before('pace', 'tp', 's.team_id')}
        {_before('pace', 'op', 's.opponent_team_id')}
        {_before('league_pace', 'lp', None)}
        {_before('defense', 'od', 's.opponent_team_id')}
        {_before('league_defense', 'ld', None)}
    )
    SELECT c.player_id, c.game_date, c.team_id, c.opponent_team_id, c.rest_days, c.back_to_back,
           c.games_last_7_days, c.minutes_last_7_days, k.usage_rate_avg_last_5, k.usage_rate_avg_season,
           x.team_games_before, x.team_pace_last_10, x.opponent_games_before, x.opponent_pace_last_10,
           x.league_pace, x.opponent_defensive_rating, x.league_defensive_rating
    FROM c
    LEFT JOIN {PLAYER_DAILY_CACHE.name} k ON k.player_id = c.player_id AND k.game_date = c.game_date
                                         AND k.game_date BETWEEN $start AND $end
    JOIN factors x ON x.game_date = c.game_date AND x.team_id IS NOT DISTINCT FROM c.team_id
                  AND x.opponent_team_id IS NOT DISTINCT FROM c.opponent_team_id"""


def _clamped(name: str, value: str) -> str:
    lo, hi = RANGES[name]
    return f"greatest({lo}, least({hi}, {value}))"


FATIGUE_SQL = _clamped("fatigue_score", f"""100
    - CASE WHEN back_to_back THEN {FATIGUE['back_to_back']} ELSE 0 END
    - {FATIGUE['per_extra_game']} * greatest(0, games_last_7_days - {FATIGUE['normal_games_7']})
    - {FATIGUE['per_extra_minute']} * greatest(0, minutes_last_7_days - {FATIGUE['normal_minutes_7']})""")
_PACE = _clamped(
    "pace_factor",
    "(coalesce(team_pace_last_10, league_pace) + coalesce(opponent_pace_last_10, league_pace)) / 2 / league_pace",
)
_USAGE = _clamped("usage_spike", "usage_rate_avg_last_5 / usage_rate_avg_season")
_DEFENSE_FACTOR = _clamped(
    "opponent_defense", "coalesce(opponent_defensive_rating, league_defensive_rating) / league_defensive_rating"
)

_COMPOSITE_TRANSFORM = f"""
    SELECT f.*,
           {FATIGUE_SQL} AS fatigue_score,
           CASE WHEN team_id IS NOT NULL AND league_pace > 0 THEN {_PACE} END AS pace_factor,
           CASE WHEN usage_rate_avg_season > 0 THEN {_USAGE} END AS usage_spike,
           CASE WHEN opponent_team_id IS NOT NULL AND league_defensive_rating > 0 THEN {_DEFENSE_FACTOR} END
               AS opponent_defense
    FROM ({_COMPOSITE_FACTS}) f"""

PLAYER_COMPOSITE_FACTORS = ProcessorSpec(
    name="precompute.player_composite_factors",
    phase=4,
    inputs=(
        InputSpec(_CONTEXT),
        InputSpec(PLAYER_DAILY_CACHE.name),
        InputSpec(_OFFENSE, required=False, lag_days=1),
        InputSpec(_DEFENSE, required=False, lag_days=1),
    ),
    entity_key="player_id",
    propagation="following_dates",
    patterns=GAME_DAY_PATTERNS,
    kind="as_of",
    description="Fatigue, expected pace, usage spike and opponent defence as of D (formulas in the module docstring).",
    transform_sql=_COMPOSITE_TRANSFORM,  # the row keeps every fact it is built from: its own signature
    checks=(
        *(OutputCheck(f"{name} within {lo}..{hi}", f"{name} < {lo} OR {name} > {hi}", invariant=True)
          for name, (lo, hi) in RANGES.items()),
        OutputCheck("fatigue is always scored", "fatigue_score IS NULL", invariant=True),
        OutputCheck("a player on normal load is fresh",
                    f"NOT back_to_back AND games_last_7_days <= {FATIGUE['normal_games_7']} "
                    f"AND minutes_last_7_days <= {FATIGUE['normal_minutes_7']} AND fatigue_score <> 100", invariant=True),
    ),
)

PRECOMPUTE_PROCESSORS: tuple[ProcessorSpec, ...] = (PLAYER_DAILY_CACHE, PLAYER_COMPOSITE_FACTORS)
