"""Where an archive folder keeps each kind of file (documented glob patterns)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from nbadb.errors import ArchiveMissingError


@dataclass(frozen=True)
class FileKind:
    kind: str
    pattern: str
    raw_table: str
    feeds: str
    expected: bool = True  # False: an occasional feed whose absence is normal (not reported missing)


FILE_KINDS: tuple[FileKind, ...] = (
    FileKind("player_logs", "player_game_logs*.parquet", "raw.player_boxscores", "player box scores"),
    FileKind("team_logs", "team_game_logs*.parquet", "raw.team_boxscores", "team box scores, derived schedules"),
    FileKind("boxscores", "boxscores_traditional_v2*.parquet", "raw.boxscore_players", "DNP-aware box scores"),
    FileKind("schedule", "schedule_*.parquet", "raw.schedule", "published schedules with tip times"),
    FileKind("injuries", "injuries/injury_transactions*.parquet", "raw.injuries", "injured-list moves"),
    FileKind("props", "props/*.parquet", "raw.prop_lines", "sportsbook player-prop lines"),
    FileKind("players", "nba_api_payloads/commonallplayers*.json", "", "player directory for name matching"),
    FileKind("corrections", "corrections/*.parquet", "", "stat corrections, each published at its time",
             expected=False),
)
KINDS = {k.kind: k for k in FILE_KINDS}


def check_archive_folder(folder: Path) -> None:
    """ArchiveMissingError unless `folder` is a folder."""
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise ArchiveMissingError(f"archive folder {folder} {what}. Pass --archive DIR or set NBADB_ARCHIVE_DIR.")


def discover(folder: Path, kinds_from: Mapping[str, Path] | None = None) -> dict[str, list[Path]]:
    """Files of each kind in `folder` (of a kind `kinds_from` names, in the folder it names instead);
    kinds with no file map to an empty list."""
    check_archive_folder(folder)
    elsewhere = kinds_from or {}
    return {k.kind: sorted(elsewhere.get(k.kind, folder).glob(k.pattern)) for k in FILE_KINDS}


def missing_kinds(files: dict[str, list[Path]]) -> list[FileKind]:
    """The kinds the folder has no file of, each with the pattern it would need."""
    return [KINDS[kind] for kind, paths in files.items() if not paths and KINDS[kind].expected]
