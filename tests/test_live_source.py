"""The live source (nbadb.sources.live) on real recorded stats.nba.com payloads, never the network.

Every request goes through the real client (nba_api over our requests session) into a fake
transport adapter mounted on that session, which answers with the bodies recorded in
data/archive/nba_api_payloads (gzip-encoded, as stats.nba.com sends them) and records what it was
asked. The autouse socket guard of conftest.py makes any connection to a non-loopback address raise, so a test
that tried to reach the network would fail instead. Time is a fake clock: throttling and backoff
are measured on it and no test sleeps.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import polars as pl
import pytest
import requests
import urllib3
from requests.adapters import HTTPAdapter

from nbadb.config import BUNDLED_ARCHIVE
from nbadb.contracts.quarantine import normalise_types, row_reasons
from nbadb.contracts.source_contracts import CONTRACTS, NBA_TEAM_IDS
from nbadb.engine import breakers
from nbadb.engine.breakers import BreakerPolicy
from nbadb.errors import ArchiveFileError
from nbadb.sources.live import (
    BreakerOpenError,
    MalformedPayloadError,
    NbaApiClient,
    NotArchivedError,
    RawArchive,
    RawArchiveReader,
    SeasonCache,
    UpstreamError,
    fetch_day,
)
from nbadb.sources.live.boxscores import BOXSCORE_SCHEMA, minutes_text, parse_boxscore
from nbadb.sources.live.game_logs import parse_player_logs, parse_team_logs
from nbadb.sources.live.pacing import DEFAULT_RETRY, RetryPolicy
from nbadb.sources.live.payload import game_date, result_rows, typed_frame
from nbadb.sources.live.players import parse_player_index
from nbadb.sources.live.schedule import parse_schedule, parse_scoreboard
from nbadb.sources.live.transport import HEADERS, TIMEOUT_SECONDS
from nbadb.warehouse.connection import open_warehouse

from conftest import NetworkRefused

PAYLOADS = BUNDLED_ARCHIVE / "nba_api_payloads"
NOVEMBER_5 = date(2025, 11, 5)  # a regular-season day: 11 final games on the recorded scoreboard
OFF_SEASON = date(2025, 7, 15)  # the recorded empty scoreboard
STATS_NBA = "https://stats.nba.com/"


def recorded(name: str) -> dict:
    return json.loads((PAYLOADS / name).read_bytes())


# -- no network: the socket guard (tests/conftest.py, autouse for every test) -----------------------


def test_the_socket_guard_refuses_every_address_but_loopback() -> None:
    assert socket.socket.connect.__name__ == "_guarded_connect"  # else stop before any traffic
    with pytest.raises(NetworkRefused):
        socket.getaddrinfo("stats.nba.com", 443)
    with socket.socket() as outside, pytest.raises(NetworkRefused):
        outside.connect(("203.0.113.7", 443))
    with socket.socket() as server, socket.socket() as client:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        client.connect(server.getsockname())  # loopback still works
        assert client.getpeername() == server.getsockname()


# -- the fake transport and clock ---------------------------------------------------------------


class FakeClock:
    """Monotonic time that only moves when someone sleeps or the fake transport takes its latency."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def utc_now(self) -> datetime:
        return datetime(2025, 11, 6, 12, 0) + timedelta(seconds=self.now - 1000.0)


@dataclass
class Route:
    """Answers for requests to `endpoint` whose query has every `match` parameter: the outcomes in
    turn (a payload file, an (HTTP status, body) pair or an exception to raise), the last repeating."""

    endpoint: str
    match: dict[str, str]
    outcomes: list[object]

    def next_outcome(self) -> object:
        return self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]


@dataclass
class Sent:
    at: float
    endpoint: str
    params: dict[str, str]
    headers: dict[str, str]
    timeout: object


@dataclass
class RecordedStatsNba(HTTPAdapter):
    """A requests transport for stats.nba.com that serves recorded bodies and opens no socket."""

    clock: FakeClock
    latency: float = 0.25
    routes: list[Route] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__()

    def route(self, endpoint: str, *outcomes: object, **match: str) -> None:
        self.routes.append(Route(endpoint, match, list(outcomes)))

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):  # noqa: ANN001
        url = urlsplit(request.url)
        endpoint, params = url.path.rsplit("/", 1)[-1], dict(parse_qsl(url.query, keep_blank_values=True))
        self.sent.append(Sent(self.clock.now, endpoint, params, dict(request.headers), timeout))
        self.clock.now += self.latency
        route = next((r for r in self.routes if r.endpoint == endpoint
                      and all(params.get(k) == v for k, v in r.match.items())), None)
        outcome = route.next_outcome() if route else (404, b'{"Message":"no recording for this request"}')
        if isinstance(outcome, Exception):
            raise outcome
        status, body = (200, (PAYLOADS / outcome).read_bytes()) if isinstance(outcome, str) else outcome
        raw = urllib3.HTTPResponse(
            body=io.BytesIO(gzip.compress(body)), status=status, preload_content=False, decode_content=True,
            headers={"Content-Type": "application/json; charset=utf-8", "Content-Encoding": "gzip"},
        )
        return self.build_response(request, raw)

    def calls(self) -> list[str]:
        return [s.endpoint for s in self.sent]


@dataclass
class Live:
    client: NbaApiClient
    transport: RecordedStatsNba
    clock: FakeClock
    folder: Path


def live(folder: Path, *, con=None, policy: BreakerPolicy | None = None, retry: RetryPolicy = DEFAULT_RETRY) -> Live:
    """A live client over a session whose stats.nba.com transport is the recorded one."""
    clock = FakeClock()
    transport = RecordedStatsNba(clock)
    session = requests.Session()
    session.mount(STATS_NBA, transport)
    client = NbaApiClient(session, RawArchive(folder), con=con, breaker_policy=policy, retry=retry, clock=clock,
                          rng=random.Random(21))
    return Live(client, transport, clock, folder)


def routes_for_november_5(transport: RecordedStatsNba) -> None:
    """The recorded November 5 scoreboard, the 2025-26 schedule and player index; and, standing in
    for responses nobody recorded for that day, the recorded LeagueGameLog T (whole season),
    LeagueGameFinder P (LeBron James) and the one recorded box score for every request of their
    endpoint: what these tests check about them is which requests a day makes and that replay
    gives the same frames back, not their contents."""
    transport.route("scoreboardv3", "scoreboardv3_2025-11-05.json", GameDate="2025-11-05")
    transport.route("scheduleleaguev2", "scheduleleaguev2_2025-26_snapshot_2025-07-17_excerpt.json", Season="2025-26")
    transport.route("playerindex", "playerindex_2025-26.json", Season="2025-26")
    transport.route("leaguegamelog", "leaguegamelog_T_2025-26_regular_season.json", PlayerOrTeam="T")
    transport.route("leaguegamelog", "leaguegamefinder_player_2544.json", PlayerOrTeam="P")
    transport.route("boxscoretraditionalv3", "boxscoretraditionalv3_0022200552.json")


def routes_for_the_off_season(transport: RecordedStatsNba) -> None:
    transport.route("scoreboardv3", "scoreboardv3_2025-07-15_offseason_empty.json", GameDate="2025-07-15")
    transport.route("scheduleleaguev2", "scheduleleaguev2_2025-26_snapshot_2025-07-17_excerpt.json", Season="2025-26")
    transport.route("playerindex", "playerindex_2025-26.json", Season="2025-26")


def index_lines(folder: Path) -> list[dict]:
    path = folder / "nba_api" / "index.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator:
    con = open_warehouse(tmp_path / "nba.duckdb")
    try:
        yield con
    finally:
        con.close()


# -- parsers: recorded payloads into the archive layouts -----------------------------------------


def test_the_v3_box_score_parses_into_exactly_the_rows_of_the_v2_box_score_of_the_same_game() -> None:
    v3 = parse_boxscore(recorded("boxscoretraditionalv3_0022200552.json"))
    v2_rows = result_rows(recorded("boxscoretraditionalv2_0022200552.json"), "PlayerStats")
    v2 = typed_frame({c: [r.get(c, "2022-23") for r in v2_rows] for c in BOXSCORE_SCHEMA}, BOXSCORE_SCHEMA)
    assert v3.equals(v2)
    assert v3.schema == pl.read_parquet(BUNDLED_ARCHIVE / "boxscores_traditional_v2.parquet").schema
    mitchell = v3.filter(pl.col("PLAYER_NAME") == "Donovan Mitchell").row(0, named=True)
    assert (mitchell["PTS"], mitchell["MIN"], mitchell["START_POSITION"]) == (71.0, "49:48", "G")
    dnp = v3.filter(pl.col("COMMENT") != "")
    assert sorted(dnp["PLAYER_NAME"]) == ["Dalen Terry", "Evan Mobley", "Isaiah Mobley", "Malcolm Hill"]
    assert dnp.select(pl.all().exclude("GAME_ID", "TEAM_ID", "TEAM_ABBREVIATION", "TEAM_CITY", "PLAYER_ID",
                                       "PLAYER_NAME", "NICKNAME", "START_POSITION", "COMMENT", "SEASON")
                      ).null_count().row(0) == (dnp.height,) * 20


def test_the_v3_box_score_agrees_with_the_bundled_player_logs_of_game_0022200552() -> None:
    box = parse_boxscore(recorded("boxscoretraditionalv3_0022200552.json")).filter(pl.col("COMMENT") == "")
    logs = pl.read_parquet(BUNDLED_ARCHIVE / "player_game_logs.parquet").filter(pl.col("GAME_ID") == "0022200552")
    assert logs.height == 19 and sorted(box["PLAYER_ID"]) == sorted(logs["PLAYER_ID"])
    joined = box.join(logs, on="PLAYER_ID", suffix="_log")
    for stat in ("PTS", "REB", "AST", "FG3M", "FGM", "FGA", "FTM", "FTA", "STL", "BLK"):
        assert joined[stat].cast(pl.Int64).equals(joined[f"{stat}_log"].cast(pl.Int64), check_names=False), stat
    assert joined["TO"].cast(pl.Int64).equals(joined["TOV"].cast(pl.Int64), check_names=False)
    clock = joined["MIN"].str.split(":")
    minutes = clock.list.get(0).cast(pl.Float64) + clock.list.get(1).cast(pl.Float64) / 60
    assert ((minutes - joined["MIN_log"]).abs() <= 0.5).all()  # the logs round to whole minutes


def test_league_game_finder_rows_of_lebron_parse_into_exactly_his_bundled_player_log_rows() -> None:
    parsed = parse_player_logs(recorded("leaguegamefinder_player_2544.json"))
    bundled = pl.read_parquet(BUNDLED_ARCHIVE / "player_game_logs.parquet").filter(
        (pl.col("PLAYER_ID") == 2544) & (pl.col("SEASON") == "2023-24"))
    regular = parsed.filter(pl.col("GAME_ID").str.starts_with("002")).sort("GAME_ID")
    assert regular.height == bundled.height == 71
    assert regular.equals(bundled.sort("GAME_ID"))  # every column, value and type
    no_free_throws = parsed.filter(pl.col("FTA") == 0)
    assert no_free_throws.height and no_free_throws["FT_PCT"].is_null().all()
    assert parsed.filter(pl.col("FTA") > 0)["FT_PCT"].is_not_null().all()


@pytest.mark.parametrize(("payload", "team_turnovers_included"), [
    ("teamgamelog_1610612747_2023-24.json", False),  # GAME_DATE "APR 14, 2024"
    ("teamgamelogs_1610612747_2023-24.json", True),  # GAME_DATE "2024-04-14T00:00:00"
])
def test_the_lakers_team_game_log_payloads_agree_with_the_bundled_team_logs(
    payload: str, team_turnovers_included: bool
) -> None:
    rows = result_rows(recorded(payload))
    facts = ("GAME_ID", "MATCHUP", "WL", "PTS", "FGM", "FGA", "FG3M", "FTM", "FTA", "REB", "AST", "TOV", "STL", "BLK")
    from_payload = pl.DataFrame(
        {"GAME_DATE": [game_date(r["GAME_DATE"]) for r in rows]} | {c: [r[c] for r in rows] for c in facts}
    ).sort("GAME_ID")
    bundled = pl.read_parquet(BUNDLED_ARCHIVE / "team_game_logs.parquet").filter(
        (pl.col("TEAM_ID") == 1610612747) & (pl.col("SEASON") == "2023-24")
        & (pl.col("SEASON_TYPE") == "Regular Season")
    ).select(from_payload.columns).sort("GAME_ID")
    assert bundled.height == 82
    from_payload = from_payload.cast(bundled.schema)
    assert from_payload.drop("TOV").equals(bundled.drop("TOV"))
    if team_turnovers_included:  # teamgamelogs adds team turnovers to the players' sum the logs hold
        assert (from_payload["TOV"] >= bundled["TOV"]).all() and (from_payload["TOV"] > bundled["TOV"]).any()
    else:
        assert from_payload["TOV"].equals(bundled["TOV"])


def test_league_game_log_team_rows_parse_into_the_team_logs_layout() -> None:
    raw = result_rows(recorded("leaguegamelog_T_2025-26_regular_season.json"))
    teams = parse_team_logs(recorded("leaguegamelog_T_2025-26_regular_season.json"))
    assert teams.schema == pl.read_parquet(BUNDLED_ARCHIVE / "team_game_logs.parquet").schema
    assert teams.height == len(raw) == 1688  # PROVENANCE: 1,688 team rows, 2025-10-21 … 2026-02-21
    assert (teams["GAME_DATE"].min(), teams["GAME_DATE"].max()) == (date(2025, 10, 21), date(2026, 2, 21))
    assert set(teams["SEASON"]) == {"2025-26"} and set(teams["SEASON_TYPE"]) == {"Regular Season"}
    first = raw[0]
    row = teams.row(0, named=True)
    for name in ("GAME_ID", "TEAM_ID", "TEAM_NAME", "MATCHUP", "WL", "MIN", "PTS", "FG_PCT", "TOV", "PLUS_MINUS"):
        assert row[name] == first[name], name


def test_a_scoreboard_lists_each_game_once_with_its_status_and_tip_time() -> None:
    v2 = recorded("scoreboardv2_2026-02-22_pregame.json")
    listed = [r["GAME_ID"] for r in result_rows(v2, "GameHeader")]
    board = parse_scoreboard(v2)
    assert listed.count("0022500823") == 3 and len(listed) == 13
    assert board["GAME_ID"].to_list() == list(dict.fromkeys(listed))  # 11 games, listing order
    assert set(board["STATUS"]) == {"scheduled"}
    tip = board.filter(pl.col("GAME_ID") == "0022500817").row(0, named=True)  # "1:00 pm ET", CLE at OKC
    assert tip["GAME_DATETIME_UTC"] == "2026-02-22T18:00:00Z"
    assert (tip["HOME_TEAM_TRICODE"], tip["AWAY_TEAM_TRICODE"]) == ("OKC", "CLE")

    v3 = recorded("scoreboardv3_2025-11-05.json")
    board = parse_scoreboard(v3)
    games = v3["scoreboard"]["games"]
    assert board["GAME_ID"].to_list() == [g["gameId"] for g in games]
    assert board["GAME_DATETIME_UTC"].to_list() == [g["gameTimeUTC"] for g in games]
    assert set(board["STATUS"]) == {"final"} and set(board["GAME_DATE_EST"]) == {NOVEMBER_5}


def test_a_final_scoreboard_agrees_with_the_bundled_team_logs_of_its_day() -> None:
    board = parse_scoreboard(recorded("scoreboardv2_2024-01-15.json"))
    teams = pl.read_parquet(BUNDLED_ARCHIVE / "team_game_logs.parquet").filter(pl.col("GAME_DATE") == date(2024, 1, 15))
    home = teams.filter(pl.col("MATCHUP").str.contains(" vs. ")).select("GAME_ID", HOME_TEAM_ID="TEAM_ID")
    away = teams.filter(pl.col("MATCHUP").str.contains(" @ ")).select("GAME_ID", AWAY_TEAM_ID="TEAM_ID")
    expected = home.join(away, on="GAME_ID").sort("GAME_ID")
    assert expected.height == 11 and set(board["STATUS"]) == {"final"}
    assert board.select(expected.columns).sort("GAME_ID").equals(expected)


def test_the_schedule_parses_into_the_schedule_file_layout_without_results() -> None:
    payload = recorded("scheduleleaguev2_2025-26_snapshot_2025-07-17_excerpt.json")
    schedule = parse_schedule(payload)
    assert schedule.schema == pl.read_parquet(BUNDLED_ARCHIVE / "schedule_2024_25.parquet").schema
    games = [g for d in payload["leagueSchedule"]["gameDates"] for g in d["games"]]
    assert schedule["GAME_ID"].to_list() == [g["gameId"] for g in games] and schedule.height == 13
    abu_dhabi = schedule.row(0, named=True)
    assert abu_dhabi["GAME_ID"] == "0012500008" and abu_dhabi["SEASON_TYPE"] == "Pre Season"
    assert abu_dhabi["GAME_DATE_EST"] == date(2025, 10, 2) and abu_dhabi["IS_NEUTRAL"] is True
    # the feed's "EST" time ends in Z but is Eastern local time: 4 hours behind the real UTC in October
    assert abu_dhabi["GAME_DATETIME_EST"] == "2025-10-02T12:00:00Z"
    assert abu_dhabi["GAME_DATETIME_UTC"] == "2025-10-02T16:00:00Z"
    assert (abu_dhabi["HOME_TEAM_TRICODE"], abu_dhabi["AWAY_TEAM_TRICODE"]) == ("NYK", "PHI")


def test_the_player_index_parses_into_the_player_directory() -> None:
    payload = recorded("playerindex_2025-26.json")
    raw = result_rows(payload, "PlayerIndex")
    players = parse_player_index(payload, "2025-26")
    assert players.columns == ["PLAYER_ID", "PLAYER_NAME", "TEAM_NAME", "SEASON"] and players.height == len(raw) == 594
    assert players["PLAYER_ID"].n_unique() == 594 and set(players["SEASON"]) == {"2025-26"}
    first = players.row(0, named=True)
    assert (first["PLAYER_ID"], first["PLAYER_NAME"], first["TEAM_NAME"]) == (
        raw[0]["PERSON_ID"], f"{raw[0]['PLAYER_FIRST_NAME']} {raw[0]['PLAYER_LAST_NAME']}",
        f"{raw[0]['TEAM_CITY']} {raw[0]['TEAM_NAME']}")


@pytest.mark.parametrize(("kind", "parsed"), [
    ("schedule", lambda: parse_schedule(recorded("scheduleleaguev2_2025-26_snapshot_2025-07-17_excerpt.json"))),
    ("team_logs", lambda: parse_team_logs(recorded("leaguegamelog_T_2025-26_regular_season.json"))),
    ("player_logs", lambda: parse_player_logs(recorded("leaguegamefinder_player_2544.json"))),
    ("boxscores", lambda: parse_boxscore(recorded("boxscoretraditionalv3_0022200552.json"))),
])
def test_parsed_payloads_pass_their_archive_kinds_contract_and_only_non_nba_teams_are_quarantined(
    kind: str, parsed
) -> None:
    frame = parsed()
    contract = CONTRACTS[kind]
    checked = normalise_types(frame, contract).with_row_index("_row")
    reasons = row_reasons(checked, contract, Path(f"live/{kind}"))
    # LeBron's log includes the 2024 All-Star game, played for "Team LeBron": not one of the 30 teams
    outsiders = checked.filter(~pl.col("TEAM_ID").is_in(NBA_TEAM_IDS)) if "TEAM_ID" in frame.columns else checked.clear()
    assert sorted(set(reasons["_row"])) == sorted(outsiders["_row"]) and frame.height > outsiders.height
    assert "TEAM_ID is one of the 30 NBA teams" in set(reasons["reason"]) or not outsiders.height
    assert outsiders["GAME_ID"].str.slice(0, 3).to_list() == (["003"] if kind == "player_logs" else [])


def test_parsed_team_logs_and_schedule_ingest_through_the_raw_processors_like_files(tmp_path: Path, ingest, db) -> None:
    folder = tmp_path / "archive"
    folder.mkdir()
    teams = parse_team_logs(recorded("leaguegamelog_T_2025-26_regular_season.json"))
    schedule = parse_schedule(recorded("scheduleleaguev2_2025-26_snapshot_2025-07-17_excerpt.json"))
    teams.write_parquet(folder / "team_game_logs_live_2025-26.parquet")
    schedule.write_parquet(folder / "schedule_live_2025-26.parquet")
    outcome = ingest(tmp_path / "data", date(2025, 10, 2), date(2025, 10, 21), archive=folder)
    assert not outcome.failed and not outcome.stage.rejected and not outcome.stage.quarantined
    opening_night = teams.filter(pl.col("GAME_DATE") == date(2025, 10, 21)).sort("GAME_ID", "TEAM_ID")
    with db(tmp_path / "data") as con:
        stored = con.execute("SELECT game_id, team_id, pts, fga, reb FROM raw.team_boxscores ORDER BY 1, 2").fetchall()
        scheduled = con.execute(
            "SELECT game_id, tip_time_utc FROM raw.schedule WHERE game_id LIKE '001%' ORDER BY 1").fetchall()
    assert stored == opening_night.select("GAME_ID", "TEAM_ID", "PTS", "FGA", "REB").rows() and len(stored) == 4
    assert [g for g, _ in scheduled] == sorted(schedule["GAME_ID"])
    assert dict(scheduled)["0012500008"] == datetime(2025, 10, 2, 16, 0)


def test_v3_minutes_become_the_v2_box_scores_minutes_text() -> None:
    assert minutes_text("PT36M12.00S") == "36:12"
    assert minutes_text("PT05M59.60S") == "6:00"  # rounded to the second, carried into the minute
    assert minutes_text("19:09") == "19:09" and minutes_text("") is None


# -- the client: headers, timeout, throttle, retries ----------------------------------------------


def test_requests_go_through_nba_api_with_the_stats_headers_and_a_30_second_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nba_api.stats.library.http import NBAStatsHTTP

    through_nba_api = []
    send_api_request = NBAStatsHTTP.send_api_request

    def spy(self: NBAStatsHTTP, endpoint: str, parameters: dict, **kwargs: object) -> object:
        through_nba_api.append((endpoint, parameters))
        return send_api_request(self, endpoint, parameters, **kwargs)

    monkeypatch.setattr(NBAStatsHTTP, "send_api_request", spy)  # nba_api's own class, not ours
    run = live(tmp_path)
    run.transport.route("scoreboardv3", "scoreboardv3_2025-11-05.json", GameDate="2025-11-05")
    run.client.get("scoreboardv3", {"GameDate": "2025-11-05", "LeagueID": "00"})
    (sent,) = run.transport.sent
    assert through_nba_api == [("scoreboardv3", {"GameDate": "2025-11-05", "LeagueID": "00"})]
    assert sent.timeout == TIMEOUT_SECONDS == 30
    for name in ("User-Agent", "Referer", "Origin", "Accept", "x-nba-stats-origin", "x-nba-stats-token"):
        assert sent.headers[name] == HEADERS[name]
    assert sent.headers["Referer"] == "https://www.nba.com/"


def test_calls_are_at_least_0_6_seconds_apart_on_the_injected_clock(tmp_path: Path) -> None:
    run = live(tmp_path)
    routes_for_the_off_season(run.transport)
    fetch_day(run.client, OFF_SEASON)
    starts = [s.at for s in run.transport.sent]
    assert len(starts) == 3 and all(b - a >= 0.6 - 1e-9 for a, b in zip(starts, starts[1:], strict=False))
    assert run.clock.sleeps == pytest.approx([0.35, 0.35])  # 0.6 s minus the 0.25 s each response took


@pytest.mark.parametrize(("status", "refusal"), [(503, b"Service Unavailable"), (429, b"Too Many Requests")])
def test_a_503_or_429_is_retried_after_a_jittered_backoff_and_both_responses_are_archived(
    tmp_path: Path, status: int, refusal: bytes
) -> None:
    run = live(tmp_path)
    run.transport.route("scoreboardv3", (status, refusal), "scoreboardv3_2025-11-05.json")
    response = run.client.get("scoreboardv3", {"GameDate": "2025-11-05", "LeagueID": "00"})
    assert response.http_status == 200 and run.transport.calls() == ["scoreboardv3", "scoreboardv3"]
    assert 0.5 <= run.clock.sleeps[0] <= 1.0  # first retry: within [base/2, base]
    lines = index_lines(tmp_path)
    assert [line["http_status"] for line in lines] == [status, 200]
    bodies = (refusal, (PAYLOADS / "scoreboardv3_2025-11-05.json").read_bytes())
    for line, body in zip(lines, bodies, strict=True):
        assert (tmp_path / line["file"]).read_bytes() == body
        assert line["sha256"] == hashlib.sha256(body).hexdigest()


def test_timeouts_and_dropped_connections_are_retried_then_the_response_is_used(tmp_path: Path) -> None:
    run = live(tmp_path)
    run.transport.route("scoreboardv3", requests.exceptions.ReadTimeout("read timed out"),
                        requests.exceptions.ConnectionError("connection reset"), "scoreboardv3_2025-11-05.json")
    response = run.client.get("scoreboardv3", {"GameDate": "2025-11-05", "LeagueID": "00"})
    assert response.body == (PAYLOADS / "scoreboardv3_2025-11-05.json").read_bytes()
    assert len(run.transport.sent) == 3 and len(index_lines(tmp_path)) == 1  # failed attempts leave no body


def test_a_timeout_on_every_attempt_ends_in_one_clear_error_after_the_last_attempt(tmp_path: Path) -> None:
    run = live(tmp_path, retry=RetryPolicy(attempts=4, base_seconds=1.0, max_seconds=30.0))
    run.transport.route("scoreboardv3", requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(UpstreamError, match=r"scoreboardv3 .* failed 4 attempts; last: ReadTimeout") as error:
        run.client.get("scoreboardv3", {"GameDate": "2025-11-05", "LeagueID": "00"})
    assert not isinstance(error.value, BreakerOpenError)
    assert len(run.transport.sent) == 4
    # three backoffs of 1, 2 and 4 s ceilings, each drawn from [ceiling/2, ceiling]; each is longer
    # than the throttle's gap, so the throttle adds no sleep of its own
    assert len(run.clock.sleeps) == 3
    assert all(c / 2 <= s <= c for s, c in zip(run.clock.sleeps, (1, 2, 4), strict=True))
    assert index_lines(tmp_path) == []


def test_a_status_that_cannot_be_retried_fails_at_once(tmp_path: Path) -> None:
    run = live(tmp_path)
    run.transport.route("scoreboardv3", (400, b'{"Message":"The GameDate property is required."}'))
    with pytest.raises(UpstreamError, match="HTTP 400 .* not retried"):
        run.client.get("scoreboardv3", {"GameDate": "", "LeagueID": "00"})
    assert len(run.transport.sent) == 1 and [line["http_status"] for line in index_lines(tmp_path)] == [400]


# -- malformed bodies ----------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "problem"), [
    (b"<Error><Message>An error has occurred.</Message></Error>", "not JSON"),
    (b"[]", "a JSON list, not an object"),
    ((PAYLOADS / "scoreboardv3_2025-11-05.json").read_bytes(), "no 'resultSets'"),
    ((PAYLOADS / "playergamelog_1628378_2025-26.json").read_bytes(), "no column 'PLAYER_NAME'"),
])
def test_a_malformed_body_is_one_clear_error_naming_the_endpoint_and_archived_file(
    tmp_path: Path, body: bytes, problem: str
) -> None:
    run = live(tmp_path)
    routes_for_november_5(run.transport)
    run.transport.routes.insert(0, Route("leaguegamelog", {"PlayerOrTeam": "P"}, [(200, body)]))
    with pytest.raises(MalformedPayloadError) as error:
        fetch_day(run.client, NOVEMBER_5)
    (line,) = [line for line in index_lines(tmp_path) if line["endpoint"] == "leaguegamelog"]
    assert error.value.endpoint == "leaguegamelog" and error.value.path == tmp_path / line["file"]
    message = str(error.value)
    assert "leaguegamelog" in message and str(tmp_path / line["file"]) in message and problem in message
    assert "Nothing was parsed" in message
    assert "boxscoretraditionalv3" not in run.transport.calls()  # the day stopped at the bad body


# -- the day fetch -------------------------------------------------------------------------------


def test_an_off_season_day_fetches_the_coming_seasons_schedule_and_players_and_no_games(tmp_path: Path) -> None:
    run = live(tmp_path)
    routes_for_the_off_season(run.transport)
    day = fetch_day(run.client, OFF_SEASON)
    assert run.transport.calls() == ["scoreboardv3", "scheduleleaguev2", "playerindex"]
    assert day.season == "2025-26" and day.scoreboard.height == 0
    assert day.schedule.height == 13 and day.players.height == 594
    for kind, bundled in (("player_logs", "player_game_logs.parquet"), ("team_logs", "team_game_logs.parquet"),
                          ("boxscores", "boxscores_traditional_v2.parquet")):
        frame = day.frames()[kind]
        assert frame.height == 0 and frame.schema == pl.read_parquet(BUNDLED_ARCHIVE / bundled).schema


def test_a_day_with_final_games_fetches_its_logs_once_per_side_and_one_box_score_per_final_game(tmp_path: Path) -> None:
    run = live(tmp_path)
    routes_for_november_5(run.transport)
    day = fetch_day(run.client, NOVEMBER_5)
    finals = parse_scoreboard(recorded("scoreboardv3_2025-11-05.json"))["GAME_ID"].to_list()
    assert run.transport.calls() == (["scoreboardv3", "scheduleleaguev2", "leaguegamelog", "leaguegamelog"]
                                     + ["boxscoretraditionalv3"] * 11 + ["playerindex"])
    logs = [s.params for s in run.transport.sent if s.endpoint == "leaguegamelog"]
    assert [(p["PlayerOrTeam"], p["DateFrom"], p["DateTo"], p["Season"], p["SeasonType"]) for p in logs] == [
        ("P", "11/05/2025", "11/05/2025", "2025-26", "Regular Season"),
        ("T", "11/05/2025", "11/05/2025", "2025-26", "Regular Season")]
    assert [s.params["GameID"] for s in run.transport.sent if s.endpoint == "boxscoretraditionalv3"] == finals
    assert set(day.frames()) == {"schedule", "player_logs", "team_logs", "boxscores", "players", "scoreboard"}


def test_the_season_schedule_and_player_index_are_fetched_once_per_season(tmp_path: Path) -> None:
    run = live(tmp_path)
    routes_for_the_off_season(run.transport)
    # standing in for July 16's scoreboard, as empty as July 15's
    run.transport.route("scoreboardv3", "scoreboardv3_2025-07-15_offseason_empty.json", GameDate="2025-07-16")
    cache = SeasonCache()
    first = fetch_day(run.client, OFF_SEASON, cache)
    second = fetch_day(run.client, OFF_SEASON + timedelta(days=1), cache)
    assert run.transport.calls() == ["scoreboardv3", "scheduleleaguev2", "playerindex", "scoreboardv3"]
    assert second.schedule is first.schedule and second.players is first.players


# -- breakers ------------------------------------------------------------------------------------


def test_an_open_breaker_refuses_the_call_without_a_request(tmp_path: Path, warehouse) -> None:
    run = live(tmp_path, con=warehouse)
    run.transport.route("scoreboardv3", "scoreboardv3_2025-11-05.json")
    breakers.force_open(warehouse, "source:nba_api:scoreboardv3", "source", minutes=30, now=run.clock.utc_now())
    with pytest.raises(BreakerOpenError, match=r"source:nba_api:scoreboardv3 is open .* no request was made"):
        run.client.get("scoreboardv3", {"GameDate": "2025-11-05", "LeagueID": "00"})
    assert run.transport.sent == [] and index_lines(tmp_path) == []
    run.transport.route("playerindex", "playerindex_2025-26.json")
    run.client.get("playerindex", {"Season": "2025-26"})  # other endpoints have breakers of their own
    assert run.transport.calls() == ["playerindex"]


def test_failed_calls_open_the_endpoints_breaker_and_the_next_call_makes_no_request(tmp_path: Path, warehouse) -> None:
    policy = BreakerPolicy(failures_to_open=2, successes_to_close=1, timeout_seconds=600, max_timeout_seconds=3600)
    run = live(tmp_path, con=warehouse, policy=policy, retry=RetryPolicy(attempts=2))
    run.transport.route("boxscoretraditionalv3", (500, b"Internal Server Error"))
    for _ in range(2):
        with pytest.raises(UpstreamError, match="HTTP 500"):
            run.client.get("boxscoretraditionalv3", {"GameID": "0022200552"})
    assert len(run.transport.sent) == 4  # two calls of two attempts each
    stored = breakers.read(warehouse, "source:nba_api:boxscoretraditionalv3")
    assert (stored.kind, stored.state, stored.consecutive_failures) == ("source", "OPEN", 2)
    with pytest.raises(BreakerOpenError):
        run.client.get("boxscoretraditionalv3", {"GameID": "0022200552"})
    assert len(run.transport.sent) == 4
    run.clock.now += 601  # past retry_at: one probe goes through and, succeeding, closes it
    run.transport.routes[0].outcomes = ["boxscoretraditionalv3_0022200552.json"]
    run.client.get("boxscoretraditionalv3", {"GameID": "0022200552"})
    assert breakers.read(warehouse, "source:nba_api:boxscoretraditionalv3").state == "CLOSED"


# -- the raw archive and offline replay ------------------------------------------------------------


def test_a_day_fetched_live_replays_offline_from_its_raw_archive_with_the_same_frames(tmp_path: Path) -> None:
    run = live(tmp_path)
    routes_for_november_5(run.transport)
    fetched = fetch_day(run.client, NOVEMBER_5)
    lines = index_lines(tmp_path)
    assert len(lines) == len(run.transport.sent) == 16
    for line in lines:
        body = (tmp_path / line["file"]).read_bytes()
        assert hashlib.sha256(body).hexdigest() == line["sha256"] and len(body) == line["bytes"]
        assert Path(line["file"]).name.endswith(f"__{line['sha256'][:12]}.json")
    scoreboard = next(line for line in lines if line["endpoint"] == "scoreboardv3")
    assert scoreboard["file"].startswith("nba_api/scoreboardv3/2025-11-05__")
    assert (tmp_path / scoreboard["file"]).read_bytes() == (PAYLOADS / "scoreboardv3_2025-11-05.json").read_bytes()

    replayed = fetch_day(RawArchiveReader(tmp_path), NOVEMBER_5)
    assert len(run.transport.sent) == 16  # replay made no request
    assert replayed.season == fetched.season
    for kind, frame in fetched.frames().items():
        assert replayed.frames()[kind].equals(frame), kind
    assert fetched.boxscores.height == 11 * 23 and fetched.team_logs.height == 1688


def test_replay_serves_the_last_successful_response_and_refuses_what_was_never_fetched(tmp_path: Path) -> None:
    run = live(tmp_path)
    run.transport.route("scoreboardv3", (503, b""), "scoreboardv3_2025-11-05.json", (503, b""))
    params = {"GameDate": "2025-11-05", "LeagueID": "00"}
    live_response = run.client.get("scoreboardv3", params)
    with pytest.raises(UpstreamError):  # a later fetch of the same request that failed throughout
        run.client.get("scoreboardv3", params)
    assert [line["http_status"] for line in index_lines(tmp_path)] == [503, 200, 503, 503, 503, 503]
    reader = RawArchiveReader(tmp_path)
    replayed = reader.get("scoreboardv3", params)
    assert (replayed.body, replayed.sha256, replayed.url, replayed.fetched_at) == (
        live_response.body, live_response.sha256, live_response.url, live_response.fetched_at)
    with pytest.raises(NotArchivedError, match="no successful scoreboardv3 response"):
        reader.get("scoreboardv3", {"GameDate": "2025-11-06", "LeagueID": "00"})
    replayed.path.write_bytes(replayed.body + b" ")
    with pytest.raises(ArchiveFileError, match="sha256 is not the one"):
        reader.get("scoreboardv3", params)


def test_archived_bodies_are_written_whole_through_a_temp_file(tmp_path: Path) -> None:
    archive = RawArchive(tmp_path)
    body = (PAYLOADS / "commonallplayers_2025-26.json").read_bytes()
    stored = archive.store("commonallplayers", {"Season": "2025-26", "IsOnlyCurrentSeason": 0}, url="u",
                           http_status=200, body=body, fetched_at=datetime(2025, 11, 6, 12))
    assert stored.path.read_bytes() == body and stored.params == {"IsOnlyCurrentSeason": "0", "Season": "2025-26"}
    assert [p.name for p in stored.path.parent.iterdir()] == [stored.path.name]  # no temp file left behind
    assert index_lines(tmp_path)[0]["fetched_at"] == "2025-11-06T12:00:00Z"


# -- imports ---------------------------------------------------------------------------------------


def test_importing_nbadb_and_its_cli_imports_neither_nba_api_nor_requests() -> None:
    code = ("import sys, nbadb, nbadb.cli.app, nbadb.sources.live; "
            "print(sorted({'nba_api', 'requests'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_endpoint_parameters_come_from_nba_api_and_match_the_recorded_requests() -> None:
    from nbadb.sources.live import endpoints

    recorded_uris = {e["file"]: e["request_uri"] for e in json.loads((PAYLOADS / "index.json").read_text())}
    for call, payload in ((endpoints.scoreboard(NOVEMBER_5), "scoreboardv3_2025-11-05.json"),
                          (endpoints.boxscore("0022200552"), "boxscoretraditionalv3_0022200552.json")):
        query = dict(parse_qsl(urlsplit(recorded_uris[payload]).query, keep_blank_values=True))
        assert call.params == query
    call = endpoints.game_logs(NOVEMBER_5, "2025-26", "Regular Season", "T")
    query = dict(parse_qsl(urlsplit(recorded_uris["leaguegamelog_T_2025-26_regular_season.json"]).query,
                           keep_blank_values=True))
    assert call.params == query | {"DateFrom": "11/05/2025", "DateTo": "11/05/2025"}
