"""The six strategic flags (rollout.flags) and the rollout commands' arguments, through the real CLI."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from nbadb.rollout.flags import FLAG_NAMES, SHADOW_FLAG, TRACK_FLAGS


@pytest.fixture
def clean_flags(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No flag from the caller's environment, and no nbadb.toml in the working folder."""
    for name in (*FLAG_NAMES, "NBADB_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_every_flag_is_false_by_default_and_says_it_came_from_the_default(run_cli, tmp_path: Path, clean_flags) -> None:
    result = run_cli(["flags", "--json"], tmp_path)
    assert result.exit_code == 0, result.output
    flags = json.loads(result.stdout)
    assert [f["name"] for f in flags] == list(FLAG_NAMES)
    assert {(f["enabled"], f["origin"]) for f in flags} == {(False, "default")}


def test_a_flag_comes_from_the_environment_before_the_config_file_and_each_origin_is_shown(
        run_cli, tmp_path: Path, clean_flags, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "rollout.toml"
    config.write_text(f'[strategic]\n{TRACK_FLAGS["storage"]} = true\n{SHADOW_FLAG} = true\n')
    monkeypatch.setenv("NBADB_CONFIG_FILE", str(config))
    monkeypatch.setenv(SHADOW_FLAG, "false")
    flags = {f["name"]: f for f in json.loads(run_cli(["flags", "--json"], tmp_path).stdout)}
    assert (flags[TRACK_FLAGS["storage"]]["enabled"], flags[TRACK_FLAGS["storage"]]["origin"],
            flags[TRACK_FLAGS["storage"]]["source"]) == (True, "config file", str(config))
    assert (flags[SHADOW_FLAG]["enabled"], flags[SHADOW_FLAG]["origin"]) == (False, "environment")


@pytest.mark.parametrize("setting", [
    {TRACK_FLAGS["storage"]: "maybe"},
    {"NBADB_CONFIG_FILE": "/nonexistent/nbadb.toml"},
])
def test_a_bad_flag_value_or_config_file_is_one_line_and_exit_2(run_cli, tmp_path: Path, clean_flags, no_traceback,
                                                                   monkeypatch: pytest.MonkeyPatch, setting) -> None:
    for name, value in setting.items():
        monkeypatch.setenv(name, value)
    result = run_cli(["flags"], tmp_path)
    assert result.exit_code == 2 and no_traceback(result)
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_config_file_that_is_not_utf8_is_one_line_and_exit_2(run_cli, tmp_path: Path, clean_flags, no_traceback,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """It ended in a UnicodeDecodeError traceback."""
    config = tmp_path / "nbadb.toml"
    config.write_bytes(b"\xff\xfe")
    monkeypatch.setenv("NBADB_CONFIG_FILE", str(config))
    result = run_cli(["flags"], tmp_path)
    assert result.exit_code == 2 and no_traceback(result)
    assert result.stderr.startswith(f"error: config file {config}: 'utf-8' codec can't decode")


@pytest.mark.parametrize("share", ["\u00b2", "\u0663", "101", "-1", "50%"])
def test_a_read_share_that_is_not_a_whole_percentage_is_a_config_error(monkeypatch: pytest.MonkeyPatch, share) -> None:
    """'²' passed str.isdigit and ended in a ValueError traceback."""
    from nbadb.errors import ConfigError
    from nbadb.rollout.routing import READ_SHARE_VARIABLE, read_share

    monkeypatch.setenv(READ_SHARE_VARIABLE, share)
    with pytest.raises(ConfigError, match="give a whole percentage from 0 to 100"):
        read_share()


def test_a_config_file_with_an_unknown_flag_is_refused_naming_its_table_as_written(
        run_cli, tmp_path: Path, clean_flags, monkeypatch: pytest.MonkeyPatch) -> None:
    """The error said "unknown flag ... in ;": the console read "[strategic]" as a style tag."""
    config = tmp_path / "nbadb.toml"
    config.write_text("[strategic]\ntrack_storage_v2_enabled = true\n")
    monkeypatch.setenv("NBADB_CONFIG_FILE", str(config))
    result = run_cli(["flags"], tmp_path)
    assert result.exit_code == 2
    assert "unknown flag 'track_storage_v2_enabled' in [strategic]; the flags are" in " ".join(result.stderr.split())


@pytest.mark.parametrize("args", [
    ["rollout", "advance", "warehouse", "--by", "ann"],
    ["rollout", "signoff", "storage", "lunch", "--by", "ann"],
    ["rollout", "signoff", "storage", "plan", "--by", " "],
    ["rollout", "incident", "storage", "--severity", "P9", "--note", "x", "--by", "ann"],
    ["rollout", "incident", "storage", "--severity", "P3", "--note", "", "--by", "ann"],
    ["rollout", "resolve", "nope", "--by", "ann"],
    ["rollout", "rollback", "storage", "--by", "ann"],
    ["rollout", "parity", "--track", "lake"],
])
def test_rollout_commands_refuse_bad_arguments_in_one_line_with_exit_2(run_cli, tmp_path: Path, clean_flags,
                                                                        no_traceback, args) -> None:
    result = run_cli(args, tmp_path)
    assert result.exit_code == 2 and no_traceback(result), result.output
    assert result.stderr.startswith("error:")
    assert not (tmp_path / "control.duckdb").exists(), "a refused argument creates no control plane"


def test_an_advance_without_evidence_is_refused_with_exit_7_naming_every_missing_item_and_kept_in_the_audit(
        run_cli, tmp_path: Path, clean_flags) -> None:
    result = run_cli(["rollout", "advance", "storage", "--by", "ann"], tmp_path)
    assert result.exit_code == 7
    for missing in ("flags_present", "flag_path_check", "plan_acknowledged"):
        assert missing in result.stderr
    audit = json.loads(run_cli(["rollout", "audit", "--json"], tmp_path).stdout)
    assert [(a["action"], a["actor"], a["from_phase"], a["to_phase"]) for a in audit] == [("refused", "ann", 0, 1)]
    assert {e["item"]: e["met"] for e in audit[0]["evidence"]}["plan_acknowledged"] is False
    flags = next(e for e in audit[0]["evidence"] if e["item"] == "flags_present")
    assert flags["observed"] == ("false: NBADB_STRATEGIC_TRACK_STORAGE_V2_ENABLED, "
                                 "NBADB_STRATEGIC_PHASE_1_SHADOW_MODE_ENABLED")  # the flags still to turn on


def test_with_every_flag_false_a_replay_touches_neither_the_control_plane_nor_a_lake(
        run_cli, tmp_path: Path, clean_flags) -> None:
    day = date(2023, 11, 1)
    result = run_cli(["replay", "--season", "2023-24", "--start", str(day), "--end", str(day), "--json"], tmp_path)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "nba.duckdb").is_file()
    assert not (tmp_path / "control.duckdb").exists() and not (tmp_path / "lake").exists()
