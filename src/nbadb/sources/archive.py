"""The archive source: replays real published NBA files day by day.

For a date range it answers "what was published": the schedule of those dates (from a schedule
file, or derived from team logs), the final box scores of games played then, injury moves dated
then and prop-line snapshots taken then, each row with its publication time (`KNOWN_AT`,
engine.clock) and with the corrections published by the publication's clock applied on top.

Files are found by glob patterns (sources.files) and checked against their contracts once per
content (sources.checked). A publication reads the checked rows it concerns: the rows dated in
its range and every other row of the same games (so a row whose date was garbled is judged with
its game, not lost), plus rows with no readable date. Rules that join kinds (a team row equals
its players) and name matching run once both sides are staged. What a publication staged sits
as tables `stage_*` in the in-memory stage catalog every connection to the warehouse sees.

Per file and publication the source reconciles: source rows = rows accepted + rows quarantined.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Callable

import duckdb
import polars as pl

from nbadb.contracts.quarantine import EXACT_COPY, duplicate_reasons
from nbadb.contracts.source_contracts import CONTRACTS, CORRECTABLE_STATS, CROSS_RULES
from nbadb.engine.clock import morning_sql, night_sql
from nbadb.engine.request import SourceQuarantine
from nbadb.errors import ArchiveFileError, ConfigError
from nbadb.sources.checked import check_file
from nbadb.sources.files import KINDS, discover
from nbadb.sources.names import match_players_sql, name_key_sql
from nbadb.sources.provider_feed import COLUMNS as PROVIDER_COUNT_COLUMNS, COUNTS_TABLE, UNMATCHED_SQL, Spans, count_lines, unread
from nbadb.warehouse.connection import STAGE_CATALOG
from nbadb.warehouse.transactions import read_transaction

# Kinds whose rows are checked row by row (the player directory is one JSON payload).
ROW_KINDS = ("player_logs", "team_logs", "boxscores", "schedule", "injuries", "props", "corrections")
_GAME_KINDS = ("player_logs", "team_logs")
UNMATCHED_NAME = "player name not matched to an NBA player id"
_QUARANTINE_COLUMNS = "table_name VARCHAR, record_key VARCHAR, column_name VARCHAR, reason VARCHAR, " \
                      "source_file VARCHAR, record_date DATE, entity_id VARCHAR, exact_copy BOOLEAN, row_values VARCHAR"
_QUARANTINED = ("(table_name, record_key, column_name, reason, source_file, record_date, entity_id, exact_copy, "
                "row_values)")
# Each raw table's stage table and the column naming its entity (a game; an event for prop lines).
_STAGE_KEYS = (("raw.player_boxscores", "stage_player_logs", "GAME_ID"),
               ("raw.team_boxscores", "stage_team_logs", "GAME_ID"),
               ("raw.boxscore_players", "stage_boxscores", "GAME_ID"),
               ("raw.schedule", "stage_schedule", "game_id"),
               ("raw.prop_lines", "stage_props", "EVENT_KEY"))
_SCHEDULE = ("(game_id, game_date, season, season_type, home_team_id, away_team_id, home_team_abbr, away_team_abbr, "
             "tip_time_utc, schedule_source, KNOWN_AT)")


def _minutes_text(minutes: str) -> str:
    """SQL: a number of minutes written as the box scores write them ("M:SS")."""
    seconds = f"round({minutes} * 60)::BIGINT"
    return f"printf('%d:%02d', {seconds} // 60, {seconds} % 60)"


# The event a prop line belongs to: the feed's id, else one derived from the game title and tip-off
# (contracts.source_contracts._event_of computes the same for quarantined rows).
EVENT_SQL = "coalesce(EVENT_ID, md5(GAME || '|' || strftime(timezone('UTC', GAME_TIME), '%Y-%m-%dT%H:%M')))"


# Which checked rows of a file a publication concerns: a polars predicate built from the file's rows.
Selection = Callable[[pl.DataFrame], pl.Expr]


def _game_rows(start: date, end: date, games: set[str] | None) -> Selection:
    """The rows of every game with a row dated in [start, end] (all its rows, whatever their
    date), plus undated rows; only `games` when given."""
    def select(frame: pl.DataFrame) -> pl.Expr:
        in_range = pl.col("_date").is_between(start, end)
        ids = frame.filter(in_range)["GAME_ID"].unique()
        chosen = in_range | pl.col("_date").is_null() | pl.col("GAME_ID").is_in(ids.implode())
        return chosen & pl.col("GAME_ID").is_in(sorted(games)) if games is not None else chosen
    return select


def _rows_of_games(games: pl.DataFrame | None) -> Selection:
    """Box-score rows carry no date: the rows of the team logs' games of the publication."""
    ids = games["GAME_ID"] if games is not None else pl.Series([], dtype=pl.String)
    return lambda frame: pl.col("GAME_ID").is_in(ids.implode())


def _event_rows(start: date, end: date) -> Selection:
    """Prop lines snapped in [start, end], plus undated lines, plus every other line of the same
    events (game and tip-off): a line whose snapshot time was garbled is judged with its event."""
    def select(frame: pl.DataFrame) -> pl.Expr:
        in_range = pl.col("_date").is_between(start, end)
        events = frame.filter(in_range).select("GAME", "GAME_TIME").unique()
        same_event = frame.join(events, on=["GAME", "GAME_TIME"], how="semi")["_row"]  # nulls match nothing
        return in_range | pl.col("_date").is_null() | pl.col("_row").is_in(same_event.implode())
    return select


def _books_read(select: Selection, disabled: Spans) -> Selection:
    """`select` without the lines a book published while disabled (sources.provider_feed.unread)."""
    if not disabled:
        return select
    return lambda frame: select(frame) & ~unread(disabled)


def _dated_rows(start: date, end: date, games: set[str] | None) -> Selection:
    """Rows dated in [start, end], plus undated rows; only `games` when given (and the kind has games)."""
    def select(frame: pl.DataFrame) -> pl.Expr:
        chosen = pl.col("_date").is_between(start, end) | pl.col("_date").is_null()
        return chosen & pl.col("GAME_ID").is_in(sorted(games)) if games is not None and "GAME_ID" in frame.columns \
            else chosen
    return select


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {c for c, *_ in con.execute(f"DESCRIBE {table}").fetchall()}


@dataclass(frozen=True)
class FileCount:
    """One file's share of one publication: source rows = rows accepted + rows quarantined."""

    kind: str
    source_file: str
    source_rows: int
    accepted: int
    quarantined: int

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "source_file": self.source_file, "source_rows": self.source_rows,
                "accepted": self.accepted, "quarantined": self.quarantined}


@dataclass
class StageReport:
    """What one staging step found: rows per stage table, missing and rejected kinds, quarantined
    rows, the per-file reconciliation, what each raw table's runs must know about the quarantine,
    and the latest publication time among the staged rows."""

    rows: dict[str, int] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    rejected: dict[str, ArchiveFileError] = field(default_factory=dict)
    quarantined: int = 0  # source rows
    quarantine_records: int = 0  # what ops.quarantine keeps of them: one per record key, rule and file
    files: list[FileCount] = field(default_factory=list)
    source_quarantine: dict[str, SourceQuarantine] = field(default_factory=dict)
    latest_known_at: datetime | None = None
    recorded: bool = False  # its quarantine and counts are in ops (once, however many publications use it)


def _fingerprint(files: dict[str, list[Path]]) -> dict[str, list[tuple[Path, int, int, int]]]:
    """Each file's identity as sources.checked caches it: path, inode, size, modification time."""
    def identity(path: Path) -> tuple[Path, int, int, int]:
        status = path.stat()
        return path, status.st_ino, status.st_size, status.st_mtime_ns
    return {kind: [identity(p) for p in paths] for kind, paths in files.items()}


class ArchiveSource:
    """Reads an archive folder. One instance per warehouse connection (it creates temp tables)."""

    name = "archive"

    def __init__(self, folder: Path, con: duckdb.DuckDBPyConnection, cache_dir: Path | None = None) -> None:
        self.folder = folder
        self.con = con
        self.cache_dir = cache_dir
        self.kinds_from: dict[str, Path] = {}  # kinds read from another folder (read_kinds_from)
        self.files = discover(folder)
        self._seen = _fingerprint(self.files)
        self._forget()

    def _forget(self) -> None:
        self._checked: dict[str, list[tuple[Path, pl.DataFrame]]] = {}
        self._rejected: dict[str, ArchiveFileError] = {}
        self._players: pl.DataFrame | None = None
        self._directory: pl.DataFrame | None = None

    def refresh(self) -> bool:
        """Look at the folder again: when a file was added, removed or replaced since it was last
        looked at, read it afresh from now on (True); else keep what was read (False). ArchiveMissingError
        when the folder is gone."""
        found = discover(self.folder, self.kinds_from)
        seen = _fingerprint(found)
        if seen == self._seen:
            return False
        self.files, self._seen = found, seen
        self._forget()
        return True

    def read_kinds_from(self, folder: Path, kinds: tuple[str, ...]) -> None:
        """From now on read `kinds` from `folder` only (the ingestion track's phase 3: rollout.ingestion)."""
        self.kinds_from = dict.fromkeys(kinds, folder)
        self.refresh()

    # -- checking ---------------------------------------------------------------------------

    def checked(self, kind: str) -> list[tuple[Path, pl.DataFrame]]:
        """The checked rows of every file of the kind (ArchiveFileError when one is malformed)."""
        if kind in self._rejected:
            raise self._rejected[kind]
        if kind not in self._checked:
            try:
                self._checked[kind] = [(path, check_file(path, kind, self.cache_dir)) for path in self.files[kind]]
            except ArchiveFileError as exc:
                self._rejected[kind] = exc
                raise
        return self._checked[kind]

    def available(self, kind: str) -> bool:
        """True when the kind has files and they passed their contract."""
        if not self.files[kind]:
            return False
        try:
            self.players() if kind == "players" else self.checked(kind)
        except ArchiveFileError:
            return False
        return True

    def rejection(self, kind: str) -> ArchiveFileError | None:
        return self._rejected.get(kind) if self.files[kind] and not self.available(kind) else None

    def players(self) -> pl.DataFrame:
        """The player directory of the commonallplayers payloads (PLAYER_ID, PLAYER_NAME, TEAM_NAME, SEASON)."""
        if "players" in self._rejected:
            raise self._rejected["players"]
        if self._players is None:
            rows = []
            for path in self.files["players"]:
                try:
                    result = json.loads(path.read_text())["resultSets"][0]
                    for row in result["rowSet"]:
                        rec = dict(zip(result["headers"], row))
                        team = f"{rec.get('TEAM_CITY') or ''} {rec.get('TEAM_NAME') or ''}".strip()
                        rows.append((int(rec["PERSON_ID"]), rec["DISPLAY_FIRST_LAST"], team, str(rec.get("TO_YEAR") or "")))
                except (OSError, KeyError, TypeError, ValueError, IndexError) as exc:
                    self._rejected["players"] = error = ArchiveFileError(
                        str(path), f"not a commonallplayers payload ({type(exc).__name__}: {exc})")
                    raise error from exc
            self._players = pl.DataFrame(rows, schema=["PLAYER_ID", "PLAYER_NAME", "TEAM_NAME", "SEASON"], orient="row")
        return self._players

    # -- what exists -----------------------------------------------------------------------

    def season_range(self, season: str) -> tuple[date, date]:
        """First and last date of a season label ("2023-24") across logs, schedules and prop lines."""
        dates: list[date] = []
        for kind, column in (("team_logs", "SEASON"), ("player_logs", "SEASON"), ("schedule", "SEASON")):
            if self.available(kind):
                for _, rows in self.checked(kind):
                    found = rows.filter(pl.col(column) == season)["_date"].drop_nulls()
                    dates += [found.min(), found.max()] if found.len() else []
        if self.available("props"):
            start_year = int(season[:4]) if season[:4].isdigit() else 0
            lo, hi = date(start_year, 7, 1), date(start_year + 1, 6, 30)
            for _, rows in self.checked("props"):
                found = rows["GAME_TIME"].dt.convert_time_zone("America/New_York").dt.date()
                found = found.filter(found.is_between(lo, hi))
                dates += [found.min(), found.max()] if found.len() else []
        if not any(self.files[k] for k in ("team_logs", "player_logs", "schedule", "props")):
            raise ConfigError(f"the archive {self.folder} has no logs, schedule or prop lines to find season {season} in")
        if not dates:
            raise ConfigError(f"season {season} is not in the archive {self.folder}")
        return min(dates), max(dates)

    def staged_games(self) -> set[str]:
        """The game ids of the latest staging: its schedule, game logs and box scores."""
        parts = [f"SELECT {key} FROM {table}" for raw, table, key in _STAGE_KEYS
                 if raw != "raw.prop_lines" and key in _columns(self.con, table)]
        return {r[0] for r in self.con.execute(" UNION ".join(parts)).fetchall()} if parts else set()

    def last_result_date(self, season: str) -> date | None:
        """The last date of the season's player game logs (its results) in the archive; None without any."""
        if not self.available("player_logs"):
            return None
        lasts = [rows.filter(pl.col("SEASON") == season)["_date"].max() for _, rows in self.checked("player_logs")]
        return max((d for d in lasts if d is not None), default=None)

    def first_date(self) -> date | None:
        """The earliest date of the archive's logs and schedules (None when it has neither)."""
        firsts = [rows["_date"].min() for kind in ("team_logs", "player_logs", "schedule") if self.available(kind)
                  for _, rows in self.checked(kind)]
        return min((d for d in firsts if d is not None), default=None)

    def game_dates(self, start: date, end: date, regular_season_only: bool = False) -> list[date]:
        """Dates in [start, end] on which the schedule, the logs or the prop lines show a game."""
        self.stage(start, end)
        where = " WHERE substr(game_id, 3, 1) = '2'" if regular_season_only else ""  # 002… = regular season
        scheduled = {r[0] for r in self.con.execute(f"SELECT DISTINCT game_date FROM stage_schedule{where}").fetchall()}
        if scheduled or regular_season_only and self.files["schedule"] + self.files["team_logs"]:
            return sorted(scheduled)
        lined = self.con.execute(
            "SELECT DISTINCT cast(timezone('America/New_York', GAME_TIME) AS DATE) FROM stage_props"
        ).fetchall() if self.available("props") else []
        return sorted(d for (d,) in lined if start <= d <= end)

    # -- staging ---------------------------------------------------------------------------

    def stage(self, start: date, end: date, game_ids: list[str] | None = None,
              clock: datetime | None = None, disabled: Spans | None = None) -> StageReport:
        """Create the stage_* tables with what was published in [start, end], with the corrections
        published by `clock` (all of them when None) applied. The prop lines a book published while
        `disabled` (its spans) are not read, only counted per book (src_provider_lines,
        sources.provider_feed) with every book's lines."""
        with read_transaction(self.con):  # some sixty statements, most on temp tables: on a lake one transaction, not sixty
            return self._stage(start, end, game_ids, clock, disabled or {})

    def _stage(self, start: date, end: date, game_ids: list[str] | None, clock: datetime | None,
               disabled: Spans) -> StageReport:
        report = StageReport()
        for kind, found in KINDS.items():
            if not self.files[kind]:
                if found.expected:
                    report.missing.append(kind)
            elif not self.available(kind):
                report.rejected[kind] = self._rejected[kind]
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE src_quarantine ({_QUARANTINE_COLUMNS})")
        games = set(game_ids) if game_ids is not None else None
        dates = (start, end)
        logs = {kind: self._read_kind(kind, report, _game_rows(start, end, games), dates) for kind in _GAME_KINDS}
        team_games = logs["team_logs"].select("GAME_ID", "GAME_DATE").unique() if logs["team_logs"] is not None else None
        boxscores = self._read_kind("boxscores", report, _rows_of_games(team_games), None)
        self._stage_logs("stage_player_logs", logs["player_logs"])
        self._stage_logs("stage_team_logs", logs["team_logs"])
        self._stage_boxscores(boxscores, team_games)
        self._stage_corrections(clock)
        self._apply_cross_rules(report)
        self._stage_schedule(self._read_kind("schedule", report, _dated_rows(start, end, games), dates))
        self._stage_players()
        self._stage_injuries(self._read_kind("injuries", report, _dated_rows(start, end, None), dates))
        self._count_provider_lines(start, end, disabled, clock)
        self._stage_props(self._read_kind("props", report, _books_read(_event_rows(start, end), disabled), dates),
                          report)
        for table in ("stage_player_logs", "stage_team_logs", "stage_boxscores", "stage_schedule",
                      "stage_injuries", "stage_props"):
            report.rows[table] = self.con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
        self._summarise_quarantine(report)
        return report

    def _read_kind(self, kind: str, report: StageReport, select: Selection,
                   dates: tuple[date, date] | None) -> pl.DataFrame | None:
        """The valid rows of `kind` the publication concerns (None without usable files): those the
        selection picks, dated in `dates` (when the kind has dates). The quarantined rows it picked
        go to src_quarantine, whatever their date, and every file's counts to the report."""
        if not self.available(kind):
            return None
        contract = CONTRACTS[kind]
        frame = self._concerned(kind, select, dates)
        valid = frame.filter(pl.col("_reasons").list.len() == 0)
        bad = frame.filter(pl.col("_reasons").list.len() > 0)
        for path, _ in self.checked(kind):
            mine = frame.filter(pl.col("_source_file") == path.name)
            quarantined = mine.filter(pl.col("_reasons").list.len() > 0).height
            if mine.height:
                report.files.append(FileCount(kind, path.name, mine.height, mine.height - quarantined, quarantined))
        if bad.height:
            key = pl.concat_str([pl.col(k).cast(pl.String).fill_null("") for k in contract.key], separator="|")
            described = bad.select(
                pl.lit(KINDS[kind].raw_table or kind).alias("table_name"), key.alias("record_key"),
                pl.lit(None, pl.String).alias("column_name"), pl.col("_reasons").alias("reason"),
                pl.col("_source_file").alias("source_file"), pl.col("_date").alias("record_date"),
                pl.col("_entity").alias("entity_id"),
                pl.struct(list(contract.columns)).struct.json_encode().alias("row_values"),  # the row as the file has it
            ).explode("reason").with_columns(pl.col("reason").str.starts_with(EXACT_COPY).alias("exact_copy"))
            self.con.register("_q", described)
            self.con.execute("INSERT INTO src_quarantine BY NAME SELECT * FROM _q")
            self.con.unregister("_q")
        return valid.drop("_row", "_reasons", "_entity")

    def _concerned(self, kind: str, select: Selection, dates: tuple[date, date] | None) -> pl.DataFrame:
        """The checked rows of `kind` (valid and not) the selection picks, dated in `dates` or broken."""
        chosen = [rows.filter(select(rows)).with_columns(pl.lit(path.name).alias("_source_file"))
                  for path, rows in self.checked(kind)]
        frame = pl.concat(chosen, how="diagonal_relaxed") if chosen else pl.DataFrame()
        if len(chosen) > 1 and CONTRACTS[kind].unique_across_files and frame.height:
            frame = self._across_files(frame, CONTRACTS[kind].key)
        if dates is not None and frame.height:  # good rows of other dates belong to their own publication
            frame = frame.filter(pl.col("_date").is_between(*dates) | (pl.col("_reasons").list.len() > 0))
        return frame

    @staticmethod
    def _across_files(frame: pl.DataFrame, key: tuple[str, ...]) -> pl.DataFrame:
        """A key repeated across files (overlapping exports of one season): the same rules as within one."""
        valid = frame.filter(pl.col("_reasons").list.len() == 0).with_row_index("_i")
        reasons = duplicate_reasons(valid.rename({"_row": "_file_row", "_i": "_row"}), key,
                                    ignore=("_row", "_file_row", "_source_file", "_reasons", "_entity", "_date"),
                                    where=" across files")
        if not reasons.height:
            return frame
        extra = reasons.group_by("_row").agg(pl.col("reason").alias("_more"))
        marked = valid.join(extra.rename({"_row": "_i"}), on="_i", how="left").with_columns(
            pl.concat_list(pl.col("_reasons"), pl.col("_more").fill_null([])).alias("_reasons")).drop("_i", "_more")
        return pl.concat([marked, frame.filter(pl.col("_reasons").list.len() > 0)], how="diagonal_relaxed")

    def _stage_as(self, table: str, select_sql: str, params: dict | None = None) -> None:
        """(Re)create stage table `table` in the stage catalog from a query."""
        self.con.execute(f"CREATE OR REPLACE TABLE {STAGE_CATALOG}.{table} AS {select_sql}", params)

    def _stage_frame(self, table: str, frame: pl.DataFrame | None, columns: str, select: str = "*") -> None:
        """Stage `frame` (an empty table with `columns` when None)."""
        if frame is None:
            self.con.execute(f"CREATE OR REPLACE TABLE {STAGE_CATALOG}.{table} ({columns})")
            return
        self.con.register("_frame", frame)
        self._stage_as(table, f"SELECT {select} FROM _frame")
        self.con.unregister("_frame")

    def _stage_logs(self, table: str, rows: pl.DataFrame | None) -> None:
        self._stage_frame(table, rows, "GAME_ID VARCHAR, GAME_DATE DATE, KNOWN_AT TIMESTAMP",
                          f"* EXCLUDE (_date), {night_sql('GAME_DATE')} AS KNOWN_AT")

    def _stage_boxscores(self, rows: pl.DataFrame | None, team_games: pl.DataFrame | None) -> None:
        if rows is None or team_games is None:
            self._stage_frame("stage_boxscores", None, "GAME_ID VARCHAR, GAME_DATE DATE, KNOWN_AT TIMESTAMP")
            return
        dated = rows.drop("_date").join(team_games, on="GAME_ID", how="inner")
        self._stage_frame("stage_boxscores", dated, "", f"*, {night_sql('GAME_DATE')} AS KNOWN_AT")

    # -- corrections -----------------------------------------------------------------------

    def _stage_corrections(self, clock: datetime | None) -> None:
        """Apply the latest value per (game, player, stat) published by `clock` to the staged rows of
        the players (and to their team rows, by the same delta); a corrected row is known from the
        latest correction applied to it."""
        self.con.execute(
            """CREATE OR REPLACE TEMP TABLE _corrections AS
            SELECT game_id, player_id, upper(stat) AS stat, arg_max(value, published_at) AS value,
                   max(published_at) AS published_at
            FROM ops.source_corrections WHERE $clock IS NULL OR published_at <= $clock GROUP BY ALL""",
            {"clock": clock},
        )
        stats = [s for (s,) in self.con.execute("SELECT DISTINCT stat FROM _corrections").fetchall()
                 if s in CORRECTABLE_STATS]
        if not stats:
            return
        for table in ("stage_player_logs", "stage_boxscores"):
            columns = _columns(self.con, table)
            if "PLAYER_ID" not in columns:
                continue
            text = {c for c, t, *_ in self.con.execute(f"DESCRIBE {table}").fetchall() if t == "VARCHAR"}
            replaced = ", ".join(
                f"coalesce((SELECT {_minutes_text('c.value') if st in text else 'c.value'} FROM _corrections c "
                f"WHERE c.game_id = s.GAME_ID AND c.player_id = s.PLAYER_ID AND c.stat = '{st}'), s.{st}) AS {st}"
                for st in stats if st in columns
            )
            known = ("greatest(s.KNOWN_AT, (SELECT max(c.published_at) FROM _corrections c "
                     "WHERE c.game_id = s.GAME_ID AND c.player_id = s.PLAYER_ID)) AS KNOWN_AT")
            self._stage_as(f"{table}_corrected", f"SELECT s.* REPLACE ({replaced}, {known}) FROM {table} s")
            self._swap(table)
        columns = _columns(self.con, "stage_team_logs")
        if "TEAM_ID" in columns and "PLAYER_ID" in _columns(self.con, "stage_player_logs"):
            delta = ", ".join(
                f"s.{st} + coalesce((SELECT sum(c.value - p.{st}) FROM _corrections c JOIN _original_players p "
                f"ON p.GAME_ID = c.game_id AND p.PLAYER_ID = c.player_id WHERE c.game_id = s.GAME_ID "
                f"AND p.TEAM_ID = s.TEAM_ID AND c.stat = '{st}'), 0) AS {st}"
                for st in stats if st in columns and st != "MIN"
            )
            known = ("greatest(s.KNOWN_AT, (SELECT max(c.published_at) FROM _corrections c JOIN _original_players p "
                     "ON p.GAME_ID = c.game_id AND p.PLAYER_ID = c.player_id WHERE c.game_id = s.GAME_ID "
                     "AND p.TEAM_ID = s.TEAM_ID)) AS KNOWN_AT")
            self._stage_as("stage_team_logs_corrected",
                           f"SELECT s.* REPLACE ({delta + ', ' if delta else ''}{known}) FROM stage_team_logs s")
            self._swap("stage_team_logs")

    def _swap(self, table: str) -> None:
        if table == "stage_player_logs":  # the team deltas need the players' values before correction
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE _original_players AS SELECT * FROM {table}")
        self.con.execute(f"DROP TABLE {STAGE_CATALOG}.{table}")
        self.con.execute(f"ALTER TABLE {STAGE_CATALOG}.{table}_corrected RENAME TO {table}")

    def _apply_cross_rules(self, report: StageReport) -> None:
        """Rows breaking a rule between two kinds leave their stage table for quarantine."""
        for rule in CROSS_RULES:
            table = f"stage_{rule.kind}"
            if "TEAM_ID" not in _columns(self.con, table) or "PLAYER_ID" not in _columns(self.con, "stage_player_logs"):
                continue
            self.con.execute(
                f"""INSERT INTO src_quarantine {_QUARANTINED}
                SELECT '{KINDS[rule.kind].raw_table}', t.GAME_ID || '|' || t.TEAM_ID, NULL, $rule, t._source_file,
                       t.GAME_DATE, t.GAME_ID, false, to_json(t)  -- the row as staged
                FROM {table} t JOIN ({rule.violations_sql}) v USING (GAME_ID, TEAM_ID)""",
                {"rule": rule.name},
            )
            moved = self.con.execute(
                f"""DELETE FROM {table} WHERE (GAME_ID, TEAM_ID) IN
                    (SELECT (split_part(record_key, '|', 1), split_part(record_key, '|', 2)::BIGINT)
                     FROM src_quarantine WHERE reason = $rule)""",
                {"rule": rule.name},
            ).fetchall()[0][0]
            if moved:
                self._recount(report, rule.kind, table)

    def _recount(self, report: StageReport, kind: str, table: str) -> None:
        """A file's accepted rows after rows left the stage table for quarantine."""
        staged = dict(self.con.execute(f"SELECT _source_file, count(*) FROM {table} GROUP BY 1").fetchall())
        report.files = [
            FileCount(f.kind, f.source_file, f.source_rows, staged.get(f.source_file, 0),
                      f.source_rows - staged.get(f.source_file, 0)) if f.kind == kind else f
            for f in report.files
        ]

    # -- schedule, injuries, prop lines ------------------------------------------------------

    def _stage_schedule(self, rows: pl.DataFrame | None) -> None:
        columns = ("game_id VARCHAR, game_date DATE, season VARCHAR, season_type VARCHAR, home_team_id BIGINT, "
                   "away_team_id BIGINT, home_team_abbr VARCHAR, away_team_abbr VARCHAR, tip_time_utc TIMESTAMP, "
                   "schedule_source VARCHAR, KNOWN_AT TIMESTAMP")
        self._stage_frame("stage_schedule", None, columns)
        if rows is not None:
            self.con.register("_frame", rows)
            self.con.execute(
                f"""INSERT INTO stage_schedule {_SCHEDULE} SELECT GAME_ID, GAME_DATE_EST, SEASON, SEASON_TYPE, HOME_TEAM_ID,
                    AWAY_TEAM_ID, HOME_TEAM_TRICODE, AWAY_TEAM_TRICODE,
                    try_cast(replace(GAME_DATETIME_UTC, 'Z', '') AS TIMESTAMP), _source_file,
                    {morning_sql('GAME_DATE_EST')}
                FROM _frame"""
            )
            self.con.unregister("_frame")
        if "MATCHUP" not in _columns(self.con, "stage_team_logs"):
            return
        self.con.execute(  # games of seasons without a schedule file: from their team rows
            f"""INSERT INTO stage_schedule {_SCHEDULE}
            SELECT GAME_ID, any_value(GAME_DATE), any_value(SEASON), NULL,
                   coalesce(max(TEAM_ID) FILTER (WHERE MATCHUP LIKE '% vs. %'), arg_max(TEAM_ID, neutral_home)),
                   coalesce(max(TEAM_ID) FILTER (WHERE MATCHUP LIKE '% @ %' AND NOT neutral_home),
                            arg_min(TEAM_ID, neutral_home)),
                   coalesce(max(TEAM_ABBREVIATION) FILTER (WHERE MATCHUP LIKE '% vs. %'),
                            arg_max(TEAM_ABBREVIATION, neutral_home)),
                   coalesce(max(TEAM_ABBREVIATION) FILTER (WHERE MATCHUP LIKE '% @ %' AND NOT neutral_home),
                            arg_min(TEAM_ABBREVIATION, neutral_home)),
                   NULL, 'derived from ' || any_value(_source_file), {morning_sql('any_value(GAME_DATE)')}
            FROM (  -- a neutral-site game lists both sides with '@': the side the lower team id names after
                    -- '@' is taken as the nominal home
                SELECT *, count(*) FILTER (WHERE MATCHUP LIKE '% vs. %') OVER (PARTITION BY GAME_ID) = 0
                          AND TEAM_ABBREVIATION = split_part(
                              first(MATCHUP ORDER BY TEAM_ID) OVER (PARTITION BY GAME_ID), ' @ ', 2) AS neutral_home
                FROM stage_team_logs)
            WHERE GAME_ID NOT IN (SELECT game_id FROM stage_schedule)
              AND GAME_ID NOT IN (SELECT entity_id FROM src_quarantine  -- a schedule row kept out stays out
                                  WHERE table_name = 'raw.schedule' AND entity_id IS NOT NULL)
            GROUP BY GAME_ID"""
        )

    def directory(self) -> pl.DataFrame:
        """The directory for name matching: every (player, team, season) the archive knows (made once, like the
        checked files it is made of)."""
        if self._directory is None:
            parts = []
            if self.available("player_logs"):
                logs = pl.concat([rows.select("PLAYER_ID", "PLAYER_NAME", "TEAM_NAME", "SEASON").unique()
                                  for _, rows in self.checked("player_logs")], how="diagonal_relaxed")
                parts.append(logs)
            if self.available("players"):
                parts.append(self.players())
            self._directory = pl.concat(parts, how="diagonal_relaxed").unique() if parts else pl.DataFrame(
                schema={"PLAYER_ID": pl.Int64, "PLAYER_NAME": pl.String, "TEAM_NAME": pl.String, "SEASON": pl.String})
        return self._directory

    def _stage_players(self) -> None:
        self.con.register("_directory", self.directory())
        self.con.execute(
            f"""CREATE OR REPLACE TEMP TABLE stage_players AS
            SELECT DISTINCT PLAYER_ID AS player_id, PLAYER_NAME AS player_name, TEAM_NAME AS team_name,
                   SEASON AS season, {name_key_sql('PLAYER_NAME')} AS name_key FROM _directory"""
        )
        self.con.unregister("_directory")

    def _stage_injuries(self, rows: pl.DataFrame | None) -> None:
        if rows is None:
            self._stage_frame("stage_injuries", None, "_missing BOOLEAN")
            return
        self.con.register("_frame", rows)
        cleaned = (f"(SELECT * EXCLUDE (_date) REPLACE (trim(regexp_replace(PLAYER, '^\\W+', '')) AS PLAYER), "
                   f"{night_sql('DATE')} AS KNOWN_AT FROM _frame) AS i")
        self._stage_as("stage_injuries", match_players_sql(cleaned, "PLAYER", "d.team_name LIKE '%' || r.TEAM"))
        self.con.unregister("_frame")

    def _count_provider_lines(self, start: date, end: date, disabled: Spans, clock: datetime | None) -> None:
        """Each book's lines among those the publication concerns, read or not (sources.provider_feed)."""
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {COUNTS_TABLE} ({PROVIDER_COUNT_COLUMNS})")
        if not self.available("props"):
            return
        counts = count_lines(self._concerned("props", _event_rows(start, end), (start, end)), disabled,
                             clock or datetime.combine(start, datetime.min.time()), start)
        if counts.height:
            self.con.register("_counts", counts)
            self.con.execute(f"INSERT INTO {COUNTS_TABLE} BY NAME SELECT * FROM _counts")
            self.con.unregister("_counts")

    def _stage_props(self, rows: pl.DataFrame | None, report: StageReport) -> None:
        """Props with NBA player ids; lines whose name matches no player go to quarantine."""
        if rows is None:
            self._stage_frame("stage_props", None, "_missing BOOLEAN")
            return
        if "EVENT_ID" not in rows.columns:  # a feed without event ids (the historical snapshots)
            rows = rows.with_columns(pl.lit(None, pl.String).alias("EVENT_ID"))
        self.con.register("_frame", rows)
        event = EVENT_SQL
        lines = (f"(SELECT * EXCLUDE (_date) REPLACE (timezone('UTC', SNAPSHOT_TS) AS SNAPSHOT_TS), "
                 f"{event} AS EVENT_KEY, timezone('UTC', SNAPSHOT_TS) AS KNOWN_AT FROM _frame) AS p")
        self._stage_as("stage_props", match_players_sql(lines, "PLAYER", "r.GAME LIKE '%' || d.team_name || '%'"))
        self.con.unregister("_frame")
        self.con.execute(
            f"""INSERT INTO src_quarantine {_QUARANTINED}
            SELECT 'raw.prop_lines', PLAYER || '|' || GAME, 'PLAYER', '{UNMATCHED_NAME}', _source_file, SNAPSHOT_DATE,
                   EVENT_KEY, false, to_json(p)  -- the line as staged
            FROM stage_props p WHERE matched_player_id IS NULL"""
        )
        self._recount_matched(report)
        self.con.execute(UNMATCHED_SQL)

    def _recount_matched(self, report: StageReport) -> None:
        unmatched = dict(self.con.execute(
            "SELECT _source_file, count(*) FROM stage_props WHERE matched_player_id IS NULL GROUP BY 1").fetchall())
        report.files = [
            FileCount(f.kind, f.source_file, f.source_rows, f.accepted - unmatched.get(f.source_file, 0),
                      f.quarantined + unmatched.get(f.source_file, 0)) if f.kind == "props" else f
            for f in report.files
        ]

    def _summarise_quarantine(self, report: StageReport) -> None:
        """What each raw table's runs must know: the entities that lost rows to quarantine, and
        whether some rows name no entity the publication has (a garbled key: then any entity may
        be the one that lost them)."""
        report.quarantined, report.quarantine_records = self.con.execute(
            "SELECT count(*), count(DISTINCT (table_name, record_key, column_name, reason, source_file, record_date)) "
            "FROM src_quarantine").fetchall()[0]
        staged = " UNION ALL ".join(
            f"SELECT '{raw}' AS table_name, {key} AS entity_id FROM {table}"
            for raw, table, key in _STAGE_KEYS if key in _columns(self.con, table))
        for table, ids, unattributed in self.con.execute(
            f"""WITH staged AS ({staged or "SELECT NULL AS table_name, NULL AS entity_id WHERE false"})
            SELECT q.table_name, list(DISTINCT q.entity_id) FILTER (WHERE s.entity_id IS NOT NULL),
                   bool_or(s.entity_id IS NULL)
            FROM src_quarantine q
            LEFT JOIN (SELECT DISTINCT table_name, entity_id FROM staged) s
              ON s.table_name = q.table_name AND s.entity_id = q.entity_id
            WHERE NOT q.exact_copy GROUP BY q.table_name"""
        ).fetchall():
            report.source_quarantine[table] = SourceQuarantine(frozenset(ids or ()), bool(unattributed))
        known = [f"SELECT max(KNOWN_AT) AS k FROM {t}" for t in
                 ("stage_player_logs", "stage_team_logs", "stage_boxscores", "stage_schedule")]
        for table in ("stage_injuries", "stage_props"):
            if "KNOWN_AT" in _columns(self.con, table):
                known.append(f"SELECT max(KNOWN_AT) FROM {table}")
        report.latest_known_at = self.con.execute(f"SELECT max(k) FROM ({' UNION ALL '.join(known)})").fetchall()[0][0]

    def prop_match_rate(self) -> tuple[int, int]:
        """(matched, total) prop lines among those staged."""
        if not self.available("props"):
            return 0, 0
        return self.con.execute("SELECT count(matched_player_id), count(*) FROM stage_props").fetchall()[0]

    # -- corrections published by the archive ----------------------------------------------------

    def corrections(self, after: datetime | None, until: datetime) -> list[tuple[str, str, int, str, float, datetime]]:
        """The archive's valid corrections published in (after, until]: (correction id, game id, player
        id, stat, value, published at), oldest first. The id is a digest of the row, so a correction
        recorded once is recognised again."""
        out = [(cid, game, player, stat, value, published)
               for _, cid, game, player, stat, value, published, reasons in self._correction_rows()
               if not reasons and (after is None or published > after) and published <= until]
        return sorted(out, key=lambda c: (c[5], c[0]))

    def refused_corrections(self, until: datetime) -> list[tuple[str, str, str, date | None]]:
        """The archive's corrections that break a row rule of their contract, published by `until` (or
        with no time): (correction id, the rules broken, file, publication day)."""
        return [(cid, "; ".join(reasons), file, published.date() if published else None)
                for file, cid, _, _, _, _, published, reasons in self._correction_rows()
                if reasons and (published is None or published <= until)]

    def _correction_rows(self) -> list[tuple[str, str, str, int, str, float, datetime, list[str]]]:
        """Every row of the corrections files: (file, correction id, game id, player id, stat, value,
        published at, the row rules it breaks). A correction of a game no player-logs file of the
        archive has breaks one too: nothing would ever publish it."""
        if not self.available("corrections"):
            return []
        logged = ({g for _, rows in self.checked("player_logs") for g in rows["GAME_ID"].unique()}
                  if self.available("player_logs") else None)
        out = []
        for path, rows in self.checked("corrections"):
            for game, player, stat, value, published, reasons in rows.select(
                    "GAME_ID", "PLAYER_ID", "STAT", "VALUE",
                    pl.col("PUBLISHED_AT").dt.replace_time_zone(None), "_reasons").iter_rows():
                digest = hashlib.md5(f"{path.name}|{game}|{player}|{stat}|{value}|{published}".encode()).hexdigest()
                if logged is not None and game not in logged:
                    reasons = [*reasons, f"game {game} is in no player-logs file of the archive"]
                out.append((path.name, digest[:16], game, player, stat, value, published, sorted(set(reasons))))
        return out
