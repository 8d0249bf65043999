"""What was known at the end of a day: the one place the as-of cut is made.

Submissions after the as-of day are absent and completions or deliveries after it are blanked,
so a model fitted on this view cannot see the future it will be scored on.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from forecasting.schema import COMPLETED_ON, DELIVERED_ON, SUBMITTED_ON


def as_known_at(applications: pl.LazyFrame, as_of: date) -> pl.LazyFrame:
    """Applications as they stood at the end of `as_of`."""
    completed = pl.col(COMPLETED_ON)
    return applications.filter(pl.col(SUBMITTED_ON) <= as_of).with_columns(
        pl.when(completed <= as_of).then(completed).otherwise(None).alias(COMPLETED_ON),
        pl.when(completed <= as_of)
        .then(pl.when(pl.col(DELIVERED_ON) <= as_of).then(pl.col(DELIVERED_ON)))
        .otherwise(None)
        .alias(DELIVERED_ON),
    )


def is_open_at(as_of: date) -> pl.Expr:
    """True for files submitted by `as_of` and not completed by then."""
    return (pl.col(SUBMITTED_ON) <= as_of) & (
        pl.col(COMPLETED_ON).is_null() | (pl.col(COMPLETED_ON) > as_of)
    )
