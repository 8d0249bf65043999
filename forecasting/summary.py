"""Describe validated applications per segment: volumes, open and closed files, processing days."""

from __future__ import annotations

from datetime import date

import polars as pl

from forecasting.asof import is_open_at
from forecasting.schema import CLOSED_ON, COMPLETED_ON, SEGMENT, SUBMITTED_ON

PROCESSING_DAYS = "processing_days"


def segment_summary(applications: pl.DataFrame, *, as_of: date) -> pl.DataFrame:
    """One row per segment: applications, still open at `as_of`, closed without completion by
    then, and completed-file percentiles."""
    days = (pl.col(COMPLETED_ON) - pl.col(SUBMITTED_ON)).dt.total_days()
    done = pl.col(COMPLETED_ON) <= as_of
    return (
        applications.lazy()
        .filter(pl.col(SUBMITTED_ON) <= as_of)
        .with_columns(
            days.alias(PROCESSING_DAYS), is_open_at(as_of).alias("_open"), done.alias("_done")
        )
        .group_by(SEGMENT)
        .agg(
            pl.len().alias("applications"),
            pl.col("_open").sum().alias("open"),
            (pl.col(CLOSED_ON) <= as_of).sum().alias("closed"),
            pl.col(PROCESSING_DAYS).filter(pl.col("_done")).median().alias("median_days"),
            pl.col(PROCESSING_DAYS)
            .filter(pl.col("_done"))
            .quantile(0.8, interpolation="higher")
            .alias("p80_days"),
        )
        .sort(SEGMENT)
        .collect()
    )
