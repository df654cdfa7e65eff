"""Phase 5 through the real engine on the replayed window (conftest.replayed_window): per-system
breakers with fault injection, gbm trained once per season before its opener (and stored), the
prediction quality report, `nbadb predict` against the bundled 2025-26 prop lines."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from nbadb.config import BUNDLED_ARCHIVE, Settings
from nbadb.engine import breakers
from nbadb.engine.clock import morning
from nbadb.engine.request import RunRequest
from nbadb.monitor.prediction_quality import quality_report
from nbadb.orchestrate.workspace import open_workspace
from nbadb.pipeline import predictions
from nbadb.pipeline.systems import gbm, model_store, negative_binomial

PREDICTIONS = predictions.PLAYER_PROP_PREDICTIONS.name
GBM_BREAKER = f"{PREDICTIONS}:gbm"
PROP_DAY = date(2025, 11, 5)  # bundled 2025-26 prop lines; no box score of that season exists


def _game_days(data_dir: Path, db, n: int) -> list[date]:
    with db(data_dir) as con:
        rows = con.execute(
            f"SELECT DISTINCT game_date FROM {PREDICTIONS} WHERE game_date >= DATE '2023-10-30' ORDER BY 1 LIMIT $n",
            {"n": n},
        ).fetchall()
    return [d for (d,) in rows]


def _predict(ws, day: date, clock: datetime):
    """Redo `day`'s predictions at `clock`, an instant before the day's cutoff (so the day is not frozen)."""
    return ws.engine.run(RunRequest(PREDICTIONS, day, day, force=True, run_as_of_ts=clock))


def _worker_row(con, run_id: str) -> dict[str, object]:
    cursor = con.execute("SELECT * FROM ops.prediction_worker_runs WHERE run_id = ?", [run_id])
    names = [d[0] for d in cursor.description]
    return dict(zip(names, cursor.fetchall()[0]))


def _breaker_in_subprocesses(db_path: Path, count: int) -> list[dict[str, object]]:
    """The gbm breaker as `count` fresh processes, started together, read it from the file."""
    code = (
        "import duckdb, json, sys; from nbadb.engine import breakers;"
        f"con = duckdb.connect(sys.argv[1], read_only=True); b = breakers.read(con, {GBM_BREAKER!r});"
        "print(json.dumps({'state': b.state, 'failures': b.consecutive_failures, 'retry_at': str(b.retry_at)}))"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(db_path)], stdout=subprocess.PIPE, text=True)
             for _ in range(count)]
    return [json.loads(p.communicate(timeout=60)[0]) for p in procs]


def test_a_faulty_system_opens_its_breaker_while_the_others_keep_predicting(
    replayed_window, copy_warehouse, db, tmp_path: Path
) -> None:
    data_dir = copy_warehouse(replayed_window.data_dir, tmp_path / "wh")
    days = _game_days(data_dir, db, 7)
    base = dict(data_dir=data_dir, archive_dir=BUNDLED_ARCHIVE, breaker_failures_to_open=3,
                breaker_successes_to_close=2, breaker_timeout_seconds=1.0)
    faulty = Settings(**base, fault_systems="gbm")
    t0 = morning(days[0])  # the breakers count on the runs' clock: these runs happen a second apart
    at = [t0 + timedelta(seconds=s) for s in range(8)]
    with open_workspace(BUNDLED_ARCHIVE, settings=faulty) as ws:
        failing = [_predict(ws, d, at[i]) for i, d in enumerate(days[:3])]
        assert [r.status for r in failing] == ["partial"] * 3
        rows = [_worker_row(ws.con, r.run_id) for r in failing]
        assert all(r["systems_failed"] == ["gbm"] and r["systems_succeeded"] == ["baseline", "heuristic"]
                   for r in rows)
        assert "fault injected into part gbm" in json.loads(rows[0]["errors"])["gbm"]
        assert [r["breakers_opened"] for r in rows] == [[], [], ["gbm"]]
        assert breakers.read(ws.con, GBM_BREAKER).state == "OPEN"

        skipped = _predict(ws, days[3], at[2] + timedelta(seconds=0.5))  # open: gbm is not tried, the others write
        assert skipped.status == "partial"
        assert _worker_row(ws.con, skipped.run_id)["systems_skipped_open"] == ["gbm"]
        written = dict(ws.con.execute(
            f"SELECT system, count(*) FROM {PREDICTIONS} WHERE game_date = ? GROUP BY 1", [days[3]]).fetchall())
        assert "gbm" not in written and written["baseline"] > 0 and written["heuristic"] > 0
        either = ws.con.execute(  # the ensemble of what succeeded: a row wherever one of them predicted
            f"SELECT count(DISTINCT (player_id, target)) FROM {PREDICTIONS} WHERE game_date = ? "
            "AND system IN ('baseline', 'heuristic')", [days[3]]).fetchall()[0][0]
        assert written["ensemble"] == either
        ledger = ws.con.execute("SELECT status, decisions_made FROM ops.processor_runs WHERE run_id = ?",
                                [failing[2].run_id]).fetchall()[0]
        assert ledger[0] == "partial" and "breaker predictions.player_prop_predictions:gbm opened" in ledger[1]
        assert skipped.metrics.rows_written > 0

    # The state is in the warehouse file: fresh processes, started together, read the same OPEN row.
    seen = _breaker_in_subprocesses(data_dir / "nba.duckdb", 2)
    assert seen[0] == seen[1] and seen[0]["state"] == "OPEN" and seen[0]["failures"] == 3

    with open_workspace(BUNDLED_ARCHIVE, settings=Settings(**base)) as ws:  # the timeout passes; the fault is gone
        assert breakers.read(ws.con, GBM_BREAKER).state_at(at[4]) == "HALF_OPEN"
        probe = _predict(ws, days[4], at[4])
        assert probe.status == "success"
        assert breakers.read(ws.con, GBM_BREAKER).state == "HALF_OPEN"  # 1 of 2 successes
        closing = _predict(ws, days[5], at[5])
        assert closing.status == "success"
        closed = breakers.read(ws.con, GBM_BREAKER)
        assert closed.state == "CLOSED" and closed.times_opened == 1
        assert ws.con.execute(f"SELECT count(*) FROM {PREDICTIONS} WHERE game_date = ? AND system = 'gbm'",
                              [days[5]]).fetchall()[0][0] > 0
        # a date a partial run left without gbm is redone by a plain run, neither skipped by the
        # data-version shortcut (an earlier complete run covered it) nor by its old signatures
        healed = ws.engine.run(RunRequest(PREDICTIONS, days[0], days[0], run_as_of_ts=at[6]))
        assert healed.status == "success", healed.decisions
        assert ws.con.execute(f"SELECT count(*) FROM {PREDICTIONS} WHERE game_date = ? AND system = 'gbm'",
                              [days[0]]).fetchall()[0][0] > 0
    assert _breaker_in_subprocesses(data_dir / "nba.duckdb", 1)[0]["state"] == "CLOSED"


def test_a_run_whose_systems_all_fail_is_failed_and_still_counts_on_every_breaker(
    replayed_window, copy_warehouse, db, tmp_path: Path
) -> None:
    data_dir = copy_warehouse(replayed_window.data_dir, tmp_path / "wh")
    day = _game_days(data_dir, db, 1)[0]
    settings = Settings(data_dir=data_dir, archive_dir=BUNDLED_ARCHIVE, fault_systems="baseline,heuristic,gbm")
    with open_workspace(BUNDLED_ARCHIVE, settings=settings) as ws:
        before = ws.con.execute(f"SELECT count(*) FROM {PREDICTIONS} WHERE game_date = ?", [day]).fetchall()
        result = _predict(ws, day, morning(day))
        assert result.status == "failed" and "every part that ran failed" in result.error
        row = _worker_row(ws.con, result.run_id)
        assert row["status"] == "failed" and sorted(row["systems_failed"]) == ["baseline", "gbm", "heuristic"]
        assert {b.key: b.consecutive_failures for b in breakers.list_breakers(ws.con, "system")} == {
            f"{PREDICTIONS}:{s}": 1 for s in ("baseline", "gbm", "heuristic")}
        assert ws.con.execute(f"SELECT count(*) FROM {PREDICTIONS} WHERE game_date = ?", [day]).fetchall() == before


def test_a_failed_probe_reopens_with_a_doubled_timeout() -> None:
    policy = breakers.BreakerPolicy(failures_to_open=2, successes_to_close=2, timeout_seconds=60,
                                    max_timeout_seconds=150)
    t = datetime(2024, 1, 1)
    b = breakers.Breaker("k", "system")
    for _ in range(2):
        b = breakers.next_state(b, policy, ok=False, error="x", now=t).after
    assert b.state == "OPEN" and b.retry_at == t + timedelta(seconds=60)
    for expected in (120, 150, 150):  # each failed probe doubles the timeout, up to the cap
        t = b.retry_at
        transition = breakers.next_state(b, policy, ok=False, error="x", now=t)
        assert transition.before == "HALF_OPEN" and transition.opened
        b = transition.after
        assert b.retry_at - b.opened_at == timedelta(seconds=expected)


def test_the_nb2_median_equals_scipys_on_a_grid_of_means_and_dispersions() -> None:
    import numpy as np
    from scipy.stats import nbinom

    rng = np.random.default_rng(7)
    means = np.concatenate([np.linspace(0.0, 12.0, 2401), rng.uniform(0.0, 12.0, 2000), [1e-9, 1e-3]])
    for alpha in np.concatenate([negative_binomial.ALPHA_BOUNDS, np.geomspace(1e-4, 5.0, 40),
                                 rng.uniform(1e-4, 5.0, 40)]):
        r = 1.0 / alpha
        expected = nbinom.median(r, r / (r + np.maximum(means, 1e-9)))
        assert np.array_equal(negative_binomial.median(means, alpha), expected), alpha


def test_gbm_is_trained_once_per_season_before_its_opener_stored_and_never_falls_back(replayed_window, db) -> None:
    with db(replayed_window.data_dir) as con:
        rows = con.execute(
            f"""SELECT season, training_cutoff, any_value(training_rows), count(DISTINCT model_version),
                       list(DISTINCT model_version ORDER BY model_version)
            FROM {PREDICTIONS} WHERE system = 'gbm' GROUP BY ALL"""
        ).fetchall()
        assert len(rows) == 1, "one model set for the season, whatever the runs' batching"
        season, opener, training_rows, models, versions = rows[0]
        assert season == "2023-24" and models == 4  # one model per target
        first = con.execute(f"SELECT min(game_date) FROM {gbm_features_table()} WHERE season = ?",
                            [season]).fetchall()[0][0]
        assert opener == first
        # independently: feature rows of the two seasons before, before the opener, whose player played
        expected = con.execute(
            f"""SELECT count(*) FROM {gbm_features_table()} f
            JOIN analytics.player_game_summary a ON a.player_id = f.player_id AND a.game_id = f.game_id AND a.minutes > 0
            WHERE f.game_date < ? AND f.season IN ('2022-23', '2021-22')""", [opener]).fetchall()[0][0]
        assert training_rows == expected >= gbm.MIN_TRAINING_ROWS
        # the first window run (2022-23, nothing before it) could not train: it said so, no breaker counted
        worker = con.execute("SELECT errors, systems_not_ready, systems_failed FROM ops.prediction_worker_runs "
                             "WHERE start_date = DATE '2023-03-27'").fetchall()
        assert "0 training rows before its opener" in json.loads(worker[0][0])["gbm"]
        assert sorted(worker[0][1]) == ["gbm", "heuristic"] and worker[0][2] == []  # no league prior either
        assert not con.execute(f"SELECT count(*) FROM {PREDICTIONS} WHERE system = 'gbm' "
                               "AND game_date BETWEEN DATE '2023-03-27' AND DATE '2023-04-09'").fetchall()[0][0]
    models_dir = Settings(data_dir=replayed_window.data_dir).models_dir / "gbm"  # the window's own store
    assert set(versions) <= {p.stem for p in models_dir.glob("*.pkl")}
    model = model_store.load(models_dir, versions[0])
    assert isinstance(model, gbm.Model) and model.rounds >= 1


def test_no_gbm_call_resets_lightgbms_process_wide_thread_count_under_a_neighbouring_fit(replayed_window, db) -> None:
    """LightGBM keeps one thread count for the whole process (LGBM_DEFAULT_NUM_THREADS): every call with
    parameters sets it, and a prediction without num_threads resets it to every core. gbm fits its models side
    by side, one thread each; a fg3m fit's probe prediction reset the count under a neighbouring fit, which then
    used per-thread buffers it never allocated: the nine-season backfill died of a segfault in lib_lightgbm.so.
    Every call of the system keeps the count at its fits' one thread."""
    import ctypes

    import lightgbm

    count = ctypes.c_int.in_dll(lightgbm.basic._LIB, "LGBM_DEFAULT_NUM_THREADS")
    with db(replayed_window.data_dir) as con:
        training = con.execute(predictions.training_rows_sql(gbm.TRAINING_SEASONS),
                               {"start": date(2023, 10, 24), "end": date(2023, 10, 24)}).pl()
    assert training.height >= gbm.MIN_TRAINING_ROWS
    for target in ("fg3m", "pts"):
        model = gbm.fit(training, target)
        assert count.value == gbm.PARAMETERS["num_threads"], target
        gbm.forecast(model, training.head(100), target)
        assert count.value == gbm.PARAMETERS["num_threads"], target


def gbm_features_table() -> str:
    from nbadb.pipeline.prop_features.processor import PROP_FEATURES_TABLE
    return PROP_FEATURES_TABLE


def test_the_report_equals_an_independent_recomputation(replayed_window, db, run_cli) -> None:
    """MAE, RMSE, bias and the baseline's MAE of `report predictions`, recomputed from the predictions, the box
    scores and the feature rows (the baseline is the season average so far), not from predictions.evaluation."""
    with db(replayed_window.data_dir) as con:
        report = quality_report(con, season="2023-24")
        expected = {
            (s, t): (n, mae, rmse, bias, base)
            for s, t, n, mae, rmse, bias, base in con.execute(
                f"""WITH joined AS (
                    SELECT p.system, p.target, p.predicted_value AS pred,
                           CASE p.target WHEN 'pts' THEN a.pts WHEN 'reb' THEN a.reb WHEN 'ast' THEN a.ast
                                ELSE a.fg3m END AS actual,
                           CASE p.target WHEN 'pts' THEN f.pg_s_pts WHEN 'reb' THEN f.pg_s_reb
                                WHEN 'ast' THEN f.pg_s_ast ELSE f.pg_s_fg3m END AS base
                    FROM {PREDICTIONS} p
                    JOIN analytics.player_game_summary a ON a.player_id = p.player_id AND a.game_id = p.game_id
                    JOIN {gbm_features_table()} f ON f.player_id = p.player_id AND f.game_date = p.game_date
                    WHERE p.season = '2023-24')
                SELECT system, target, count(*), avg(abs(pred - actual)), sqrt(avg((pred - actual) ^ 2)),
                       avg(pred - actual), avg(abs(base - actual))
                FROM joined WHERE base IS NOT NULL GROUP BY ALL"""
            ).fetchall()
        }
    assert len(report.accuracy) == len(expected) == 16  # 4 systems x 4 targets
    for a in report.accuracy:
        rows, mae, rmse, bias, base = expected[(a.system, a.target)]
        assert a.rows == rows
        assert (a.mae.value, a.rmse, a.bias, a.baseline_mae.value) == pytest.approx((mae, rmse, bias, base), rel=1e-9)
        assert a.gain_pct.value == pytest.approx(100 * (1 - mae / base), rel=1e-9)
    assert report.calibration == [] and not any(b.bets for b in report.betting)  # 2023-24 has no real prop lines
    result = run_cli(["report", "predictions", "--season", "2023-24", "--json"], replayed_window.data_dir)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["evaluated_rows"] == report.evaluated_rows


def test_a_report_of_too_few_game_days_gives_no_interval_and_no_verdict(replayed_window, run_cli) -> None:
    """A one-day window resampled one day: [+0.7, +0.7] intervals that never contain 0, labelled
    "better" or "worse"."""
    day = replayed_window.replayed[1]
    one_day = json.loads(run_cli(["report", "predictions", "--start", str(day), "--end", str(day), "--json"],
                                 replayed_window.data_dir).stdout)
    judged = [r for r in one_day["accuracy"] if r["system"] != "baseline"]
    assert judged and all(r["days"] == 1 and r["gain_pct"]["low"] is None and r["gain_pct"]["value"] is not None
                          and r["label"] == "too few game days to tell (under 7)" for r in judged)
    text = " ".join(run_cli(["report", "predictions", "--start", str(day), "--end", str(day)],
                            replayed_window.data_dir).output.split())
    assert "[-, -]" in text and " better " not in text and " worse " not in text


def test_predict_gives_calls_against_real_lines_and_the_matching_rate(
    replayed_window, copy_warehouse, run_cli, tmp_path: Path
) -> None:
    data_dir = copy_warehouse(replayed_window.data_dir, tmp_path / "wh")
    result = run_cli(["predict", "--date", str(PROP_DAY), "--json"], data_dir)
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["prop_match"]["total"] > 0 and 0.8 < out["prop_match"]["rate"] <= 1
    real = [p for p in out["predictions"] if p["line_source"] == "prop_consensus"]
    assert real and all(p["edge"] == pytest.approx(p["predicted"] - p["line"], abs=0.011) for p in real)
    # the warehouse's last games are of 2023: no form this season nor last, so no call is made on it
    assert all(p["form_quality"] in ("stale", "none") for p in real)
    assert {p["recommendation"] for p in out["predictions"]} == {"PASS"}
    table = run_cli(["predict", "--date", str(PROP_DAY)], data_dir)
    assert table.exit_code == 0 and "prop-line names matched to NBA player ids" in table.output
    assert "form age" in table.output  # the header wraps to "(days)" below it in a narrow terminal
    fg3m = json.loads(run_cli(["predict", "--date", str(PROP_DAY), "--target", "fg3m", "--call", "PASS", "--json"],
                              data_dir).stdout)
    assert fg3m["predictions"] == [p for p in out["predictions"] if p["target"] == "fg3m"]  # every call is a PASS
    assert fg3m["shown_of"] == len(out["predictions"]) > len(fg3m["predictions"]) > 0
    assert json.loads(run_cli(["predict", "--date", str(PROP_DAY), "--call", "OVER", "--json"],
                              data_dir).stdout)["predictions"] == []
    shown = " ".join(run_cli(["predict", "--date", str(PROP_DAY), "--target", "fg3m", "--limit", "1000"],
                             data_dir).output.split())
    assert f"shown: {len(fg3m['predictions'])} of the {len(out['predictions'])} predictions (target fg3m)" in shown
    # the table shows 40 rows unless told otherwise: it said "shown: <all fg3m rows>" beside 40 of them
    cut = " ".join(run_cli(["predict", "--date", str(PROP_DAY), "--target", "fg3m"], data_dir).output.split())
    assert (f"shown: 40 of the {len(fg3m['predictions'])} predictions with target fg3m, of the day's "
            f"{len(out['predictions'])} (--limit 40)") in cut


def test_predict_on_an_empty_warehouse_says_which_players_it_had_and_why_none_was_predicted(tmp_path: Path,
                                                                                           run_cli) -> None:
    """2025-26's lines place players (the franchises the product ships name their teams) but no one has
    a game in the warehouse: predict said "the feature store has no row for this day's players"."""
    out = json.loads(run_cli(["predict", "--date", str(PROP_DAY), "--json"], tmp_path).stdout)
    assert out["predictions"] == [] and out["feature_rows"] > 100
    text = " ".join(run_cli(["predict", "--date", str(PROP_DAY)], tmp_path).output.split())
    assert f"the feature store has {out['feature_rows']} players for this day and no system predicted any" in text


def test_a_system_that_cannot_predict_in_the_first_season_of_the_data_says_why_instead_of_succeeding(
    tmp_path: Path, run_cli, db
) -> None:
    """An archive of 2024-25 alone (a folder of one's own): the heuristic has no league prior (no earlier
    season) and gbm no training rows, so both are not ready, each with its reason; the baseline predicts."""
    from conftest import bundled_subset

    folder = bundled_subset(tmp_path / "archive", "player_game_logs_2024_25_through_2024-12-31.parquet",
                            "team_game_logs_2024_25_through_2024-12-31.parquet", "schedule_2024_25.parquet")
    data_dir = tmp_path / "data"
    ingested = run_cli(["ingest", "--start", "2024-10-22", "--end", "2024-10-25", "--archive", str(folder)], data_dir)
    assert ingested.exit_code == 0, ingested.output
    ran = run_cli(["run", "--date", "2024-10-25", "--backfill", "--json"], data_dir, archive=folder)
    assert ran.exit_code == 0, ran.output
    with db(data_dir) as con:
        workers = con.execute("SELECT systems_succeeded, systems_not_ready, errors FROM ops.prediction_worker_runs "
                              f"WHERE processor = '{PREDICTIONS}'").fetchall()
        written = dict(con.execute(f"SELECT system, count(*) FROM {PREDICTIONS} GROUP BY ALL").fetchall())
    assert workers and all(succeeded == ["baseline"] and sorted(not_ready) == ["gbm", "heuristic"]
                           for succeeded, not_ready, _ in workers)
    reasons = json.loads(workers[0][2])
    assert "season 2024-25 has no previous season" in reasons["heuristic"]
    assert "0 training rows before its opener" in reasons["gbm"]
    assert set(written) == {"baseline", "ensemble"} and written["baseline"] > 0

    # the report says which systems are missing from its days and why, not only what the others did
    report = json.loads(run_cli(["report", "predictions", "--json"], data_dir, archive=folder).stdout)
    with db(data_dir) as con:
        [(days, first, last)] = con.execute(
            "SELECT count(DISTINCT game_date), min(game_date), max(game_date) FROM predictions.evaluation").fetchall()
    assert days > 0 and [(n["system"], n["days"], n["first_day"], n["last_day"], n["reason"]) for n in report["not_ready"]] \
        == [(name, days, str(first), str(last), reasons[name]) for name in ("gbm", "heuristic")]
    only_gbm = run_cli(["report", "predictions", "--system", "gbm"], data_dir, archive=folder).stdout
    assert " ".join(only_gbm.split()).startswith(f"note: gbm has no prediction on {days} of these game days "
                                                 f"({first} to {last}): not ready, {reasons['gbm']}")

    # predict says the day's gbm predictions are missing while the others' are not, and why
    predicted = run_cli(["predict", "--date", "2024-10-25", "--system", "gbm", "--json"], data_dir, archive=folder)
    day = json.loads(predicted.stdout)
    with db(data_dir) as con:
        that_day = dict(con.execute(f"SELECT system, count(*) FROM {PREDICTIONS} WHERE game_date = '2024-10-25' "
                                    "GROUP BY ALL").fetchall())
    assert day["predictions"] == [] and day["predictions_by_system"] == that_day and "gbm" not in that_day
    assert "gbm" in day["systems"]["not_ready"] and reasons["gbm"] == day["systems"]["errors"]["gbm"]


def test_the_report_names_a_system_missing_from_days_its_prediction_run_counted_as_succeeded(
        replayed_window, copy_warehouse, run_cli, db, tmp_path: Path) -> None:
    """A run over several seasons records a system as succeeded when it predicted any of its days (gbm
    in the first season of a nine-season backfill), so the report reads who is missing from the
    evaluated predictions themselves: the baseline's rows of the window's last three game days taken
    out, the report names the baseline on those three days, with no reason recorded, beside the season's
    opening days (no season average before them: their replayed runs said so; the note blamed the run's
    counting)."""
    from nbadb.monitor.prediction_quality import NO_REASON_RECORDED

    data_dir = copy_warehouse(replayed_window.data_dir, tmp_path / "wh")

    def baseline_notes() -> list[dict]:
        report = json.loads(run_cli(["report", "predictions", "--season", "2023-24", "--json"], data_dir).stdout)
        return [n for n in report["not_ready"] if n["system"] == "baseline"]

    # the opener's two games, then a day of the other teams' first games
    opening = {"system": "baseline", "days": 2, "first_day": "2023-10-24", "last_day": "2023-10-25",
               "reason": "no season average yet: no player of these days has played a game of the season before them"}
    assert baseline_notes() == [opening]
    with db(data_dir, read_only=False) as con:
        last_days = [d for (d,) in con.execute("SELECT DISTINCT game_date FROM predictions.evaluation "
                                              "WHERE season = '2023-24' ORDER BY 1 DESC LIMIT 3").fetchall()]
        con.execute("DELETE FROM predictions.evaluation WHERE system = 'baseline' AND list_contains(?, game_date)",
                    [last_days])
    assert baseline_notes() == [opening, {"system": "baseline", "days": 3, "first_day": str(min(last_days)),
                                          "last_day": str(max(last_days)), "reason": NO_REASON_RECORDED}]


def test_predicting_a_day_without_games_says_so_instead_of_asking_for_earlier_days(tmp_path: Path, run_cli) -> None:
    """Election Day 2023 (2023-11-07) has no game: predict answered "no prop lines in the archive for
    this day" and "the feature store has no row for this day's players (ingest or replay the days
    before it first)", advice that could never help."""
    shown = run_cli(["predict", "--date", "2023-11-07"], tmp_path)
    assert shown.exit_code == 0 and shown.stdout.strip() == \
        "no game is scheduled on 2023-11-07 (the published schedule): nothing to predict", shown.output
    answer = json.loads(run_cli(["predict", "--date", "2023-11-07", "--json"], tmp_path).stdout)
    assert answer["games"] == 0 and answer["predictions"] == []
    game_day = json.loads(run_cli(["predict", "--date", "2023-11-08", "--json"], tmp_path).stdout)
    assert game_day["games"] > 0


def test_building_the_processor_graph_loads_no_prediction_system_library() -> None:
    """The systems' parts are declared by module name (pipeline.systems.parts): a command that only
    opens a warehouse (a no-op run, status) pays for neither polars, numpy nor LightGBM."""
    code = ("import sys; from nbadb.pipeline.registry import build_graph; build_graph('v1'); "
            "print(sorted({'polars', 'numpy', 'lightgbm'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    parts = {p.name: p for p in predictions.SYSTEM_PARTS}
    assert parts["gbm"].compute.module == gbm.__name__ and parts["baseline"].compute.module.endswith(".baseline")
