"""What was known at the end of a day: the one place the as-of cut is made.

Submissions after the as-of day are absent and completions, deliveries or closures after it are
blanked, so a model fitted on this view cannot see the future it will be scored on. A file closed
without completion by the as-of day has left the queue: it is absent too, as it would be from the
office's list of files in hand.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from forecasting.schema import CLOSED_ON, COMPLETED_ON, DELIVERED_ON, SUBMITTED_ON


def as_known_at(applications: pl.LazyFrame, as_of: date) -> pl.LazyFrame:
    """Applications as they stood at the end of `as_of`."""
    completed = pl.col(COMPLETED_ON)
    return applications.filter(
        (pl.col(SUBMITTED_ON) <= as_of) & ~(pl.col(CLOSED_ON) <= as_of).fill_null(False)
    ).with_columns(
        pl.when(completed <= as_of).then(completed).otherwise(None).alias(COMPLETED_ON),
        pl.when(completed <= as_of)
        .then(pl.when(pl.col(DELIVERED_ON) <= as_of).then(pl.col(DELIVERED_ON)))
        .otherwise(None)
        .alias(DELIVERED_ON),
        # Kept for the schema; a closure after the as-of day is not known yet.
        pl.lit(None, dtype=pl.Date).alias(CLOSED_ON),
    )


def is_open_at(as_of: date) -> pl.Expr:
    """True for files submitted by `as_of` and neither completed nor closed by then."""
    return (
        (pl.col(SUBMITTED_ON) <= as_of)
        & (pl.col(COMPLETED_ON).is_null() | (pl.col(COMPLETED_ON) > as_of))
        & (pl.col(CLOSED_ON).is_null() | (pl.col(CLOSED_ON) > as_of))
    )
