"""An archive file checked against its kind's contract, once per content.

Checking a file reads it whole: anything that is not a regular, readable file of the kind's format
is rejected before a row is used; then its structure (a required column missing or of the wrong
type rejects it whole), its types normalised, and every row rule (contracts.quarantine.row_reasons).
The result is every row with the rules it breaks (`_reasons`, empty when valid), the raw entity
it belongs to (`_entity`, null when it cannot say) and its publication date (`_date`). It is kept
under the cache folder named by the sha256 of the file's bytes and the version of the contracts,
so a later process (a one-day ingest) reads the checked rows instead of checking the file again;
within one process an unchanged file is not read again at all.
"""

from __future__ import annotations

import hashlib
import io
import inspect
import os
import stat
from collections import OrderedDict
from functools import cache
from pathlib import Path

import polars as pl

from nbadb.contracts import quarantine, source_contracts
from nbadb.contracts.quarantine import check_structure, normalise_types, row_reasons
from nbadb.contracts.source_contracts import CONTRACTS
from nbadb.errors import ArchiveFileError

# Files this process checked last, by identity (path, inode, size, modification time, kind,
# contracts): a workspace opened again (serve's cycles, the storage track's stores) does not read an
# unchanged file again; a file written since has another identity. At most REMEMBERED_FILES (the
# bundled archive has 36 files).
REMEMBERED_FILES = 64
_checked_in_this_process: OrderedDict[tuple[object, ...], pl.DataFrame] = OrderedDict()

# When a prop-line file has no snapshot time of day (REQUEST_DATE): the feed's 15:00 UTC snapshot.
REQUEST_SNAPSHOT_HOUR = 15


@cache
def contracts_version() -> str:
    text = inspect.getsource(source_contracts) + inspect.getsource(quarantine)
    return hashlib.md5(text.encode()).hexdigest()[:12]


def _regular_file(path: Path) -> os.stat_result:
    try:
        status = path.stat()
    except OSError as exc:
        raise ArchiveFileError(str(path), f"cannot be read ({exc.strerror})") from exc
    if not stat.S_ISREG(status.st_mode):
        raise ArchiveFileError(str(path), "is not a regular file (a FIFO, socket or directory named like one)")
    return status


def _bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ArchiveFileError(str(path), f"cannot be read ({exc.strerror})") from exc


def _read(path: Path, content: bytes) -> pl.DataFrame:
    try:
        return pl.read_parquet(io.BytesIO(content))
    except Exception as exc:  # polars raises several types for truncated / foreign files
        raise ArchiveFileError(str(path), f"not a readable parquet file ({type(exc).__name__}: {exc})") from exc


def with_snapshot_time(frame: pl.DataFrame, path: Path) -> pl.DataFrame:
    """Prop files say when their lines were taken as SNAPSHOT_LOCAL (a time with no zone, read as
    UTC) or REQUEST_DATE (a day: its REQUEST_SNAPSHOT_HOUR UTC snapshot): SNAPSHOT_TS and its date."""
    local = pl.col("SNAPSHOT_LOCAL").cast(pl.Datetime("us")) if "SNAPSHOT_LOCAL" in frame.columns else None
    requested = (pl.col("REQUEST_DATE").cast(pl.Date, strict=False).cast(pl.Datetime("us"))
                 + pl.duration(hours=REQUEST_SNAPSHOT_HOUR)) if "REQUEST_DATE" in frame.columns else None
    taken = [e for e in (local, requested) if e is not None]
    if not taken:
        raise ArchiveFileError(str(path), "missing required column SNAPSHOT_LOCAL or REQUEST_DATE (when the lines "
                                          "were taken)")
    snapshot = pl.coalesce(taken).dt.replace_time_zone("UTC")
    return frame.with_columns(snapshot.alias("SNAPSHOT_TS"), snapshot.dt.date().alias("SNAPSHOT_DATE"))


def check_file(path: Path, kind: str, cache_dir: Path | None) -> pl.DataFrame:
    """The checked rows of one archive file (see the module docstring); ArchiveFileError when malformed."""
    status = _regular_file(path)
    identity = (str(path.resolve()), status.st_ino, status.st_size, status.st_mtime_ns, kind, contracts_version())
    if identity in _checked_in_this_process:
        _checked_in_this_process.move_to_end(identity)
    else:
        _checked_in_this_process[identity] = _check(path, kind, cache_dir)
        if len(_checked_in_this_process) > REMEMBERED_FILES:
            _checked_in_this_process.popitem(last=False)
    return _checked_in_this_process[identity]


def _check(path: Path, kind: str, cache_dir: Path | None) -> pl.DataFrame:
    content = _bytes(path)
    key = f"{kind}-{hashlib.sha256(content).hexdigest()[:24]}-{contracts_version()}.parquet"
    cached = cache_dir / key if cache_dir else None
    if cached is not None and cached.is_file():
        return pl.read_parquet(cached)
    frame = _read(path, content)
    contract = CONTRACTS[kind]
    if kind == "props":
        frame = with_snapshot_time(frame, path)
    check_structure(frame.schema, contract, path)
    frame = normalise_types(frame, contract).with_row_index("_row")
    reasons = row_reasons(frame, contract, path).group_by("_row").agg(pl.col("reason").alias("_reasons"))
    checked = frame.join(reasons, on="_row", how="left").with_columns(pl.col("_reasons").fill_null([]))
    bad = checked["_reasons"].list.len() > 0
    entity = contract.entity(checked.filter(bad)) if contract.entity is not None else None
    checked = checked.with_columns(
        pl.lit(None, pl.String).alias("_entity"),
        (pl.col(contract.date_column) if contract.date_column else pl.lit(None, pl.Date)).alias("_date"),
    )
    if entity is not None:
        rows = checked.filter(bad)["_row"]
        checked = checked.with_columns(
            pl.col("_row").replace_strict(rows, entity, default=None, return_dtype=pl.String).alias("_entity"))
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        temporary = cached.with_suffix(f".{os.getpid()}.tmp")
        checked.write_parquet(temporary)
        os.replace(temporary, cached)
    return checked
