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
Signature per (player, D): the stored row hashes of his prior games of the season, the hash of
his previous-season rows and the season of his context row, so a new game or a correction
changes only that player's later as-of dates (propagation 'following_dates').

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
The row also keeps every input of these formulas, so it is its own signature: the engine runs the
transform for every player of the dates and compares row hashes (the facts are computed once).
"""

from __future__ import annotations

from nbadb.engine.spec import InputSpec, OutputCheck, ProcessorSpec
from nbadb.pipeline.common import GAME_DAY_PATTERNS
from nbadb.pipeline.point_in_time import (
    Columns,
    counted_games,
    exact_avg,
    known_by,
    scoped,
    season_of_date_sql,
    versions,
)
from nbadb.pipeline.upcoming import UPCOMING_PLAYER_GAME_CONTEXT
from nbadb.warehouse.hashing import combine_hashes_sql

_CONTEXT = UPCOMING_PLAYER_GAME_CONTEXT.name
_SUMMARY = "analytics.player_game_summary"
FORM_STATS = ("pts", "reb", "ast", "fg3m", "minutes")
RECENT_WINDOWS = (5, 10)
COMPLETE_GAMES = 10  # prior games of the season for a 'complete' row
PREVIOUS_SEASONS_BACK = 3
SEASON_DAYS = 366  # no season is longer: prior games of D's season lie within this many days before D


def _prior_season_games(rows: str) -> str:
    """The player's games of D's season before D for each context row of `rows` (aliased c), as known
    at D's cutoff (the version of each summary row published then)."""
    return f"""{rows} c JOIN _as_of a ON a.game_date = c.game_date JOIN {versions(_SUMMARY)} g
        ON g.player_id = c.player_id AND g.season = c.season AND g.game_date < c.game_date
       AND g.game_date >= $start - {SEASON_DAYS} AND {known_by('g')}"""


def _previous_season(rows: str) -> str:
    """For each context row of `rows` (aliased c) whose player has one: his most recent season before
    D's season among the PREVIOUS_SEASONS_BACK before it, with its games' hash and averages (aliased p).
    The seasons are read as known at the first cutoff of the run (a run never spans a correction's
    publication: the replay and the backfill publish corrections between runs)."""
    back = PREVIOUS_SEASONS_BACK * 365
    seasons = f"""SELECT player_id, season, count(*) AS games, {combine_hashes_sql('row_hash')} AS rows_hash,
               {', '.join(f'avg({s}) AS {s}_avg' for s in FORM_STATS)}
        FROM {versions(_SUMMARY)} g
        WHERE season >= {season_of_date_sql(f'$start - {back}')}
          AND player_id IN (SELECT player_id FROM {_CONTEXT} WHERE game_date BETWEEN $start AND $end)
          AND {known_by('g', '(SELECT min(cutoff) FROM _as_of)')}
        GROUP BY player_id, season"""
    return f"""{rows} c ASOF JOIN ({seasons}) p ON p.player_id = c.player_id AND c.season > p.season
        WHERE p.season >= {season_of_date_sql(f'c.game_date - {back}')}"""


# -- precompute.player_daily_cache --------------------------------------------------------------

_CONTEXT_ROWS = f"SELECT player_id, game_date, season FROM {_CONTEXT} WHERE game_date BETWEEN $start AND $end"

_CACHE_SIGNATURE = f"""
    WITH c AS ({_CONTEXT_ROWS})
    SELECT player_id AS entity_id, game_date, 'season:' || coalesce(season, '-') AS part_hash FROM c
    UNION ALL
    SELECT c.player_id, c.game_date, g.row_hash FROM {_prior_season_games('c')}
    UNION ALL
    SELECT c.player_id, c.game_date, 'previous:' || p.season || ':' || p.rows_hash FROM {_previous_season('c')}"""


def _form_columns() -> str:
    recent = [
        f"avg({s}) FILTER (WHERE recency <= {n}) AS {s}_avg_last_{n}" for s in FORM_STATS for n in RECENT_WINDOWS
    ]
    return ", ".join([
        *recent,
        *(f"avg({s}) AS {s}_avg_season" for s in FORM_STATS),
        # sample standard deviation from exact integer sums (order-independent, like exact_avg)
        "sqrt((sum(pts * pts) FILTER (WHERE recency <= 10) - sum(pts) FILTER (WHERE recency <= 10) ^ 2"
        " / count(*) FILTER (WHERE recency <= 10)) / nullif(count(*) FILTER (WHERE recency <= 10) - 1, 0))"
        " AS pts_std_last_10",
        *(f"{exact_avg('usage_rate')} FILTER (WHERE recency <= {n}) AS usage_rate_avg_last_{n}"
          for n in RECENT_WINDOWS),
        f"{exact_avg('usage_rate')} AS usage_rate_avg_season",
        "sum(pts) FILTER (WHERE recency <= 10) / nullif(2 * sum(fga + 0.44 * fta) FILTER (WHERE recency <= 10), 0)"
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

_CACHE_TRANSFORM = f"""
    WITH c AS {scoped(_CONTEXT_ROWS, 'player_id')},
    prior AS (
        SELECT c.player_id, c.game_date, g.pts, g.reb, g.ast, g.fg3m, g.minutes, g.usage_rate, g.fga, g.fta,
               row_number() OVER (PARTITION BY c.player_id, c.game_date ORDER BY g.game_date DESC) AS recency
        FROM {_prior_season_games('c')}
    ),
    form AS (SELECT player_id, game_date, count(*) AS games_played_season, {_form_columns()} FROM prior GROUP BY ALL),
    previous AS (SELECT c.player_id, c.game_date, p.* EXCLUDE (player_id) FROM {_previous_season('c')}),
    cache AS (
        SELECT c.player_id, c.game_date, c.season, coalesce(f.games_played_season, 0) AS games_played_season,
               {', '.join(f'f.{col}' for col in _FORM_OUTPUT)},
               p.season AS prev_season, coalesce(p.games, 0) AS games_played_prev_season,
               {', '.join(f'p.{s}_avg AS {s}_avg_prev_season' for s in FORM_STATS)}
        FROM c
        LEFT JOIN form f ON f.player_id = c.player_id AND f.game_date = c.game_date
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
    signature_sql=_CACHE_SIGNATURE,
    transform_sql=_CACHE_TRANSFORM,
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


def _season_team_games(table: str, columns: str) -> str:
    """Counted team-games of D's season before D as known at D's cutoff, for every as-of date D of
    the context (`as_of`)."""
    return f"""SELECT d.game_date AS as_of, t.team_id, {columns},
               row_number() OVER (PARTITION BY d.game_date, t.team_id ORDER BY t.game_date DESC) AS recency
        FROM days d JOIN {versions(table)} t ON t.season = d.season AND t.game_date < d.game_date
                                   AND t.game_date >= $start - {SEASON_DAYS} AND {counted_games('t')}
                                   AND {known_by('t', 'd.cutoff')}"""


_COMPOSITE_FACTS = f"""
    WITH c AS (SELECT * FROM {_CONTEXT} WHERE game_date BETWEEN $start AND $end),
    days AS (SELECT DISTINCT c.game_date, c.season, a.cutoff FROM c JOIN _as_of a USING (game_date)),
    pace_games AS ({_season_team_games(_OFFENSE, 't.pace')}),
    pace AS (SELECT as_of, team_id, count(*) AS games,
                    {exact_avg('pace')} FILTER (WHERE recency <= {RECENT_PACE_GAMES}) AS pace
             FROM pace_games GROUP BY ALL),
    league_pace AS (SELECT as_of, {exact_avg('pace')} AS pace FROM pace_games GROUP BY ALL),
    defense_games AS ({_season_team_games(_DEFENSE, 't.defensive_rating')}),
    defense AS (SELECT as_of, team_id, {exact_avg('defensive_rating')} AS rating FROM defense_games GROUP BY ALL),
    league_defense AS (SELECT as_of, {exact_avg('defensive_rating')} AS rating FROM defense_games GROUP BY ALL)
    SELECT c.player_id, c.game_date, c.team_id, c.opponent_team_id, c.rest_days, c.back_to_back,
           c.games_last_7_days, c.minutes_last_7_days, k.usage_rate_avg_last_5, k.usage_rate_avg_season,
           coalesce(tp.games, 0) AS team_games_before, tp.pace AS team_pace_last_10,
           coalesce(op.games, 0) AS opponent_games_before, op.pace AS opponent_pace_last_10,
           lp.pace AS league_pace, od.rating AS opponent_defensive_rating, ld.rating AS league_defensive_rating
    FROM c
    LEFT JOIN {PLAYER_DAILY_CACHE.name} k ON k.player_id = c.player_id AND k.game_date = c.game_date
                                         AND k.game_date BETWEEN $start AND $end
    LEFT JOIN pace tp ON tp.as_of = c.game_date AND tp.team_id = c.team_id
    LEFT JOIN pace op ON op.as_of = c.game_date AND op.team_id = c.opponent_team_id
    LEFT JOIN league_pace lp ON lp.as_of = c.game_date
    LEFT JOIN defense od ON od.as_of = c.game_date AND od.team_id = c.opponent_team_id
    LEFT JOIN league_defense ld ON ld.as_of = c.game_date"""


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
