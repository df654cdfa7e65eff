"""Check a source frame against its contract: reject the file whole, or say which rows break which rule.

- `check_structure`: a required column missing or of the wrong type family rejects the file whole
  (ArchiveFileError: what, where, and that nothing changed);
- `normalise_types`: dates from ISO text, timestamps to UTC, numbers to their target width;
- `row_reasons`: (_row, column_name, reason) for every row rule a row breaks — the contract's
  pandera checks, a key shared by rows that disagree, a game whose rows disagree on its date; an
  exact duplicate row is one fact: its first copy stays valid and the extra copies are quarantined.
"""

from __future__ import annotations

from pathlib import Path

import pandera.polars as pa
import polars as pl

from nbadb.contracts.source_contracts import _FAMILIES, _TARGET, DATE, TS, SourceContract
from nbadb.errors import ArchiveFileError

REASON_SCHEMA = {"_row": pl.UInt32, "column_name": pl.String, "reason": pl.String}
# The reason given to the extra copies of an exact duplicate row: the fact itself is kept.
EXACT_COPY = "exact duplicate row"


def check_structure(schema: pl.Schema, contract: SourceContract, path: Path) -> None:
    missing = [c for c in contract.columns if c not in schema]
    if missing:
        raise ArchiveFileError(str(path), f"missing required column(s) {', '.join(missing)}")
    wrong = [f"{c} is {schema[c]}, expected {family}" for c, family in contract.columns.items()
             if not _FAMILIES[family](schema[c])]
    if wrong:
        raise ArchiveFileError(str(path), f"wrong column type: {'; '.join(wrong)}")


def normalise_types(frame: pl.DataFrame, contract: SourceContract) -> pl.DataFrame:
    casts = []
    for column, family in contract.columns.items():
        dtype = frame.schema[column]
        if family == DATE and dtype == pl.String:
            casts.append(pl.col(column).str.strptime(pl.Date, "%Y-%m-%d", strict=False))
        elif family == DATE and isinstance(dtype, pl.Datetime):
            casts.append(pl.col(column).dt.date())
        elif family == TS and dtype == pl.String:
            casts.append(pl.col(column).str.to_datetime(strict=False, time_zone="UTC").dt.cast_time_unit("us"))
        elif family == TS and isinstance(dtype, pl.Datetime):
            utc = pl.col(column).dt.convert_time_zone("UTC") if dtype.time_zone else pl.col(column).dt.replace_time_zone("UTC")
            casts.append(utc.dt.cast_time_unit("us"))
        elif family in _TARGET and dtype != _TARGET[family]:
            casts.append(pl.col(column).cast(_TARGET[family], strict=False))
    return frame.with_columns(casts) if casts else frame


def row_reasons(frame: pl.DataFrame, contract: SourceContract, path: Path) -> pl.DataFrame:
    """Every (row, rule) broken in `frame` (normalised, with a `_row` index)."""
    reasons: list[pl.DataFrame] = []
    try:
        contract.schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        whole = cases.filter(pl.col("index").is_null())
        if whole.height:
            problems = "; ".join(f"{r['column']}: {r['check']}" for r in whole.head(5).iter_rows(named=True))
            raise ArchiveFileError(str(path), f"contract broken for the whole file ({problems})") from exc
        reasons.append(cases.select(
            pl.col("index").cast(pl.UInt32).alias("_row"),
            pl.col("column").alias("column_name"),
            pl.when(pl.col("check") == "not_nullable").then(pl.col("column") + pl.lit(" is null or unparsable"))
            .otherwise(pl.col("check")).alias("reason"),
        ))
    if "GAME_ID" in contract.key and contract.date_column:
        reasons.append(_game_date_disagreements(frame, contract))
    broken = pl.concat(reasons).cast(REASON_SCHEMA) if reasons else pl.DataFrame(schema=REASON_SCHEMA)
    survivors = frame.filter(~pl.col("_row").is_in(broken["_row"].implode()))  # a ghost row does not clash
    reasons.append(duplicate_reasons(survivors, contract.key, ignore=("_row",)))
    return pl.concat(reasons).cast(REASON_SCHEMA).unique(maintain_order=True)


def _game_date_disagreements(frame: pl.DataFrame, contract: SourceContract) -> pl.DataFrame:
    """Rows whose date is not their game's (the date most of the game's rows carry)."""
    date = contract.date_column
    usual = (frame.group_by("GAME_ID", date).len().sort("len", date, descending=[True, False])
             .unique("GAME_ID", keep="first").select("GAME_ID", pl.col(date).alias("_usual")))
    odd = frame.join(usual, on="GAME_ID", how="left").filter(pl.col(date) != pl.col("_usual"))
    return odd.select("_row", pl.lit(date).alias("column_name"), pl.lit("a game's rows share one date").alias("reason"))


def duplicate_reasons(frame: pl.DataFrame, key: tuple[str, ...], *, ignore: tuple[str, ...], where: str = "") -> pl.DataFrame:
    """(_row, column_name, reason) for rows sharing a key. Identical copies of a row are one fact:
    the first copy stays valid and the extra copies are quarantined. When rows of a key disagree,
    nothing says which is right, so every row of that key is quarantined."""
    empty = pl.DataFrame(schema=REASON_SCHEMA)
    shared = frame.filter(pl.struct(list(key)).is_duplicated())
    if not shared.height:
        return empty
    content = pl.struct([c for c in shared.columns if c not in ignore])
    extra_copies = shared.filter(~content.is_first_distinct())
    conflicting = shared.filter(content.is_first_distinct()).filter(pl.struct(list(key)).is_duplicated())
    names = ", ".join(key)
    return pl.concat([
        extra_copies.select("_row", pl.lit(",".join(key)).alias("column_name"),
                            pl.lit(f"{EXACT_COPY}{where} (one copy kept)").alias("reason")),
        conflicting.select("_row", pl.lit(",".join(key)).alias("column_name"),
                           pl.lit(f"duplicate key ({names}){where} with different values").alias("reason")),
    ]).cast(REASON_SCHEMA)
