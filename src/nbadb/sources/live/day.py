"""One day from stats.nba.com, live or replayed from the raw archive: what to fetch for date D and
the frames it yields, keyed by the archive's kind names.

For D: the scoreboard; the season's schedule and player index (once per season, see SeasonCache);
and, when some game of D is final, the player and team logs of D (one LeagueGameLog call per
side and season type among the final games) and the box score of every final game."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import Protocol

import polars as pl

from nbadb.sources.live import endpoints
from nbadb.sources.live.archive import ArchivedResponse
from nbadb.sources.live.boxscores import BOXSCORE_SCHEMA, parse_boxscore
from nbadb.sources.live.endpoints import EndpointCall
from nbadb.sources.live.game_logs import PLAYER_LOG_SCHEMA, TEAM_LOG_SCHEMA, parse_player_logs, parse_team_logs
from nbadb.sources.live.payload import Payload, parse
from nbadb.sources.live.players import parse_player_index
from nbadb.sources.live.schedule import parse_schedule, parse_scoreboard
from nbadb.sources.live.seasons import game_log_season_type, season_of_day, season_of_game


class RawSource(Protocol):
    """What a day is fetched from: NbaApiClient (live) or RawArchiveReader (offline replay)."""

    def get(self, endpoint: str, params: Mapping[str, object]) -> ArchivedResponse: ...


@dataclass(frozen=True)
class DayFetch:
    """Everything fetched for one day. `schedule` and `players` cover the whole season."""

    day: date
    season: str
    scoreboard: pl.DataFrame
    schedule: pl.DataFrame
    player_logs: pl.DataFrame
    team_logs: pl.DataFrame
    boxscores: pl.DataFrame
    players: pl.DataFrame

    def frames(self) -> dict[str, pl.DataFrame]:
        """The frames by archive kind (sources.files.KINDS), plus the day's `scoreboard`."""
        return {"schedule": self.schedule, "player_logs": self.player_logs, "team_logs": self.team_logs,
                "boxscores": self.boxscores, "players": self.players, "scoreboard": self.scoreboard}


@dataclass
class SeasonCache:
    """Season-wide frames (schedule, player index) fetched once per season, reused by every day
    fetched with the same cache."""

    frames: dict[tuple[str, str], pl.DataFrame] = field(default_factory=dict)

    def get(self, kind: str, season: str, fetch: Callable[[], pl.DataFrame]) -> pl.DataFrame:
        if (kind, season) not in self.frames:
            self.frames[kind, season] = fetch()
        return self.frames[kind, season]


def _fetch(source: RawSource, call: EndpointCall, parser: Callable[[Payload], pl.DataFrame]) -> pl.DataFrame:
    return parse(source.get(call.endpoint, call.params), parser)


def _stacked(frames: list[pl.DataFrame], schema: pl.Schema) -> pl.DataFrame:
    return pl.concat(frames) if frames else pl.DataFrame(schema=schema)


def fetch_day(source: RawSource, day: date, cache: SeasonCache | None = None) -> DayFetch:
    """Fetch (or replay) date `day`. Raises UpstreamError / BreakerOpenError (live),
    NotArchivedError (replay) or MalformedPayloadError, each naming the endpoint."""
    cache = SeasonCache() if cache is None else cache
    scoreboard = _fetch(source, endpoints.scoreboard(day), parse_scoreboard)
    season = season_of_game(scoreboard["GAME_ID"][0]) if scoreboard.height else season_of_day(day)
    schedule = cache.get("schedule", season, lambda: _fetch(source, endpoints.schedule(season), parse_schedule))
    final_games = scoreboard.filter(pl.col("STATUS") == "final")["GAME_ID"].to_list()
    season_types = sorted({game_log_season_type(game_id) for game_id in final_games})
    player_logs = [_fetch(source, endpoints.game_logs(day, season, t, "P"), parse_player_logs) for t in season_types]
    team_logs = [_fetch(source, endpoints.game_logs(day, season, t, "T"), parse_team_logs) for t in season_types]
    boxscores = [_fetch(source, endpoints.boxscore(game_id), parse_boxscore) for game_id in final_games]
    players = cache.get("players", season, lambda: _fetch(
        source, endpoints.player_index(season), partial(parse_player_index, season=season)))
    return DayFetch(
        day=day, season=season, scoreboard=scoreboard, schedule=schedule,
        player_logs=_stacked(player_logs, PLAYER_LOG_SCHEMA), team_logs=_stacked(team_logs, TEAM_LOG_SCHEMA),
        boxscores=_stacked(boxscores, BOXSCORE_SCHEMA), players=players,
    )
