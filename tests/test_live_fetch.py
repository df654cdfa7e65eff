"""The live source wired in: `nbadb fetch` materialises a day as archive files (season-wide frames
one file per season, daily frames one file per day, written atomically), and what the live parsers
make of recorded stats.nba.com payloads publishes into the same raw rows as the bundled archive
files give for the same games, also end to end: a recorded day through `nbadb fetch` and `nbadb
ingest`. Never the network: the live source tests' socket guard and fake requests transport serve
the recorded payloads."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl

from nbadb.sources.live import RawArchiveReader, fetch_day
from nbadb.sources.live.boxscores import BOXSCORE_SCHEMA
from nbadb.sources.live.day import DayFetch
from nbadb.sources.live.game_logs import TEAM_LOG_SCHEMA, parse_player_logs
from nbadb.sources.live.materialise import materialise
from nbadb.sources.live.players import PLAYERS_SCHEMA
from nbadb.sources.live.schedule import SCHEDULE_SCHEMA, SCOREBOARD_SCHEMA
from test_live_source import (  # the socket guard is conftest's, autouse for every test
    NOVEMBER_5, OFF_SEASON, live, recorded, routes_for_november_5, routes_for_the_off_season,
)
from recorded_raw import GAME, GAME_DAY, build_raw_archive

LEBRON = 2544
# raw.player_boxscores' columns but opponent_team_id and row_hash (which covers it): the opponent comes
# from the other team's rows of the game, and the recorded payload holds only LeBron's.
RAW_CONTENT = ("game_id", "game_date", "season", "season_type", "player_id", "player_name", "team_id", "team_abbr",
               "is_home", "wl", "minutes", "fgm", "fga", "fg_pct", "fg3m", "fg3a", "fg3_pct",
               "ftm", "fta", "ft_pct", "oreb", "dreb", "reb", "ast", "stl", "blk", "tov", "pf", "pts", "plus_minus",
               "known_at")
# the columns raw.boxscore_players and raw.player_boxscores share, lineage and minutes left out
SHARED_COLUMNS = ("game_id", "game_date", "season", "season_type", "player_id", "player_name", "team_id", "team_abbr",
                  "fgm", "fga", "fg_pct", "fg3m", "fg3a", "fg3_pct", "ftm", "fta", "ft_pct", "oreb", "dreb", "reb",
                  "ast", "stl", "blk", "tov", "pf", "pts", "plus_minus", "known_at")


def day_of(day: date, season: str, player_logs: pl.DataFrame) -> DayFetch:
    """A fetched day holding only `player_logs` (the other frames empty, in their layouts)."""
    return DayFetch(day=day, season=season, scoreboard=pl.DataFrame(schema=SCOREBOARD_SCHEMA),
                    schedule=pl.DataFrame(schema=SCHEDULE_SCHEMA), player_logs=player_logs,
                    team_logs=pl.DataFrame(schema=TEAM_LOG_SCHEMA), boxscores=pl.DataFrame(schema=BOXSCORE_SCHEMA),
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
        materialise(day_of(day, "2023-24", rows), folder)
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


def test_a_recorded_day_replayed_by_fetch_and_ingest_publishes_the_same_player_rows_as_the_bundled_files(
    tmp_path: Path, run_cli, db
) -> None:
    """2023-01-02 from a raw archive of recorded responses (tests/recorded_raw.py: the whole box score
    of 0022200552, the day's other games not recorded) through `nbadb fetch --from-raw` and
    `nbadb ingest --archive`, against the same day ingested from the bundled files. Compared: every
    column the two raw tables share, for every player who played. Not compared: `minutes` (the logs
    round to whole minutes: within 0.5 instead), lineage (run_id, ingested_at, row_hash which covers
    minutes), the columns only one table has (box score: start_position, is_starter, availability,
    comment; logs: opponent_team_id, is_home, wl), the 4 non-playing rows (the logs have none), the
    team rows (the raw archive's team logs are the bundled rows themselves) and the other 10 games."""
    raw = build_raw_archive(tmp_path / "raw", GAME_DAY, GAME_DAY)
    out, day = tmp_path / "fetched", str(GAME_DAY)
    for args, data_dir in ((["fetch", "--date", day, "--from-raw", "--raw", str(raw), "--out", str(out)], "live"),
                           (["ingest", "--date", day, "--archive", str(out)], "live"),
                           (["ingest", "--date", day], "files")):
        result = run_cli(args, tmp_path / data_dir)
        assert result.exit_code == 0, result.output
    columns = ", ".join(SHARED_COLUMNS)
    with db(tmp_path / "live") as con:
        live_rows = con.execute(f"SELECT {columns}, minutes FROM raw.boxscore_players WHERE game_id = '{GAME}' "
                                "AND availability = 'played' ORDER BY player_id").fetchall()
        not_played = con.execute(f"SELECT count(*) FROM raw.boxscore_players WHERE game_id = '{GAME}' "
                                 "AND availability <> 'played'").fetchone()[0]
    with db(tmp_path / "files") as con:
        file_rows = con.execute(f"SELECT {columns}, minutes FROM raw.player_boxscores WHERE game_id = '{GAME}' "
                                "ORDER BY player_id").fetchall()
        games_that_day = con.execute(f"SELECT count(DISTINCT game_id) FROM raw.player_boxscores "
                                     f"WHERE game_date = DATE '{day}'").fetchone()[0]
    assert len(live_rows) == len(file_rows) == 19 and not_played == 4 and games_that_day == 11
    equal = {name: sum(a[i] == b[i] for a, b in zip(live_rows, file_rows, strict=True))
             for i, name in enumerate(SHARED_COLUMNS)}
    assert equal == dict.fromkeys(SHARED_COLUMNS, 19), {k: v for k, v in equal.items() if v != 19}
    assert all(abs(a[-1] - b[-1]) <= 0.5 for a, b in zip(live_rows, file_rows, strict=True))
    print(f"\n{day}, game {GAME}: raw.boxscore_players (recorded v3 box score via fetch + ingest) against "
          f"raw.player_boxscores (bundled player logs): {len(live_rows)} played rows on each side, matched on "
          f"player_id; {len(SHARED_COLUMNS)} columns equal in all {len(live_rows)} rows: {', '.join(SHARED_COLUMNS)}; "
          f"minutes within 0.5 (largest gap "
          f"{max(abs(a[-1] - b[-1]) for a, b in zip(live_rows, file_rows, strict=True)):.2f}); "
          f"{not_played} non-playing rows only in the box score; the day's other {games_that_day - 1} games "
          "only in the files (not recorded)")
