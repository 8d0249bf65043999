"""Parse ISO dates and datetimes to calendar dates, keeping what could not be parsed visible.

A datetime's calendar date is the one written in it (its local date), so "2024-03-01T23:30-05:00"
is 1 March: the day the applicant and the office saw, whatever the offset.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

_EPOCH = date(1970, 1, 1)

ISO_PATTERN = (
    r"^\d{4}-\d{2}-\d{2}"
    r"([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$"
)


def to_date(column: str, dtype: pl.DataType) -> pl.Expr:
    """An expression turning `column` (of `dtype`) into `pl.Date`; null where it does not parse."""
    if dtype == pl.Date:
        return pl.col(column)
    if isinstance(dtype, pl.Datetime):
        return pl.col(column).dt.date()
    text = pl.col(column).cast(pl.String).str.strip_chars()
    return (
        pl.when(text.str.contains(ISO_PATTERN))
        .then(text.str.slice(0, 10).str.strptime(pl.Date, "%Y-%m-%d", strict=False))
        .otherwise(None)
    )


def as_text(column: str) -> pl.Expr:
    """The raw value as text, for quarantine files and error details."""
    return pl.col(column).cast(pl.String)


def epoch_day(day: date) -> int:
    """Days since 1970-01-01: the integer day the models and queues compute on."""
    return (day - _EPOCH).days


def from_epoch_day(days: int) -> date:
    return _EPOCH + timedelta(days=days)
