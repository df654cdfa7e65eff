"""A fetched day as archive-format files, so `nbadb ingest/replay --archive FOLDER` publishes it
through the same contracts and raw processors as bundled files.

Season-wide frames are one file per season, replaced whole by the latest fetch (the archive checks
keys across files, so a season's schedule must not repeat in one file per day): the schedule as
`schedule_live_<season>.parquet`, the player directory as
`nba_api_payloads/commonallplayers_live_<season>.json` (the commonallplayers layout the archive reads).
Daily frames are one file per day: `player_game_logs_live_<day>.parquet`,
`team_game_logs_live_<day>.parquet`, `boxscores_traditional_v2_live_<day>.parquet`. A frame without
rows writes no file (an empty answer never erases an earlier fetch). Every file goes through a
temp file and os.replace: a reader sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl

from nbadb.warehouse.atomic import write_atomically
from nbadb.sources.live.day import DayFetch

DAILY_FILES = {
    "player_logs": "player_game_logs_live_{day}.parquet",
    "team_logs": "team_game_logs_live_{day}.parquet",
    "boxscores": "boxscores_traditional_v2_live_{day}.parquet",
}
SCHEDULE_FILE = "schedule_live_{season}.parquet"
PLAYERS_FILE = "nba_api_payloads/commonallplayers_live_{season}.json"


def _parquet(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


def player_directory_payload(players: pl.DataFrame) -> bytes:
    """The player directory (PLAYER_ID, PLAYER_NAME, TEAM_NAME, SEASON) in the commonallplayers
    layout: the team's full name in TEAM_NAME, the season label in TO_YEAR (what the archive reads
    as the directory's SEASON)."""
    rows = [[r["PLAYER_ID"], r["PLAYER_NAME"], "", r["TEAM_NAME"] or "", r["SEASON"]]
            for r in players.iter_rows(named=True)]
    headers = ["PERSON_ID", "DISPLAY_FIRST_LAST", "TEAM_CITY", "TEAM_NAME", "TO_YEAR"]
    return json.dumps({"resultSets": [{"name": "CommonAllPlayers", "headers": headers, "rowSet": rows}]}).encode()


def materialise(day: DayFetch, folder: Path) -> list[Path]:
    """Write `day`'s frames into `folder` (see the module docstring); the files written, in order."""
    files: dict[Path, bytes] = {}
    if day.schedule.height:
        files[folder / SCHEDULE_FILE.format(season=day.season)] = _parquet(day.schedule)
    if day.players.height:
        files[folder / PLAYERS_FILE.format(season=day.season)] = player_directory_payload(day.players)
    frames = day.frames()
    for kind, pattern in DAILY_FILES.items():
        if frames[kind].height:
            files[folder / pattern.format(day=day.day.isoformat())] = _parquet(frames[kind])
    for path, data in files.items():
        write_atomically(path, data)
    return list(files)
