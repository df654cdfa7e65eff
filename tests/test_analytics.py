"""Phase 3 analytics through the real engine on real 2023-24 data: formulas, one row per
player-game / team-game, skips, a one-player correction and a late-arriving earlier game."""

from __future__ import annotations

import hashlib

import shutil
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import pytest

from nbadb.config import BUNDLED_ARCHIVE, Settings
from nbadb.engine.request import RunRequest, RunResult
from nbadb.engine.vocabulary import DecisionKind
from nbadb.orchestrate.ingest import publish
from nbadb.orchestrate.workspace import Workspace, open_workspace
from nbadb.pipeline.analytics import ANALYTICS_PROCESSORS
from nbadb.pipeline.registry import build_graph

START, END = date(2023, 10, 24), date(2023, 11, 15)
LATE_DATE = date(2023, 11, 1)  # withheld, then published after the dates around it
PLAYER, OFFENSE, DEFENSE = (s.name for s in ANALYTICS_PROCESSORS)
TABLES = (PLAYER, OFFENSE, DEFENSE)


def _open(path: Path) -> Workspace:
    """A warehouse in `path` over the bundled archive, whatever NBADB_* says."""
    return open_workspace(BUNDLED_ARCHIVE, settings=Settings(data_dir=path, archive_dir=BUNDLED_ARCHIVE))


def _changed_exactly(result: RunResult, pairs: set[tuple[str, date]]) -> bool:
    """The run changed exactly these (entity, date) pairs: its change digest is theirs (ChangeSet)."""
    total = sum(int(hashlib.md5(f"{d.isoformat()}|{e}".encode()).hexdigest()[:16], 16) for e, d in pairs)
    return result.changes.count == len(pairs) and result.changes.digest == hashlib.md5(str(total).encode()).hexdigest()


def _run_all(ws: Workspace, start: date = START, end: date = END) -> dict[str, RunResult]:
    results = {}
    for name in TABLES:
        result = ws.engine.run(RunRequest(processor=name, start_date=start, end_date=end))
        assert result.status in {"success", "skipped"}, (name, result.error, result.decisions)
        results[name] = result
    return results


def _publish(ws: Workspace, start: date, end: date, **kwargs: object) -> None:
    outcome = publish(ws, start, end, **kwargs)  # type: ignore[arg-type]
    assert not outcome.failed, [r.error for r in outcome.failed]


def _rows(ws: Workspace, table: str) -> list[tuple]:
    """A table's content: every column but lineage and publication time (which record how it got there)."""
    return ws.con.execute(f"SELECT * EXCLUDE (run_id, ingested_at, known_at) FROM {table} ORDER BY ALL").fetchall()


def _signatures(ws: Workspace) -> list[tuple]:
    return ws.con.execute(
        "SELECT processor, entity_id, game_date, signature FROM ops.entity_signatures "
        "WHERE list_contains($tables, processor) ORDER BY ALL", {"tables": list(TABLES)}
    ).fetchall()


def _dicts(ws: Workspace, sql: str, params: list | None = None) -> list[dict]:
    cur = ws.con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory):
    """A warehouse with START..END published and the three processors run once."""
    path = tmp_path_factory.mktemp("base")
    ws = _open(path)
    _publish(ws, START, END)
    first = _run_all(ws)
    snapshot = {t: _rows(ws, t) for t in TABLES}
    yield ws, first, snapshot, path
    ws.close()


def test_processors_are_registered_after_the_raw_tables_they_read() -> None:
    graph = build_graph()
    order = graph.order
    for spec in ANALYTICS_PROCESSORS:
        assert spec.phase == 3 and spec.signature_sql is not None
        assert all(order.index(table) < order.index(spec.name) for table in spec.input_tables)
    assert set(TABLES) <= {s.name for s in graph.consumers_of("raw.team_boxscores") if s.phase == 3}
    assert graph.specs[PLAYER].propagation == "following_dates"  # rest days look back across dates


def test_first_run_builds_one_row_per_player_game_and_team_game(base) -> None:
    ws, first, _, _ = base
    raw_players, raw_teams = ws.con.execute(
        "SELECT (SELECT count(*) FROM raw.player_boxscores), (SELECT count(*) FROM raw.team_boxscores)"
    ).fetchall()[0]
    assert raw_players > 3000 and raw_teams > 300
    for table, expected, key in ((PLAYER, raw_players, "player_id"), (OFFENSE, raw_teams, "team_id"),
                                 (DEFENSE, raw_teams, "team_id")):
        assert first[table].status == "success"
        assert first[table].metrics.entities_changed == expected
        assert first[table].metrics.rows_written == expected
        n, distinct = ws.con.execute(f"SELECT count(*), count(DISTINCT ({key}, game_date)) FROM {table}").fetchall()[0]
        assert n == distinct == expected


def test_rerun_is_skipped_no_changes(base) -> None:
    from nbadb.engine.policies import dependencies
    from nbadb.engine.runner import Engine

    ws, _, _, _ = base
    # the full path: every signature recomputed and found equal to the stored one
    full = Engine(ws.con, ws.graph.specs, ws.settings, prechecks=(dependencies,))
    for name in TABLES:
        result = full.run(RunRequest(processor=name, start_date=START, end_date=END))
        assert (result.status, result.skip_reason) == ("skipped", "no_changes"), name
        assert result.metrics.entities_in_scope > 0
    # once the pipeline has consumed the raw events, the default engine takes the data-version
    # shortcut: no input event since a covering run of the same code version
    from nbadb.orchestrate.daily import run_pipeline

    consumed = run_pipeline(ws, (START, END))
    assert all(r.skip_reason == "no_changes" for r in consumed if r.processor in TABLES)
    for name in TABLES:
        result = ws.engine.run(RunRequest(processor=name, start_date=START, end_date=END))
        assert (result.status, result.skip_reason) == ("skipped", "no_changes"), name
        assert any(d.kind == DecisionKind.DATA_VERSION_SHORTCUT for d in result.decisions)


def test_player_formulas_match_an_independent_python_computation(base) -> None:
    ws, _, _, _ = base
    teams = {(r["game_id"], r["team_id"]): r for r in _dicts(ws, "SELECT * FROM raw.team_boxscores")}
    rows = _dicts(
        ws,
        "SELECT s.*, p.pts AS raw_pts FROM analytics.player_game_summary s "
        "JOIN raw.player_boxscores p USING (game_id, player_id) "
        "WHERE s.minutes > 0 ORDER BY s.game_date, s.player_id",
    )
    for r in rows[:: len(rows) // 40]:  # ~40 rows spread over the slice
        assert r["pts"] == r["raw_pts"]
        shots = r["fga"] + 0.44 * r["fta"]
        assert r["ts_pct"] == (pytest.approx(r["pts"] / (2 * shots)) if shots else None)
        assert r["efg_pct"] == (pytest.approx((r["fgm"] + 0.5 * r["fg3m"]) / r["fga"]) if r["fga"] else None)
        team = teams[(r["game_id"], r["team_id"])]
        usage = 100 * ((r["fga"] + 0.44 * r["fta"] + r["tov"]) * (team["minutes"] / 5)) / (
            r["minutes"] * (team["fga"] + 0.44 * team["fta"] + team["tov"])
        )
        assert r["usage_rate"] == pytest.approx(usage)
        assert r["team_minutes"] == team["minutes"]
        assert r["possessions"] == pytest.approx(team["fga"] + 0.44 * team["fta"] - team["oreb"] + team["tov"])
    # usage of a team's players averages near 20% weighted by minutes (5 players on the floor)
    avg = ws.con.execute(
        "SELECT sum(usage_rate * minutes) / sum(minutes) FROM analytics.player_game_summary WHERE minutes > 0"
    ).fetchall()[0][0]
    assert 19 < avg < 21
    zero = ws.con.execute(
        "SELECT count(*), count(usage_rate) FROM analytics.player_game_summary WHERE minutes = 0"
    ).fetchall()[0]
    assert zero[0] > 0 and zero[1] == 0
    assert ws.con.execute(
        "SELECT count(*) FROM analytics.player_game_summary WHERE fga + fta = 0 AND ts_pct IS NOT NULL"
    ).fetchall()[0][0] == 0


def test_rest_days_match_python(base) -> None:
    ws, _, _, _ = base
    dates: dict[tuple, list[date]] = defaultdict(list)
    for player_id, season, game_date in ws.con.execute(
        "SELECT player_id, season, game_date FROM raw.player_boxscores"
    ).fetchall():
        dates[(player_id, season)].append(game_date)
    expected = {}
    for (player_id, _), ds in dates.items():
        ds.sort()
        for prev, cur in zip([None, *ds], ds):
            expected[(player_id, cur)] = (cur - prev).days if prev else None
    got = {
        (p, d): (rest, b2b)
        for p, d, rest, b2b in ws.con.execute(
            "SELECT player_id, game_date, rest_days, back_to_back FROM analytics.player_game_summary"
        ).fetchall()
    }
    assert {k: v[0] for k, v in got.items()} == expected
    assert all(b2b == (rest == 1) if rest is not None else b2b is None for rest, b2b in got.values())
    assert sum(1 for rest, _ in got.values() if rest == 1) > 100  # real back-to-backs exist


def test_team_possessions_ratings_and_pace(base) -> None:
    ws, _, _, _ = base
    raw = {(r["game_id"], r["team_id"]): r for r in _dicts(ws, "SELECT * FROM raw.team_boxscores")}
    defense = {(r["game_id"], r["team_id"]): r for r in _dicts(ws, f"SELECT * FROM {DEFENSE}")}

    def poss(t: dict) -> float:
        return t["fga"] + 0.44 * t["fta"] - t["oreb"] + t["tov"]

    offense = _dicts(ws, f"SELECT * FROM {OFFENSE}")
    assert offense
    for r in offense:
        me, opp = raw[(r["game_id"], r["team_id"])], raw[(r["game_id"], r["opponent_team_id"])]
        assert r["possessions"] == pytest.approx(poss(me))
        assert r["opp_possessions"] == pytest.approx(poss(opp))
        assert r["opp_pts"] == opp["pts"]
        assert r["offensive_rating"] == pytest.approx(100 * me["pts"] / poss(me))
        assert r["defensive_rating"] == pytest.approx(100 * opp["pts"] / poss(opp))
        assert r["pace"] == pytest.approx(48 * (poss(me) + poss(opp)) / (2 * (me["minutes"] / 5)))
        assert r["win"] == (me["wl"] == "W") and r["win"] == (me["pts"] > opp["pts"])
        d = defense[(r["game_id"], r["team_id"])]
        assert d["opp_possessions"] == pytest.approx(r["opp_possessions"])
        assert d["defensive_rating"] == pytest.approx(r["defensive_rating"])
        assert (d["opp_pts"], d["opp_fga"], d["opp_tov"], d["opp_oreb"]) == (
            opp["pts"], opp["fga"], opp["tov"], opp["oreb"]
        )
        assert d["dreb_pct"] == pytest.approx(me["dreb"] / (me["dreb"] + opp["oreb"]))
        assert (d["stl"], d["blk"]) == (me["stl"], me["blk"])
    # a game's two offensive ratings are each other's defensive ratings, and pace is plausible
    assert ws.con.execute(
        f"""SELECT count(*) FROM {OFFENSE} a
        JOIN {OFFENSE} b ON a.game_id = b.game_id AND a.team_id = b.opponent_team_id
        WHERE abs(a.offensive_rating - b.defensive_rating) > 1e-9"""
    ).fetchall()[0][0] == 0
    lo, hi = ws.con.execute(f"SELECT min(pace), max(pace) FROM {OFFENSE}").fetchall()[0]
    assert 85 < lo and hi < 125
    # the player table carries the team's possessions
    assert ws.con.execute(
        f"""SELECT count(*) FROM {PLAYER} p JOIN {OFFENSE} o USING (game_id, team_id)
        WHERE p.possessions IS DISTINCT FROM o.possessions"""
    ).fetchall()[0][0] == 0


def _pick_correction(ws: Workspace) -> tuple[str, int, date, int, int]:
    """A scorer in a mid-slice game: (game_id, player_id, game_date, team_id, old pts)."""
    return ws.con.execute(
        """SELECT game_id, player_id, game_date, team_id, pts FROM raw.player_boxscores
        WHERE game_date = DATE '2023-11-02' AND fga >= 10 ORDER BY pts DESC, player_id LIMIT 1"""
    ).fetchall()[0]


def _insert_correction(ws: Workspace, game_id: str, player_id: int, value: float) -> None:
    """A correction recorded as published at the warehouse clock (what `nbadb correct` records)."""
    ws.con.execute(
        "INSERT INTO ops.source_corrections (correction_id, game_id, player_id, stat, value, published_at) "
        "VALUES ('test-1', ?, ?, 'PTS', ?, ?)",
        [game_id, player_id, value, ws.engine.now()],
    )


def test_one_player_correction_changes_exactly_its_entities(base, tmp_path: Path) -> None:
    ws0, _, _, base_path = base
    game_id, player_id, game_date, team_id, old_pts = _pick_correction(ws0)
    ws0.con.execute("CHECKPOINT")
    shutil.copytree(base_path, tmp_path / "incremental")
    new_pts = old_pts + 3

    with _open(tmp_path / "incremental") as ws:
        _insert_correction(ws, game_id, player_id, new_pts)
        _publish(ws, game_date, game_date, game_ids=[game_id])
        results = _run_all(ws)
        assert {t: r.metrics.entities_changed for t, r in results.items()} == {PLAYER: 1, OFFENSE: 2, DEFENSE: 2}
        assert _changed_exactly(results[PLAYER], {(str(player_id), game_date)})
        opponent = ws.con.execute(
            "SELECT opponent_team_id FROM raw.team_boxscores WHERE game_id = ? AND team_id = ?", [game_id, team_id]
        ).fetchall()[0][0]
        both = {(str(team_id), game_date), (str(opponent), game_date)}
        assert _changed_exactly(results[OFFENSE], both) and _changed_exactly(results[DEFENSE], both)
        assert results[PLAYER].changes.dates == (game_date,)
        assert results[OFFENSE].changes.entity_ids == tuple(sorted(str(t) for t in (team_id, opponent)))
        assert ws.con.execute(
            f"SELECT pts FROM {PLAYER} WHERE player_id = ? AND game_id = ?", [player_id, game_id]
        ).fetchall()[0][0] == new_pts
        assert ws.con.execute(
            f"SELECT pts FROM {OFFENSE} WHERE team_id = ? AND game_id = ?", [team_id, game_id]
        ).fetchall()[0][0] == ws.con.execute(
            f"SELECT opp_pts FROM {DEFENSE} WHERE team_id = ? AND game_id = ?", [opponent, game_id]
        ).fetchall()[0][0]
        for name in TABLES:
            again = ws.engine.run(RunRequest(processor=name, start_date=START, end_date=END))
            assert again.skip_reason == "no_changes", name
        incremental = {t: _rows(ws, t) for t in TABLES}
        incremental_sigs = _signatures(ws)

    with _open(tmp_path / "fresh") as fresh:
        _insert_correction(fresh, game_id, player_id, new_pts)
        _publish(fresh, START, END)
        _run_all(fresh)
        for t in TABLES:
            assert incremental[t] == _rows(fresh, t), t
        assert incremental_sigs == _signatures(fresh)
    assert incremental[PLAYER] != base[2][PLAYER]


def _rest_days(ws: Workspace) -> dict[tuple[int, date], int | None]:
    rows = ws.con.execute(f"SELECT player_id, game_date, rest_days FROM {PLAYER}").fetchall()
    return {(p, d): r for p, d, r in rows}


def test_late_arriving_earlier_game_updates_rest_days_of_later_games(base, tmp_path: Path) -> None:
    _, _, clean, _ = base
    with _open(tmp_path / "late") as ws:
        _publish(ws, START, LATE_DATE - timedelta(days=1))
        _publish(ws, LATE_DATE + timedelta(days=1), END)
        _run_all(ws)
        before = _rest_days(ws)
        _publish(ws, LATE_DATE, LATE_DATE)
        results = _run_all(ws)
        after = _rest_days(ws)
        late_players = {p for p, d in after if d == LATE_DATE}
        shifted = {k for k in before if before[k] != after[k]}
        assert late_players and shifted
        # exactly the next game of each player who played on the late date changed, nothing else
        next_game = {
            p: min(d for q, d in after if q == p and d > LATE_DATE)
            for p in late_players
            if any(q == p and d > LATE_DATE for q, d in after)
        }
        assert shifted == {(p, d) for p, d in next_game.items()}
        expected = {k for k in after if k[1] == LATE_DATE} | shifted
        assert _changed_exactly(results[PLAYER], {(str(p), d) for p, d in expected})
        team_rows_on_date = ws.con.execute(
            "SELECT count(*) FROM raw.team_boxscores WHERE game_date = ?", [LATE_DATE]
        ).fetchall()[0][0]
        assert results[OFFENSE].metrics.entities_changed == team_rows_on_date
        assert results[DEFENSE].metrics.entities_changed == team_rows_on_date
        for t in TABLES:
            assert _rows(ws, t) == clean[t], t
