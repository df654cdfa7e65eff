"""A raw archive (the layout `nbadb fetch` writes under `<data dir>/live/raw`) made only of the
recorded stats.nba.com responses in data/archive/nba_api_payloads, for days around 2023-01-02: the
one day where a whole recorded game (0022200552, CHI at CLE, Mitchell's 71) meets the bundled
archive files (its 2022-23 player and team logs).

Every request a day's fetch makes (sources.live.endpoints) gets one archived HTTP 200 response, the
index line's url being the recorded request it came from:
- ScoreboardV3 of a day: the day's games whose box score was recorded, in ScoreboardV2's GameHeader
  layout (which the scoreboard parser reads): on 2023-01-02 the GameSummary row of the recorded
  BoxScoreSummaryV2 of 0022200552 (the same columns); on the other days no game. An excerpt: the
  other games of 2023-01-02 were not recorded.
- BoxScoreTraditionalV3 of 0022200552: the recorded body, byte for byte.
- LeagueGameLog T of a day: the bundled team_game_logs rows of the scoreboard's games. Not recorded
  for 2022-23; the archive dates box scores by the day's team rows, so these stand in, and being the
  files' own rows they are never compared.
- LeagueGameLog P of a day: the recorded LeagueGameFinder P layout with no row (none recorded).
- ScheduleLeagueV2 and PlayerIndex of 2022-23: the recorded 2025-26 responses with no row (none
  recorded for 2022-23); a frame without rows materialises no file.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl

from nbadb.config import BUNDLED_ARCHIVE
from nbadb.sources.live import RawArchive
from nbadb.sources.live import endpoints
from nbadb.sources.live.endpoints import EndpointCall

PAYLOADS = BUNDLED_ARCHIVE / "nba_api_payloads"
GAME = "0022200552"
GAME_DAY = date(2023, 1, 2)
SEASON = "2022-23"
RECORDED_AT = datetime(2026, 2, 22)  # the nba_api cassettes' recording month (PROVENANCE.md)
_SUMMARY = "boxscoresummaryv2_0022200552.json"
_BOXSCORE = "boxscoretraditionalv3_0022200552.json"
_TEAM_LOG = "leaguegamelog_T_2025-26_regular_season.json"
_PLAYER_LOG = "leaguegamefinder_player_2544.json"
_SCHEDULE = "scheduleleaguev2_2025-26_snapshot_2025-07-17_excerpt.json"
_PLAYER_INDEX = "playerindex_2025-26.json"


def _recorded(name: str) -> dict:
    return json.loads((PAYLOADS / name).read_bytes())


def _recorded_url(name: str) -> str:
    index = json.loads((PAYLOADS / "index.json").read_text())
    return next(entry["request_uri"] for entry in index if entry["file"] == name)


def _without_rows(payload: dict) -> dict:
    """A stats.nba.com result-set response with every rowSet emptied (headers kept)."""
    return payload | {"resultSets": [s | {"rowSet": []} for s in payload["resultSets"]]}


def _scoreboard(day: date) -> dict:
    """ScoreboardV2 GameHeader rows of `day`'s recorded games (GameSummary has GameHeader's columns)."""
    summary = next(s for s in _recorded(_SUMMARY)["resultSets"] if s["name"] == "GameSummary")
    rows = [row for row in summary["rowSet"] if row[0].startswith(day.isoformat())]
    return {"resource": "scoreboard", "resultSets": [{"name": "GameHeader", "headers": summary["headers"],
                                                        "rowSet": rows}]}


def _team_logs(game_ids: list[str]) -> dict:
    """The bundled team rows of `game_ids` in the recorded LeagueGameLog T layout."""
    layout = _recorded(_TEAM_LOG)["resultSets"][0]
    bundled = pl.read_parquet(BUNDLED_ARCHIVE / "team_game_logs.parquet").filter(pl.col("GAME_ID").is_in(game_ids))
    headers = [h for h in layout["headers"] if h in bundled.columns]
    rows = [[row[h].isoformat() if h == "GAME_DATE" else row[h] for h in headers]
            for row in bundled.sort("GAME_ID", "TEAM_ID").iter_rows(named=True)]
    return {"resource": "leaguegamelog", "resultSets": [{"name": "LeagueGameLog", "headers": headers, "rowSet": rows}]}


def _store(archive: RawArchive, call: EndpointCall, payload: dict | bytes, recorded_file: str) -> None:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    archive.store(call.endpoint, call.params, url=_recorded_url(recorded_file), http_status=200, body=body,
                  fetched_at=RECORDED_AT)


def build_raw_archive(folder: Path, first: date, last: date) -> Path:
    """The raw archive of every day in [first, last] (see the module docstring) in `folder`."""
    archive = RawArchive(folder)
    _store(archive, endpoints.schedule(SEASON), _recorded(_SCHEDULE) | {"leagueSchedule": _recorded(_SCHEDULE)[
        "leagueSchedule"] | {"gameDates": []}}, _SCHEDULE)
    _store(archive, endpoints.player_index(SEASON), _without_rows(_recorded(_PLAYER_INDEX)), _PLAYER_INDEX)
    day = first
    while day <= last:
        board = _scoreboard(day)
        _store(archive, endpoints.scoreboard(day), board, _SUMMARY)
        games = [row[2] for row in board["resultSets"][0]["rowSet"]]
        if games:
            _store(archive, endpoints.game_logs(day, SEASON, "Regular Season", "T"), _team_logs(games), _TEAM_LOG)
            _store(archive, endpoints.game_logs(day, SEASON, "Regular Season", "P"),
                   _without_rows(_recorded(_PLAYER_LOG)), _PLAYER_LOG)
            _store(archive, endpoints.boxscore(GAME), (PAYLOADS / _BOXSCORE).read_bytes(), _BOXSCORE)
        day += timedelta(days=1)
    return folder
