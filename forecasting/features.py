"""Segment snapshots as of a day: backlog and its age, flow, service times, calendar, capacity.

The as-of cut (`as_known_at`) is the first step, so no feature at T can see a submission or a
completion dated after T; everything else is pure `LazyFrame -> LazyFrame` steps and one collect.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from forecasting.asof import as_known_at
from forecasting.calendar import business_calendar
from forecasting.capacity import known_capacity
from forecasting.schema import (
    AGE_THRESHOLDS,
    ARRIVALS,
    BACKLOG,
    BACKLOG_AGE_P50,
    BACKLOG_AGE_P90,
    BACKLOG_SHARE_OVER,
    BUSINESS_DAYS_NEXT_28D,
    CAPACITY_COMPLETIONS_28D,
    CAPACITY_STAFF_HOURS_28D,
    CHANNEL,
    COMPLETED_ON,
    COMPLETIONS,
    COMPLETIONS_CAPACITY,
    DATE,
    DEFAULT_REGION,
    FLOW_WINDOWS,
    HOLIDAYS_LAST_28D,
    HOLIDAYS_NEXT_28D,
    REGION,
    SEGMENT,
    SEGMENT_FEATURES,
    SERVICE,
    SERVICE_DAYS_P50,
    SERVICE_DAYS_P80,
    STAFF_HOURS,
    SUBMITTED_ON,
    THROUGHPUT_TREND,
)
from forecasting.survival_curve import conditional_quantiles, counted_kaplan_meier

SURVIVAL_WINDOW_DAYS = 365
CALENDAR_DAYS = 28
TREND_DAYS = 28
CAPACITY_DAYS = 28

# Working columns, dropped before the frame leaves this module.
_AGE, _DAYS, _DONE = "_age", "_days", "_done"
_FILES, _PREVIOUS = "_files", "_previous_28d"
_SERVICE_DAYS = pl.Struct({SERVICE_DAYS_P50: pl.Float64, SERVICE_DAYS_P80: pl.Float64})
_CALENDAR = pl.Struct(
    {BUSINESS_DAYS_NEXT_28D: pl.Int64, HOLIDAYS_LAST_28D: pl.Int64, HOLIDAYS_NEXT_28D: pl.Int64}
)


def segment_features(
    applications: pl.LazyFrame,
    as_of: date,
    *,
    capacity: pl.LazyFrame | None = None,
    country: str = "CA",
    service_days: bool = True,
) -> pl.LazyFrame:
    """One row per segment active in the year to `as_of`, sorted, with its features then.

    Active: a file open at `as_of`, submitted in the last 365 days or completed in the last 91.

    Age and flow counts are in days and files; `throughput_trend` is completions in the last 28
    days over the 28 before (null when there were none before); service days are Kaplan-Meier
    quantiles over files submitted in the last 365 days, still-open files censored (null with
    `service_days=False`, for callers that fit their own curves); capacity columns are null
    without a capacity table or rows for the segment.
    """
    known = as_known_at(applications, as_of).pipe(_relevant, as_of).pipe(_with_ages, as_of)
    return (
        known.pipe(_flows, as_of)
        .pipe(_with_backlog, known)
        .pipe(_with_service_days, known if service_days else None, as_of)
        .pipe(_with_calendar, as_of, country)
        .pipe(_with_capacity, capacity, as_of)
        .select(*SEGMENT, *SEGMENT_FEATURES)
        .sort(SEGMENT)
    )


def collect_segment_features(
    applications: pl.LazyFrame | pl.DataFrame,
    as_of: date,
    *,
    capacity: pl.LazyFrame | pl.DataFrame | None = None,
    country: str = "CA",
    service_days: bool = True,
) -> pl.DataFrame:
    """`segment_features`, collected: the edge where callers holding DataFrames come in."""
    return segment_features(
        applications.lazy(),
        as_of,
        capacity=None if capacity is None else capacity.lazy(),
        country=country,
        service_days=service_days,
    ).collect()


def collect_segment_features_on(
    applications: pl.DataFrame,
    days: list[date],
    *,
    capacity: pl.DataFrame | None = None,
    country: str = "CA",
    service_days: bool = True,
) -> list[pl.DataFrame]:
    """`segment_features` on each of `days`, in one `collect_all` so the plans run together."""
    plans = [
        segment_features(
            applications.lazy(),
            day,
            capacity=None if capacity is None else capacity.lazy(),
            country=country,
            service_days=service_days,
        )
        for day in days
    ]
    return pl.collect_all(plans)


def _relevant(known: pl.LazyFrame, as_of: date) -> pl.LazyFrame:
    """Files that can move a feature: open, in the survival cohort, or completed in a flow window.

    Every segment keeps at least its open or recent files; one with neither (dormant for a
    year) drops out, as it has nothing to forecast from.
    """
    oldest_flow = as_of - timedelta(days=max(max(FLOW_WINDOWS), 2 * TREND_DAYS))
    return known.filter(
        (pl.col(SUBMITTED_ON) > as_of - timedelta(days=SURVIVAL_WINDOW_DAYS))
        | pl.col(COMPLETED_ON).is_null()
        | (pl.col(COMPLETED_ON) > oldest_flow)
    )


def _with_ages(known: pl.LazyFrame, as_of: date) -> pl.LazyFrame:
    """Days since submission, days to completion (to `as_of` while open) and whether done."""
    return known.with_columns(
        (pl.lit(as_of) - pl.col(SUBMITTED_ON)).dt.total_days().alias(_AGE),
        (pl.col(COMPLETED_ON).fill_null(as_of) - pl.col(SUBMITTED_ON)).dt.total_days().alias(_DAYS),
        pl.col(COMPLETED_ON).is_not_null().alias(_DONE),
    )


def _flows(known: pl.LazyFrame, as_of: date) -> pl.LazyFrame:
    """Arrivals and completions per segment over each window, and the throughput trend."""
    windows = {
        **{ARRIVALS[d]: _within(SUBMITTED_ON, as_of, d) for d in FLOW_WINDOWS},
        **{COMPLETIONS[d]: _within(COMPLETED_ON, as_of, d) for d in FLOW_WINDOWS},
        _PREVIOUS: _within(COMPLETED_ON, as_of - timedelta(days=TREND_DAYS), TREND_DAYS),
    }
    # Sums of precomputed flags keep the group-by on its fast path.
    return (
        known.with_columns(flag.cast(pl.Int64).alias(name) for name, flag in windows.items())
        .group_by(SEGMENT)
        .agg(pl.col(*windows).sum())
        .with_columns(_ratio(pl.col(COMPLETIONS[TREND_DAYS]), pl.col(_PREVIOUS)))
    )


def _with_backlog(segments: pl.LazyFrame, known: pl.LazyFrame) -> pl.LazyFrame:
    """Open files at `as_of` and their age profile."""
    age = pl.col(_AGE)
    # Open files are few: aggregating them apart is much cheaper than masking every file.
    backlog = (
        known.filter(~pl.col(_DONE))
        .group_by(SEGMENT)
        .agg(
            pl.len().cast(pl.Int64).alias(BACKLOG),
            age.quantile(0.5, "linear").cast(pl.Float64).alias(BACKLOG_AGE_P50),
            age.quantile(0.9, "linear").cast(pl.Float64).alias(BACKLOG_AGE_P90),
            *((age > d).mean().alias(BACKLOG_SHARE_OVER[d]) for d in AGE_THRESHOLDS),
        )
    )
    # A segment with no backlog has no old files: shares 0, ages undefined.
    return segments.join(backlog, on=SEGMENT, how="left").with_columns(
        pl.col(BACKLOG, *BACKLOG_SHARE_OVER.values()).fill_null(0)
    )


def _within(column: str, end: date, days: int) -> pl.Expr:
    """True where `column` falls in the `days` days ending on `end`."""
    return pl.col(column).is_between(end - timedelta(days=days - 1), end).fill_null(False)


def _ratio(recent: pl.Expr, previous: pl.Expr) -> pl.Expr:
    return pl.when(previous > 0).then(recent / previous).otherwise(None).alias(THROUGHPUT_TREND)


def _with_service_days(
    segments: pl.LazyFrame, known: pl.LazyFrame | None, as_of: date
) -> pl.LazyFrame:
    """Kaplan-Meier P50 / P80 of processing days over each segment's survival cohort."""
    if known is None:
        return segments.with_columns(
            pl.lit(None, dtype=pl.Float64).alias(c) for c in (SERVICE_DAYS_P50, SERVICE_DAYS_P80)
        )
    # Files share few distinct (days, done) pairs: counting them keeps the Python step small.
    cohort = (
        known.filter(pl.col(SUBMITTED_ON) > as_of - timedelta(days=SURVIVAL_WINDOW_DAYS))
        .group_by(*SEGMENT, _DAYS, _DONE)
        .len(_FILES)
        .group_by(SEGMENT)
        .agg(_DAYS, _DONE, _FILES)
    )
    quantiles = pl.struct(_DAYS, _DONE, _FILES).map_batches(
        _service_days, _SERVICE_DAYS, is_elementwise=True
    )
    return segments.join(
        cohort.select(*SEGMENT, quantiles.alias("_km")).unnest("_km"), on=SEGMENT, how="left"
    )


def _service_days(cohorts: pl.Series) -> pl.Series:
    rows = [_km_quantiles(row[_DAYS], row[_DONE], row[_FILES]) for row in cohorts.to_list()]
    return pl.Series(
        [{SERVICE_DAYS_P50: p50, SERVICE_DAYS_P80: p80} for p50, p80 in rows],
        dtype=_SERVICE_DAYS,
    )


def _km_quantiles(
    days: list[int], done: list[bool], files: list[int]
) -> tuple[float | None, float | None]:
    """Unconditional KM P50 and P80; undefined until at least one file was completed."""
    if not any(done):
        return None, None
    curve = counted_kaplan_meier(
        np.asarray(days, dtype=np.int64), np.asarray(done), np.asarray(files, dtype=np.int64)
    )
    p50, p80 = conditional_quantiles(curve, np.array([-1.0]), (0.5, 0.8))[0]
    return float(p50), float(p80)


def _with_calendar(segments: pl.LazyFrame, as_of: date, country: str) -> pl.LazyFrame:
    """Business days ahead and public holidays around `as_of`, per region."""

    def per_region(regions: pl.Series) -> pl.Series:
        table = {r: _calendar_counts(r, as_of, country) for r in regions.unique().to_list()}
        return pl.Series([table[r] for r in regions.to_list()], dtype=_CALENDAR)

    return segments.with_columns(
        pl.col(REGION).map_batches(per_region, _CALENDAR, is_elementwise=True).alias("_cal")
    ).unnest("_cal")


def _calendar_counts(region: str, as_of: date, country: str) -> dict[str, int]:
    calendar = business_calendar(
        region,
        as_of - timedelta(days=CALENDAR_DAYS - 1),
        as_of + timedelta(days=CALENDAR_DAYS),
        country=country,
    )
    # Index CALENDAR_DAYS - 1 is `as_of` itself: it counts as the past, the future starts after.
    past, future = slice(0, CALENDAR_DAYS), slice(CALENDAR_DAYS, 2 * CALENDAR_DAYS)
    return {
        BUSINESS_DAYS_NEXT_28D: int(calendar.is_business[future].sum()),
        HOLIDAYS_LAST_28D: int(calendar.is_holiday[past].sum()),
        HOLIDAYS_NEXT_28D: int(calendar.is_holiday[future].sum()),
    }


def _with_capacity(
    segments: pl.LazyFrame, capacity: pl.LazyFrame | None, as_of: date
) -> pl.LazyFrame:
    """Mean daily capacity over the last 28 days; a service-and-channel row for region "all"
    stands in for a region without its own rows.
    """
    measures = (CAPACITY_COMPLETIONS_28D, CAPACITY_STAFF_HOURS_28D)
    if capacity is None:
        return segments.with_columns(pl.lit(None, dtype=pl.Float64).alias(m) for m in measures)
    recent = (
        # One figure per day, as known then: plan revisions and the record are not averaged.
        known_capacity(capacity, as_of)
        .filter(pl.col(DATE).is_between(as_of - timedelta(days=CAPACITY_DAYS - 1), as_of))
        .group_by(SEGMENT)
        .agg(
            pl.col(COMPLETIONS_CAPACITY).mean().alias(CAPACITY_COMPLETIONS_28D),
            pl.col(STAFF_HOURS).mean().alias(CAPACITY_STAFF_HOURS_28D),
        )
    )
    shared = recent.filter(pl.col(REGION) == DEFAULT_REGION).drop(REGION)
    return (
        segments.join(recent, on=SEGMENT, how="left")
        .join(shared, on=[SERVICE, CHANNEL], how="left", suffix="_shared")
        .with_columns(pl.coalesce(m, f"{m}_shared").alias(m) for m in measures)
        .drop(f"{m}_shared" for m in measures)
    )
