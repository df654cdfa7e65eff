"""SQL shared by the as-of processors (upcoming game context, Phase 4 precompute, predictions).

Every value these processors compute for a date D reads only what was published before D's cutoff
(engine.clock). A processor reads a current-truth input through `as_known(table)`: the engine
(engine.snapshots) makes that view hold the versions published at the cutoffs of the dates being
computed, and gives the run `_as_of(game_date, cutoff)` with those dates. On top, the SQL reads only
games played strictly before D. Since the view is already "as published", the SQL can use running
windows and ASOF joins: a date reads the running totals of the last game before it.

The helpers here are the pieces several processors need: the as-known read, exact sums, which
games count, the team directory used to read sportsbook team names, the season label of a date and
the scope join.
"""

from __future__ import annotations

from nbadb.contracts.teams import teams_sql
from nbadb.engine.spec import known_view

Columns = tuple[tuple[str, str], ...]

LOOKBACK_DAYS = 365  # how far back a player's or team's previous game is looked for
EXACT = "DECIMAL(18, 9)"  # sums over this type do not depend on summation order


def as_known(table: str) -> str:
    """A current-truth table as published at the cutoffs of the dates being computed (engine.snapshots)."""
    return known_view(table)


def versions(table: str) -> str:
    """The view of every version of a current-truth table's rows (warehouse.migrations)."""
    return f"{table}_versions"


def exact(value: str) -> str:
    """`value` as an exact decimal, so sums and means of it are the same bits in any order: a day-by-day
    build and a one-shot build agree to the last bit."""
    return f"cast({value} AS {EXACT})"


def exact_avg(value: str) -> str:
    """Mean of a DOUBLE column that does not depend on summation order."""
    return f"avg({exact(value)})"


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


# Every team as of each date of the run (`as_of`): its abbreviation and name in its latest game
# before that date, else (an NBA franchise that has not played yet in this warehouse) the name the
# product ships (contracts.teams), and the nickname sportsbook game titles ("Away Team @ Home Team")
# are matched on. Names read from earlier games only, so a later season's box scores never rename an
# earlier day's rows.
TEAM_DIRECTORY = f"""(
    SELECT as_of, team_id, team_abbr, team_name, {nickname_sql('team_name')} AS nickname FROM (
        SELECT a.game_date AS as_of, k.team_id, coalesce(t.team_abbr, k.team_abbr) AS team_abbr,
               coalesce(t.team_name, k.team_name) AS team_name
        FROM _as_of a
        JOIN (SELECT * FROM {teams_sql()}
              UNION ALL BY NAME
              SELECT DISTINCT team_id FROM {as_known('raw.team_boxscores')}
              WHERE team_id NOT IN (SELECT team_id FROM {teams_sql()})) k ON true
        ASOF LEFT JOIN (SELECT team_id, game_date, team_abbr, team_name FROM {as_known('raw.team_boxscores')}) t
          ON t.team_id = k.team_id AND t.game_date < a.game_date)
    WHERE team_name IS NOT NULL)"""


def scoped(rows_sql: str, entity: str) -> str:
    """`rows_sql` restricted to the (entity, game_date) pairs the engine asked for (temp table _scope)."""
    return f"""(SELECT r.* FROM ({rows_sql}) r
        JOIN _scope s ON cast(r.{entity} AS VARCHAR) = s.entity_id AND r.game_date = s.game_date)"""
