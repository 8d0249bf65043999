"""Read a table (CSV, Parquet or a folder of Parquet files) lazily, one clear error per mistake.

CSV is read as text so that a bad value reaches validation and is quarantined with a reason
instead of failing the whole read.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from forecasting.errors import DataContractError

SUPPORTED_SUFFIXES = (".csv", ".parquet", ".pq")


def scan_table(path: Path | str, *, field: str = "data") -> pl.LazyFrame:
    """Scan `path` lazily; a missing path or unknown format raises `DataContractError`."""
    path = Path(path)
    if not path.exists():
        raise DataContractError(
            field, "an existing file or folder", f"'{path}', which does not exist"
        )
    if path.is_dir():
        parts = sorted(p for p in path.rglob("*") if p.suffix in (".parquet", ".pq"))
        if not parts:
            raise DataContractError(
                field, "a folder holding Parquet files", f"folder '{path}' with no .parquet file"
            )
        return pl.scan_parquet(parts)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return pl.scan_csv(path, infer_schema=False, empty_string_is_null=True)
    if suffix in (".parquet", ".pq"):
        return pl.scan_parquet(path)
    expected = "a CSV file, a Parquet file or a folder of Parquet files"
    raise DataContractError(field, expected, f"'{path.name}' (unknown format '{suffix}')")


def require_columns(frame: pl.LazyFrame, required: tuple[str, ...], *, table: str) -> pl.Schema:
    """Return the frame's schema, or raise naming the first required column that is missing."""
    schema = frame.collect_schema()
    for column in required:
        if column not in schema:
            present = ", ".join(schema.names()) or "no columns"
            raise DataContractError(
                column,
                f"a column of the {table} table (required: {', '.join(required)})",
                f"a table with columns {present}",
            )
    return schema
