"""Staged provider rollouts end to end, on the real 2024-25 lines through the real engine.

Two replays of the same real 2024-25 days (the bundled 2024-25 files, with one book's lines
corrupted in a copy: bovada's lines shifted by 10 and every fifth of its prices NaN). In both,
betrivers and bovada are declared before the season; the five other books are never declared, so
they are served as always.
- without: the two stay disabled: their lines are never read;
- with: every night each of the two is advanced if its criteria pass (never forced): betrivers walks
  disabled -> dark -> shadow -> partial_active (half the games) -> full_active as its own
  measurements allow, and two days after it turned full, but not before ROLLBACK_NOT_BEFORE (so that
  some of its served lines carry calls and their results), it is rolled back to dark at 16:00 UTC,
  after that morning's predictions were made and before tip-off; bovada reaches dark (its feed
  offers lines) and is refused every night after.
The criteria are the defaults with at most two game days in a stage instead of five (three in
partial_active), and without
full_active's hit-rate edge (no call is made before the calibration has 400 earlier real-line rows),
set through the audited set-criteria, so the walk fits a short stretch.

What is served is compared column by column (lineage and gbm's model fingerprint aside: the
fingerprint names the training rows, whose line columns carry the served consensus of their day).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

import polars as pl
import pytest

from nbadb.config import BUNDLED_ARCHIVE
from nbadb.engine.clock import morning, night
from nbadb.errors import CriteriaNotMet
from nbadb.orchestrate.replay import morning_of, night_of
from nbadb.orchestrate.workspace import open_workspace
from nbadb.pipeline.provider_stages import Stage
from nbadb.rollout.providers import service
from nbadb.rollout.providers.criteria import criteria_in_force
from nbadb.warehouse.connection import duckdb_threads
from conftest import make_settings

BOOK, CORRUPTED = "betrivers", "bovada"
FIRST_DAY, LAST_DAY = date(2024, 10, 22), date(2024, 11, 11)
# Without history the first calls come on 2024-11-07 (a spread needs ensemble.MIN_DAYS game days of
# results, then the calibration 400 real-line rows with a probability): the book serves until then.
ROLLBACK_NOT_BEFORE = date(2024, 11, 9)
ROLLBACK_AT = time(16)  # UTC: after the morning's 15:00 snapshot, before the first tip-off
GAME_DAYS_IN_STAGE = 2
GAME_DAYS_IN_PARTIAL = 3  # the later partial days are served after the calibration has seen its share's results
PROPS = "props/player_threes_pregame_2024_25_through_2024-12-31.parquet"
SEASON_FILES = ("schedule_2024_25.parquet", "player_game_logs_2024_25_through_2024-12-31.parquet",
                "team_game_logs_2024_25_through_2024-12-31.parquet",
                "injuries/injury_transactions_2024_25_through_2024-12-31.parquet",
                "nba_api_payloads/commonallplayers_2025-26.json")
PREDICTIONS, CONTEXT = "predictions.player_prop_predictions", "analytics.upcoming_player_game_context"
SERVED = {
    PREDICTIONS: "player_id, game_date, game_id, target, system, predicted_value, "
                                           "line_value, line_source, edge, confidence, recommendation, form_quality",
    CONTEXT: "player_id, game_date, game_id, line_fg3m, books_fg3m, prop_lines_by_book",
}


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    """The bundled 2024-25 files; bovada's prop lines corrupted in the copy."""
    from conftest import bundled_subset

    folder = bundled_subset(tmp_path_factory.mktemp("archive_2024_25"), *SEASON_FILES)
    (folder / "props").mkdir()
    lines = pl.read_parquet(BUNDLED_ARCHIVE / PROPS).with_row_index("_i")
    bad = pl.col("BOOKMAKER") == CORRUPTED
    lines.with_columns(
        pl.when(bad).then(pl.col("LINE") + 10).otherwise(pl.col("LINE")).alias("LINE"),
        pl.when(bad & (pl.col("_i") % 5 == 0)).then(float("nan")).otherwise(pl.col("OVER_ODDS")).alias("OVER_ODDS"),
    ).drop("_i").write_parquet(folder / PROPS)
    return folder


@dataclass
class Rollout:
    data_dir: Path
    attempts: dict[str, list[tuple[date, str]]] = field(default_factory=dict)  # per book: (night, stage or refusal)
    rollback_day: date | None = None
    served_before_rollback: dict[str, set[tuple]] = field(default_factory=dict)  # per table, on the rollback's day

    def first_day_at(self, stage: Stage) -> date:
        """The first game day served with the book at `stage` (the night it advanced + 1)."""
        return next(d + timedelta(days=1) for d, outcome in self.attempts[BOOK] if outcome == stage.label)


def _shorter_stays(ws) -> None:
    for c in criteria_in_force(ws.con):
        days = GAME_DAYS_IN_PARTIAL if c.stage == Stage.FULL_ACTIVE else GAME_DAYS_IN_STAGE
        if c.min_game_days > days:
            service.set_criterion(ws, c.stage, c.metric, c.comparator, c.threshold, days, actor="tests")
    # calls (what hit_rate_edge measures) start once the calibration has 400 earlier real-line rows,
    # which a season's first two weeks without history do not give: this walk goes without that criterion
    service.set_criterion(ws, Stage.FULL_ACTIVE, "hit_rate_edge", None, None, None, actor="tests", drop=True)


def _attempt(ws, book: str, at: datetime) -> str:
    try:
        return service.advance(ws, "nba", book, actor="tests", at=at).entry.to_stage.label
    except CriteriaNotMet as refused:
        return str(refused)


def _replay(data_dir: Path, archive: Path, *, roll_out: bool) -> Rollout:
    """Replay FIRST_DAY..LAST_DAY as `nbadb replay` does (morning, pre-tip pass, night, downstream
    pass) with the two books declared; with `roll_out`, each advanced every night when its criteria
    pass and betrivers rolled back two days after it turned full."""
    rollout = Rollout(data_dir, {BOOK: [], CORRUPTED: []})
    with open_workspace(archive, settings=make_settings(data_dir, archive)) as ws, duckdb_threads(ws.con, 1):
        _shorter_stays(ws)
        for book in (BOOK, CORRUPTED):
            service.declare(ws, "nba", book, actor="tests", at=morning(FIRST_DAY) - timedelta(days=1))
        full_since: date | None = None
        day = FIRST_DAY
        while day <= LAST_DAY:
            staged, _, pre_tip = morning_of(ws, day)
            assert not [r for r in pre_tip if r.status == "failed"]
            if roll_out and full_since is not None and day >= max(full_since + timedelta(days=2), ROLLBACK_NOT_BEFORE) \
                    and rollout.rollback_day is None:
                rollout.served_before_rollback = {t: set(ws.con.execute(
                    f"SELECT {columns} FROM {t} WHERE game_date = ?", [day]).fetchall()) for t, columns in SERVED.items()}
                outcome = service.rollback(ws, "nba", BOOK, actor="tests", reason="test: take it back",
                                           at=datetime.combine(day, ROLLBACK_AT))
                assert not [r for r in outcome.runs if r.status == "failed"]
                rollout.rollback_day = day
            night_of(ws, day, staged)
            for book in (BOOK, CORRUPTED):
                if roll_out and Stage.FULL_ACTIVE.label not in (o for _, o in rollout.attempts[book]):
                    rollout.attempts[book].append((day, _attempt(ws, book, night(day))))
            if roll_out and rollout.attempts[BOOK][-1] == (day, Stage.FULL_ACTIVE.label):
                full_since = day + timedelta(days=1)
            day += timedelta(days=1)
    return rollout


@pytest.fixture(scope="module")
def without_rollout(tmp_path_factory, archive) -> Rollout:
    return _replay(tmp_path_factory.mktemp("without"), archive, roll_out=False)


@pytest.fixture(scope="module")
def with_rollout(tmp_path_factory, archive, without_rollout) -> Rollout:
    data_dir = tmp_path_factory.mktemp("with")
    (data_dir / "cache").symlink_to(without_rollout.data_dir / "cache")  # the archive's files checked once
    return _replay(data_dir, archive, roll_out=True)


def _served(db, data_dir: Path, table: str, start: date, end: date, columns: str | None = None) -> set[tuple]:
    with db(data_dir) as con:
        return set(con.execute(f"SELECT {columns or SERVED[table]} FROM {table} WHERE game_date BETWEEN ? AND ?",
                               [start, end]).fetchall())


def _in_share(game_id: str, share: float) -> bool:
    """The book's sticky share, computed here from its definition: md5("book|game") as a fraction."""
    return int(hashlib.md5(f"{BOOK}|{game_id}".encode()).hexdigest()[:8], 16) / 2**32 < share


def test_the_book_walks_every_stage_on_its_own_criteria(with_rollout) -> None:
    outcomes = [o for _, o in with_rollout.attempts[BOOK]]
    reached = [o for o in outcomes if o in {s.label for s in Stage}]
    assert reached == ["dark", "shadow", "partial_active", "full_active"], outcomes
    assert with_rollout.rollback_day is not None


def test_served_predictions_change_only_from_the_day_it_turns_partial_and_only_in_its_share(
        db, with_rollout, without_rollout) -> None:
    partial, full = with_rollout.first_day_at(Stage.PARTIAL_ACTIVE), with_rollout.first_day_at(Stage.FULL_ACTIVE)
    for table in SERVED:
        before = [_served(db, r.data_dir, table, FIRST_DAY, partial - timedelta(days=1))
                  for r in (with_rollout, without_rollout)]
        assert before[0] == before[1] and before[0], table  # disabled, dark, shadow: as if it were never read
    changed_games = {}
    for table in SERVED:
        with_it, without = (_served(db, r.data_dir, table, partial, full - timedelta(days=1))
                            for r in (with_rollout, without_rollout))
        changed_games[table] = {row[2] for row in with_it ^ without}
    assert changed_games[CONTEXT], "the partial days changed no consensus"
    assert all(_in_share(g, service.DEFAULT_SHARE) for games in changed_games.values() for g in games)
    with db(with_rollout.data_dir) as con:
        share_games = {g for (g,) in con.execute(
            "SELECT DISTINCT game_id FROM analytics.provider_lines WHERE bookmaker = ? AND served "
            "AND game_date BETWEEN ? AND ?", [BOOK, partial, full - timedelta(days=1)]).fetchall()}
    assert share_games == {g for g in share_games if _in_share(g, service.DEFAULT_SHARE)}
    assert changed_games[PREDICTIONS] <= share_games
    # its line joined exactly the consensus of the players it quotes in its share: one book more there
    with db(with_rollout.data_dir) as con, db(without_rollout.data_dir) as base:
        books = {d: dict(c.execute(
            "SELECT player_id || '|' || game_id, books_fg3m FROM analytics.upcoming_player_game_context "
            "WHERE game_date BETWEEN ? AND ?", [partial, full - timedelta(days=1)]).fetchall()) for d, c in
            (("with", con), ("without", base))}
        quoted = {f"{p}|{g}" for p, g in con.execute(
            "SELECT player_id, game_id FROM analytics.provider_lines WHERE bookmaker = ? AND served "
            "AND market = 'player_threes' AND game_date BETWEEN ? AND ?", [BOOK, partial, full - timedelta(days=1)]
        ).fetchall()}
    assert quoted and {k: n - books["without"].get(k, 0) for k, n in books["with"].items() if k in quoted} \
        == dict.fromkeys(quoted, 1)
    assert all(n == books["without"][k] for k, n in books["with"].items() if k not in quoted)
    full_days = [_served(db, r.data_dir, CONTEXT, full, with_rollout.rollback_day
                         - timedelta(days=1)) for r in (with_rollout, without_rollout)]
    assert {row[2] for row in full_days[0] ^ full_days[1]} - share_games, "full_active changed nothing outside the share"


def test_a_rollback_serves_from_then_on_exactly_what_the_replay_without_the_book_serves(
        db, with_rollout, without_rollout) -> None:
    day = with_rollout.rollback_day
    morning = with_rollout.served_before_rollback[CONTEXT]  # served that morning, with the book in the consensus
    assert morning and morning != _served(db, without_rollout.data_dir, CONTEXT, day, day)
    # its morning was served with the book: the rollback at 16:00 recomputed it. Every line, consensus,
    # prediction, edge, confidence and call is the one served without the book (the calibration learns
    # from the lines of the books serving every game as of each date, which the book no longer is)
    for table, columns in SERVED.items():
        with_it, without = (_served(db, r.data_dir, table, day, LAST_DAY, columns)
                            for r in (with_rollout, without_rollout))
        assert with_it == without and with_it, table
    with db(with_rollout.data_dir) as con:
        kept = con.execute("SELECT count(*) FROM raw.prop_lines WHERE bookmaker = ? AND game_date >= ?",
                           [BOOK, day]).fetchall()[0][0]
        last = con.execute("SELECT action, from_stage, to_stage, reason, effective_at FROM ops.provider_audit "
                           "WHERE bookmaker = ? ORDER BY seq DESC LIMIT 1", [BOOK]).fetchall()[0]
        marked = con.execute("SELECT DISTINCT stage, served FROM analytics.provider_lines WHERE bookmaker = ? "
                             "AND game_date >= ?", [BOOK, day]).fetchall()
    assert kept > 0  # its raw lines stay
    assert last == ("rollback", "full_active", "dark", "test: take it back", datetime.combine(day, ROLLBACK_AT))
    assert marked == [("dark", False)]


def test_a_corrupted_book_is_held_at_dark_with_its_failing_measurements(with_rollout, run_cli, copy_warehouse,
                                                                         tmp_path) -> None:
    nights = with_rollout.attempts[CORRUPTED]
    assert nights[0][1] == "dark" and len(nights) > 5
    assert all(outcome.startswith("nba:bovada stays dark") for _, outcome in nights[1:])
    data_dir = copy_warehouse(with_rollout.data_dir, tmp_path / "wh")
    result = run_cli(["providers", "advance", CORRUPTED], data_dir)
    assert result.exit_code == 7 and "Traceback" not in result.output + result.stderr
    refusal = " ".join(result.stderr.split())
    for shown in ("agreement_within_half = 0 (needs >= 0.75)", "median_abs_diff = 10 (needs <= 0.5)",
                  "quarantine_rate = 0.2"):
        assert shown in refusal, refusal
    shown = json.loads(run_cli(["providers", "show", CORRUPTED, "--json"], data_dir).stdout)
    failing = {c["metric"]: c["measured"] for c in shown["next_stage_criteria"] if not c["passed"]}
    assert failing["median_abs_diff"] == 10 and failing["agreement_within_half"] == 0
    assert 0.15 < failing["quarantine_rate"] < 0.25
    assert all(day["lines_bad_odds"] > 0 for day in shown["telemetry"] if day["lines_offered"])


def test_a_disabled_book_is_counted_in_the_feed_but_never_read(db, without_rollout) -> None:
    with db(without_rollout.data_dir) as con:
        read = con.execute("SELECT count(*) FROM raw.prop_lines WHERE bookmaker = ?", [BOOK]).fetchall()[0][0]
        offered, not_read = con.execute("SELECT sum(lines_offered), sum(lines_not_read) FROM ops.provider_feed "
                                        "WHERE bookmaker = ?", [BOOK]).fetchall()[0]
        stages = con.execute("SELECT DISTINCT stage FROM predictions.provider_telemetry WHERE bookmaker = ?",
                             [BOOK]).fetchall()
    assert read == 0 and offered == not_read and offered > 100
    assert stages == [("disabled",)]


def test_stage_order_is_the_enums_and_never_the_labels() -> None:
    assert list(Stage) == sorted(Stage) == [Stage.DISABLED, Stage.DARK, Stage.SHADOW, Stage.PARTIAL_ACTIVE,
                                            Stage.FULL_ACTIVE]
    assert sorted(s.label for s in Stage) != [s.label for s in Stage]  # alphabetical order would be wrong
    walk, stage = [], Stage.DISABLED
    while stage is not None:
        walk.append(stage.label)
        stage = stage.next
    assert walk == ["disabled", "dark", "shadow", "partial_active", "full_active"]
    assert Stage.from_label("partial_active") < Stage.from_label("full_active")
    with pytest.raises(ValueError, match="stages: disabled, dark, shadow, partial_active, full_active"):
        Stage.from_label("sideways")


@pytest.fixture
def rolled_out(with_rollout, copy_warehouse, tmp_path) -> Path:
    """A private copy of the warehouse of the replay with the rollout."""
    return copy_warehouse(with_rollout.data_dir, tmp_path / "wh")


@pytest.mark.parametrize(("args", "code", "says"), [
    (["show", "Bad Name"], 2, "book 'Bad Name': use lower case letters"),
    (["show", "nobook"], 2, "no provider nba:nobook"),
    (["advance", "nobook"], 2, "nba:nobook is not declared"),
    (["advance", CORRUPTED, "--force"], 2, "--force needs --reason"),
    (["advance", CORRUPTED, "--share", "0.3"], 2, "--share and --markets belong to partial_active"),
    (["advance", BOOK, "--at", "2024-10-20T00:00"], 2, "was served and is frozen since its cutoff"),
    (["advance", BOOK, "--at", "yesterday"], 2, "--at 'yesterday' is not a date-time"),
    (["advance", BOOK, "--at", "2999-01-01T00:00"], 2, "--at 2999-01-01 00:00:00: later than now"),
    (["rollback", CORRUPTED, "--to", "shadow"], 2, "a rollback goes to an earlier stage, and shadow is not one"),
    (["rollback", CORRUPTED, "--to", "sideways"], 2, "--to 'sideways' is not a stage"),
    (["declare", BOOK], 2, "nba:betrivers is already declared"),
    (["declare", "draftkings", "--by", " "], 2, "--by: name who does it"),
    (["declare", "draftkings", "--by", "a\nb"], 2, "--by 'a\\nb': give a name of 1-100 characters on one line"),
    (["set-criteria", "shadow", "nonsense", ">=", "1"], 2, "metric 'nonsense': use one of"),
    (["set-criteria", "disabled", "lines_offered", ">=", "1"], 2, "nothing enters disabled"),
    (["set-criteria", "shadow", "coverage_games", "=>", "1"], 2, "comparator '=>': use one of >=, <=, >, <"),
    (["set-criteria", "shadow", "coverage_games", ">=", "nan"], 2, "a finite threshold"),
    (["set-criteria", "shadow", "coverage_games", ">=", "0.5", "--min-game-days", "0"], 2, "at least 1"),
    (["set-criteria", "shadow", "coverage_games", ">=", "0.5", "--drop"], 2, "--drop removes the criterion"),
    (["set-criteria", "dark", "clv", "--drop"], 2, "no criterion on clv guards dark"),
])
def test_every_providers_command_refuses_a_bad_argument_in_one_line(rolled_out, run_cli, no_traceback, args, code,
                                                                     says) -> None:
    result = run_cli(["providers", *args], rolled_out)
    assert result.exit_code == code and no_traceback(result), result.output + result.stderr
    message = " ".join(result.stderr.split())
    assert says in message and message.startswith("error:") and message.count("error:") == 1, message


def test_the_read_commands_refuse_a_missing_warehouse(run_cli, tmp_path) -> None:
    for args in (["list"], ["show", BOOK]):
        result = run_cli(["providers", *args], tmp_path / "nothing")
        assert result.exit_code == 4 and "no warehouse at" in result.stderr, args


def _audit(data_dir: Path, db) -> list[tuple]:
    with db(data_dir) as con:
        return con.execute("SELECT * FROM ops.provider_audit ORDER BY seq").fetchall()


def test_a_forced_advance_needs_a_reason_and_the_audit_only_grows(rolled_out, run_cli, db) -> None:
    before = _audit(rolled_out, db)
    forced = run_cli(["providers", "advance", CORRUPTED, "--force", "--reason", "testing the override", "--by", "alice",
                      "--json"], rolled_out)
    assert forced.exit_code == 0, forced.output + forced.stderr
    entry = json.loads(forced.stdout)["audit"]
    assert (entry["action"], entry["from_stage"], entry["to_stage"], entry["forced"], entry["actor"], entry["reason"]) \
        == ("advance", "dark", "shadow", True, "alice", "testing the override")
    failing = {c["metric"] for c in entry["criteria"] if not c["passed"]}
    assert {"agreement_within_half", "median_abs_diff", "quarantine_rate"} <= failing
    back = run_cli(["providers", "rollback", CORRUPTED, "--to", "disabled", "--reason", "bad feed", "--json"], rolled_out)
    assert back.exit_code == 0 and json.loads(back.stdout)["audit"]["to_stage"] == "disabled"
    criteria = run_cli(["providers", "set-criteria", "shadow", "coverage_players", ">=", "0.2", "--min-game-days", "3",
                        "--json"], rolled_out)
    assert criteria.exit_code == 0
    assert {"stage": "shadow", "metric": "coverage_players", "comparator": ">=", "threshold": 0.2,
            "min_game_days": 3} in json.loads(criteria.stdout)["criteria_in_force"]
    after = _audit(rolled_out, db)
    assert after[:len(before)] == before and len(after) == len(before) + 3
    listed = json.loads(run_cli(["providers", "list", "--json"], rolled_out).stdout)
    stages = {p["bookmaker"]: (p["stage"], p["declared"]) for p in listed["providers"]}
    assert stages[CORRUPTED] == ("disabled", True) and stages[BOOK] == ("dark", True)
    assert stages["draftkings"] == ("full_active", False)


def test_another_sport_can_be_declared_and_stays_disabled(rolled_out, run_cli) -> None:
    assert run_cli(["providers", "declare", "draftkings", "--sport", "nfl"], rolled_out).exit_code == 0
    refused = run_cli(["providers", "advance", "draftkings", "--sport", "nfl", "--force", "--reason", "try"], rolled_out)
    assert refused.exit_code == 2 and "nbadb reads nba lines only: nfl:draftkings stays disabled" in refused.stderr
    listed = json.loads(run_cli(["providers", "list", "--json"], rolled_out).stdout)["providers"]
    assert {"sport": "nfl", "bookmaker": "draftkings", "stage": "disabled"}.items() <= next(
        p for p in listed if p["sport"] == "nfl").items()


def test_show_gives_the_telemetry_of_each_game_day_from_the_books_own_data(rolled_out, run_cli) -> None:
    shown = json.loads(run_cli(["providers", "show", BOOK, "--days", "30", "--json"], rolled_out).stdout)
    days = {d["game_date"]: d for d in shown["telemetry"]}
    assert [e["action"] for e in shown["audit"]] == ["declare", "advance", "advance", "advance", "advance", "rollback"]
    by_stage = {stage: [d for d in days.values() if d["stage"] == stage] for stage in (s.label for s in Stage)}
    assert by_stage["full_active"] and all(d["served_lines"] == d["lines"] > 0 for d in by_stage["full_active"])
    assert 0 < sum(d["served_lines"] for d in by_stage["partial_active"]) < sum(d["lines"] for d in
                                                                               by_stage["partial_active"])
    assert all(d["served_lines"] == 0 for stage in ("dark", "shadow") for d in by_stage[stage])
    assert any(d["shadow_agreement"] is not None for d in days.values() if d["stage"] == "shadow")
    measured = [d for d in days.values() if d["lines"]]
    assert all(0 <= d["coverage_games"] <= 1 and d["freshness_minutes"] > 0 for d in measured)
    assert any(d["hit_rate"] is not None and d["clv"] is not None for d in measured)  # results exist: outcomes too
    text = run_cli(["providers", "show", BOOK], rolled_out)
    assert text.exit_code == 0 and "criteria for shadow:" in text.stdout and "audit (append-only)" in text.stdout


def test_an_ingest_after_a_later_transition_reads_the_lines_the_book_published_before_it(
        run_cli, db, tmp_path) -> None:
    """A book declared (disabled) from 2024-11-04 05:00, then 2024-11-03..04 ingested: the ingest staged
    every line at its own clock (the warehouse's, after the transition) and read none of the book's,
    where a replay of those days reads 11-03's. A line is read unless its book was disabled when it
    published it."""
    assert run_cli(["ingest", "--start", "2024-11-01", "--end", "2024-11-02"], tmp_path).exit_code == 0
    declared = run_cli(["providers", "declare", "betonlineag", "--at", "2024-11-04T05:00", "--by", "ann", "--json"],
                       tmp_path)
    assert declared.exit_code == 0, declared.output
    assert json.loads(declared.stdout)["audit"]["recorded_at"] is not None, "the entry as stored (it said null)"
    assert run_cli(["ingest", "--start", "2024-11-03", "--end", "2024-11-04"], tmp_path).exit_code == 0
    with db(tmp_path) as con:
        feed = con.execute("SELECT game_date, lines_offered > 0, lines_not_read = lines_offered FROM ops.provider_feed "
                           "WHERE bookmaker = 'betonlineag' AND game_date >= DATE '2024-11-03' ORDER BY 1").fetchall()
        read = con.execute("SELECT DISTINCT game_date FROM raw.prop_lines WHERE bookmaker = 'betonlineag' "
                           "ORDER BY 1").fetchall()
    assert feed == [(date(2024, 11, 3), True, False), (date(2024, 11, 4), True, True)]
    assert read == [(date(2024, 11, 1),), (date(2024, 11, 2),), (date(2024, 11, 3),)]
