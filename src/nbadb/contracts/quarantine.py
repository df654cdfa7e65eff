"""Split a source frame into valid rows and quarantine rows, or reject the file whole."""

from __future__ import annotations

from pathlib import Path

import pandera.polars as pa
import polars as pl

from nbadb.contracts.source_contracts import _FAMILIES, _TARGET, DATE, TS, SourceContract
from nbadb.errors import ArchiveFileError

QUARANTINE_COLUMNS = ["table_name", "record_key", "column_name", "reason", "source_file", "record_date"]


def _check_structure(frame: pl.DataFrame, contract: SourceContract, path: Path) -> None:
    missing = [c for c in contract.columns if c not in frame.columns]
    if missing:
        raise ArchiveFileError(str(path), f"missing required column(s) {', '.join(missing)}")
    wrong = [
        f"{c} is {frame.schema[c]}, expected {family}"
        for c, family in contract.columns.items()
        if not _FAMILIES[family](frame.schema[c])
    ]
    if wrong:
        raise ArchiveFileError(str(path), f"wrong column type: {'; '.join(wrong)}")


def _normalise_types(frame: pl.DataFrame, contract: SourceContract) -> pl.DataFrame:
    casts = []
    for column, family in contract.columns.items():
        dtype = frame.schema[column]
        if family == DATE and dtype == pl.String:
            casts.append(pl.col(column).str.strptime(pl.Date, "%Y-%m-%d", strict=False))
        elif family == DATE and isinstance(dtype, pl.Datetime):
            casts.append(pl.col(column).dt.date())
        elif family == TS and dtype == pl.String:
            casts.append(pl.col(column).str.to_datetime(strict=False, time_zone="UTC"))
        elif family in _TARGET and dtype != _TARGET[family]:
            casts.append(pl.col(column).cast(_TARGET[family], strict=False))
    return frame.with_columns(casts) if casts else frame


def split_valid(frame: pl.DataFrame, contract: SourceContract, path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return (valid rows, quarantine rows). Raise ArchiveFileError when the file is malformed."""
    _check_structure(frame, contract, path)
    frame = _normalise_types(frame, contract).with_row_index("_row")
    reasons: list[pl.DataFrame] = []
    try:
        contract.schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        whole = cases.filter(pl.col("index").is_null())
        if whole.height:
            problems = "; ".join(f"{r['column']}: {r['check']}" for r in whole.head(5).iter_rows(named=True))
            raise ArchiveFileError(str(path), f"contract broken for the whole file ({problems})") from exc
        reasons.append(
            cases.select(
                pl.col("index").cast(pl.UInt32).alias("_row"),
                pl.col("column").alias("column_name"),
                pl.when(pl.col("check") == "not_nullable")
                .then(pl.col("column") + pl.lit(" is null or unparsable"))
                .otherwise(pl.col("check"))
                .alias("reason"),
            )
        )
    failed_rows = pl.concat(reasons)["_row"] if reasons else pl.Series("_row", [], pl.UInt32)
    survivors = frame.filter(~pl.col("_row").is_in(failed_rows.implode()))
    dupes = duplicate_reasons(survivors, contract.key, ignore=("_row",))
    if dupes.height:
        reasons.append(dupes)
    if not reasons:
        return frame.drop("_row"), _no_quarantine()
    return _split(frame, pl.concat(reasons), contract, pl.lit(path.name))


def duplicate_reasons(frame: pl.DataFrame, key: tuple[str, ...], *, ignore: tuple[str, ...], where: str = "") -> pl.DataFrame:
    """(_row, column_name, reason) for rows sharing a key. Identical copies of a row are one fact:
    the first copy stays valid and the extra copies are quarantined. When rows of a key disagree,
    nothing says which is right, so every row of that key is quarantined."""
    empty = pl.DataFrame(schema={"_row": pl.UInt32, "column_name": pl.String, "reason": pl.String})
    shared = frame.filter(pl.struct(list(key)).is_duplicated())
    if not shared.height:
        return empty
    content = pl.struct([c for c in shared.columns if c not in ignore])
    extra_copies = shared.filter(~content.is_first_distinct())
    conflicting = shared.filter(content.is_first_distinct()).filter(pl.struct(list(key)).is_duplicated())
    names = ", ".join(key)
    return pl.concat([
        extra_copies.select("_row", pl.lit(",".join(key)).alias("column_name"),
                            pl.lit(f"exact duplicate row{where} (one copy kept)").alias("reason")),
        conflicting.select("_row", pl.lit(",".join(key)).alias("column_name"),
                           pl.lit(f"duplicate key ({names}){where} with different values").alias("reason")),
    ]).cast(empty.schema)


def split_across_files(frame: pl.DataFrame, contract: SourceContract) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Check the key over the valid rows of several files (column `_source_file`) together."""
    if not contract.unique_across_files:
        return frame, _no_quarantine()
    frame = frame.with_row_index("_row")
    reasons = duplicate_reasons(frame, contract.key, ignore=("_row", "_source_file"), where=" across files")
    if not reasons.height:
        return frame.drop("_row"), _no_quarantine()
    return _split(frame, reasons, contract, pl.col("_source_file"))


def _no_quarantine() -> pl.DataFrame:
    return pl.DataFrame(schema={c: pl.String for c in QUARANTINE_COLUMNS})


def _split(frame: pl.DataFrame, reasons: pl.DataFrame, contract: SourceContract,
           source_file: pl.Expr) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Drop the rows named in `reasons` from `frame` and describe them as quarantine rows."""
    bad = reasons.unique(["_row", "reason"], maintain_order=True)
    valid = frame.filter(~pl.col("_row").is_in(bad["_row"].implode())).drop("_row")
    key_expr = pl.concat_str([pl.col(k).cast(pl.String).fill_null("") for k in contract.key], separator="|")
    date_expr = (
        pl.col(contract.date_column).cast(pl.String) if contract.date_column in frame.columns else pl.lit(None, pl.String)
    )
    described = bad.join(
        frame.select("_row", key_expr.alias("record_key"), date_expr.alias("record_date"),
                     source_file.alias("source_file")),
        on="_row",
    )
    quarantine = described.select(
        pl.lit(contract.kind).alias("table_name"),
        "record_key", "column_name", "reason", "source_file", "record_date",
    )
    return valid, quarantine
