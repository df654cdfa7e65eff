"""The live source wired in: `nbadb fetch` materialises a day as archive files (season-wide frames
one file per season, daily frames one file per day, written atomically), and what the live parsers
make of recorded stats.nba.com payloads publishes into the same raw rows as the bundled archive
files give for the same games. Never the network: the live source tests' socket guard and fake
requests transport serve the recorded payloads."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl

from nbadb.sources.live import RawArchiveReader, fetch_day
from nbadb.sources.live.boxscores import BOXSCORE_SCHEMA, parse_boxscore
from nbadb.sources.live.day import DayFetch
from nbadb.sources.live.game_logs import PLAYER_LOG_SCHEMA, TEAM_LOG_SCHEMA, parse_player_logs
from nbadb.sources.live.materialise import materialise
from nbadb.config import BUNDLED_ARCHIVE
from nbadb.sources.live.players import PLAYERS_SCHEMA
from nbadb.sources.live.schedule import SCHEDULE_SCHEMA, SCOREBOARD_SCHEMA
from test_live_source import (  # the socket guard is conftest's, autouse for every test
    NOVEMBER_5, OFF_SEASON, live, recorded, routes_for_november_5, routes_for_the_off_season,
)

LEBRON = 2544
MITCHELL_71 = ("0022200552", date(2023, 1, 2))  # the recorded BoxScoreTraditionalV3
# raw.player_boxscores' columns but opponent_team_id and row_hash (which covers it): the opponent comes
# from the other team's rows of the game, and the recorded payload holds only LeBron's.
RAW_CONTENT = ("game_id", "game_date", "season", "season_type", "player_id", "player_name", "team_id", "team_abbr",
               "is_home", "wl", "minutes", "fgm", "fga", "fg_pct", "fg3m", "fg3a", "fg3_pct",
               "ftm", "fta", "ft_pct", "oreb", "dreb", "reb", "ast", "stl", "blk", "tov", "pf", "pts", "plus_minus",
               "known_at")
BOX_STATS = ("pts", "reb", "ast", "fg3m", "fgm", "fga", "ftm", "fta", "stl", "blk", "tov", "oreb", "dreb", "pf")


def day_of(day: date, season: str, *, player_logs: pl.DataFrame | None = None,
           boxscores: pl.DataFrame | None = None, team_logs: pl.DataFrame | None = None) -> DayFetch:
    """A fetched day holding only the given frames (the others empty, in their layouts)."""
    return DayFetch(day=day, season=season, scoreboard=pl.DataFrame(schema=SCOREBOARD_SCHEMA),
                    schedule=pl.DataFrame(schema=SCHEDULE_SCHEMA),
                    player_logs=player_logs if player_logs is not None else pl.DataFrame(schema=PLAYER_LOG_SCHEMA),
                    team_logs=team_logs if team_logs is not None else pl.DataFrame(schema=TEAM_LOG_SCHEMA),
                    boxscores=boxscores if boxscores is not None else pl.DataFrame(schema=BOXSCORE_SCHEMA),
                    players=pl.DataFrame(schema=PLAYERS_SCHEMA))


def test_fetch_from_the_raw_archive_writes_one_file_per_season_for_season_frames_and_one_per_day_for_daily_ones(
    tmp_path: Path, run_cli
) -> None:
    raw = tmp_path / "raw"
    run = live(raw)
    routes_for_the_off_season(run.transport)
    routes_for_november_5(run.transport)
    for day in (OFF_SEASON, NOVEMBER_5):
        fetch_day(run.client, day)
    sent = len(run.transport.sent)
    out = tmp_path / "archive"
    for day in (NOVEMBER_5, OFF_SEASON, NOVEMBER_5):  # again: the files are replaced, not repeated
        result = run_cli(["fetch", "--date", str(day), "--from-raw", "--raw", str(raw), "--out", str(out)], tmp_path)
        assert result.exit_code == 0, result.output
    assert len(run.transport.sent) == sent  # offline: no request
    names = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert names == ["boxscores_traditional_v2_live_2025-11-05.parquet",
                     "nba_api_payloads/commonallplayers_live_2025-26.json",
                     "player_game_logs_live_2025-11-05.parquet", "schedule_live_2025-26.parquet",
                     "team_game_logs_live_2025-11-05.parquet"]
    replayed = fetch_day(RawArchiveReader(raw), NOVEMBER_5)
    assert pl.read_parquet(out / "schedule_live_2025-26.parquet").equals(replayed.schedule)
    assert pl.read_parquet(out / "player_game_logs_live_2025-11-05.parquet").equals(replayed.player_logs)
    directory = json.loads((out / "nba_api_payloads/commonallplayers_live_2025-26.json").read_text())["resultSets"][0]
    assert len(directory["rowSet"]) == replayed.players.height == 594


def test_fetch_refuses_a_missing_raw_archive_and_a_bad_date_with_one_line(tmp_path: Path, run_cli, no_traceback) -> None:
    for args, message in ((["fetch", "--date", "2025-11-05", "--from-raw", "--raw", str(tmp_path / "none")],
                           "no raw archive at"),
                          (["fetch", "--date", "11/05/2025", "--from-raw"], "is not a date"),
                          (["fetch", "--from-raw"], "--date is required")):
        result = run_cli(args, tmp_path)
        assert result.exit_code in (2, 3) and message in result.output and no_traceback(result), result.output


def test_lebrons_recorded_game_logs_publish_into_exactly_the_raw_rows_of_the_bundled_player_logs(
    tmp_path: Path, ingest, db, warehouse_2023_24
) -> None:
    parsed = parse_player_logs(recorded("leaguegamefinder_player_2544.json"))
    regular = parsed.filter(pl.col("GAME_ID").str.starts_with("002"))
    folder = tmp_path / "live_archive"
    for (day,), rows in regular.group_by("GAME_DATE", maintain_order=True):  # one fetched day per game day
        materialise(day_of(day, "2023-24", player_logs=rows), folder)
    outcome = ingest(tmp_path / "live", season="2023-24", archive=folder)
    assert not outcome.failed and not outcome.stage.quarantined
    columns = ", ".join(RAW_CONTENT)
    query = f"SELECT {columns} FROM raw.player_boxscores WHERE player_id = {LEBRON} ORDER BY game_id"
    with db(tmp_path / "live") as con:
        from_live = con.execute(query).fetchall()
    with db(warehouse_2023_24.data_dir) as con:
        from_files = con.execute(query).fetchall()
    assert len(from_live) == len(from_files) == 71
    assert from_live == from_files  # every column the player's own rows decide, and the publication time
    print(f"\nraw.player_boxscores, LeBron James 2023-24: {len(from_live)} rows from the live parser, "
          f"{len(from_files)} from the bundled files, {sum(a == b for a, b in zip(from_live, from_files))} identical")


def test_the_recorded_v3_box_score_publishes_the_same_player_stats_as_the_bundled_logs_of_that_game(
    tmp_path: Path, ingest, db
) -> None:
    game, day = MITCHELL_71
    box = parse_boxscore(recorded("boxscoretraditionalv3_0022200552.json"))
    # box scores are dated by the day's team logs; LeagueGameLog T of that day was not recorded, so the
    # bundled team rows of the game stand in for it (the player stats compared come from the box score)
    teams = pl.read_parquet(BUNDLED_ARCHIVE / "team_game_logs.parquet").filter(pl.col("GAME_ID") == game)
    folder = tmp_path / "live_archive"
    materialise(day_of(day, "2022-23", boxscores=box, team_logs=teams), folder)
    assert not ingest(tmp_path / "live", day, day, archive=folder).failed
    assert not ingest(tmp_path / "files", day, day).failed
    stats = ", ".join(BOX_STATS)
    with db(tmp_path / "live") as con:
        live_rows = con.execute(f"SELECT player_id, team_id, minutes, {stats} FROM raw.boxscore_players "
                                f"WHERE game_id = '{game}' AND minutes IS NOT NULL ORDER BY player_id").fetchall()
        dnp = con.execute(f"SELECT count(*) FROM raw.boxscore_players WHERE game_id = '{game}' AND minutes IS NULL").fetchall()
    with db(tmp_path / "files") as con:
        file_rows = con.execute(f"SELECT player_id, team_id, minutes, {stats} FROM raw.player_boxscores "
                                f"WHERE game_id = '{game}' ORDER BY player_id").fetchall()
    assert len(live_rows) == len(file_rows) == 19 and dnp == [(4,)]
    for live_row, file_row in zip(live_rows, file_rows, strict=True):
        assert live_row[:2] == file_row[:2] and abs(live_row[2] - file_row[2]) <= 0.5  # the logs round minutes
        assert [float(v) for v in live_row[3:]] == [float(v) for v in file_row[3:]]
    print(f"\ngame {game}: {len(live_rows)} players, {len(BOX_STATS)} stats each equal in raw.boxscore_players "
          f"(live v3 box score) and raw.player_boxscores (bundled logs); minutes within 0.5")
