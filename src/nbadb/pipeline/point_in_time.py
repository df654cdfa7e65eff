"""SQL shared by the point-in-time processors (upcoming game context, Phase 4 precompute).

Every value these processors compute for a date D reads only what was known before tip-off on
D: games strictly before D, injury moves strictly before D and prop snapshots taken on or
before D. The helpers here are the pieces several of them need: which games count, the team
directory used to read sportsbook team names, the season label of a date and the scope join.
"""

from __future__ import annotations

Columns = tuple[tuple[str, str], ...]

LOOKBACK_DAYS = 365  # how far back a player's or team's previous game is looked for


def exact_avg(value: str) -> str:
    """Mean of a DOUBLE column that does not depend on summation order (an exact decimal sum), so a
    day-by-day build and a one-shot build agree to the last bit."""
    return f"avg(cast({value} AS DECIMAL(18, 12)))"


def counted_games(alias: str = "") -> str:
    """Games that count for form, rest and load: everything but pre-season and All-Star games."""
    prefix = f"{alias}." if alias else ""
    return f"coalesce({prefix}season_type, '') NOT IN ('Pre Season', 'All Star')"


def season_of_date_sql(day: str) -> str:
    """Season label ("2025-26") of a date: a season starts in September."""
    start_year = f"(year({day}) - CASE WHEN month({day}) < 9 THEN 1 ELSE 0 END)"
    return f"({start_year}::VARCHAR || '-' || lpad((({start_year} + 1) % 100)::VARCHAR, 2, '0'))"


def nickname_sql(team_name: str) -> str:
    """A team's nickname ("clippers") from any spelling of its name ("LA Clippers", "Los Angeles Clippers")."""
    return f"lower(regexp_extract(trim({team_name}), '(\\S+)$', 1))"


# Every NBA team the box scores know: its latest abbreviation and name, and the nickname that
# sportsbook game titles ("Away Team @ Home Team") are matched on.
TEAM_DIRECTORY = f"""(
    SELECT team_id, arg_max(team_abbr, game_date) AS team_abbr, arg_max(team_name, game_date) AS team_name,
           {nickname_sql('arg_max(team_name, game_date)')} AS nickname
    FROM raw.team_boxscores GROUP BY team_id)"""


def scoped(rows_sql: str, entity: str) -> str:
    """`rows_sql` restricted to the (entity, game_date) pairs the engine asked for (temp table _scope)."""
    return f"""(SELECT r.* FROM ({rows_sql}) r
        JOIN _scope s ON cast(r.{entity} AS VARCHAR) = s.entity_id AND r.game_date = s.game_date)"""
