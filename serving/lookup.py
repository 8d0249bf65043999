"""Every answer the API can give, computed once per model: a request is a dictionary lookup.

At load, each segment's estimates for submission dates from as-of - 365 to as-of + 90 days are
computed in one batch through the forecaster, with business-day counts from the region's calendar.
Swapping models swaps the whole table at once, so no request ever sees half of each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from forecasting.calendar import business_calendar
from forecasting.forecaster import Accuracy, Forecaster
from forecasting.models.base import MAX_DAYS_AHEAD
from forecasting.schema import CHANNEL, ERROR, QUANTILE_DATES, REGION, SERVICE, SUBMITTED_ON

DAYS_BACK = 365
Segment = tuple[str, str, str]


@dataclass(frozen=True)
class Estimate:
    """One segment and submission date's answer; dates are None only where `error` says why."""

    service: str
    channel: str
    region: str
    submitted_on: date
    p50: date | None
    p80: date | None
    p90: date | None
    p50_business_days: int | None
    p80_business_days: int | None
    p90_business_days: int | None
    delivery_p50: date | None
    delivery_p80: date | None
    delivery_p90: date | None
    # True when an open file has already waited longer than 8 in 10 files like it take.
    past_usual_time: bool
    error: str | None


@dataclass(frozen=True)
class EstimateTable:
    """All precomputed estimates of one model version."""

    as_of: date
    model_version: str
    segments: tuple[Segment, ...]
    first_day: date
    last_day: date
    estimates: dict[tuple[str, str, str, date], Estimate]
    # Measured backtest accuracy of the model serving each segment (missing if not scored).
    accuracy: dict[Segment, Accuracy]

    def get(self, segment: Segment, submitted_on: date) -> Estimate | None:
        return self.estimates.get((*segment, submitted_on))


def build_table(forecaster: Forecaster, *, model_version: str) -> EstimateTable:
    """Precompute every segment x submission date the API accepts."""
    as_of = forecaster.as_of_
    first, last = as_of - timedelta(days=DAYS_BACK), as_of + timedelta(days=MAX_DAYS_AHEAD)
    days = pl.date_range(first, last, eager=True).alias(SUBMITTED_ON)
    segments = tuple(forecaster.segments)
    requests = pl.DataFrame(
        {
            SERVICE: [s[0] for s in segments],
            CHANNEL: [s[1] for s in segments],
            REGION: [s[2] for s in segments],
        }
    ).join(days.to_frame(), how="cross")
    answered = forecaster.estimate(requests)
    answered = answered.with_columns(_business_days(answered, forecaster.country, as_of))
    # "Usual" is what 8 in 10 files submitted today take; an open file that has already waited
    # longer is past it (comparing with its own P80 never could: that ends after today).
    waited = (pl.lit(as_of) - pl.col(SUBMITTED_ON)).dt.total_days()
    usual = (
        pl.col("p80_days")
        .filter(pl.col(SUBMITTED_ON) == as_of)
        .first()
        .over([SERVICE, CHANNEL, REGION])
    )
    answered = answered.with_columns(
        (waited.cast(pl.Float64) > usual.fill_null(np.inf)).alias("past_usual_time")
    )
    estimates = {
        (row[SERVICE], row[CHANNEL], row[REGION], row[SUBMITTED_ON]): Estimate(
            service=row[SERVICE],
            channel=row[CHANNEL],
            region=row[REGION],
            submitted_on=row[SUBMITTED_ON],
            p50=row["p50"],
            p80=row["p80"],
            p90=row["p90"],
            p50_business_days=row["p50_business_days"],
            p80_business_days=row["p80_business_days"],
            p90_business_days=row["p90_business_days"],
            delivery_p50=row["delivery_p50"],
            delivery_p80=row["delivery_p80"],
            delivery_p90=row["delivery_p90"],
            past_usual_time=bool(row["past_usual_time"]),
            error=row[ERROR],
        )
        for row in answered.iter_rows(named=True)
    }
    return EstimateTable(
        as_of=as_of,
        model_version=model_version,
        segments=segments,
        first_day=first,
        last_day=last,
        estimates=estimates,
        accuracy=dict(getattr(forecaster, "accuracy_", {})),
    )


def _business_days(answered: pl.DataFrame, country: str, as_of: date) -> list[pl.Series]:
    """Business days from submission to each percentile date, per region's calendar."""
    out = {
        f"{q}_business_days": np.full(answered.height, -1, dtype=np.int64) for q in QUANTILE_DATES
    }
    latest = answered.select(pl.max_horizontal(QUANTILE_DATES).max()).item() or as_of
    first = answered.get_column(SUBMITTED_ON).min()
    for (region,), rows in answered.with_row_index("_i").group_by(REGION):
        calendar = business_calendar(str(region), first, latest, country=country)
        index = rows.get_column("_i").to_numpy()
        start = rows.get_column(SUBMITTED_ON).to_numpy().astype("datetime64[D]")
        for q in QUANTILE_DATES:
            end = rows.get_column(q)
            known = end.is_not_null().to_numpy()
            if known.any():
                ends = end.to_numpy().astype("datetime64[D]")
                out[f"{q}_business_days"][index[known]] = calendar.business_days_between(
                    start[known], ends[known]
                )
    return [pl.Series(name, values).replace(-1, None) for name, values in out.items()]
