"""SQL fragments shared by processor declarations."""

from __future__ import annotations

from nbadb.engine.spec import Patterns

# Processors about games scheduled on a date (upcoming context, features, predictions).
GAME_DAY_PATTERNS = Patterns(needs_games=True, max_days_back=90)
# Processors about finished games: nothing to do for dates after today either.
RESULTS_PATTERNS = Patterns(needs_games=True, needs_results=True, max_days_back=90)


def season_type_sql(game_id: str) -> str:
    """Season type from the GAME_ID prefix (the third digit)."""
    return (
        f"CASE substr({game_id}, 3, 1) WHEN '1' THEN 'Pre Season' WHEN '2' THEN 'Regular Season' "
        f"WHEN '3' THEN 'All Star' WHEN '4' THEN 'Playoffs' WHEN '5' THEN 'PlayIn' "
        f"WHEN '6' THEN 'NBA Cup' ELSE 'Unknown' END"
    )


def pct_sql(made: str, attempts: str) -> str:
    """A shooting percentage, null when there were no attempts."""
    return f"CASE WHEN {attempts} > 0 THEN round({made} / {attempts}, 3) END"


def opponent_sql(team: str = "TEAM_ID", game: str = "GAME_ID") -> str:
    """The other team of the game, from the rows published for it (null if only one side is)."""
    return (
        f"CASE WHEN {team} = max({team}) OVER (PARTITION BY {game}) "
        f"THEN nullif(min({team}) OVER (PARTITION BY {game}), {team}) "
        f"ELSE max({team}) OVER (PARTITION BY {game}) END"
    )


def box_stats_sql(prefix: str = "", tov: str = "TOV", cast: str = "") -> str:
    """The normalised counting stats and percentages from a LeagueGameLog-shaped source."""
    p = prefix
    counts = ["FGM", "FGA", "FG3M", "FG3A", "FTM", "FTA", "OREB", "DREB", "REB", "AST", "STL", "BLK", "PF", "PTS"]
    out = [f"{p}{c}{cast} AS {c.lower()}" for c in counts]
    out.append(f"{p}{tov}{cast} AS tov")
    out.append(f"{pct_sql(p + 'FGM', p + 'FGA')} AS fg_pct")
    out.append(f"{pct_sql(p + 'FG3M', p + 'FG3A')} AS fg3_pct")
    out.append(f"{pct_sql(p + 'FTM', p + 'FTA')} AS ft_pct")
    return ", ".join(out)
