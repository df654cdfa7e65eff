"""The ingestion track at work: where the day's results the pipeline publishes come from, the legacy
archive files (sources.archive) or the strategic nba_api source (sources.live), replayed offline
from its raw-response archive (`<data dir>/live/raw`, what `nbadb fetch` archives), behind the flags.
A track cycle is a replayed day.

Words:
- source kinds: the archive kinds the nba_api source answers for a day (`SOURCE_KINDS`: the player
  and team game logs and the DNP-aware box scores). The schedule, the player directory, injury moves,
  prop lines and corrections are not the track's: they come from the archive folder in every phase.
- a day's answer of a side: the valid rows (those the kind's contract passes) of every game that
  either side holds a row of dated that day. A game one side lacks shows as its rows on the other
  side only; a day the raw archive never fetched answers no rows.
- covered: a kind the legacy archive publishes on that day (its files' dates span it). A kind it does
  not publish then (the box scores outside 2017-22) is not compared: there is nothing to compare with.

Phases:
- phase 0, or the phase's flag off: the archive files alone, as before;
- phase 1 with the shadow flag: before each day's work, the day is parsed from the raw archive and
  each covered source kind's answer compared row by row with the archive files' (rollout.diff), in
  DuckDB; divergences recorded with samples (key, column, file value, nba_api value). Nothing parsed
  is kept or published;
- phase 2 with the dual-write flag: the day materialised into the strategic archive folder
  (`<data dir>/live/archive`, the layout `nbadb fetch` writes: the strategic store), then each source
  kind's row parity between the archive files and that folder over every day the folder holds;
- phase 3: the day materialised there first, and every publication reads the source kinds from that
  folder only: the legacy files of those kinds are retired.
Transitions move no data: the strategic folder only grows, and the archive files are never changed.
"""

from __future__ import annotations

import logging
import tempfile
from datetime import date
from pathlib import Path
from typing import Callable, TypeVar

import duckdb
import polars as pl

from nbadb.config import Settings
from nbadb.errors import ArchiveFileError
from nbadb.orchestrate.workspace import Workspace
from nbadb.rollout import control
from nbadb.rollout.control import EvidenceItem
from nbadb.rollout.diff import TableDiff, TableShape, table_diff
from nbadb.sources.checked import check_file
from nbadb.sources.files import KINDS

T = TypeVar("T")
log = logging.getLogger("nbadb.rollout.ingestion")
TRACK = "ingestion"
SOURCE_KINDS = ("player_logs", "team_logs", "boxscores")
KEYS = {"player_logs": ("GAME_ID", "PLAYER_ID"), "team_logs": ("GAME_ID", "TEAM_ID"),
        "boxscores": ("GAME_ID", "PLAYER_ID")}
LEGACY, STRATEGIC = "legacy", "strategic"  # the schemas the comparisons load each side into
_LINEAGE = ("_row", "_reasons", "_entity", "_date")  # what sources.checked adds to a file's columns


def _valid(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """The rows every contract rule passes, of several checked files of one kind, in one frame."""
    rows = [f.filter(pl.col("_reasons").list.len() == 0) for f in frames]
    return pl.concat(rows, how="diagonal_relaxed") if rows else pl.DataFrame()


def _answer(rows: pl.DataFrame, games: pl.Series) -> pl.DataFrame:
    return rows.filter(pl.col("GAME_ID").is_in(games.implode())) if rows.height else rows


def _games_of(days: set[date], *sides: pl.DataFrame) -> pl.Series:
    """The games either side holds a row of dated one of `days`."""
    ids = [s.filter(pl.col("_date").is_in(sorted(days)))["GAME_ID"] for s in sides if s.height]
    return pl.concat(ids).unique() if ids else pl.Series("GAME_ID", [], pl.String)


def compare_kind(kind: str, legacy: pl.DataFrame, strategic: pl.DataFrame, days: set[date]) -> TableDiff:
    """Row-level comparison of one source kind's answers of `days` (module docstring), in DuckDB."""
    games = _games_of(days, legacy, strategic)
    legacy, strategic = _answer(legacy, games), _answer(strategic, games)
    if not (legacy.height or strategic.height):
        return TableDiff(kind, 0, 0, 0, 0, 0, 0)
    layout = legacy if legacy.height else strategic
    both = [c for c in layout.columns if c not in _LINEAGE
            and (not strategic.height or c in strategic.columns) and (not legacy.height or c in legacy.columns)]
    con = duckdb.connect()
    try:
        for schema, rows in ((LEGACY, legacy), (STRATEGIC, strategic)):
            con.execute(f"CREATE SCHEMA {schema}")
            frame = rows.select(both) if rows.height else pl.DataFrame(schema={c: layout.schema[c] for c in both})
            con.register("_side", frame)
            con.execute(f"CREATE TABLE {schema}.{kind} AS SELECT * FROM _side")
            con.unregister("_side")
        return table_diff(con, LEGACY, STRATEGIC, TableShape(kind, KEYS[kind], tuple(both), ()))
    finally:
        con.close()


def _span(frames: list[pl.DataFrame]) -> tuple[date, date] | None:
    dates = [d for f in frames for d in (f["_date"].min(), f["_date"].max()) if d is not None]
    return (min(dates), max(dates)) if dates else None


def legacy_rows(ws: Workspace, kind: str) -> list[pl.DataFrame]:
    """The archive files' checked rows of a source kind (the legacy side), as the workspace reads them."""
    return [frame for _, frame in ws.source.checked(kind)] if ws.source.files[kind] else []


def strategic_rows(folder: Path, kind: str) -> list[pl.DataFrame]:
    """The checked rows of every file of a source kind in a strategic archive folder."""
    return [check_file(path, kind, None) for path in sorted(folder.glob(KINDS[kind].pattern))]


def materialise_day(raw_dir: Path, day: date, folder: Path, *, beside_legacy: bool) -> list[Path]:
    """`day` parsed from the raw archive at `raw_dir` (offline) into archive files under `folder`.
    No file, with a warning naming why, when the raw archive never fetched the day or, while the
    archive files still serve (`beside_legacy`), when one of its responses is malformed: the strategic
    path then answers nothing, which the comparison shows. Alone (phase 3), a malformed response
    stops the day (MalformedPayloadError, ArchiveFileError): nothing of it can be published."""
    from nbadb.orchestrate.fetch import fetch_to_archive, raw_source
    from nbadb.sources.live import MalformedPayloadError, NotArchivedError

    tolerated: tuple[type[Exception], ...] = (
        (NotArchivedError, MalformedPayloadError, ArchiveFileError) if beside_legacy else (NotArchivedError,))
    try:
        return fetch_to_archive(raw_source(raw_dir, from_raw=True), day, folder).files
    except tolerated as exc:
        log.warning("ingestion track, %s: the nba_api source answers nothing (%s)", day, exc)
        return []


def compare_days(ws: Workspace, folder: Path, days: set[date]) -> list[TableDiff]:
    """Each source kind the archive files cover on one of `days`: its answer from the files against
    the strategic archive folder's."""
    diffs = []
    for kind in SOURCE_KINDS:
        legacy = legacy_rows(ws, kind)
        span = _span(legacy)
        covered = {d for d in days if span is not None and span[0] <= d <= span[1]}
        if covered:
            diffs.append(compare_kind(kind, _valid(legacy), _valid(strategic_rows(folder, kind)), covered))
    return diffs


def strategic_days(folder: Path) -> set[date]:
    """The days the strategic archive folder holds a daily file of (sources.live.materialise names them)."""
    days = set()
    for kind in SOURCE_KINDS:
        for path in folder.glob(KINDS[kind].pattern):
            try:
                days.add(date.fromisoformat(path.stem.rsplit("_", 1)[-1]))
            except ValueError:
                continue
    return days


def raw_archive_answers(settings: Settings) -> EvidenceItem:
    """The ingestion track's flag path: the raw archive replays offline, with the days it can answer."""
    from nbadb.sources.live import NotArchivedError, RawArchiveReader, endpoints

    required = "the nba_api source's raw archive replays a day offline"
    try:
        reader = RawArchiveReader(settings.raw_archive_dir)
    except (NotArchivedError, ArchiveFileError) as exc:  # none, or a damaged index: evidence, not a crash
        return EvidenceItem("flag_path_check", required, str(exc), False)
    days = reader.days(endpoints.scoreboard(date.min).endpoint)
    return EvidenceItem("flag_path_check", required, f"{settings.raw_archive_dir}: the scoreboards of {len(days)} game days"
                        + (f", {min(days)} … {max(days)}" if days else ""), bool(days))


class IngestionCycles(control.TrackCycles):
    """The ingestion track's part of each day of a replay (`nbadb replay`) and each night of `nbadb serve`
    (which looks again before each night)."""

    track = TRACK

    @property
    def folder(self) -> Path:
        """The strategic archive folder: the store the track writes in dual write and reads in phase 3."""
        return self.settings.live_archive_dir

    def _read_source_kinds(self, workspaces: tuple[Workspace, ...]) -> None:
        """Every workspace reads the source kinds from the strategic folder in phase 3, else from its archive."""
        kinds = SOURCE_KINDS if self.mode == "strategic" else ()
        if kinds:
            self.folder.mkdir(parents=True, exist_ok=True)
        for ws in workspaces:
            if set(ws.source.kinds_from) != set(kinds):
                ws.source.read_kinds_from(self.folder, kinds)

    def around(self, workspaces: tuple[Workspace, ...], cycle: Callable[[date, Callable[[Workspace], T]], T]
               ) -> Callable[[date, Callable[[Workspace], T]], T]:
        """A day's cycle with the ingestion track's part around it (module docstring). `workspaces`:
        every workspace the cycle publishes into, the serving one first."""
        ws = workspaces[0]

        def run(day: date, work: Callable[[Workspace], T]) -> T:
            self._read_source_kinds(workspaces)
            if self.mode is None:
                return cycle(day, work)
            if self.mode == "shadow":
                with tempfile.TemporaryDirectory(prefix="nbadb-ingestion-shadow-") as scratch:
                    materialise_day(self.settings.raw_archive_dir, day, Path(scratch), beside_legacy=True)
                    diffs = compare_days(ws, Path(scratch), {day})
            else:
                materialise_day(self.settings.raw_archive_dir, day, self.folder, beside_legacy=self.mode == "dual_write")
                diffs = compare_days(ws, self.folder, strategic_days(self.folder)) if self.mode == "dual_write" else []
                for each in workspaces if self.mode == "strategic" else ():
                    each.source.refresh()  # the day's files, published by the work that follows
            answer = cycle(day, work)
            games = ws.engine.calendar().games_between(day, day)
            control.record_evidence(self.settings, TRACK, day, self.phase, self.mode, games, diffs,
                                    parity=self.mode == "dual_write")
            return answer

        return run
