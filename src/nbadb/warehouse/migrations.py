"""Versioned schema migrations, each applied once and recorded in ops.schema_migrations."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

import duckdb

from nbadb.errors import WarehouseError
from nbadb.pipeline.prop_features.processor import COLUMNS as PROP_FEATURE_COLUMNS
from nbadb.pipeline.provider_stages import STAGE_LABELS_SQL
from nbadb.warehouse.transactions import committed, read_transaction

LINEAGE = "row_hash VARCHAR NOT NULL, run_id VARCHAR NOT NULL, ingested_at TIMESTAMP NOT NULL"
BOX_STATS = """
    minutes DOUBLE, fgm INTEGER, fga INTEGER, fg_pct DOUBLE, fg3m INTEGER, fg3a INTEGER,
    fg3_pct DOUBLE, ftm INTEGER, fta INTEGER, ft_pct DOUBLE, oreb INTEGER, dreb INTEGER,
    reb INTEGER, ast INTEGER, stl INTEGER, blk INTEGER, tov INTEGER, pf INTEGER, pts INTEGER"""
GAME_KEYS = "game_id VARCHAR NOT NULL, game_date DATE NOT NULL, season VARCHAR, season_type VARCHAR"
UPCOMING_LOAD = """last_game_date DATE, rest_days INTEGER, back_to_back BOOLEAN NOT NULL,
    games_last_7_days INTEGER NOT NULL, minutes_last_7_days DOUBLE NOT NULL, games_last_14_days INTEGER NOT NULL,
    minutes_last_14_days DOUBLE NOT NULL, window_7_complete BOOLEAN NOT NULL, window_14_complete BOOLEAN NOT NULL"""
FORM_AVERAGES = """
    pts_avg_last_5 DOUBLE, pts_avg_last_10 DOUBLE, pts_avg_season DOUBLE, reb_avg_last_5 DOUBLE,
    reb_avg_last_10 DOUBLE, reb_avg_season DOUBLE, ast_avg_last_5 DOUBLE, ast_avg_last_10 DOUBLE,
    ast_avg_season DOUBLE, fg3m_avg_last_5 DOUBLE, fg3m_avg_last_10 DOUBLE, fg3m_avg_season DOUBLE,
    minutes_avg_last_5 DOUBLE, minutes_avg_last_10 DOUBLE, minutes_avg_season DOUBLE,
    pts_std_last_10 DOUBLE, ts_pct_avg_last_10 DOUBLE"""
PREV_SEASON_AVERAGES = """pts_avg_prev_season DOUBLE, reb_avg_prev_season DOUBLE, ast_avg_prev_season DOUBLE,
    fg3m_avg_prev_season DOUBLE, minutes_avg_prev_season DOUBLE"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "schemas and ops bookkeeping", (
        "CREATE SCHEMA IF NOT EXISTS raw",
        "CREATE SCHEMA IF NOT EXISTS analytics",
        "CREATE SCHEMA IF NOT EXISTS precompute",
        "CREATE SCHEMA IF NOT EXISTS predictions",
        """CREATE TABLE ops.quarantine (
            table_name VARCHAR NOT NULL, record_key VARCHAR, column_name VARCHAR,
            reason VARCHAR NOT NULL, source_file VARCHAR, record_date DATE,
            ingested_at TIMESTAMP NOT NULL)""",
        """CREATE TABLE ops.entity_signatures (
            processor VARCHAR NOT NULL, entity_id VARCHAR NOT NULL, game_date DATE NOT NULL,
            signature VARCHAR NOT NULL, code_version VARCHAR NOT NULL,
            scheme_version INTEGER NOT NULL, run_id VARCHAR NOT NULL, updated_at TIMESTAMP NOT NULL)""",
        """CREATE TABLE ops.processor_runs (
            run_id VARCHAR NOT NULL, processor VARCHAR NOT NULL, phase INTEGER NOT NULL,
            start_date DATE, end_date DATE, status VARCHAR NOT NULL, skip_reason VARCHAR,
            processing_mode VARCHAR, trigger_source VARCHAR, run_mode VARCHAR,
            entities_in_scope INTEGER, entities_changed INTEGER, entities_processed INTEGER,
            waste_pct DOUBLE, rows_written INTEGER, duration_ms DOUBLE, timings JSON,
            trigger_chain JSON, decisions_made JSON, optimizations_used JSON,
            change_signature VARCHAR, error VARCHAR, code_version VARCHAR,
            run_as_of_ts TIMESTAMP, started_at TIMESTAMP NOT NULL, finished_at TIMESTAMP NOT NULL)""",
        """CREATE TABLE ops.run_events (
            run_id VARCHAR NOT NULL, processor VARCHAR NOT NULL, event VARCHAR NOT NULL,
            status VARCHAR, event_at TIMESTAMP NOT NULL)""",
        """CREATE TABLE ops.events (
            event_id VARCHAR NOT NULL, producer VARCHAR NOT NULL, run_id VARCHAR NOT NULL,
            game_dates DATE[] NOT NULL, entity_ids VARCHAR[] NOT NULL, trigger_chain JSON,
            created_at TIMESTAMP NOT NULL)""",
        """CREATE TABLE ops.event_consumption (
            event_id VARCHAR NOT NULL, consumer VARCHAR NOT NULL, run_id VARCHAR NOT NULL,
            consumed_at TIMESTAMP NOT NULL)""",
        """CREATE TABLE ops.source_corrections (
            correction_id VARCHAR NOT NULL, game_id VARCHAR NOT NULL, player_id BIGINT NOT NULL,
            stat VARCHAR NOT NULL, value DOUBLE NOT NULL, published_at TIMESTAMP NOT NULL)""",
    )),
    Migration(2, "raw phase tables", (
        f"""CREATE TABLE raw.schedule ({GAME_KEYS}, home_team_id BIGINT, away_team_id BIGINT,
            home_team_abbr VARCHAR, away_team_abbr VARCHAR, tip_time_utc TIMESTAMP,
            schedule_source VARCHAR, {LINEAGE})""",
        f"""CREATE TABLE raw.player_boxscores ({GAME_KEYS}, player_id BIGINT NOT NULL,
            player_name VARCHAR, team_id BIGINT NOT NULL, team_abbr VARCHAR, opponent_team_id BIGINT,
            is_home BOOLEAN, wl VARCHAR, {BOX_STATS}, plus_minus DOUBLE, {LINEAGE})""",
        f"""CREATE TABLE raw.boxscore_players ({GAME_KEYS}, player_id BIGINT NOT NULL,
            player_name VARCHAR, team_id BIGINT NOT NULL, team_abbr VARCHAR, start_position VARCHAR,
            is_starter BOOLEAN, availability VARCHAR, comment VARCHAR, {BOX_STATS},
            plus_minus DOUBLE, {LINEAGE})""",
        f"""CREATE TABLE raw.team_boxscores ({GAME_KEYS}, team_id BIGINT NOT NULL,
            team_abbr VARCHAR, team_name VARCHAR, opponent_team_id BIGINT, is_home BOOLEAN,
            wl VARCHAR, {BOX_STATS}, plus_minus DOUBLE, {LINEAGE})""",
        f"""CREATE TABLE raw.injuries (move_date DATE NOT NULL, team_name VARCHAR,
            player_key VARCHAR NOT NULL, player_name VARCHAR, player_id BIGINT, action VARCHAR,
            status VARCHAR, notes VARCHAR, estimated_days_out DOUBLE, {LINEAGE})""",
        f"""CREATE TABLE raw.prop_lines (snapshot_date DATE NOT NULL, snapshot_ts TIMESTAMP,
            game_date DATE NOT NULL, tip_time_utc TIMESTAMP, event_id VARCHAR NOT NULL,
            home_team_name VARCHAR, away_team_name VARCHAR, player_name VARCHAR,
            player_id BIGINT, market VARCHAR NOT NULL, bookmaker VARCHAR, line DOUBLE,
            over_odds DOUBLE, under_odds DOUBLE, feed VARCHAR, {LINEAGE})""",
    )),
    Migration(3, "analytics phase tables", (
        f"""CREATE TABLE analytics.player_game_summary ({GAME_KEYS}, player_id BIGINT NOT NULL,
            player_name VARCHAR, team_id BIGINT NOT NULL, team_abbr VARCHAR, opponent_team_id BIGINT,
            is_home BOOLEAN, win BOOLEAN, {BOX_STATS}, plus_minus DOUBLE, ts_pct DOUBLE, efg_pct DOUBLE,
            usage_rate DOUBLE, team_minutes DOUBLE, possessions DOUBLE, rest_days INTEGER,
            back_to_back BOOLEAN, {LINEAGE})""",
        f"""CREATE TABLE analytics.team_offense_game_summary ({GAME_KEYS}, team_id BIGINT NOT NULL,
            team_abbr VARCHAR, opponent_team_id BIGINT, is_home BOOLEAN, win BOOLEAN, {BOX_STATS},
            plus_minus DOUBLE, possessions DOUBLE, opp_pts INTEGER, opp_possessions DOUBLE,
            offensive_rating DOUBLE, defensive_rating DOUBLE, net_rating DOUBLE, pace DOUBLE,
            efg_pct DOUBLE, ts_pct DOUBLE, tov_pct DOUBLE, oreb_pct DOUBLE, ft_rate DOUBLE,
            ast_pct DOUBLE, {LINEAGE})""",
        f"""CREATE TABLE analytics.team_defense_game_summary ({GAME_KEYS}, team_id BIGINT NOT NULL,
            team_abbr VARCHAR, opponent_team_id BIGINT, is_home BOOLEAN, win BOOLEAN, minutes DOUBLE,
            opp_pts INTEGER, opp_fgm INTEGER, opp_fga INTEGER, opp_fg_pct DOUBLE, opp_fg3m INTEGER,
            opp_fg3a INTEGER, opp_fg3_pct DOUBLE, opp_ftm INTEGER, opp_fta INTEGER, opp_ft_pct DOUBLE,
            opp_oreb INTEGER, opp_dreb INTEGER, opp_reb INTEGER, opp_ast INTEGER, opp_tov INTEGER,
            opp_pf INTEGER, possessions DOUBLE, opp_possessions DOUBLE, defensive_rating DOUBLE,
            pace DOUBLE, opp_efg_pct DOUBLE, opp_ts_pct DOUBLE, opp_tov_pct DOUBLE, opp_ft_rate DOUBLE,
            dreb INTEGER, dreb_pct DOUBLE, stl INTEGER, blk INTEGER, pf INTEGER, stl_pct DOUBLE,
            blk_pct DOUBLE, {LINEAGE})""",
    )),
    Migration(4, "precompute phase tables", (
        f"""CREATE TABLE analytics.upcoming_team_game_context ({GAME_KEYS}, team_id BIGINT NOT NULL,
            team_abbr VARCHAR, team_name VARCHAR, opponent_team_id BIGINT, is_home BOOLEAN,
            tip_time_utc TIMESTAMP, game_source VARCHAR NOT NULL, {UPCOMING_LOAD}, {LINEAGE})""",
        f"""CREATE TABLE analytics.upcoming_player_game_context ({GAME_KEYS}, player_id BIGINT NOT NULL,
            player_name VARCHAR, team_id BIGINT, opponent_team_id BIGINT, is_home BOOLEAN,
            tip_time_utc TIMESTAMP, game_source VARCHAR NOT NULL, roster_source VARCHAR NOT NULL,
            {UPCOMING_LOAD}, injury_status VARCHAR NOT NULL, injury_move_date DATE, injury_notes VARCHAR,
            injury_feed_current BOOLEAN, line_pts DOUBLE, books_pts INTEGER, line_reb DOUBLE,
            books_reb INTEGER, line_ast DOUBLE, books_ast INTEGER, line_fg3m DOUBLE, books_fg3m INTEGER,
            prop_lines_by_book JSON, {LINEAGE})""",
        f"""CREATE TABLE precompute.player_daily_cache (player_id BIGINT NOT NULL, game_date DATE NOT NULL,
            season VARCHAR, games_played_season INTEGER NOT NULL, {FORM_AVERAGES},
            usage_rate_avg_last_5 DOUBLE, usage_rate_avg_last_10 DOUBLE, usage_rate_avg_season DOUBLE,
            prev_season VARCHAR, games_played_prev_season INTEGER NOT NULL, {PREV_SEASON_AVERAGES},
            calculation_quality VARCHAR NOT NULL, {LINEAGE})""",
        f"""CREATE TABLE precompute.player_composite_factors (player_id BIGINT NOT NULL,
            game_date DATE NOT NULL, team_id BIGINT, opponent_team_id BIGINT, rest_days INTEGER,
            back_to_back BOOLEAN, games_last_7_days INTEGER, minutes_last_7_days DOUBLE,
            usage_rate_avg_last_5 DOUBLE, usage_rate_avg_season DOUBLE, team_games_before INTEGER,
            team_pace_last_10 DOUBLE, opponent_games_before INTEGER, opponent_pace_last_10 DOUBLE,
            league_pace DOUBLE, opponent_defensive_rating DOUBLE, league_defensive_rating DOUBLE,
            fatigue_score DOUBLE NOT NULL, pace_factor DOUBLE, usage_spike DOUBLE, opponent_defense DOUBLE,
            {LINEAGE})""",
        f"""CREATE TABLE precompute.ml_feature_store (player_id BIGINT NOT NULL, game_date DATE NOT NULL,
            game_id VARCHAR NOT NULL, season VARCHAR, team_id BIGINT, opponent_team_id BIGINT,
            is_home BOOLEAN, feature_version VARCHAR NOT NULL, {FORM_AVERAGES}, {PREV_SEASON_AVERAGES},
            usage_rate_avg_last_10 DOUBLE, games_played_season INTEGER, rest_days INTEGER, back_to_back BOOLEAN,
            games_last_7_days INTEGER, minutes_last_7_days DOUBLE, fatigue_score DOUBLE, pace_factor DOUBLE,
            usage_spike DOUBLE, opponent_defense DOUBLE, injury_status VARCHAR, line_pts DOUBLE,
            line_reb DOUBLE, line_ast DOUBLE, line_fg3m DOUBLE, calculation_quality VARCHAR NOT NULL,
            feature_quality JSON NOT NULL, usable_for_training BOOLEAN NOT NULL, {LINEAGE})""",
    )),
    Migration(5, "prediction tables, circuit breakers and prediction worker runs", (
        f"""CREATE TABLE predictions.player_prop_predictions (player_id BIGINT NOT NULL,
            game_date DATE NOT NULL, game_id VARCHAR NOT NULL, season VARCHAR, team_id BIGINT,
            opponent_team_id BIGINT, target VARCHAR NOT NULL, system VARCHAR NOT NULL,
            predicted_value DOUBLE NOT NULL, line_value DOUBLE, line_source VARCHAR, edge DOUBLE,
            confidence DOUBLE, recommendation VARCHAR NOT NULL, system_version VARCHAR NOT NULL,
            model_version VARCHAR, components VARCHAR, training_cutoff DATE, training_rows INTEGER,
            feature_version VARCHAR, {LINEAGE})""",
        f"""CREATE TABLE predictions.evaluation (player_id BIGINT NOT NULL, game_date DATE NOT NULL,
            game_id VARCHAR NOT NULL, season VARCHAR, target VARCHAR NOT NULL, system VARCHAR NOT NULL,
            predicted_value DOUBLE NOT NULL, actual_value DOUBLE NOT NULL, error DOUBLE NOT NULL,
            abs_error DOUBLE NOT NULL, line_value DOUBLE, line_source VARCHAR, confidence DOUBLE,
            recommendation VARCHAR NOT NULL, hit BOOLEAN, baseline_value DOUBLE, {LINEAGE})""",
        """CREATE TABLE ops.circuit_breakers (breaker_key VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL,
            state VARCHAR NOT NULL, consecutive_failures INTEGER NOT NULL,
            consecutive_successes INTEGER NOT NULL, times_opened INTEGER NOT NULL,
            opened_at TIMESTAMP, retry_at TIMESTAMP, last_error VARCHAR, updated_at TIMESTAMP NOT NULL)""",
        """CREATE TABLE ops.prediction_worker_runs (run_id VARCHAR NOT NULL, processor VARCHAR NOT NULL,
            start_date DATE NOT NULL, end_date DATE NOT NULL, status VARCHAR NOT NULL,
            systems_attempted VARCHAR[] NOT NULL, systems_succeeded VARCHAR[] NOT NULL,
            systems_failed VARCHAR[] NOT NULL, systems_skipped_open VARCHAR[] NOT NULL,
            breakers_opened VARCHAR[] NOT NULL, errors JSON NOT NULL, recorded_at TIMESTAMP NOT NULL)""",
    )),
)

# Current-truth tables (engine.spec.TableKind): every version of a restated row is kept in
# `<table>_history`; `<table>_versions` reads current and superseded rows together.
VERSIONED_TABLES = (
    "raw.schedule", "raw.player_boxscores", "raw.boxscore_players", "raw.team_boxscores", "raw.injuries",
    "raw.prop_lines", "analytics.player_game_summary", "analytics.team_offense_game_summary",
    "analytics.team_defense_game_summary", "predictions.evaluation",
)
# When the rows already stored became known, for warehouses written before publication times were
# kept (engine.clock: a schedule at its date's morning, results and injury moves at their night).
_FIRST_KNOWN = {
    "raw.schedule": "CAST(game_date AS TIMESTAMP) + INTERVAL 12 HOUR",
    "raw.prop_lines": "coalesce(snapshot_ts, CAST(snapshot_date AS TIMESTAMP) + INTERVAL 15 HOUR)",
    "raw.injuries": "CAST(move_date AS TIMESTAMP) + INTERVAL 30 HOUR",
}
_NIGHT = "CAST(game_date AS TIMESTAMP) + INTERVAL 30 HOUR"


def _versioned(table: str) -> tuple[str, ...]:
    return (
        f"ALTER TABLE {table} ADD COLUMN known_at TIMESTAMP",
        f"UPDATE {table} SET known_at = {_FIRST_KNOWN.get(table, _NIGHT)}",
        f"ALTER TABLE {table} ALTER COLUMN known_at SET NOT NULL",
        *_history_of(table),
    )


def _history_of(table: str) -> tuple[str, ...]:
    """`<table>_history` and the `<table>_versions` view of a current-truth table that has `known_at`."""
    return (
        f"""CREATE TABLE {table}_history AS
            SELECT *, NULL::TIMESTAMP AS superseded_at, NULL::VARCHAR AS superseded_by FROM {table} WHERE false""",
        f"""CREATE VIEW {table}_versions AS
            SELECT *, NULL::TIMESTAMP AS superseded_at, NULL::VARCHAR AS superseded_by FROM {table}
            UNION ALL BY NAME SELECT * FROM {table}_history""",
    )


MIGRATIONS += (
    Migration(6, "publication times and versions, typed ledger counts, quarantine stages, file reconciliation", (
        "ALTER TABLE predictions.evaluation ADD COLUMN actual_revised BOOLEAN DEFAULT false",
        *(statement for table in VERSIONED_TABLES for statement in _versioned(table)),
        "ALTER TABLE precompute.ml_feature_store ADD COLUMN last_game_date DATE",
        "ALTER TABLE predictions.player_prop_predictions ADD COLUMN form_age_days INTEGER",
        "ALTER TABLE predictions.player_prop_predictions ADD COLUMN form_quality VARCHAR",
        "ALTER TABLE ops.processor_runs ADD COLUMN as_of_date DATE",
        "ALTER TABLE ops.run_events ADD COLUMN start_date DATE",
        "ALTER TABLE ops.run_events ADD COLUMN end_date DATE",
        "ALTER TABLE ops.processor_runs ADD COLUMN triggers INTEGER DEFAULT 0",
        "ALTER TABLE ops.processor_runs ADD COLUMN duplicate_triggers INTEGER DEFAULT 0",
        "ALTER TABLE ops.processor_runs ADD COLUMN rows_quarantined INTEGER DEFAULT 0",
        "ALTER TABLE ops.processor_runs ADD COLUMN entities_held INTEGER DEFAULT 0",
        "ALTER TABLE ops.processor_runs ADD COLUMN dates_frozen INTEGER DEFAULT 0",
        "ALTER TABLE ops.quarantine ADD COLUMN stage VARCHAR DEFAULT 'source'",
        "ALTER TABLE ops.quarantine ADD COLUMN run_id VARCHAR",
        "ALTER TABLE ops.quarantine ADD COLUMN row_values JSON",
        "ALTER TABLE ops.prediction_worker_runs ADD COLUMN systems_not_ready VARCHAR[] DEFAULT []",
        "ALTER TABLE ops.source_corrections ADD COLUMN source VARCHAR DEFAULT 'manual'",
        """CREATE TABLE ops.publication_clock (latest_known_at TIMESTAMP)""",
        """INSERT INTO ops.publication_clock (latest_known_at)
            SELECT max(k) FROM (""" + " UNION ALL ".join(
            f"SELECT max(known_at) AS k FROM {t}" for t in VERSIONED_TABLES if t.startswith("raw.")) + ")",
        """CREATE TABLE ops.source_files (publication_id VARCHAR NOT NULL, kind VARCHAR NOT NULL,
            source_file VARCHAR NOT NULL, start_date DATE NOT NULL, end_date DATE NOT NULL,
            source_rows INTEGER NOT NULL, rows_accepted INTEGER NOT NULL, rows_quarantined INTEGER NOT NULL,
            recorded_at TIMESTAMP NOT NULL)""",
    )),
)


MIGRATIONS += (
    Migration(7, "typed feature quality: missing and partial features, missing sources, a score, training use", (
        "ALTER TABLE precompute.ml_feature_store DROP COLUMN feature_quality",
        "ALTER TABLE precompute.ml_feature_store RENAME COLUMN usable_for_training TO can_use_for_ml_training",
        "ALTER TABLE precompute.ml_feature_store ADD COLUMN features_missing VARCHAR[]",
        "ALTER TABLE precompute.ml_feature_store ADD COLUMN features_partial VARCHAR[]",
        "ALTER TABLE precompute.ml_feature_store ADD COLUMN missing_sources VARCHAR[]",
        "ALTER TABLE precompute.ml_feature_store ADD COLUMN data_quality_score DOUBLE",
    )),
)

MIGRATIONS += (
    Migration(8, "backfill checkpoints: runs, dates, checks, batches", (
        """CREATE TABLE ops.backfill_runs (backfill_id VARCHAR NOT NULL, start_date DATE NOT NULL,
            end_date DATE NOT NULL, seasons VARCHAR[] NOT NULL, phases INTEGER[] NOT NULL, levels INTEGER[] NOT NULL,
            blocking_levels INTEGER[] NOT NULL, batch_days INTEGER, status VARCHAR NOT NULL,
            stopped_on DATE, stop_reason VARCHAR, started_at TIMESTAMP NOT NULL, finished_at TIMESTAMP)""",
        """CREATE TABLE ops.backfill_dates (backfill_id VARCHAR NOT NULL, game_date DATE NOT NULL,
            batch_start DATE NOT NULL, status VARCHAR NOT NULL, attempts INTEGER NOT NULL, games INTEGER,
            missing_sources VARCHAR[], rows_complete INTEGER, rows_partial INTEGER, rows_without_form INTEGER,
            error VARCHAR, validated_at TIMESTAMP)""",
        """CREATE TABLE ops.backfill_checks (backfill_id VARCHAR NOT NULL, game_date DATE NOT NULL,
            attempt INTEGER NOT NULL, level INTEGER NOT NULL, check_name VARCHAR NOT NULL, subject VARCHAR NOT NULL,
            passed BOOLEAN NOT NULL, blocking BOOLEAN NOT NULL, observed DOUBLE, expected_low DOUBLE,
            expected_high DOUBLE, detail VARCHAR, checked_at TIMESTAMP NOT NULL)""",
        """CREATE TABLE ops.backfill_batches (backfill_id VARCHAR NOT NULL, batch_start DATE NOT NULL,
            batch_end DATE NOT NULL, attempt INTEGER NOT NULL, dates INTEGER NOT NULL, dates_validated INTEGER NOT NULL,
            dates_warned INTEGER NOT NULL, dates_failed INTEGER NOT NULL, dates_without_games INTEGER NOT NULL,
            publish_seconds DOUBLE NOT NULL, analytics_seconds DOUBLE NOT NULL, precompute_seconds DOUBLE NOT NULL,
            predictions_seconds DOUBLE NOT NULL, validation_seconds DOUBLE NOT NULL, finished_at TIMESTAMP NOT NULL)""",
    )),
)

# `nbadb serve` (issue 20): the cycles it completed (a restart catches up from them), the monitoring it
# took (trends over weeks), the incidents it saw open and close, and every alert it sent or gave up on.
MIGRATIONS += (
    Migration(9, "serve cycles, monitoring reports, incidents and alerts", (
        """CREATE TABLE ops.serve_cycles (cycle_kind VARCHAR NOT NULL, game_date DATE NOT NULL,
            due_at TIMESTAMP NOT NULL, started_at TIMESTAMP NOT NULL, finished_at TIMESTAMP NOT NULL,
            status VARCHAR NOT NULL, cycle_trigger VARCHAR NOT NULL, runs INTEGER NOT NULL,
            runs_failed INTEGER NOT NULL, entities_changed INTEGER NOT NULL, error VARCHAR, pass_id VARCHAR)""",
        """CREATE TABLE ops.health_checks (check_date DATE NOT NULL, checked_at TIMESTAMP NOT NULL,
            healthy BOOLEAN NOT NULL, problems INTEGER NOT NULL, warnings INTEGER NOT NULL, findings JSON NOT NULL)""",
        """CREATE TABLE ops.weekly_reports (report_date DATE NOT NULL, taken_at TIMESTAMP NOT NULL,
            runs INTEGER NOT NULL, work_seconds DOUBLE NOT NULL, wasted_seconds DOUBLE NOT NULL,
            waste_pct DOUBLE, runs_saved INTEGER NOT NULL, patterns_fired INTEGER NOT NULL,
            waste JSON NOT NULL, patterns JSON NOT NULL)""",
        """CREATE TABLE ops.incidents (incident_key VARCHAR NOT NULL, incident_kind VARCHAR NOT NULL,
            subject VARCHAR NOT NULL, message VARCHAR NOT NULL, opened_at TIMESTAMP NOT NULL,
            last_seen_at TIMESTAMP NOT NULL, resolved_at TIMESTAMP)""",
        """CREATE TABLE ops.alerts (alert_id VARCHAR NOT NULL, incident_key VARCHAR NOT NULL,
            alert_kind VARCHAR NOT NULL, subject VARCHAR NOT NULL, message VARCHAR NOT NULL,
            destination VARCHAR NOT NULL, payload_format VARCHAR NOT NULL, status VARCHAR NOT NULL,
            attempts INTEGER NOT NULL, http_status INTEGER, error VARCHAR, facts JSON NOT NULL,
            first_attempt_at TIMESTAMP NOT NULL, last_attempt_at TIMESTAMP NOT NULL)""",
    )),
)

# -- 30-39: staged provider rollouts (rollout.providers, pipeline.provider_*) ---------------------------

_STAGE = f"VARCHAR CHECK ({{column}} IN {STAGE_LABELS_SQL})"
_PROVIDER_LINE_KEYS = """game_date DATE NOT NULL, game_id VARCHAR NOT NULL, player_id BIGINT NOT NULL,
    target VARCHAR NOT NULL, bookmaker VARCHAR NOT NULL"""

MIGRATIONS += (
    Migration(30, "staged provider rollouts: the audit, exit criteria, the feed's lines per book, published stages", (
        f"""CREATE TABLE ops.provider_audit (seq BIGINT PRIMARY KEY,
            action VARCHAR NOT NULL CHECK (action IN ('declare', 'advance', 'rollback', 'set_criteria')),
            sport VARCHAR, bookmaker VARCHAR, from_stage {_STAGE.format(column='from_stage')},
            to_stage {_STAGE.format(column='to_stage')}, share DOUBLE, markets VARCHAR[], forced BOOLEAN NOT NULL,
            reason VARCHAR, actor VARCHAR NOT NULL, effective_at TIMESTAMP NOT NULL, from_date DATE, criteria JSON,
            recorded_at TIMESTAMP NOT NULL)""",
        f"""CREATE TABLE ops.provider_criteria (stage {_STAGE.format(column='stage')} NOT NULL,
            metric VARCHAR NOT NULL, comparator VARCHAR, threshold DOUBLE, min_game_days INTEGER,
            dropped BOOLEAN NOT NULL, set_at TIMESTAMP NOT NULL, set_by VARCHAR NOT NULL,
            PRIMARY KEY (stage, metric))""",
        """CREATE TABLE ops.provider_feed (sport VARCHAR NOT NULL, bookmaker VARCHAR NOT NULL,
            game_date DATE NOT NULL, snapshot_date DATE NOT NULL, known_at TIMESTAMP NOT NULL,
            lines_offered INTEGER NOT NULL, lines_not_read INTEGER NOT NULL, lines_bad_odds INTEGER NOT NULL,
            lines_other_rules INTEGER NOT NULL, lines_unmatched INTEGER NOT NULL, recorded_at TIMESTAMP NOT NULL,
            PRIMARY KEY (sport, bookmaker, game_date, snapshot_date))""",
        f"""CREATE TABLE raw.provider_stages (bookmaker VARCHAR NOT NULL, sport VARCHAR NOT NULL,
            stage VARCHAR NOT NULL, share DOUBLE, markets VARCHAR[], from_date DATE NOT NULL,
            audit_seq BIGINT NOT NULL, {LINEAGE}, known_at TIMESTAMP NOT NULL)""",
        *_history_of("raw.provider_stages"),
        f"""CREATE TABLE analytics.provider_lines ({_PROVIDER_LINE_KEYS}, market VARCHAR NOT NULL,
            stage VARCHAR NOT NULL, served BOOLEAN NOT NULL, line DOUBLE NOT NULL, over_odds DOUBLE,
            under_odds DOUBLE, snapshot_ts TIMESTAMP, tip_time_utc TIMESTAMP, snapshot_age_minutes INTEGER,
            consensus_line DOUBLE, consensus_books INTEGER NOT NULL, {LINEAGE})""",
        f"""CREATE TABLE predictions.provider_shadow ({_PROVIDER_LINE_KEYS}, system VARCHAR NOT NULL,
            predicted_value DOUBLE NOT NULL, form_quality VARCHAR, served_line DOUBLE, served_line_source VARCHAR,
            served_recommendation VARCHAR NOT NULL, shadow_line DOUBLE NOT NULL, shadow_edge DOUBLE,
            shadow_confidence DOUBLE, shadow_recommendation VARCHAR NOT NULL, agrees BOOLEAN NOT NULL, {LINEAGE})""",
        f"""CREATE TABLE predictions.provider_telemetry (game_date DATE NOT NULL, bookmaker VARCHAR NOT NULL,
            stage VARCHAR NOT NULL, games INTEGER NOT NULL, games_with_line INTEGER NOT NULL,
            predicted_players INTEGER NOT NULL, predicted_players_with_line INTEGER NOT NULL,
            lines INTEGER NOT NULL, served_lines INTEGER NOT NULL, snapshot_age_median_minutes DOUBLE,
            snapshot_age_max_minutes INTEGER, lines_compared INTEGER NOT NULL, lines_within_half INTEGER NOT NULL,
            median_abs_diff DOUBLE, lines_offered INTEGER NOT NULL, lines_not_read INTEGER NOT NULL,
            lines_bad_odds INTEGER NOT NULL, lines_other_rules INTEGER NOT NULL, lines_unmatched INTEGER NOT NULL,
            shadow_compared INTEGER NOT NULL, shadow_agreed INTEGER NOT NULL, {LINEAGE})""",
    )),
)

# -- 10-29: the core pipeline, after 9 ---------------------------------------------------------------

MIGRATIONS += (
    Migration(10, "point-in-time prop features; predictions with probabilities, the book's odds and expected value; "
                  "evaluation at the real odds", (
        f"""CREATE TABLE precompute.player_prop_features ({', '.join(f'{c} {t}' for c, t in PROP_FEATURE_COLUMNS)},
            {LINEAGE})""",
        *(f"ALTER TABLE predictions.player_prop_predictions ADD COLUMN {c} {t}" for c, t in (
            ("bookmaker", "VARCHAR"), ("over_odds", "DOUBLE"), ("under_odds", "DOUBLE"), ("market_p_over", "DOUBLE"),
            ("model_p_over", "DOUBLE"), ("calibration_b0", "DOUBLE"), ("calibration_b1", "DOUBLE"),
            ("calibration_b2", "DOUBLE"), ("p_over", "DOUBLE"), ("ev", "DOUBLE"), ("dist_mean", "DOUBLE"), ("dist_sigma", "DOUBLE"),
            ("dist_alpha", "DOUBLE"), ("games_played_season", "INTEGER"))),
        # the breakers of the systems this migration's code retired (moving_average, similarity)
        "DELETE FROM ops.circuit_breakers WHERE breaker_key IN ('predictions.player_prop_predictions:moving_average', "
        "'predictions.player_prop_predictions:similarity')",
        *(f"ALTER TABLE predictions.{table} ADD COLUMN {c} {t}" for table in ("evaluation", "evaluation_history")
          for c, t in (
            ("bookmaker", "VARCHAR"), ("side_odds", "DOUBLE"), ("profit", "DOUBLE"), ("consensus_side", "VARCHAR"),
            ("consensus_odds", "DOUBLE"), ("consensus_profit", "DOUBLE"), ("games_played_season", "INTEGER"))),
    )),
)


MIGRATIONS += (
    # no CHECK on the codes: a lake migrated to it has none (DuckLake); v2's processor checks them (pipeline.raw_v2)
    Migration(11, "the box scores' contract v2 (the schema track): exact seconds, a typed status and its reason", (
        f"""CREATE TABLE raw.boxscore_players_v2 ({GAME_KEYS}, player_id BIGINT NOT NULL,
            player_name VARCHAR, team_id BIGINT NOT NULL, team_abbr VARCHAR, start_position VARCHAR,
            is_starter BOOLEAN, status VARCHAR NOT NULL, status_reason VARCHAR, seconds_played INTEGER,
            comment VARCHAR, {BOX_STATS.replace('minutes DOUBLE,', '', 1)}, plus_minus DOUBLE,
            known_at TIMESTAMP NOT NULL, {LINEAGE})""",
        *_history_of("raw.boxscore_players_v2"),
    )),
    Migration(12, "an outbox event's publication instant (a pass takes only what was published by its clock)", (
        "ALTER TABLE ops.events ADD COLUMN published_at TIMESTAMP",
    )),
)

LATEST_VERSION = MIGRATIONS[-1].version
KNOWN_VERSIONS = frozenset(m.version for m in MIGRATIONS)


def _applied(con: duckdb.DuckDBPyConnection) -> set[int]:
    with read_transaction(con):
        exists = con.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_catalog = current_database() AND table_schema = 'ops' AND table_name = 'schema_migrations'"
        ).fetchall()[0][0]
        return {v for (v,) in con.execute("SELECT version FROM ops.schema_migrations").fetchall()} if exists else set()


def current_version(con: duckdb.DuckDBPyConnection, migrations: tuple[Migration, ...] | None = None) -> int:
    """The warehouse's schema version: its newest migration nbadb does not know, else the last migration,
    in MIGRATIONS order, up to which every one is applied (0: none). Versions are not applied in numeric
    order (10 comes after 30), so "up to date" means "equal to LATEST_VERSION"."""
    return _version_of(_applied(con), migrations or MIGRATIONS)


def _version_of(applied: set[int], migrations: tuple[Migration, ...]) -> int:
    if unknown := applied - {m.version for m in migrations}:
        return max(unknown)
    version = 0
    for migration in migrations:
        if migration.version not in applied:
            break
        version = migration.version
    return version


def is_newer(version: int) -> bool:
    """A schema version this nbadb does not know (written by a newer nbadb)."""
    return version not in KNOWN_VERSIONS and version != 0


def _apply(con: duckdb.DuckDBPyConnection, migration: Migration) -> None:
    """Inside a transaction: the migration's statements and its row in ops.schema_migrations."""
    for statement in migration.statements:
        con.execute(statement)
    con.execute("INSERT INTO ops.schema_migrations (version, name, applied_at) VALUES (?, ?, now()::TIMESTAMP)",
                [migration.version, migration.name])


def apply_migrations(con: duckdb.DuckDBPyConnection, path: Path | str = "warehouse",
                     migrations: tuple[Migration, ...] = MIGRATIONS) -> list[int]:
    """Apply every migration of `migrations` (the warehouse's by default) newer than the database,
    each in its own transaction."""
    done = _applied(con)
    version = _version_of(done, migrations)
    if version not in {m.version for m in migrations} and version != 0:
        raise WarehouseError(
            f"{path} has schema version {version}, newer than this nbadb understands "
            f"({migrations[-1].version}). Upgrade nbadb, or point NBADB_DATA_DIR at another warehouse."
        )
    if version == 0:
        con.execute("CREATE SCHEMA IF NOT EXISTS ops")
        con.execute(
            "CREATE TABLE IF NOT EXISTS ops.schema_migrations "
            "(version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
        )
    applied = []
    for migration in migrations:
        if migration.version in done:
            continue
        committed(con, partial(_apply, con, migration))
        applied.append(migration.version)
    if applied:  # DuckDB 1.4 cannot replay these DDL statements from its WAL after a crash: persist them now
        con.execute("CHECKPOINT")
    return applied

