"""Read a table (CSV, Parquet or a folder of Parquet files) lazily, one clear error per mistake.

CSV is read as text so that a bad value reaches validation and is quarantined with a reason
instead of failing the whole read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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


def require_columns(
    frame: pl.LazyFrame,
    required: tuple[str, ...],
    *,
    table: str,
    optional: tuple[str, ...] = (),
) -> pl.Schema:
    """Return the frame's schema, or raise naming the first required column that is missing,
    or the first contract column whose type cannot be read as text (binary, lists, structs)."""
    with reading(table):
        schema = frame.collect_schema()
    for column in required:
        if column not in schema:
            present = ", ".join(schema.names()) or "no columns"
            raise DataContractError(
                column,
                f"a column of the {table} table (required: {', '.join(required)})",
                f"a table with columns {present}",
            )
    for column in (*required, *optional):
        dtype = schema.get(column)
        if dtype is not None and (dtype.is_nested() or dtype in (pl.Binary, pl.Object)):
            raise DataContractError(
                column, "a column of text, numbers or dates (strings as UTF-8)", f"a {dtype} column"
            )
    return schema


# What polars' read errors mean, in words that quote nothing from the file.
_READ_FAILURES = (
    ("utf8", "text that is not UTF-8"),
    ("utf-8", "text that is not UTF-8"),
    ("more fields than defined", "a row with more cells than the header"),
    ("not properly escaped", "a quoted value whose quote never closes"),
)


@contextmanager
def reading(table: str) -> Iterator[None]:
    """Turn polars' failures to read a file into one clear `DataContractError`.

    Polars quotes the offending text, which may hold an application id, so its message is
    reduced to a known cause (or its error type) and never repeated.
    """
    try:
        yield
    except pl.exceptions.NoDataError:
        raise DataContractError(table, "a file with a header row", "an empty file") from None
    except (pl.exceptions.ComputeError, pl.exceptions.SchemaError, OSError) as exc:
        text = str(exc).lower()
        cause = next((words for key, words in _READ_FAILURES if key in text), None)
        got = cause or f"a file that could not be read as a table ({type(exc).__name__})"
        raise DataContractError(table, "a readable CSV (UTF-8) or Parquet file", got) from None
