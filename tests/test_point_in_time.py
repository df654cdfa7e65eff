"""Upcoming context and Phase 4 through the real engine on real data, checked against independent
recomputations straight from the raw tables: no look-ahead, the right quality labels, corrections
that reach exactly the later as-of dates they should, fatigue that never penalises rest, and games
derived from real prop lines when no schedule exists."""

from __future__ import annotations

import hashlib
import json
import random
import statistics
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbadb.config import BUNDLED_ARCHIVE, Settings
from nbadb.orchestrate.corrections import publish_correction
from nbadb.orchestrate.daily import run_pipeline
from nbadb.orchestrate.workspace import Workspace, open_workspace
from nbadb.pipeline import precompute, upcoming
from nbadb.pipeline.features import FEATURE_VERSION, FEATURES, MIN_TRAINING_QUALITY, ML_FEATURE_STORE
from nbadb.pipeline.registry import build_graph

TEAM_CTX, PLAYER_CTX = (s.name for s in upcoming.UPCOMING_PROCESSORS)
CACHE, FACTORS = (s.name for s in precompute.PRECOMPUTE_PROCESSORS)
FEATURE_STORE = ML_FEATURE_STORE.name
TABLES = (TEAM_CTX, PLAYER_CTX, CACHE, FACTORS, FEATURE_STORE)
STATS = ("pts", "reb", "ast", "fg3m", "minutes")
PROP_DATE = date(2025, 11, 5)  # bundled 2025-26 lines; no schedule nor box scores for that season


def _ws(path: Path) -> Workspace:
    return open_workspace(BUNDLED_ARCHIVE, settings=Settings(data_dir=path, archive_dir=BUNDLED_ARCHIVE))


def _dicts(con: duckdb.DuckDBPyConnection, sql: str, params: object = None) -> list[dict]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def _rows(con: duckdb.DuckDBPyConnection, table: str, where: str = "") -> list[tuple]:
    return con.execute(f"SELECT * EXCLUDE (run_id, ingested_at) FROM {table} {where} ORDER BY ALL").fetchall()


def _tables(con: duckdb.DuckDBPyConnection, where: str = "") -> dict[str, list[tuple]]:
    return {t: _rows(con, t, where) for t in TABLES}


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _same(expected: object, got: object) -> bool:
    if isinstance(expected, float) and got is not None:
        return got == pytest.approx(expected, rel=1e-9, abs=1e-9)
    return got == expected


def _label(games: int) -> str:
    return "complete" if games >= 10 else f"partial_{games}_games" if games else "no_prior_games"


# -- independent recomputation from the raw tables ---------------------------------------------


class Raw:
    """The raw box scores and injury moves of a warehouse, for recomputing values in Python."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.games: dict[int, list[dict]] = defaultdict(list)  # player -> his box rows, oldest first
        for g in _dicts(con, """
                SELECT p.player_id, p.team_id, p.season, p.game_date, p.minutes, p.pts, p.reb, p.ast, p.fg3m,
                       p.fga, p.fta, p.tov, t.minutes AS t_minutes, t.fga AS t_fga, t.fta AS t_fta, t.tov AS t_tov
                FROM raw.player_boxscores p JOIN raw.team_boxscores t USING (game_id, team_id)
                ORDER BY p.game_date"""):
            self.games[g["player_id"]].append(g)
        self.moves: dict[int, list[dict]] = defaultdict(list)
        for m in _dicts(con, "SELECT player_id, move_date, status FROM raw.injuries WHERE player_id IS NOT NULL"):
            self.moves[m["player_id"]].append(m)
        self.team_games = _dicts(con, """
                SELECT t.team_id, t.season, t.game_date, t.season_type,
                       (t.fga + 0.44 * t.fta - t.oreb + t.tov)::DOUBLE AS poss,
                       (o.fga + 0.44 * o.fta - o.oreb + o.tov)::DOUBLE AS opp_poss, t.minutes, o.pts AS opp_pts
                FROM raw.team_boxscores t
                JOIN raw.team_boxscores o ON o.game_id = t.game_id AND o.team_id <> t.team_id""")

    def form(self, player: int, day: date, season: str) -> dict[str, object]:
        """What the cache must say for (player, day): only his games of the season strictly before day."""
        mine = self.games[player]
        prior = sorted((g for g in mine if g["season"] == season and g["game_date"] < day),
                       key=lambda g: g["game_date"], reverse=True)
        out: dict[str, object] = {"games_played_season": len(prior), "calculation_quality": _label(len(prior))}
        for stat in STATS:
            for n in (5, 10):
                out[f"{stat}_avg_last_{n}"] = _mean([g[stat] for g in prior[:n]])
            out[f"{stat}_avg_season"] = _mean([g[stat] for g in prior])
        last10 = prior[:10]
        out["pts_std_last_10"] = statistics.stdev([g["pts"] for g in last10]) if len(last10) >= 2 else None
        usage = [100 * (g["fga"] + 0.44 * g["fta"] + g["tov"]) * (g["t_minutes"] / 5)
                 / (g["minutes"] * (g["t_fga"] + 0.44 * g["t_fta"] + g["t_tov"]))
                 for g in last10 if g["minutes"] > 0]
        out["usage_rate_avg_last_10"] = _mean(usage)
        attempts = sum(g["fga"] + 0.44 * g["fta"] for g in last10)
        out["ts_pct_avg_last_10"] = sum(g["pts"] for g in last10) / (2 * attempts) if attempts else None
        earlier = [g["season"] for g in mine if g["season"] < season]
        previous = [g for g in mine if earlier and g["season"] == max(earlier)]
        for stat in STATS:
            out[f"{stat}_avg_prev_season"] = _mean([g[stat] for g in previous])
        return out

    def load(self, player: int, day: date) -> dict[str, object]:
        """Rest and the 7-day load before day."""
        before = [g for g in self.games[player] if day - timedelta(days=365) <= g["game_date"] < day]
        week = [g for g in before if g["game_date"] >= day - timedelta(days=7)]
        last = max((g["game_date"] for g in before), default=None)
        return {"rest_days": (day - last).days if last else None, "games_last_7_days": len(week),
                "minutes_last_7_days": sum(g["minutes"] for g in week)}

    def last_team(self, player: int, day: date) -> int | None:
        before = [g for g in self.games[player] if day - timedelta(days=365) <= g["game_date"] < day]
        return max(before, key=lambda g: g["game_date"])["team_id"] if before else None

    def injury_status(self, player: int, day: date) -> str:
        severity = {"out_for_season": 4, "out": 3, "day_to_day": 2, "available": 1}
        moves = [m for m in self.moves[player] if day - timedelta(days=365) <= m["move_date"] < day]
        if not moves:
            return "none"
        return max(moves, key=lambda m: (m["move_date"], severity[m["status"]]))["status"]

    def _season_before(self, day: date, season: str) -> list[dict]:
        counted = [g for g in self.team_games if g["season_type"] not in ("Pre Season", "All Star")]
        return [g for g in counted if g["season"] == season and g["game_date"] < day]

    def pace_factor(self, team: int, opponent: int, day: date, season: str) -> float | None:
        games = self._season_before(day, season)
        pace = [48 * (g["poss"] + g["opp_poss"]) / (2 * g["minutes"] / 5) for g in games]
        if not pace:
            return None
        league = _mean(pace)

        def recent(t: int) -> float:
            mine = sorted((g for g in games if g["team_id"] == t), key=lambda g: g["game_date"], reverse=True)[:10]
            return _mean([48 * (g["poss"] + g["opp_poss"]) / (2 * g["minutes"] / 5) for g in mine]) or league

        return min(1.15, max(0.85, (recent(team) + recent(opponent)) / 2 / league))

    def opponent_defense(self, opponent: int, day: date, season: str) -> float | None:
        games = self._season_before(day, season)
        if not games:
            return None
        league = _mean([100 * g["opp_pts"] / g["opp_poss"] for g in games])
        theirs = [100 * g["opp_pts"] / g["opp_poss"] for g in games if g["team_id"] == opponent]
        return min(1.2, max(0.8, (_mean(theirs) or league) / league))


@pytest.fixture(scope="module")
def window(replayed_window, db):
    with db(replayed_window.data_dir) as con:
        yield replayed_window, con, Raw(con)


def _sample(con: duckdb.DuckDBPyConnection, n: int, where: str = "") -> list[tuple[int, date]]:
    keys = con.execute(f"SELECT player_id, game_date FROM {FEATURE_STORE} {where} ORDER BY ALL").fetchall()
    return random.Random(2024).sample(keys, min(n, len(keys)))


# -- no look-ahead ------------------------------------------------------------------------------


def test_cache_and_features_equal_a_recomputation_from_games_strictly_before_d(window) -> None:
    w, con, raw = window
    first_day = f"WHERE game_date = '{w.replayed[0]}'"
    checked = 0
    for player, day in _sample(con, 80) + _sample(con, 10, first_day):
        row = _dicts(con, f"SELECT * FROM {FEATURE_STORE} WHERE player_id = ? AND game_date = ?", [player, day])[0]
        cache = _dicts(con, f"SELECT * FROM {CACHE} WHERE player_id = ? AND game_date = ?", [player, day])[0]
        expected = {**raw.form(player, day, row["season"]), **raw.load(player, day)}
        for column, value in expected.items():
            assert _same(value, row[column]), (player, day, column, value, row[column])
            if column in cache:
                assert _same(value, cache[column]), (player, day, column, value, cache[column])
        assert row["injury_status"] == raw.injury_status(player, day)
        team, opponent, season = row["team_id"], row["opponent_team_id"], row["season"]
        assert row["pace_factor"] == pytest.approx(raw.pace_factor(team, opponent, day, season))
        assert row["opponent_defense"] == pytest.approx(raw.opponent_defense(opponent, day, season))
        checked += 1
    assert checked == 90


def test_the_roster_rule_puts_each_player_with_the_team_of_his_last_game(window) -> None:
    w, con, raw = window
    for day in (w.replayed[0], date(2023, 11, 8)):
        teams = {t for (t,) in con.execute(f"SELECT team_id FROM {TEAM_CTX} WHERE game_date = ?", [day]).fetchall()}
        expected = {(p, raw.last_team(p, day)) for p in raw.games if raw.last_team(p, day) in teams}
        got = set(con.execute(f"SELECT player_id, team_id FROM {PLAYER_CTX} WHERE game_date = ?", [day]).fetchall())
        assert got == expected and len(got) >= 10 * len(teams)


def test_a_correction_published_after_the_snapshots_leaves_them_as_they_were_said(
        window, copy_warehouse, tmp_path) -> None:
    """Corrections published after the window (at the warehouse clock) restate the current truth of
    their games and leave every as-of snapshot of the window as it was said before its tip-off."""
    w, con, _ = window
    day = date(2023, 11, 8)
    game, player, pts, fga = con.execute(
        "SELECT game_id, player_id, pts, fga FROM raw.player_boxscores WHERE game_date = ? "
        "ORDER BY pts DESC, player_id LIMIT 1", [day]).fetchall()[0]
    path = copy_warehouse(w.data_dir, tmp_path / "changed")
    with _ws(path) as ws:
        before = _tables(ws.con)
        publish_correction(ws, game, player, {"pts": pts + 10, "fga": fga + 4})
        results = run_pipeline(ws, (w.replayed[1],) * 2)
        assert not [r for r in results if r.status == "failed"]
        assert _tables(ws.con) == before
        assert not [r for r in results if r.processor in TABLES and r.metrics.rows_written]
        assert any(r.skip_reason == "frozen" for r in results if r.processor in TABLES)
        assert ws.con.execute("SELECT pts FROM analytics.player_game_summary WHERE game_id = ? AND player_id = ?",
                              [game, player]).fetchall()[0][0] == pts + 10


def test_rerunning_with_nothing_new_writes_nothing(window, copy_warehouse, tmp_path) -> None:
    w, _, _ = window
    with _ws(copy_warehouse(w.data_dir, tmp_path / "rerun")) as ws:
        before = _tables(ws.con)
        for r in run_pipeline(ws, (w.replayed[1],) * 2):
            if r.processor in TABLES:
                assert r.status == "skipped" and (r.skip_reason.nothing_to_do or r.skip_reason.early_exit), (
                    r.processor, r.skip_reason, r.decisions)
        assert _tables(ws.con) == before


# -- quality labels -----------------------------------------------------------------------------


def test_early_season_rows_carry_the_right_calculation_quality(window) -> None:
    w, con, raw = window
    rows = _dicts(con, f"SELECT player_id, game_date, season, calculation_quality, games_played_season, "
                       f"pts_avg_prev_season FROM {CACHE} WHERE game_date >= ?", [w.replayed[0]])
    for row in rows:
        games = sum(1 for g in raw.games[row["player_id"]]
                    if g["season"] == row["season"] and g["game_date"] < row["game_date"])
        assert (row["games_played_season"], row["calculation_quality"]) == (games, _label(games)), row
    labels = {r["calculation_quality"] for r in rows}
    assert {"no_prior_games", "complete"} <= labels
    assert {f"partial_{n}_games" for n in range(1, 10)} <= labels
    opening = [r for r in rows if r["game_date"] == w.replayed[0]]
    assert opening and all(r["calculation_quality"] == "no_prior_games" for r in opening)
    assert sum(r["pts_avg_prev_season"] is not None for r in opening) > 0.8 * len(opening)  # the fallback
    features = _dicts(con, "SELECT games_played_season, pts_avg_prev_season, pts_avg_last_10, can_use_for_ml_training, "
                           f"features_missing, features_partial, data_quality_score, missing_sources FROM {FEATURE_STORE}")
    names = [x.name for x in FEATURES]
    for f in features:
        missing, partial = f["features_missing"], f["features_partial"]
        assert missing == [n for n in names if n in missing] and not set(missing) & set(partial)  # catalogue order
        assert f["data_quality_score"] == pytest.approx((len(names) - len(missing) - 0.5 * len(partial)) / len(names))
        history = f["games_played_season"] >= 3 or f["pts_avg_prev_season"] is not None
        assert f["can_use_for_ml_training"] == (history and f["data_quality_score"] >= MIN_TRAINING_QUALITY)
        games = f["games_played_season"]
        quality = "missing" if "pts_avg_last_10" in missing else "partial" if "pts_avg_last_10" in partial else "ok"
        assert quality == ("missing" if not games else "partial" if games < 10 else "ok")
        no_form = not games and f["pts_avg_prev_season"] is None
        assert ("analytics.player_game_summary" in f["missing_sources"]) == no_form


# -- fatigue ------------------------------------------------------------------------------------


_MEMORY = duckdb.connect()  # evaluates the fatigue formula alone, on made-up loads


def _fatigue(back_to_back: bool, games: int, minutes: float) -> float:
    sql = (f"SELECT {precompute.FATIGUE_SQL} "
           "FROM (SELECT ? AS back_to_back, ? AS games_last_7_days, ? AS minutes_last_7_days)")
    return _MEMORY.execute(sql, [back_to_back, games, minutes]).fetchall()[0][0]


@settings(deadline=None, max_examples=50)
@given(games=st.integers(0, 3), minutes=st.floats(0, 120), more_games=st.integers(0, 3), more_minutes=st.floats(0, 100))
def test_fatigue_never_penalises_rest_and_falls_with_load(games, minutes, more_games, more_minutes) -> None:
    assert _fatigue(False, games, minutes) == 100  # rested, normal load: fresh
    heavier = _fatigue(False, games + more_games, minutes + more_minutes)
    tired = _fatigue(True, games + more_games, minutes + more_minutes)
    assert 0 <= tired < heavier <= 100
    assert _fatigue(False, 5, minutes) < 100 and _fatigue(False, games, 150) < 100


def test_fatigue_on_real_rows_follows_the_documented_formula(window) -> None:
    _, con, _ = window
    rows = _dicts(con, f"SELECT back_to_back, games_last_7_days, minutes_last_7_days, fatigue_score FROM {FACTORS}")
    for r in rows:
        expected = 100 - 15 * r["back_to_back"] - 8 * max(0, r["games_last_7_days"] - 3) \
            - 0.25 * max(0, r["minutes_last_7_days"] - 120)
        assert r["fatigue_score"] == pytest.approx(max(0, expected))
    rested = [r for r in rows
              if not r["back_to_back"] and r["games_last_7_days"] <= 3 and r["minutes_last_7_days"] <= 120]
    assert rested and all(r["fatigue_score"] == 100 for r in rested)
    assert all(r["fatigue_score"] < 100 for r in rows if r["back_to_back"])


# -- prop-only dates ----------------------------------------------------------------------------


def _implied(odds: float | None) -> float | None:
    if odds is None:
        return None
    return -odds / (100 - odds) if odds < 0 else 100 / (odds + 100)


def _main_line(rows: list[dict]) -> float:
    """A book's main line from its latest snapshot: over and under prices closest, then the lower line."""
    latest = max((r["snapshot_date"], r["snapshot_ts"]) for r in rows)
    candidates = [r for r in rows if (r["snapshot_date"], r["snapshot_ts"]) == latest]

    def gap(r: dict) -> float:
        o, u = _implied(r["over_odds"]), _implied(r["under_odds"])
        return abs(o - u) if o is not None and u is not None else 1.0

    return min(candidates, key=lambda r: (gap(r), r["line"]))["line"]


def test_prop_only_dates_get_their_games_and_lines_from_the_lines(window, copy_warehouse, tmp_path, run_cli) -> None:
    w, _, _ = window
    path = copy_warehouse(w.data_dir, tmp_path / "props")
    assert run_cli(["ingest", "--date", str(PROP_DATE)], path).exit_code == 0
    result = run_cli(["run", "--date", str(PROP_DATE), "--json"], path)
    assert result.exit_code == 0, result.output
    with duckdb.connect(str(path / "nba.duckdb"), read_only=True) as con:
        games = con.execute("SELECT count(DISTINCT (home_team_name, away_team_name)) FROM raw.prop_lines "
                            "WHERE game_date = ?", [PROP_DATE]).fetchall()[0][0]
        teams = _dicts(con, f"SELECT * FROM {TEAM_CTX} WHERE game_date = ?", [PROP_DATE])
        assert len(teams) == 2 * games > 0
        assert all(t["game_source"] == "prop_lines" and t["game_id"].startswith("20251105/")
                   and t["season"] == "2025-26" and not t["window_7_complete"] for t in teams)
        players = _dicts(con, f"SELECT * FROM {PLAYER_CTX} WHERE game_date = ? AND line_pts IS NOT NULL", [PROP_DATE])
        assert len(players) > 100
        lines = _dicts(con, "SELECT * FROM raw.prop_lines WHERE game_date = ? AND market = 'player_points' "
                            "AND line IS NOT NULL", [PROP_DATE])
        for p in random.Random(5).sample(players, 20):
            books = defaultdict(list)
            for line in lines:
                if line["player_id"] == p["player_id"]:
                    books[line["bookmaker"]].append(line)
            main = {book: _main_line(rows) for book, rows in books.items()}
            assert p["books_pts"] == len(main) and p["line_pts"] == pytest.approx(statistics.median(main.values()))
            assert json.loads(p["prop_lines_by_book"])["pts"] == pytest.approx(main)
        features = _dicts(con, f"SELECT * FROM {FEATURE_STORE} WHERE game_date = ?", [PROP_DATE])
        assert sum(f["line_pts"] is not None for f in features) == len(players)
        # no 2025-26 games exist: form falls back to the most recent earlier season in the warehouse
        assert all(f["calculation_quality"] == "no_prior_games" for f in features)
        assert sum(f["can_use_for_ml_training"] for f in features) > 50


OPENING, FOURTH_NIGHT = "2024-10-22", "2024-10-25"


@pytest.fixture(scope="module")
def opening_days(tmp_path_factory, run_cli) -> Path:
    """2024-25's first four nights replayed on an empty warehouse: no earlier season, no history."""
    path = tmp_path_factory.mktemp("opening")
    result = run_cli(["replay", "--season", "2024-25", "--start", OPENING, "--end", FOURTH_NIGHT, "--json"], path)
    assert result.exit_code == 0, result.output
    return path


def test_opening_night_on_a_warehouse_without_history_places_every_player_with_a_line(opening_days) -> None:
    """A sportsbook names teams ("Boston Celtics"); before any of a team's box scores is in the
    warehouse the name comes from the franchises the product ships. Before that, opening night's
    contexts had no player at all."""
    with duckdb.connect(str(opening_days / "nba.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw.team_boxscores WHERE game_date < ?", [OPENING]).fetchall()[0][0] == 0
        with_lines = {r[0] for r in con.execute(
            "SELECT DISTINCT player_id FROM raw.prop_lines WHERE game_date = ? AND player_id IS NOT NULL",
            [OPENING]).fetchall()}
        placed = _dicts(con, f"SELECT * FROM {PLAYER_CTX} WHERE game_date = ?", [OPENING])
        teams = _dicts(con, f"SELECT * FROM {TEAM_CTX} WHERE game_date = ?", [OPENING])
    assert len(with_lines) > 20 and {p["player_id"] for p in placed} == with_lines
    assert all(p["roster_source"] == "prop_line" and p["books_fg3m"] > 0 for p in placed)
    assert {t["team_name"] for t in teams} == {"Boston Celtics", "New York Knicks", "Los Angeles Lakers",
                                               "Minnesota Timberwolves"}


def test_before_a_spread_is_fitted_a_prediction_has_no_probability_and_no_call(opening_days) -> None:
    """The error spread needs ensemble.MIN_DAYS game days of results; before them a prediction has no
    sigma, so no P(over) and no call. (greatest() skips a null: the floor alone once made every such
    sigma 0.5, and an fg3m P(over) of 0.99 on a player's first game.)"""
    with duckdb.connect(str(opening_days / "nba.duckdb"), read_only=True) as con:
        rows = _dicts(con, "SELECT * FROM predictions.player_prop_predictions WHERE line_source = 'prop_consensus'")
    assert len(rows) > 200
    normal = [r for r in rows if r["dist_alpha"] is None]
    assert normal and all(r["dist_sigma"] is None and r["p_over"] is None for r in normal)
    assert all(r["recommendation"] not in ("OVER", "UNDER") and r["confidence"] is None for r in rows)


def test_predict_names_the_days_before_it_that_nothing_published(opening_days, copy_warehouse, tmp_path,
                                                                   run_cli) -> None:
    """Predicting past the warehouse's last published day silently ignored the games in between."""
    path = copy_warehouse(opening_days, tmp_path / "ahead")
    ahead = run_cli(["predict", "--date", "2024-10-28", "--json"], path)
    assert ahead.exit_code == 0, ahead.output
    assert json.loads(ahead.stdout)["unpublished_days"] == {
        "nothing_published": False, "days": 2, "ranges": [{"start": "2024-10-26", "end": "2024-10-27"}]}
    text = " ".join(run_cli(["predict", "--date", "2024-10-28"], path).output.split())
    assert "no box score is published for 2024-10-26 .. 2024-10-27 (2 days)" in text
    assert "`nbadb ingest --start 2024-10-26 --end 2024-10-27`" in text
    caught_up = run_cli(["ingest", "--start", "2024-10-26", "--end", "2024-10-27"], path)
    assert caught_up.exit_code == 0, caught_up.output
    assert json.loads(run_cli(["predict", "--date", "2024-10-28", "--json"], path).stdout)["unpublished_days"] is None
    empty = json.loads(run_cli(["predict", "--date", "2024-10-28", "--json"], tmp_path / "empty").stdout)
    assert empty["unpublished_days"] == {"nothing_published": True, "days": 0, "ranges": []}


def test_a_day_predicted_before_its_earlier_days_were_published_is_predicted_with_them_once_they_are(
        tmp_path, run_cli) -> None:
    """predict advised publishing the earlier days first, but it had frozen the day (its pass ran on the
    clock of the day's own night): predicting again after the advice still gave nothing. And a predict
    of a day before the archive's first made every later note name twelve years as unpublished."""
    assert run_cli(["predict", "--date", "2010-01-01"], tmp_path).exit_code == 0
    first = json.loads(run_cli(["predict", "--date", "2024-10-26", "--json"], tmp_path).stdout)
    assert first["predictions"] == [] and first["unpublished_days"]["nothing_published"]
    assert run_cli(["ingest", "--start", "2024-10-22", "--end", "2024-10-25"], tmp_path).exit_code == 0
    again = json.loads(run_cli(["predict", "--date", "2024-10-26", "--json"], tmp_path).stdout)
    assert again["unpublished_days"] is None
    assert again["predictions_by_system"]["ensemble"] == len(again["predictions"]) > 500


# -- declarations -------------------------------------------------------------------------------


def test_processors_run_after_their_inputs_in_phases_3_and_4() -> None:
    graph = build_graph()
    for name, phase in ((TEAM_CTX, 3), (PLAYER_CTX, 3), (CACHE, 4), (FACTORS, 4), (FEATURE_STORE, 4)):
        spec = graph.specs[name]
        assert spec.phase == phase and spec.entity_key in ("team_id", "player_id")
        assert all(graph.order.index(t) < graph.order.index(name) for t in spec.input_tables if t in graph.specs)
    for name in (TEAM_CTX, PLAYER_CTX, CACHE, FACTORS):  # a change on date g reaches every later as-of date
        assert graph.specs[name].propagation == "following_dates"


def test_tables_have_the_declared_columns(window) -> None:
    _, con, _ = window

    def columns(table: str) -> dict[str, str]:
        schema, name = table.split(".")
        return dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                                "WHERE table_schema = ? AND table_name = ?", [schema, name]).fetchall())

    for table, declared in ((TEAM_CTX, upcoming.TEAM_CONTEXT_COLUMNS), (PLAYER_CTX, upcoming.PLAYER_CONTEXT_COLUMNS),
                            (FACTORS, precompute.COMPOSITE_FACT_COLUMNS)):
        actual = columns(table)
        assert {c: actual[c] for c, _ in declared} == dict(declared)
        assert {"row_hash", "run_id", "ingested_at"} <= set(actual)
    phase_5_reads = (
        "player_id game_date game_id season team_id opponent_team_id is_home feature_version "
        + " ".join(f"{s}_avg_{w}" for s in STATS for w in ("last_5", "last_10", "season", "prev_season"))
        + " pts_std_last_10 usage_rate_avg_last_10 ts_pct_avg_last_10 games_played_season rest_days back_to_back"
        " games_last_7_days minutes_last_7_days fatigue_score pace_factor usage_spike opponent_defense"
        " injury_status line_pts line_reb line_ast line_fg3m calculation_quality can_use_for_ml_training"
        " features_missing features_partial missing_sources data_quality_score"
    ).split()
    assert set(phase_5_reads) <= set(columns(FEATURE_STORE))
    assert con.execute(f"SELECT DISTINCT feature_version FROM {FEATURE_STORE}").fetchall() == [(FEATURE_VERSION,)]


def test_feature_version_is_bumped_when_the_feature_list_changes() -> None:
    listed = hashlib.md5(",".join(f"{f.name}:{f.table}" for f in FEATURES).encode()).hexdigest()[:12]
    known = {"v1": "3ea960d3db47"}  # FEATURE_VERSION -> digest of its feature list
    assert known.get(FEATURE_VERSION) == listed, "the feature list changed: bump FEATURE_VERSION and record it here"
