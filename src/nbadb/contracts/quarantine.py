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
    key = list(contract.key)
    failed_rows = pl.concat(reasons)["_row"] if reasons else pl.Series("_row", [], pl.UInt32)
    survivors = frame.filter(~pl.col("_row").is_in(failed_rows.implode()))
    dupes = survivors.filter(pl.struct(key).is_duplicated())
    if dupes.height:
        reasons.append(
            dupes.select(
                "_row",
                pl.lit(",".join(key)).alias("column_name"),
                pl.lit(f"duplicate key ({', '.join(key)})").alias("reason"),
            )
        )
    if not reasons:
        return frame.drop("_row"), pl.DataFrame(schema={c: pl.String for c in QUARANTINE_COLUMNS})
    bad = pl.concat(reasons).unique(["_row", "reason"], maintain_order=True)
    valid = frame.filter(~pl.col("_row").is_in(bad["_row"].implode())).drop("_row")
    key_expr = pl.concat_str([pl.col(k).cast(pl.String).fill_null("") for k in key], separator="|")
    date_expr = (
        pl.col(contract.date_column).cast(pl.String) if contract.date_column in frame.columns else pl.lit(None, pl.String)
    )
    described = bad.join(frame.select("_row", key_expr.alias("record_key"), date_expr.alias("record_date")), on="_row")
    quarantine = described.select(
        pl.lit(contract.kind).alias("table_name"),
        "record_key", "column_name", "reason",
        pl.lit(path.name).alias("source_file"),
        "record_date",
    )
    return valid, quarantine
