"""The archive source: replays real published NBA files day by day.

For a date range it answers "what was published": the schedule of those dates (from a schedule
file, or derived from team logs), final box scores of games played then, injury moves dated
then and prop-line snapshots taken then. Files are found by glob patterns (sources.files),
checked against their contracts once per process, and staged as tables `stage_*` that the raw
processors read, in the in-memory stage catalog every connection to the warehouse sees (so raw
processors can run side by side on their own connections). Manual stat corrections
(ops.source_corrections) are applied on top.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from nbadb.contracts.quarantine import QUARANTINE_COLUMNS, split_across_files, split_valid
from nbadb.contracts.source_contracts import CONTRACTS
from nbadb.errors import ArchiveFileError, ConfigError
from nbadb.sources.files import KINDS, discover
from nbadb.sources.names import match_players_sql, name_key_sql
from nbadb.warehouse.connection import STAGE_CATALOG

CORRECTABLE_STATS = ("MIN", "FGM", "FGA", "FG3M", "FG3A", "FTM", "FTA", "OREB", "DREB", "REB",
                     "AST", "STL", "BLK", "TOV", "PF", "PTS")


def _minutes_text(minutes: str) -> str:
    """SQL: a number of minutes written as the box scores write them ("M:SS")."""
    seconds = f"round({minutes} * 60)::BIGINT"
    return f"printf('%d:%02d', {seconds} // 60, {seconds} % 60)"


@dataclass
class StageReport:
    """What one staging step found: rows per kind, missing kinds, rejected files."""

    rows: dict[str, int] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)
    quarantined: int = 0


class ArchiveSource:
    """Reads an archive folder. One instance per warehouse connection (it creates temp tables)."""

    name = "archive"

    def __init__(self, folder: Path, con: duckdb.DuckDBPyConnection) -> None:
        self.folder = folder
        self.con = con
        self.files = discover(folder)
        self._loaded: set[str] = set()
        self._rejected: dict[str, ArchiveFileError] = {}
        self._players_staged = False
        self._incomplete: dict[str, tuple[str, ...]] = {}
        self._text_columns: dict[str, set[str]] = {}  # per loaded archive table, read once
        con.execute(
            "CREATE OR REPLACE TEMP TABLE src_quarantine (table_name VARCHAR, record_key VARCHAR, "
            "column_name VARCHAR, reason VARCHAR, source_file VARCHAR, record_date DATE)"
        )

    # -- loading -------------------------------------------------------------------------

    def available(self, kind: str) -> bool:
        """True when the kind has files and they passed their contract."""
        if not self.files[kind]:
            return False
        try:
            self._load(kind)
        except ArchiveFileError:
            return False
        return True

    def rejection(self, kind: str) -> ArchiveFileError | None:
        return self._rejected.get(kind)

    def _load(self, kind: str) -> None:
        if kind in self._loaded:
            return
        if kind in self._rejected:
            raise self._rejected[kind]
        try:
            frame = self._load_players() if kind == "players" else self._load_checked(kind)
        except ArchiveFileError as exc:
            self._rejected[kind] = exc
            raise
        self.con.register("_frame", frame)
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE src_{kind} AS SELECT * FROM _frame")
        self.con.unregister("_frame")
        self._loaded.add(kind)

    def _read(self, path: Path) -> pl.DataFrame:
        try:
            return pl.read_parquet(path)
        except Exception as exc:  # polars raises several types for truncated / foreign files
            raise ArchiveFileError(str(path), f"not a readable parquet file ({type(exc).__name__}: {exc})") from exc

    def _load_checked(self, kind: str) -> pl.DataFrame:
        contract = CONTRACTS[kind]
        valid_frames, quarantine_frames = [], []
        for path in self.files[kind]:
            frame = self._read(path)
            if kind == "props" and "SNAPSHOT_DATE" not in frame.columns:
                frame = _with_snapshot_date(frame, path)
            valid, quarantine = split_valid(frame, contract, path)
            valid_frames.append(valid.with_columns(pl.lit(path.name).alias("_source_file")))
            quarantine_frames.append(quarantine)
        valid = pl.concat(valid_frames, how="diagonal_relaxed")
        if len(valid_frames) > 1:  # a key may repeat across files (overlapping exports of one season)
            valid, across = split_across_files(valid, contract)
            quarantine_frames.append(across)
        quarantine = pl.concat(quarantine_frames, how="diagonal_relaxed")
        self._incomplete.clear()  # game-keyed quarantine only changes when a file loads
        if quarantine.height:
            quarantine = quarantine.with_columns(pl.lit(KINDS[kind].raw_table).alias("table_name"))
            self.con.register("_q", quarantine.select(QUARANTINE_COLUMNS))
            self.con.execute("INSERT INTO src_quarantine SELECT table_name, record_key, column_name, reason, "
                             "source_file, try_cast(record_date AS DATE) FROM _q")
            self.con.unregister("_q")
        return valid

    def _load_players(self) -> pl.DataFrame:
        rows = []
        for path in self.files["players"]:
            try:
                payload = json.loads(path.read_text())
                result = payload["resultSets"][0]
                headers = result["headers"]
                for row in result["rowSet"]:
                    rec = dict(zip(headers, row))
                    team = f"{rec.get('TEAM_CITY') or ''} {rec.get('TEAM_NAME') or ''}".strip()
                    rows.append((int(rec["PERSON_ID"]), rec["DISPLAY_FIRST_LAST"], team, str(rec.get("TO_YEAR") or "")))
            except (KeyError, TypeError, ValueError) as exc:
                raise ArchiveFileError(str(path), f"not a commonallplayers payload ({exc})") from exc
        return pl.DataFrame(rows, schema=["PLAYER_ID", "PLAYER_NAME", "TEAM_NAME", "SEASON"], orient="row")

    # -- what exists -----------------------------------------------------------------------

    def season_range(self, season: str) -> tuple[date, date]:
        """First and last date of a season label ("2023-24") across logs and schedules."""
        parts = []
        if self.available("team_logs"):
            parts.append("SELECT GAME_DATE AS d FROM src_team_logs WHERE SEASON = $s")
        if self.available("player_logs"):
            parts.append("SELECT GAME_DATE FROM src_player_logs WHERE SEASON = $s")
        if self.available("schedule"):
            parts.append("SELECT GAME_DATE_EST FROM src_schedule WHERE SEASON = $s")
        if not parts:
            raise ConfigError(f"the archive {self.folder} has no logs or schedule to find season {season} in")
        lo, hi = self.con.execute(f"SELECT min(d), max(d) FROM ({' UNION ALL '.join(parts)})", {"s": season}).fetchall()[0]
        if lo is None:
            raise ConfigError(f"season {season} is not in the archive {self.folder}")
        return lo, hi

    def game_dates(self, start: date, end: date, regular_season_only: bool = False) -> list[date]:
        """Dates in [start, end] on which the schedule or the logs show a game."""
        self.stage(start, end)
        where = " WHERE substr(game_id, 3, 1) = '2'" if regular_season_only else ""  # 002… = regular season
        return [r[0] for r in self.con.execute(f"SELECT DISTINCT game_date FROM stage_schedule{where} ORDER BY 1").fetchall()]

    # -- staging ---------------------------------------------------------------------------

    def stage(self, start: date, end: date, game_ids: list[str] | None = None) -> StageReport:
        """Create the stage_* temp tables with what was published in [start, end]."""
        report = StageReport()
        for kind in KINDS:
            if not self.files[kind]:
                report.missing.append(kind)
            elif not self.available(kind):
                report.rejected[kind] = str(self._rejected[kind])
        params = {"start": start, "end": end}
        game_filter = ""
        self.con.execute("CREATE OR REPLACE TEMP TABLE _stage_games (game_id VARCHAR)")
        if game_ids is not None:
            self.con.executemany("INSERT INTO _stage_games VALUES (?)", [[g] for g in game_ids])
            game_filter = " AND GAME_ID IN (SELECT game_id FROM _stage_games)"
        self._stage_corrections()
        self._stage_logs("player_logs", "stage_player_logs", params, game_filter, ("GAME_ID", "PLAYER_ID"))
        self._stage_logs("team_logs", "stage_team_logs", params, game_filter, ("GAME_ID", "TEAM_ID"))
        self._stage_boxscores(params, game_filter)
        self._stage_schedule(params, game_filter)
        self._stage_simple("injuries", "stage_injuries", "DATE BETWEEN $start AND $end", params)
        self._stage_players()
        self._stage_props(params)
        self._stage_injuries_ids()
        for table in ("stage_player_logs", "stage_team_logs", "stage_boxscores", "stage_schedule",
                      "stage_injuries", "stage_props"):
            report.rows[table] = self.con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
        report.quarantined = self.con.execute(
            "SELECT count(*) FROM src_quarantine WHERE record_date BETWEEN $start AND $end OR record_date IS NULL",
            params,
        ).fetchall()[0][0]
        return report

    def _empty(self, table: str, columns: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TABLE {STAGE_CATALOG}.{table} ({columns})")

    def _stage_as(self, table: str, select_sql: str, params: dict | None = None) -> None:
        """(Re)create stage table `table` in the stage catalog from a query."""
        self.con.execute(f"CREATE OR REPLACE TABLE {STAGE_CATALOG}.{table} AS {select_sql}", params)

    def _stage_corrections(self) -> None:
        """Latest value per (game, player, stat) from ops.source_corrections."""
        self.con.execute(
            """CREATE OR REPLACE TEMP TABLE _corrections AS
            SELECT game_id, player_id, upper(stat) AS stat, arg_max(value, published_at) AS value
            FROM ops.source_corrections GROUP BY ALL"""
        )

    def _corrected_select(self, source: str, key: tuple[str, str], archive_table: str) -> str:
        """SELECT over `source` (rows of `archive_table`) with corrections applied (per player,
        or summed deltas per team). A stat the file keeps as text (the box scores' MIN, "M:SS")
        gets the corrected value written the same way."""
        stats = [r[0] for r in self.con.execute("SELECT DISTINCT stat FROM _corrections").fetchall()]
        stats = [s for s in stats if s in CORRECTABLE_STATS]
        if not stats:
            return f"SELECT * FROM {source}"
        if key[1] == "PLAYER_ID":
            if archive_table not in self._text_columns:
                self._text_columns[archive_table] = {
                    c for c, t, *_ in self.con.execute(f"DESCRIBE {archive_table}").fetchall() if t == "VARCHAR"}
            text = self._text_columns[archive_table]
            replaced = ", ".join(
                f"coalesce((SELECT {_minutes_text('c.value') if st in text else 'c.value'} FROM _corrections c "
                f"WHERE c.game_id = s.GAME_ID AND c.player_id = s.PLAYER_ID AND c.stat = '{st}'), s.{st}) AS {st}"
                for st in stats
            )
        else:
            replaced = ", ".join(
                f"s.{st} + coalesce((SELECT sum(c.value - p.{st}) FROM _corrections c JOIN src_player_logs p "
                f"ON p.GAME_ID = c.game_id AND p.PLAYER_ID = c.player_id WHERE c.game_id = s.GAME_ID "
                f"AND p.TEAM_ID = s.TEAM_ID AND c.stat = '{st}'), 0) AS {st}"
                for st in stats
            )
        return f"SELECT s.* REPLACE ({replaced}) FROM {source} s"

    def _stage_logs(self, kind: str, table: str, params: dict, game_filter: str, key: tuple[str, str]) -> None:
        if not self.available(kind):
            self._empty(table, "GAME_ID VARCHAR, GAME_DATE DATE")
            return
        filtered = f"(SELECT * FROM src_{kind} WHERE GAME_DATE BETWEEN $start AND $end{game_filter})"
        corrected = self._corrected_select(filtered, key, f"src_{kind}")
        self._stage_as(table, corrected, params)

    def _stage_boxscores(self, params: dict, game_filter: str) -> None:
        if not (self.available("boxscores") and self.available("team_logs")):
            self._empty("stage_boxscores", "GAME_ID VARCHAR, GAME_DATE DATE")
            return
        filtered = f"""(SELECT b.*, d.GAME_DATE FROM src_boxscores b
            JOIN (SELECT DISTINCT GAME_ID, GAME_DATE FROM src_team_logs) d USING (GAME_ID)
            WHERE d.GAME_DATE BETWEEN $start AND $end{game_filter.replace('GAME_ID', 'b.GAME_ID')})"""
        corrected = self._corrected_select(filtered, ("GAME_ID", "PLAYER_ID"), "src_boxscores")
        self._stage_as("stage_boxscores", corrected, params)

    def _stage_schedule(self, params: dict, game_filter: str) -> None:
        columns = ("game_id VARCHAR, game_date DATE, season VARCHAR, season_type VARCHAR, home_team_id BIGINT, "
                   "away_team_id BIGINT, home_team_abbr VARCHAR, away_team_abbr VARCHAR, tip_time_utc TIMESTAMP, "
                   "schedule_source VARCHAR")
        self._empty("stage_schedule", columns)
        if self.available("schedule"):
            self.con.execute(
                f"""INSERT INTO stage_schedule SELECT GAME_ID, GAME_DATE_EST, SEASON, SEASON_TYPE, HOME_TEAM_ID,
                    AWAY_TEAM_ID, HOME_TEAM_TRICODE, AWAY_TEAM_TRICODE,
                    try_cast(replace(GAME_DATETIME_UTC, 'Z', '') AS TIMESTAMP), _source_file
                FROM src_schedule WHERE GAME_DATE_EST BETWEEN $start AND $end{game_filter}""",
                params,
            )
        if self.available("team_logs"):
            self.con.execute(
                f"""INSERT INTO stage_schedule
                SELECT GAME_ID, any_value(GAME_DATE), any_value(SEASON), NULL,
                       max(TEAM_ID) FILTER (WHERE MATCHUP LIKE '% vs. %'),
                       max(TEAM_ID) FILTER (WHERE MATCHUP LIKE '% @ %'),
                       max(TEAM_ABBREVIATION) FILTER (WHERE MATCHUP LIKE '% vs. %'),
                       max(TEAM_ABBREVIATION) FILTER (WHERE MATCHUP LIKE '% @ %'),
                       NULL, 'derived from ' || any_value(_source_file)
                FROM src_team_logs
                WHERE GAME_DATE BETWEEN $start AND $end{game_filter}
                  AND GAME_ID NOT IN (SELECT game_id FROM stage_schedule)
                GROUP BY GAME_ID""",
                params,
            )

    def _stage_simple(self, kind: str, table: str, where: str, params: dict) -> None:
        if not self.available(kind):
            self._empty(table, "_missing BOOLEAN")
            return
        self._stage_as(table, f"SELECT * FROM src_{kind} WHERE {where}", params)

    def _stage_props(self, params: dict) -> None:
        """Props with NBA player ids; lines whose name matches no player go to quarantine."""
        if not self.available("props"):
            self._empty("stage_props", "_missing BOOLEAN")
            return
        if not self.con.execute(
            "SELECT count(*) FROM (SELECT 1 FROM src_props WHERE SNAPSHOT_DATE BETWEEN $start AND $end LIMIT 1)", params
        ).fetchall()[0][0]:
            self._stage_as("stage_props", "SELECT *, NULL::BIGINT AS matched_player_id FROM src_props WHERE false")
            return
        rows = "(SELECT * FROM src_props WHERE SNAPSHOT_DATE BETWEEN $start AND $end) AS p"
        hint = "r.GAME LIKE '%' || d.team_name || '%'"
        self._stage_as("stage_props", match_players_sql(rows, "PLAYER", hint), params)
        self.con.execute(
            """INSERT INTO src_quarantine
            SELECT 'raw.prop_lines', PLAYER || '|' || GAME, 'PLAYER',
                   'player name not matched to an NBA player id', _source_file, SNAPSHOT_DATE
            FROM stage_props WHERE matched_player_id IS NULL
              AND (PLAYER || '|' || GAME) NOT IN (SELECT record_key FROM src_quarantine WHERE table_name = 'raw.prop_lines')"""
        )

    def _stage_injuries_ids(self) -> None:
        if self.available("injuries"):
            rows = "(SELECT * REPLACE (trim(regexp_replace(PLAYER, '^\\W+', '')) AS PLAYER) FROM stage_injuries) AS i"
            hint = "d.team_name LIKE '%' || r.TEAM"
            self._stage_as("stage_injuries", match_players_sql(rows, "PLAYER", hint))

    def incomplete_games(self, raw_table: str) -> tuple[str, ...]:
        """Games some of whose rows for `raw_table` were quarantined (an exact duplicate does not count)."""
        if raw_table not in self._incomplete:
            self._incomplete[raw_table] = self._quarantined_games(raw_table)
        return self._incomplete[raw_table]

    def _quarantined_games(self, raw_table: str) -> tuple[str, ...]:
        rows = self.con.execute(
            """SELECT DISTINCT split_part(record_key, '|', 1) FROM src_quarantine
            WHERE table_name = ? AND reason NOT LIKE 'exact duplicate%'
              AND regexp_matches(split_part(record_key, '|', 1), '^[0-9]{10}$')""",
            [raw_table],
        ).fetchall()
        return tuple(sorted(g for (g,) in rows))

    def prop_match_rate(self) -> tuple[int, int]:
        """(matched, total) prop lines among those staged."""
        if not self.available("props"):
            return 0, 0
        return self.con.execute("SELECT count(matched_player_id), count(*) FROM stage_props").fetchall()[0]

    def _stage_players(self) -> None:
        """The directory for name matching: every (player, team, season) the archive knows (built once)."""
        if self._players_staged:
            return
        self._players_staged = True
        parts = []
        if self.available("player_logs"):
            parts.append("SELECT DISTINCT PLAYER_ID, PLAYER_NAME, TEAM_NAME, SEASON FROM src_player_logs")
        if self.available("players"):
            parts.append("SELECT PLAYER_ID, PLAYER_NAME, TEAM_NAME, SEASON FROM src_players")
        body = " UNION ALL ".join(parts) or (
            "SELECT NULL::BIGINT AS PLAYER_ID, NULL::VARCHAR AS PLAYER_NAME, NULL::VARCHAR AS TEAM_NAME, "
            "NULL::VARCHAR AS SEASON WHERE false"
        )
        self.con.execute(
            f"""CREATE OR REPLACE TEMP TABLE stage_players AS
            SELECT DISTINCT PLAYER_ID AS player_id, PLAYER_NAME AS player_name, TEAM_NAME AS team_name,
                   SEASON AS season, {name_key_sql('PLAYER_NAME')} AS name_key FROM ({body})"""
        )


def _with_snapshot_date(frame: pl.DataFrame, path: Path) -> pl.DataFrame:
    """Prop files carry their snapshot time as SNAPSHOT_LOCAL or REQUEST_DATE; name it SNAPSHOT_DATE."""
    if "SNAPSHOT_LOCAL" in frame.columns:
        return frame.with_columns(pl.col("SNAPSHOT_LOCAL").cast(pl.Date).alias("SNAPSHOT_DATE"))
    if "REQUEST_DATE" in frame.columns:
        return frame.with_columns(pl.col("REQUEST_DATE").alias("SNAPSHOT_DATE"))
    raise ArchiveFileError(str(path), "missing required column SNAPSHOT_LOCAL or REQUEST_DATE (when the lines were taken)")
