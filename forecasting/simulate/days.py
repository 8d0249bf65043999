"""The simulation's day axis: every province's business days stacked, and date moves over it.

Business days come from `forecasting.calendar`, so the simulator and the forecaster agree on
what a working day is. Days are integer offsets from the first day; dates move by lookups into
cumulative counts over whole arrays of files, so no Python loop ever runs per application.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt

from forecasting.calendar import business_calendar
from forecasting.dates import epoch_day


@dataclass(frozen=True)
class SimCalendar:
    """Days `first` .. `first + n_days - 1`; per province, which are holidays and business days."""

    first: date
    n_days: int
    weekday: npt.NDArray[np.int64]
    day_of_year: npt.NDArray[np.int64]
    month: npt.NDArray[np.int64]
    holiday: npt.NDArray[np.bool_]
    business: npt.NDArray[np.bool_]

    def index(self, day: date) -> int:
        return (day - self.first).days

    @property
    def epoch_offset(self) -> int:
        """Add to a day index to get days since 1970-01-01, which Polars reads as a Date."""
        return epoch_day(self.first)


def build_calendar(first: date, last: date, regions: tuple[str, ...]) -> SimCalendar:
    """Calendar covering `first` .. `last` inclusive, with federal + provincial holidays."""
    n_days = (last - first).days + 1
    dates = np.datetime64(first, "D") + np.arange(n_days)
    months = dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day_of_year = (dates - dates.astype("datetime64[Y]")).astype(np.int64) + 1
    # 1970-01-01 was a Thursday; shift so Monday is 0 like date.weekday().
    weekday = (dates.astype(np.int64) + 3) % 7
    calendars = [business_calendar(region, first, last) for region in regions]
    holiday = np.stack([c.is_holiday for c in calendars])
    business = np.stack([c.is_business for c in calendars])
    return SimCalendar(
        first=first,
        n_days=n_days,
        weekday=weekday,
        day_of_year=day_of_year,
        month=months,
        holiday=holiday,
        business=business,
    )


def advance(
    is_open: npt.NDArray[np.bool_],
    rows: npt.NDArray[np.int64],
    day: npt.NDArray[np.int64],
    steps: npt.NDArray[np.int64],
) -> npt.NDArray[np.int64]:
    """Move each file to its `steps`-th open day after the first open day on or after `day`.

    `is_open` is (rows x days); `steps == 0` snaps to the next open day. Results past the
    calendar's end come back as `n_days`, a sentinel the caller treats as "not yet".
    """
    n_rows, n_days = is_open.shape
    cum = np.cumsum(is_open, axis=1)
    # Offset each row so the flattened cumulative counts stay sorted and one searchsorted
    # serves every row at once.
    stride = n_days + 2
    flat = (cum + (np.arange(n_rows) * stride)[:, None]).ravel()
    inside = day < n_days
    safe = np.where(inside, day, 0)
    target = cum[rows, safe] - is_open[rows, safe] + 1 + steps
    found = np.searchsorted(flat, target + rows * stride, side="left") - rows * n_days
    return np.where(inside & (found < n_days), found, n_days)


def add_calendar_days(
    day: npt.NDArray[np.int64], days: npt.NDArray[np.int64], n_days: int
) -> npt.NDArray[np.int64]:
    """Add calendar days, keeping the past-the-end sentinel."""
    return np.minimum(np.where(day < n_days, day + days, n_days), n_days)


def fiscal_year_start(day: date) -> date:
    """The 1 April on or before `day`: Canadian government staffing is planned per fiscal year."""
    april = date(day.year, 4, 1)
    return april if day >= april else date(day.year - 1, 4, 1)


def fiscal_year_end_after(day: date) -> date:
    """The 31 March on or after `day`."""
    march = date(day.year, 3, 31)
    return march if day <= march else date(day.year + 1, 3, 31)


def shift(day: date, days: int) -> date:
    return day + timedelta(days=days)
