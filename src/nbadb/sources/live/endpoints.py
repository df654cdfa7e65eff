"""The stats.nba.com requests the live source makes. nba_api's endpoint classes define each one
(endpoint name and full parameter set, defaults included), so a live call and its offline replay
are keyed by exactly the parameters nba_api sends."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal


@dataclass(frozen=True)
class EndpointCall:
    """One request: the endpoint (path under stats.nba.com/stats/) and its parameters as text."""

    endpoint: str
    params: dict[str, str]


def canonical_params(params: Mapping[str, object]) -> dict[str, str]:
    """Parameters as sent and as archived: sorted by name, every value text (None as "")."""
    return {name: "" if value is None else str(value) for name, value in sorted(params.items())}


def _defined_by_nba_api(class_name: str, **arguments: object) -> EndpointCall:
    """The call nba_api's endpoint class `class_name` would make with `arguments` (none is made)."""
    module = importlib.import_module(f"nba_api.stats.endpoints.{class_name.lower()}")
    definition = getattr(module, class_name)(**arguments, get_request=False)
    return EndpointCall(definition.endpoint, canonical_params(definition.parameters))


def _us_date(day: date) -> str:
    """The MM/DD/YYYY form stats.nba.com's DateFrom / DateTo parameters take."""
    return day.strftime("%m/%d/%Y")


def scoreboard(day: date) -> EndpointCall:
    """ScoreboardV3: the games on `day`, their status and tip times."""
    return _defined_by_nba_api("ScoreboardV3", game_date=day.isoformat())


def schedule(season: str) -> EndpointCall:
    """ScheduleLeagueV2: the whole season's schedule."""
    return _defined_by_nba_api("ScheduleLeagueV2", season=season)


def game_logs(day: date, season: str, season_type: str, player_or_team: Literal["P", "T"]) -> EndpointCall:
    """LeagueGameLog for games of one season type played on `day`: player ("P") or team ("T") rows."""
    return _defined_by_nba_api(
        "LeagueGameLog", season=season, season_type_all_star=season_type,
        player_or_team_abbreviation=player_or_team, date_from_nullable=_us_date(day), date_to_nullable=_us_date(day),
    )


def boxscore(game_id: str) -> EndpointCall:
    """BoxScoreTraditionalV3: every player of one game, non-playing ones included."""
    return _defined_by_nba_api("BoxScoreTraditionalV3", game_id=game_id)


def player_index(season: str) -> EndpointCall:
    """PlayerIndex: the season's players and their teams (Historical=0: that season only)."""
    return _defined_by_nba_api("PlayerIndex", season=season, historical_nullable="0")
