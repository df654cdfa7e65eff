"""Prop features and predictions through the real engine on the bundled 2024-25 data (3-pointer lines
from seven books): nothing published after D's cutoff reaches D's features or predictions, lines
included; calls only on real lines with a positive EV; the report's intervals are reproducible and
hold their estimate.

History: three weeks of 2023-24 (gbm's training rows for 2024-25) and 2024-25 from its opener to a
few days past D, backfilled through every phase.
"""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nbadb.config import BUNDLED_ARCHIVE, Settings
from nbadb.engine.calendar import LeagueCalendar
from nbadb.monitor.prediction_quality import MIN_BOOTSTRAP_DAYS, quality_report
from nbadb.orchestrate.backfill import BackfillPlan, run_backfill, start_backfill
from nbadb.orchestrate.workspace import open_workspace
from nbadb.pipeline.predictions import PREDICTIONS_TABLE, recommendation_sql
from nbadb.pipeline.prop_features.processor import PROP_FEATURES_TABLE

WINDOWS = ((date(2024, 3, 25), date(2024, 4, 14)), (date(2024, 10, 22), date(2024, 11, 8)))
D = date(2024, 11, 4)
SEASON_FILES = {
    "player": "player_game_logs_2024_25_through_2024-12-31.parquet",
    "team": "team_game_logs_2024_25_through_2024-12-31.parquet",
    "injuries": "injuries/injury_transactions_2024_25_through_2024-12-31.parquet",
    "props": "props/player_threes_pregame_2024_25_through_2024-12-31.parquet",
}
STATS = ("MIN", "FGM", "FGA", "FG3M", "FG3A", "FTM", "FTA", "OREB", "DREB", "REB", "AST", "STL", "BLK", "TOV",
         "PF", "PTS")


def _archive(folder: Path) -> Path:
    """A copy of the bundled archive made of links (files replaced one by one below)."""
    folder.mkdir()
    for entry in BUNDLED_ARCHIVE.iterdir():
        if entry.name not in ("injuries", "props"):
            (folder / entry.name).symlink_to(entry)
    for sub in ("injuries", "props"):
        (folder / sub).mkdir()
        for entry in (BUNDLED_ARCHIVE / sub).iterdir():
            (folder / sub / entry.name).symlink_to(entry)
    return folder


def _replace(folder: Path, name: str, frame: pl.DataFrame) -> None:
    (folder / name).unlink()
    frame.write_parquet(folder / name)


def _perturb_after_cutoff(folder: Path, cutoff) -> None:
    """Everything published after D's cutoff, changed: box scores of D and later random (and half the
    later games gone), injury moves dated D or later scrambled, prop snapshots taken after D changed,
    and a correction to a game before D published after the cutoff."""
    rng = random.Random(24)
    for kind in ("player", "team"):
        logs = pl.read_parquet(BUNDLED_ARCHIVE / SEASON_FILES[kind])
        later = pl.col("GAME_DATE") >= D
        games = sorted(logs.filter(pl.col("GAME_DATE") > D)["GAME_ID"].unique().to_list())
        dropped = set(random.Random(7).sample(games, len(games) // 2))
        logs = logs.filter(~pl.col("GAME_ID").is_in(dropped))
        n = logs.height
        logs = logs.with_columns([pl.when(later).then(pl.Series(s, [rng.randint(0, 40) for _ in range(n)]))
                                  .otherwise(pl.col(s)).cast(logs.schema[s]).alias(s) for s in STATS])
        _replace(folder, SEASON_FILES[kind], logs)
    moves = pl.read_parquet(BUNDLED_ARCHIVE / SEASON_FILES["injuries"])
    late = moves.filter(pl.col("DATE") >= D)
    shuffled = late["PLAYER"].to_list()
    rng.shuffle(shuffled)
    moves = pl.concat([moves.filter(pl.col("DATE") < D),
                       late.with_columns(pl.Series("PLAYER", shuffled), pl.Series("RELINQUISHED", shuffled))])
    _replace(folder, SEASON_FILES["injuries"], moves)
    props = pl.read_parquet(BUNDLED_ARCHIVE / SEASON_FILES["props"])
    published_later = pl.col("REQUEST_DATE") > D
    props = props.with_columns(pl.when(published_later).then(pl.col("LINE") + 1).otherwise(pl.col("LINE")).alias("LINE"),
                               pl.when(published_later).then(-pl.col("OVER_ODDS")).otherwise(pl.col("OVER_ODDS"))
                               .alias("OVER_ODDS"))
    _replace(folder, SEASON_FILES["props"], props)
    earlier = pl.read_parquet(BUNDLED_ARCHIVE / SEASON_FILES["player"]).filter(
        pl.col("GAME_DATE") == D - timedelta(days=2)).sort("PTS", descending=True).head(3)
    (folder / "corrections").mkdir(exist_ok=True)
    pl.DataFrame({"GAME_ID": earlier["GAME_ID"], "PLAYER_ID": earlier["PLAYER_ID"], "STAT": ["PTS"] * 3,
                  "VALUE": [0.0] * 3, "PUBLISHED_AT": [cutoff + timedelta(minutes=5)] * 3}).with_columns(
        pl.col("PUBLISHED_AT").dt.replace_time_zone("UTC")).write_parquet(folder / "corrections" / "late.parquet")


def _build(data_dir: Path, archive: Path) -> Path:
    with open_workspace(archive, settings=Settings(data_dir=data_dir, archive_dir=archive)) as ws:
        for start, end in WINDOWS:
            plan = BackfillPlan(start, end, levels=frozenset({2}))
            report = run_backfill(ws, start_backfill(ws, plan), plan)
            assert report.status == "finished" and not report.dates["failed"], report
        failed = ws.con.execute("SELECT processor, error FROM ops.processor_runs WHERE status IN ('failed', 'partial') "
                                "UNION ALL SELECT processor, errors FROM ops.prediction_worker_runs "
                                "WHERE len(systems_failed) > 0").fetchall()
        assert not failed, failed
    return data_dir


def _day_rows(data_dir: Path, table: str) -> list[tuple]:
    with duckdb.connect(str(data_dir / "nba.duckdb"), read_only=True) as con:
        return con.execute(f"SELECT * EXCLUDE (run_id, ingested_at) FROM {table} WHERE game_date = ? ORDER BY ALL",
                           [D]).fetchall()


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return _build(tmp_path_factory.mktemp("prop_built"), _archive(tmp_path_factory.mktemp("a") / "archive"))


def test_nothing_published_after_d_s_cutoff_changes_a_feature_or_prediction_of_d_lines_included(
        built, tmp_path_factory) -> None:
    with duckdb.connect(str(built / "nba.duckdb"), read_only=True) as con:
        cutoff = LeagueCalendar.load(con).cutoff(D)
    archive = _archive(tmp_path_factory.mktemp("b") / "archive")
    _perturb_after_cutoff(archive, cutoff)
    perturbed = _build(tmp_path_factory.mktemp("prop_perturbed"), archive)
    features, predictions = _day_rows(built, PROP_FEATURES_TABLE), _day_rows(built, PREDICTIONS_TABLE)
    systems = {r[7] for r in predictions}
    assert len(features) > 200 and systems == {"baseline", "heuristic", "gbm", "ensemble"}, systems
    with duckdb.connect(str(built / "nba.duckdb"), read_only=True) as con:
        lined = con.execute(f"SELECT count(*), count(*) FILTER (WHERE recommendation <> 'PASS') FROM {PREDICTIONS_TABLE} "
                            "WHERE game_date = ? AND line_source = 'prop_consensus'", [D]).fetchall()[0]
        later = con.execute(f"SELECT count(*) FROM {PREDICTIONS_TABLE} WHERE game_date > ?", [D]).fetchall()[0][0]
    assert lined[0] > 100 and lined[1] > 0, "D has real lines, prices and calls to compare"
    assert later > 0, "the build went past D, so later data was there to leak"
    assert _day_rows(perturbed, PROP_FEATURES_TABLE) == features
    assert _day_rows(perturbed, PREDICTIONS_TABLE) == predictions
    # the perturbation did change what it touched: later days' rows differ
    with duckdb.connect(str(perturbed / "nba.duckdb"), read_only=True) as con:
        changed = con.execute(f"SELECT count(*) FROM {PREDICTIONS_TABLE} WHERE game_date > ?", [D]).fetchall()[0][0]
    assert changed != later or _later_rows(perturbed) != _later_rows(built)


def _later_rows(data_dir: Path) -> list[tuple]:
    with duckdb.connect(str(data_dir / "nba.duckdb"), read_only=True) as con:
        return con.execute(f"SELECT * EXCLUDE (run_id, ingested_at) FROM {PROP_FEATURES_TABLE} WHERE game_date > ? "
                           "ORDER BY ALL", [D]).fetchall()


def test_the_ensemble_weights_of_a_date_use_only_errors_published_before_its_cutoff(built) -> None:
    with duckdb.connect(str(built / "nba.duckdb"), read_only=True) as con:
        cutoff = LeagueCalendar.load(con).cutoff(D)
        # the fitted weights are the components of a row every system predicted (a row's components are the
        # weights it used: renormalised over the systems present)
        weights = dict(con.execute(
            f"""SELECT DISTINCT e.target, e.components FROM {PREDICTIONS_TABLE} e
            WHERE e.game_date = ? AND e.system = 'ensemble'
              AND (SELECT count(*) FROM {PREDICTIONS_TABLE} s WHERE s.player_id = e.player_id AND s.game_date = e.game_date
                   AND s.target = e.target AND s.system <> 'ensemble') = 3""", [D]).fetchall())
        # independently: every weighting of the grid on the last 30 game days before D, results as known at the cutoff
        rows = con.execute(f"""
            WITH p AS (SELECT game_date, game_id, player_id, target,
                              max(predicted_value) FILTER (WHERE system = 'baseline') AS b,
                              max(predicted_value) FILTER (WHERE system = 'gbm') AS g,
                              max(predicted_value) FILTER (WHERE system = 'heuristic') AS h
                       FROM {PREDICTIONS_TABLE} WHERE game_date < $d GROUP BY ALL),
            days AS (SELECT DISTINCT p.game_date FROM p JOIN analytics.player_game_summary_versions a
                       ON a.player_id = p.player_id AND a.game_id = p.game_id AND a.known_at < $cutoff
                     ORDER BY p.game_date DESC LIMIT 30)
            SELECT p.target, p.b, p.g, p.h,
                   CASE p.target WHEN 'pts' THEN a.pts WHEN 'reb' THEN a.reb WHEN 'ast' THEN a.ast ELSE a.fg3m END
            FROM p JOIN analytics.player_game_summary_versions a ON a.player_id = p.player_id AND a.game_id = p.game_id
             AND a.known_at < $cutoff AND (a.superseded_at IS NULL OR a.superseded_at >= $cutoff)
            WHERE p.game_date IN (SELECT game_date FROM days)""", {"d": D, "cutoff": cutoff}).fetchall()
    for target, components in weights.items():
        got = {k: float(v) for k, v in (part.split(":") for part in components.split("+"))}
        best = None
        for wb in range(21):
            for wg in range(21 - wb):
                w = {"baseline": wb / 20, "gbm": wg / 20, "heuristic": (20 - wb - wg) / 20}
                errors = []
                for t, b, g, h, actual in rows:
                    if t != target:
                        continue
                    present = [(w[s], v) for s, v in (("baseline", b), ("gbm", g), ("heuristic", h)) if v is not None]
                    den = sum(x for x, _ in present)
                    if den > 0:
                        errors.append(abs(sum(x * v for x, v in present) / den - actual))
                    elif present:  # every weight on systems absent: the ones present, equally
                        errors.append(abs(sum(v for _, v in present) / len(present) - actual))
                mae = sum(errors) / len(errors)
                if best is None or mae < best[0] - 1e-9:
                    best = (mae, w)
        assert got == pytest.approx(best[1]), target


def test_every_row_some_system_predicted_has_an_ensemble_at_the_weights_it_used(built) -> None:
    """With the fitted weights all on a system absent from a row (the baseline on a player's first game
    of a season), the row had no ensemble: the systems present now share the weight equally."""
    with duckdb.connect(str(built / "nba.duckdb"), read_only=True) as con:
        rows = con.execute(f"""
            SELECT k.player_id, k.game_date, k.target, e.predicted_value, e.components, list(s.system),
                   list(s.predicted_value)
            FROM (SELECT DISTINCT player_id, game_date, target FROM {PREDICTIONS_TABLE} WHERE system <> 'ensemble') k
            LEFT JOIN {PREDICTIONS_TABLE} e ON e.player_id = k.player_id AND e.game_date = k.game_date
                 AND e.target = k.target AND e.system = 'ensemble'
            JOIN {PREDICTIONS_TABLE} s ON s.player_id = k.player_id AND s.game_date = k.game_date
                 AND s.target = k.target AND s.system <> 'ensemble'
            GROUP BY ALL""").fetchall()
    assert rows and all(r[3] is not None for r in rows), "every row some system predicted has an ensemble"
    for *_, value, components, systems, values in rows:
        used = {k: float(v) for k, v in (part.split(":") for part in components.split("+"))}
        assert sum(used.values()) == pytest.approx(1, abs=0.02) and set(k for k, w in used.items() if w) <= set(systems)
        assert value == pytest.approx(sum(used[s] * v for s, v in zip(systems, values)), abs=0.01 + 0.01 * abs(value))


def test_a_call_is_never_made_on_an_estimated_line_or_without_a_positive_ev(built) -> None:
    with duckdb.connect(str(built / "nba.duckdb"), read_only=True) as con:
        bad = con.execute(f"""SELECT count(*) FROM {PREDICTIONS_TABLE} WHERE recommendation <> 'PASS'
                              AND (line_source <> 'prop_consensus' OR ev IS NULL OR ev <= 0
                                   OR over_odds IS NULL OR under_odds IS NULL)""").fetchall()[0][0]
        calls = con.execute(f"SELECT count(*) FROM {PREDICTIONS_TABLE} WHERE recommendation <> 'PASS'").fetchall()[0][0]
    assert bad == 0 and calls > 0


def test_predict_shows_each_call_at_the_price_and_ev_of_its_side(built, copy_warehouse, run_cli, tmp_path) -> None:
    """A call below ½ confidence (an UNDER at +118, p 0.46) reads right only beside its odds and EV."""
    data_dir = copy_warehouse(built, tmp_path / "wh")
    out = run_cli(["predict", "--date", str(D), "--json"], data_dir)  # the built archive: links to the bundled one
    rows = json.loads(out.stdout)["predictions"]
    with duckdb.connect(str(data_dir / "nba.duckdb"), read_only=True) as con:
        prices = {(r[0], r[1]): r[2:] for r in con.execute(
            f"SELECT player_id, target, over_odds, under_odds, ev FROM {PREDICTIONS_TABLE} "
            "WHERE game_date = ? AND system = 'ensemble'", [D]).fetchall()}
    calls = [p for p in rows if p["recommendation"] != "PASS"]
    assert calls and all(p["call_odds"] is None and p["ev"] is None for p in rows if p["recommendation"] == "PASS")
    for p in calls:
        over, under, ev = prices[p["player_id"], p["target"]]
        assert p["call_odds"] == (over if p["recommendation"] == "OVER" else under)
        assert p["ev"] == pytest.approx(ev, abs=5e-4) and ev > 0
    table = run_cli(["predict", "--date", str(D)], data_dir).output
    assert "odds" in table and "EV %" in table


@given(p=st.floats(0.01, 0.99), over=st.sampled_from([-250.0, -150.0, -110.0, 100.0, 120.0, 200.0]),
       under=st.sampled_from([-250.0, -150.0, -110.0, 100.0, 120.0, 200.0]),
       source=st.sampled_from(["prop_consensus", "estimated", "shadow"]),
       form=st.sampled_from(["complete", "partial", "prior_only", "stale", "none"]),
       market=st.floats(0.05, 0.95), fit=st.one_of(st.none(), st.tuples(*[st.floats(-1, 1)] * 3)))
def test_the_served_rule_calls_a_side_only_when_its_ev_is_positive_and_states_a_confidence_only_where_calibrated(
        p, over, under, source, form, market, fit) -> None:
    import math
    sigma = 2.0
    mean = 5.5 - sigma * math.sqrt(2) * _erfinv(1 - 2 * p)  # P(X > 5.5) = p under Normal(mean, sigma)
    b = fit or (None, None, None)
    row = (f"SELECT {mean} AS predicted_value, 'pts' AS target, 5.5 AS line_value, '{source}' AS line_source, "
           f"{over} AS over_odds, {under} AS under_odds, {market} AS market_p_over, {mean} AS dist_mean, "
           f"{sigma} AS dist_sigma, NULL::DOUBLE AS dist_alpha, '{form}' AS form_quality, "
           + ", ".join(f"{'NULL' if v is None else v}::DOUBLE AS calibration_b{i}" for i, v in enumerate(b)))
    rec, model_p, p_over, ev, confidence = duckdb.sql(
        f"SELECT recommendation, model_p_over, p_over, ev, confidence FROM ({recommendation_sql(row)})").fetchall()[0]
    assert model_p == pytest.approx(p, abs=1e-6)
    if fit is not None:
        logit = lambda q: math.log(q / (1 - q))  # noqa: E731
        p = 1 / (1 + math.exp(-(fit[0] + fit[1] * logit(p) + fit[2] * logit(market))))
    assert p_over == pytest.approx(p, abs=1e-6)
    dec = {s: 1 + 100 / -o if o < 0 else 1 + o / 100 for s, o in (("OVER", over), ("UNDER", under))}
    ev_side = {"OVER": p * dec["OVER"] - 1, "UNDER": (1 - p) * dec["UNDER"] - 1}
    if rec == "PASS":
        assert source == "estimated" or form in ("stale", "none") or fit is None or max(ev_side.values()) <= 1e-6
    else:
        assert source != "estimated" and form not in ("stale", "none") and fit is not None
        other = {"OVER": "UNDER", "UNDER": "OVER"}[rec]
        assert ev == pytest.approx(ev_side[rec], abs=1e-6) and ev > 0 and ev >= ev_side[other] - 1e-6
        assert confidence == pytest.approx(p if rec == "OVER" else 1 - p, abs=1e-6)
    if fit is None or form in ("stale", "none"):  # an uncalibrated P(over), or one without form, is no confidence
        assert confidence is None
    elif rec == "PASS":
        assert confidence == pytest.approx(max(p, 1 - p), abs=1e-6)


def _erfinv(y: float) -> float:
    """Inverse error function by bisection (test helper)."""
    import math
    lo, hi = -6.0, 6.0
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if math.erf(mid) < y else (lo, mid)
    return (lo + hi) / 2


def test_the_report_s_intervals_come_from_a_fixed_seed_and_hold_their_estimate(built, run_cli) -> None:
    with duckdb.connect(str(built / "nba.duckdb"), read_only=True) as con:
        first, second = (quality_report(con, season="2024-25").as_dict() for _ in range(2))
        independent = dict(((s, t), (mae, base)) for s, t, mae, base in con.execute(
            """SELECT system, target, avg(abs_error), avg(abs(baseline_value - actual_value))
               FROM predictions.evaluation WHERE season = '2024-25' AND baseline_value IS NOT NULL GROUP BY ALL"""
        ).fetchall())
    assert first == second
    report = quality_report(duckdb.connect(str(built / "nba.duckdb"), read_only=True), season="2024-25")
    assert {(a.system, a.target) for a in report.accuracy} == set(independent)
    for a in report.accuracy + report.breakdowns:
        for interval in (a.mae, a.baseline_mae, a.gain_pct):  # none under MIN_BOOTSTRAP_DAYS game days
            assert (interval.low <= interval.value <= interval.high if a.days >= MIN_BOOTSTRAP_DAYS
                    else interval.value is not None and interval.low is interval.high is None), a
        if a.group == "all":
            assert (a.mae.value, a.baseline_mae.value) == pytest.approx(independent[(a.system, a.target)])
    assert any(b.bets > 0 and b.consensus_bets > 0 for b in report.betting)
    for b in report.betting:
        for interval in (b.hit_rate, b.roi, b.consensus_hit_rate, b.consensus_roi):
            assert interval.value is None or not interval.measured or interval.low <= interval.value <= interval.high
    result = run_cli(["report", "predictions", "--season", "2024-25", "--target", "fg3m", "--json"], built)
    assert result.exit_code == 0, result.output
    for args, message in ((["--target", "blocks"], "--target 'blocks'"), (["--season", "2024"], "season label"),
                          (["--start", "2024-11-05", "--end", "2024-11-01"], "is after --end"),
                          (["--start", "yesterday"], "is not a date")):
        bad = run_cli(["report", "predictions", *args], built)
        assert bad.exit_code == 2 and message in bad.output and "Traceback" not in bad.output


def test_a_warehouse_at_schema_30_gets_migration_10_and_is_older_until_then(tmp_path) -> None:
    from nbadb.errors import WarehouseError
    from nbadb.warehouse.connection import open_warehouse
    from nbadb.warehouse.migrations import MIGRATIONS, apply_migrations, current_version

    path = tmp_path / "nba.duckdb"
    with duckdb.connect(str(path)) as con:
        apply_migrations(con, path, tuple(m for m in MIGRATIONS if m.version != 10))
        assert current_version(con) == 30
    with pytest.raises(WarehouseError, match="older than this nbadb's"):
        open_warehouse(path, read_only=True)
    con = open_warehouse(path)
    try:
        assert {v for (v,) in con.execute("SELECT version FROM ops.schema_migrations").fetchall()} >= {9, 10, 30}
        assert con.execute(f"SELECT count(*) FROM {PROP_FEATURES_TABLE}").fetchall() == [(0,)]
    finally:
        con.close()
    open_warehouse(path, read_only=True).close()
