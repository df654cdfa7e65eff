"""Manifests: every run through the executor leaves one JSON file under <data dir>/manifests/runs/
that agrees with its ledger row and with the rows it wrote; `nbadb manifest RUN_ID` prints it."""

from __future__ import annotations

import json


def test_every_run_has_a_manifest_that_agrees_with_the_ledger_and_the_rows_it_wrote(early_november, db, run_cli):
    folder = early_november / "manifests" / "runs"
    with db(early_november) as con:
        ledger = con.execute("SELECT run_id, processor, status, rows_written, code_version, run_as_of_ts, error "
                             "FROM ops.processor_runs").fetchall()
        written = next(r for r in ledger if r[1] == "analytics.player_game_summary" and r[3])
        held = con.execute("SELECT count(*), md5(string_agg(row_hash, '' ORDER BY row_hash)) "
                           "FROM analytics.player_game_summary WHERE run_id = ?", [written[0]]).fetchall()[0]
    assert {p.stem for p in folder.glob("*.json")} == {r[0] for r in ledger}
    for run_id, processor, status, rows, code, as_of, error in ledger:
        manifest = json.loads((folder / f"{run_id}.json").read_text())
        assert (manifest["processor"], manifest["status"], manifest["output"]["rows_written"], manifest["error"]) == (
            processor, status, rows, error)
        assert manifest["code_versions"]["processor"] == code and manifest["run_as_of_ts"] == str(as_of)
        assert all({"rows", "max_known_at", "latest_run_id"} <= set(v) for v in manifest["inputs"].values())
    summary = json.loads((folder / f"{written[0]}.json").read_text())
    assert (summary["output"]["rows_held_by_run"], summary["output"]["content_hash"]) == held
    assert summary["inputs"]["raw.player_boxscores"]["rows"] > 0

    shown = run_cli(["manifest", written[0]], early_november)
    assert shown.exit_code == 0 and json.loads(shown.stdout) == summary
