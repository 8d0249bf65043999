"""What was known at the end of a day: the one place the as-of cut is made.

`history_at` is the record as it stood that day: submissions after it are absent, and
completions, deliveries and closures after it are blanked. `as_known_at` is the office's list of
files in hand and done that day, what models are fitted on: the same, less the files that had
already left the queue without completion (closed). A model fitted on it cannot see the future it
will be scored on; a backtest needs the history, to know which open files were closed when.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from forecasting.schema import CLOSED_ON, COMPLETED_ON, DELIVERED_ON, SUBMITTED_ON


def history_at(applications: pl.LazyFrame, as_of: date) -> pl.LazyFrame:
    """Applications as recorded at the end of `as_of`, closed ones included (a frame without
    `closed_on` has none)."""
    if CLOSED_ON not in applications.collect_schema():
        applications = applications.with_columns(pl.lit(None, dtype=pl.Date).alias(CLOSED_ON))
    completed = pl.col(COMPLETED_ON)
    return applications.filter(pl.col(SUBMITTED_ON) <= as_of).with_columns(
        pl.when(completed <= as_of).then(completed).otherwise(None).alias(COMPLETED_ON),
        pl.when(completed <= as_of)
        .then(pl.when(pl.col(DELIVERED_ON) <= as_of).then(pl.col(DELIVERED_ON)))
        .otherwise(None)
        .alias(DELIVERED_ON),
        pl.when(pl.col(CLOSED_ON) <= as_of).then(pl.col(CLOSED_ON)).alias(CLOSED_ON),
    )


def as_known_at(applications: pl.LazyFrame, as_of: date) -> pl.LazyFrame:
    """The files submitted by `as_of` that were not closed without completion by then."""
    return history_at(applications, as_of).filter(pl.col(CLOSED_ON).is_null())


def is_open_at(as_of: date) -> pl.Expr:
    """True for files submitted by `as_of` and neither completed nor closed by then."""
    return (
        (pl.col(SUBMITTED_ON) <= as_of)
        & (pl.col(COMPLETED_ON).is_null() | (pl.col(COMPLETED_ON) > as_of))
        & (pl.col(CLOSED_ON).is_null() | (pl.col(CLOSED_ON) > as_of))
    )
