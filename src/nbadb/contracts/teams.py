"""The 30 NBA franchises as the bundled box scores name them (2015-16 to 2024-25): id, abbreviation
and full name. A fixed fact the product ships, so that a sportsbook's "Away Team @ Home Team" game
title can be matched to a team before the warehouse holds any of its box scores (a season's first
days on a warehouse without history); once a team has played, the name of its latest box score
before a date is the one that counts (pipeline.point_in_time.TEAM_DIRECTORY)."""

from __future__ import annotations

NBA_TEAMS: dict[int, tuple[str, str]] = {
    1610612737: ("ATL", "Atlanta Hawks"), 1610612738: ("BOS", "Boston Celtics"),
    1610612739: ("CLE", "Cleveland Cavaliers"), 1610612740: ("NOP", "New Orleans Pelicans"),
    1610612741: ("CHI", "Chicago Bulls"), 1610612742: ("DAL", "Dallas Mavericks"),
    1610612743: ("DEN", "Denver Nuggets"), 1610612744: ("GSW", "Golden State Warriors"),
    1610612745: ("HOU", "Houston Rockets"), 1610612746: ("LAC", "LA Clippers"),
    1610612747: ("LAL", "Los Angeles Lakers"), 1610612748: ("MIA", "Miami Heat"),
    1610612749: ("MIL", "Milwaukee Bucks"), 1610612750: ("MIN", "Minnesota Timberwolves"),
    1610612751: ("BKN", "Brooklyn Nets"), 1610612752: ("NYK", "New York Knicks"),
    1610612753: ("ORL", "Orlando Magic"), 1610612754: ("IND", "Indiana Pacers"),
    1610612755: ("PHI", "Philadelphia 76ers"), 1610612756: ("PHX", "Phoenix Suns"),
    1610612757: ("POR", "Portland Trail Blazers"), 1610612758: ("SAC", "Sacramento Kings"),
    1610612759: ("SAS", "San Antonio Spurs"), 1610612760: ("OKC", "Oklahoma City Thunder"),
    1610612761: ("TOR", "Toronto Raptors"), 1610612762: ("UTA", "Utah Jazz"),
    1610612763: ("MEM", "Memphis Grizzlies"), 1610612764: ("WAS", "Washington Wizards"),
    1610612765: ("DET", "Detroit Pistons"), 1610612766: ("CHA", "Charlotte Hornets"),
}
NBA_TEAM_IDS = sorted(NBA_TEAMS)


def teams_sql() -> str:
    """The franchises as a SQL relation (team_id, team_abbr, team_name)."""
    rows = ", ".join(f"({team_id}, '{abbr}', '{name}')" for team_id, (abbr, name) in NBA_TEAMS.items())
    return f"(SELECT * FROM (VALUES {rows}) AS franchises(team_id, team_abbr, team_name))"
