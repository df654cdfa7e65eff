"""Phase 3: per-game analytics over the raw box scores, one row per player-game / team-game.

Each processor declares its change signature as exactly the inputs its rows read:

- player_game_summary [player_id, game_date]: the player's own raw box row, the handful of team
  totals his usage and possessions use (minutes, fga, fta, oreb, tov — not the team's points, so a
  correction to a teammate's points leaves him alone), and his previous game date in the season
  (so a late-arriving earlier game recomputes the next game's rest days).
- team_offense / team_defense_game_summary [team_id, game_date]: both team rows of the game.
"""

from __future__ import annotations

from nbadb.engine.spec import InputSpec, OutputCheck, ProcessorSpec
from nbadb.pipeline.common import RESULTS_PATTERNS
from nbadb.warehouse.hashing import row_hash_sql

_PLAYER_BOX = InputSpec("raw.player_boxscores")
_TEAM_BOX = InputSpec("raw.team_boxscores")

_COUNTS = ("fgm", "fga", "fg3m", "fg3a", "ftm", "fta", "oreb", "dreb", "reb", "ast", "stl", "blk", "tov", "pf", "pts")
_BOX = ("minutes", *_COUNTS[:2], "fg_pct", *_COUNTS[2:4], "fg3_pct", *_COUNTS[4:6], "ft_pct", *_COUNTS[6:])
# Team totals a player's row reads (not the team's points, so a teammate's correction leaves him alone).
_TEAM_CONTEXT = (("minutes", "DOUBLE"), ("fga", "INTEGER"), ("fta", "INTEGER"), ("oreb", "INTEGER"), ("tov", "INTEGER"))


def _possessions(t: str) -> str:
    """Estimated possessions of a team row alias: fga + 0.44·fta − oreb + tov."""
    return f"cast({t}.fga + 0.44 * {t}.fta - {t}.oreb + {t}.tov AS DOUBLE)"


def _with_previous_game(rows: str) -> str:
    """`rows` (aliased p inside) with `prev_game_date`: the player's previous game in the same season,
    as a subquery aliased p. (A correlated max: for a day's few hundred rows it is twice as fast as an
    ASOF join, which sorts the whole lookback.)"""
    return f"""(SELECT p.*, (SELECT max(h.game_date) FROM raw.player_boxscores h
                         WHERE h.player_id = p.player_id AND h.season = p.season AND h.game_date < p.game_date
                           AND h.game_date >= $start - INTERVAL 366 DAY) AS prev_game_date
        FROM {rows}) p"""


def _in_scope(alias: str, entity: str) -> str:
    return f"JOIN _scope s ON cast({alias}.{entity} AS VARCHAR) = s.entity_id AND {alias}.game_date = s.game_date"


# -- analytics.player_game_summary --------------------------------------------------------------

# One part per player-game over everything its row reads: his own stored box row (its row_hash),
# his previous game date in the season and his team's context totals (NULLs while the team row
# is missing).
_PLAYER_SIGNATURE = f"""
    SELECT p.player_id AS entity_id, p.game_date,
           md5(p.row_hash || '|' || coalesce(strftime(p.prev_game_date, '%Y-%m-%d'), '-') || '|'
               || coalesce(t.context, '-')) AS part_hash
    FROM {_with_previous_game("(SELECT * FROM raw.player_boxscores WHERE game_date BETWEEN $start AND $end) p")}
    LEFT JOIN (SELECT game_id, team_id, {row_hash_sql(list(_TEAM_CONTEXT))} AS context FROM raw.team_boxscores
               WHERE game_date BETWEEN $start AND $end) t ON t.game_id = p.game_id AND t.team_id = p.team_id"""

_PLAYER_TRANSFORM = f"""
    SELECT p.game_id, p.game_date, p.season, p.season_type, p.player_id, p.player_name, p.team_id,
           p.team_abbr, p.opponent_team_id, p.is_home, p.wl = 'W' AS win,
           {', '.join(f'p.{c}' for c in _BOX)}, p.plus_minus,
           CASE WHEN p.fga + 0.44 * p.fta > 0 THEN p.pts / (2 * (p.fga + 0.44 * p.fta)) END AS ts_pct,
           CASE WHEN p.fga > 0 THEN (p.fgm + 0.5 * p.fg3m) / p.fga END AS efg_pct,
           CASE WHEN p.minutes > 0 THEN
                100 * ((p.fga + 0.44 * p.fta + p.tov) * (t.minutes / 5))
                / nullif(p.minutes * (t.fga + 0.44 * t.fta + t.tov), 0) END AS usage_rate,
           t.minutes AS team_minutes,
           {_possessions('t')} AS possessions,
           cast(date_diff('day', p.prev_game_date, p.game_date) AS INTEGER) AS rest_days,
           date_diff('day', p.prev_game_date, p.game_date) = 1 AS back_to_back,
           greatest(p.known_at, t.known_at) AS known_at
    FROM {_with_previous_game(f"(SELECT p.* FROM raw.player_boxscores p {_in_scope('p', 'player_id')}) p")}
    LEFT JOIN raw.team_boxscores t ON t.game_id = p.game_id AND t.team_id = p.team_id"""

PLAYER_GAME_SUMMARY = ProcessorSpec(
    name="analytics.player_game_summary",
    phase=3,
    inputs=(_PLAYER_BOX, _TEAM_BOX),
    entity_key="player_id",
    propagation="following_dates",
    patterns=RESULTS_PATTERNS,
    description="Player box score per game with shooting efficiency, usage, team possessions and rest.",
    signature_sql=_PLAYER_SIGNATURE,
    transform_sql=_PLAYER_TRANSFORM,
    checks=(
        OutputCheck("minutes are never negative", "minutes < 0"),
        OutputCheck("counting stats are never negative", f"least({', '.join(_COUNTS)}) < 0"),
        OutputCheck("made shots never exceed attempts", "fgm > fga OR fg3m > fg3a OR ftm > fta OR fg3m > fgm"),
        OutputCheck("ts_pct within 0..1.5", "ts_pct < 0 OR ts_pct > 1.5"),
        OutputCheck("efg_pct within 0..1.5", "efg_pct < 0 OR efg_pct > 1.5"),
        OutputCheck("usage_rate is never negative", "usage_rate < 0"),
        OutputCheck("rest_days at least one day", "rest_days < 1"),
        OutputCheck("back_to_back agrees with rest_days", "back_to_back IS DISTINCT FROM (rest_days = 1)",
                    invariant=True),
    ),
)

# -- team summaries ---------------------------------------------------------------------------------

# A team's row reads its own box row and its opponent's: one part over both (NULL while the
# opponent's row is missing).
_TEAM_SIGNATURE = """
    WITH team_rows AS (SELECT * FROM raw.team_boxscores WHERE game_date BETWEEN $start AND $end)
    SELECT t.team_id AS entity_id, t.game_date, md5(t.row_hash || ':' || coalesce(o.row_hash, '-')) AS part_hash
    FROM team_rows t LEFT JOIN team_rows o ON o.game_id = t.game_id AND o.team_id = t.opponent_team_id"""

_TEAM_FROM = f"""
    FROM raw.team_boxscores t {_in_scope('t', 'team_id')}
    LEFT JOIN raw.team_boxscores o ON o.game_id = t.game_id AND o.team_id = t.opponent_team_id"""

_TEAM_KEYS = """t.game_id, t.game_date, t.season, t.season_type, t.team_id, t.team_abbr, t.opponent_team_id,
           t.is_home, t.wl = 'W' AS win, t.minutes"""
_PACE = f"48 * ({_possessions('t')} + {_possessions('o')}) / nullif(2 * (t.minutes / 5), 0)"
_DEF_RATING = f"100 * o.pts / nullif({_possessions('o')}, 0)"

_TEAM_OFFENSE_TRANSFORM = f"""
    SELECT {_TEAM_KEYS}, {', '.join(f't.{c}' for c in _BOX[1:])}, t.plus_minus,
           {_possessions('t')} AS possessions,
           o.pts AS opp_pts,
           {_possessions('o')} AS opp_possessions,
           100 * t.pts / nullif({_possessions('t')}, 0) AS offensive_rating,
           {_DEF_RATING} AS defensive_rating,
           100 * t.pts / nullif({_possessions('t')}, 0) - {_DEF_RATING} AS net_rating,
           {_PACE} AS pace,
           CASE WHEN t.fga > 0 THEN (t.fgm + 0.5 * t.fg3m) / t.fga END AS efg_pct,
           CASE WHEN t.fga + 0.44 * t.fta > 0 THEN t.pts / (2 * (t.fga + 0.44 * t.fta)) END AS ts_pct,
           t.tov / nullif({_possessions('t')}, 0) AS tov_pct,
           t.oreb / nullif(t.oreb + o.dreb, 0) AS oreb_pct,
           t.fta / nullif(t.fga, 0) AS ft_rate,
           t.ast / nullif(t.fgm, 0) AS ast_pct, greatest(t.known_at, o.known_at) AS known_at
    {_TEAM_FROM}"""

_TEAM_DEFENSE_TRANSFORM = f"""
    SELECT {_TEAM_KEYS},
           o.pts AS opp_pts, o.fgm AS opp_fgm, o.fga AS opp_fga, o.fg_pct AS opp_fg_pct,
           o.fg3m AS opp_fg3m, o.fg3a AS opp_fg3a, o.fg3_pct AS opp_fg3_pct,
           o.ftm AS opp_ftm, o.fta AS opp_fta, o.ft_pct AS opp_ft_pct,
           o.oreb AS opp_oreb, o.dreb AS opp_dreb, o.reb AS opp_reb, o.ast AS opp_ast,
           o.tov AS opp_tov, o.pf AS opp_pf,
           {_possessions('t')} AS possessions,
           {_possessions('o')} AS opp_possessions,
           {_DEF_RATING} AS defensive_rating,
           {_PACE} AS pace,
           CASE WHEN o.fga > 0 THEN (o.fgm + 0.5 * o.fg3m) / o.fga END AS opp_efg_pct,
           CASE WHEN o.fga + 0.44 * o.fta > 0 THEN o.pts / (2 * (o.fga + 0.44 * o.fta)) END AS opp_ts_pct,
           o.tov / nullif({_possessions('o')}, 0) AS opp_tov_pct,
           o.fta / nullif(o.fga, 0) AS opp_ft_rate,
           t.dreb, t.dreb / nullif(t.dreb + o.oreb, 0) AS dreb_pct,
           t.stl, t.blk, t.pf,
           t.stl / nullif({_possessions('o')}, 0) AS stl_pct,
           t.blk / nullif(o.fga - o.fg3a, 0) AS blk_pct, greatest(t.known_at, o.known_at) AS known_at
    {_TEAM_FROM}"""

_TEAM_CHECKS = (
    OutputCheck("minutes are positive", "minutes <= 0"),
    OutputCheck("possessions are positive", "possessions <= 0 OR opp_possessions <= 0"),
    OutputCheck("ratings are never negative", "defensive_rating < 0"),
    OutputCheck("pace is positive", "pace <= 0"),
)

def _team_summary(name: str, description: str, transform_sql: str, checks: tuple[OutputCheck, ...]) -> ProcessorSpec:
    """A team-game summary: both team rows of the game are its inputs (see _TEAM_SIGNATURE)."""
    return ProcessorSpec(
        name=name,
        phase=3,
        inputs=(_TEAM_BOX,),
        entity_key="team_id",
        patterns=RESULTS_PATTERNS,
        description=description,
        signature_sql=_TEAM_SIGNATURE,
        transform_sql=transform_sql,
        checks=(*_TEAM_CHECKS, *checks),
    )


TEAM_OFFENSE_GAME_SUMMARY = _team_summary(
    "analytics.team_offense_game_summary",
    "Team box score per game with possessions, offensive/defensive/net rating and pace.",
    _TEAM_OFFENSE_TRANSFORM,
    (
        OutputCheck("counting stats are never negative", f"least({', '.join(_COUNTS)}, opp_pts) < 0"),
        OutputCheck("offensive_rating is never negative", "offensive_rating < 0"),
        OutputCheck("efficiency within 0..1.5", "ts_pct < 0 OR ts_pct > 1.5 OR efg_pct < 0 OR efg_pct > 1.5"),
    ),
)

TEAM_DEFENSE_GAME_SUMMARY = _team_summary(
    "analytics.team_defense_game_summary",
    "What a team allowed per game: opponent box score, possessions, defensive rating, stops.",
    _TEAM_DEFENSE_TRANSFORM,
    (
        OutputCheck(
            "counting stats are never negative",
            "least(opp_pts, opp_fgm, opp_fga, opp_fta, opp_oreb, opp_dreb, opp_tov, dreb, stl, blk) < 0",
        ),
        OutputCheck("dreb_pct within 0..1", "dreb_pct < 0 OR dreb_pct > 1"),
    ),
)

ANALYTICS_PROCESSORS: tuple[ProcessorSpec, ...] = (
    PLAYER_GAME_SUMMARY,
    TEAM_OFFENSE_GAME_SUMMARY,
    TEAM_DEFENSE_GAME_SUMMARY,
)
