"""Business-day calendars for any region, as day-indexed numpy arrays.

Counting and moving dates is a lookup into a cumulative count of business days, so whole arrays
of files are handled at once and no Python loop ever runs per date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import holidays
import numpy as np
import numpy.typing as npt

from forecasting.dates import epoch_day
from forecasting.errors import DelaiError

_Days = npt.NDArray[np.int64]
_Mask = npt.NDArray[np.bool_]
# Dates as datetime64 (any unit) or as integer days since 1970-01-01, or a plain `date`.
DayLike = npt.ArrayLike | date


class OutsideCalendarError(DelaiError, ValueError):
    """A date, or a date moved by business days, falls outside the span a calendar covers."""


@dataclass(frozen=True, eq=False)
class BusinessCalendar:
    """Days `start` .. `end` inclusive: which are public holidays and which are business days.

    Business days are Monday to Friday minus public holidays. Helpers take dates as numpy
    `datetime64` or as integer days since 1970-01-01 and answer in the same form.
    """

    region: str
    country: str
    start: date
    end: date
    is_business: _Mask = field(repr=False)
    is_holiday: _Mask = field(repr=False)
    # Business days up to and including each day, and the offsets of the business days.
    _cumulative: _Days = field(repr=False)
    _business_offsets: _Days = field(repr=False)

    @property
    def n_days(self) -> int:
        return int(self.is_business.size)

    @property
    def days(self) -> npt.NDArray[np.datetime64]:
        """Every day of the span as `datetime64[D]`."""
        return np.datetime64(self.start, "D") + np.arange(self.n_days)

    @property
    def weekday(self) -> _Days:
        """Monday 0 .. Sunday 6, like `date.weekday()`."""
        return _weekday(epoch_day(self.start) + np.arange(self.n_days, dtype=np.int64))

    def business_days_between(self, start: DayLike, end: DayLike) -> _Days:
        """Business days `d` with `start < d <= end`, negative when `end` is before `start`.

        Counting this way makes the count additive (a->b plus b->c is a->c) and the inverse of
        `add_business_days`.
        """
        first, _ = self._offsets(start)
        last, _ = self._offsets(end)
        return self._cumulative[last] - self._cumulative[first]

    def add_business_days(self, days: DayLike, n: npt.ArrayLike) -> npt.NDArray[Any]:
        """The `n`-th business day after each date (before it when `n` < 0); `n` = 0 keeps it."""
        offsets, as_datetime = self._offsets(days)
        steps = np.asarray(n, dtype=np.int64)
        # The k-th business day of the span (1-based) sits at _business_offsets[k - 1].
        rank = self._cumulative[offsets] + steps
        n_business = self._business_offsets.size
        outside = (steps != 0) & ((rank < 1) | (rank > n_business))
        if np.any(outside):
            day, step = np.broadcast_arrays(offsets, steps)
            first = int(np.flatnonzero(outside.ravel())[0])
            raise OutsideCalendarError(
                f"{int(step.ravel()[first])} business days from "
                f"{self.start + timedelta(days=int(day.ravel()[first]))} fall outside the "
                f"calendar's span {self.start} .. {self.end}; build it over a longer range"
            )
        moved = self._business_offsets[np.clip(rank - 1, 0, max(n_business - 1, 0))]
        return self._as_given(np.where(steps == 0, offsets, moved), as_datetime)

    def next_business_day(self, days: DayLike, *, inclusive: bool = True) -> npt.NDArray[Any]:
        """The first business day on or after each date (strictly after with `inclusive=False`)."""
        offsets, as_datetime = self._offsets(days)
        after = offsets if inclusive else offsets + 1
        # Business days before `after` counted, the next one is the (count + 1)-th.
        before = np.where(after > 0, self._cumulative[np.clip(after - 1, 0, None)], 0)
        if np.any(before >= self._business_offsets.size):
            raise OutsideCalendarError(
                f"no business day follows within the calendar's span {self.start} .. {self.end}; "
                "build it over a longer range"
            )
        return self._as_given(self._business_offsets[before], as_datetime)

    def is_business_day(self, days: DayLike) -> _Mask:
        offsets, _ = self._offsets(days)
        return self.is_business[offsets]

    def _offsets(self, days: DayLike) -> tuple[_Days, bool]:
        epoch_days, as_datetime = _to_epoch_days(days)
        offsets = epoch_days - epoch_day(self.start)
        if np.any((offsets < 0) | (offsets >= self.n_days)):
            raise OutsideCalendarError(
                f"dates must lie in the calendar's span {self.start} .. {self.end}, got "
                f"{_span_text(epoch_days)}; build it over a longer range"
            )
        return offsets, as_datetime

    def _as_given(self, offsets: _Days, as_datetime: bool) -> npt.NDArray[Any]:
        epoch_days = offsets + epoch_day(self.start)
        return epoch_days.astype("datetime64[D]") if as_datetime else epoch_days


def business_calendar(
    region: str, start: date, end: date, *, country: str = "CA"
) -> BusinessCalendar:
    """Business days of `region` from `start` to `end` inclusive.

    A region that is a subdivision of `country` (a Canadian province or territory for "CA") gets
    national plus subdivision holidays; any other region ("all", "municipality_3") the national
    ones.
    """
    if end < start:
        raise ValueError(f"`end` must be on or after `start` ({start}), got {end}")
    first = epoch_day(start)
    n_days = (end - start).days + 1
    holiday_days = _holiday_days(region, country, start.year, end.year)
    inside = holiday_days[(holiday_days >= first) & (holiday_days < first + n_days)]
    is_holiday = np.zeros(n_days, dtype=bool)
    is_holiday[inside - first] = True
    is_business = (_weekday(first + np.arange(n_days, dtype=np.int64)) < 5) & ~is_holiday
    return BusinessCalendar(
        region=region,
        country=country,
        start=start,
        end=end,
        is_business=_read_only(is_business),
        is_holiday=_read_only(is_holiday),
        _cumulative=_read_only(np.cumsum(is_business, dtype=np.int64)),
        _business_offsets=_read_only(np.flatnonzero(is_business).astype(np.int64)),
    )


@lru_cache(maxsize=256)
def _holiday_days(region: str, country: str, first_year: int, last_year: int) -> _Days:
    """Sorted public holidays as days since 1970-01-01; building them is the slow part."""
    try:
        national = holidays.country_holidays(country)
    except NotImplementedError as err:
        raise ValueError(
            f"`country` must be an ISO 3166 code the holidays package knows, got {country!r}"
        ) from err
    subdivision = region.upper() if region.upper() in national.subdivisions else None
    observed = holidays.country_holidays(
        country, subdiv=subdivision, years=range(first_year, last_year + 1)
    )
    days = np.array(sorted(epoch_day(d) for d in observed), dtype=np.int64)
    return _read_only(days)


def _to_epoch_days(days: DayLike) -> tuple[_Days, bool]:
    """Days since 1970-01-01, and whether they were given as dates (to answer alike)."""
    if isinstance(days, date):
        return np.asarray(epoch_day(days), dtype=np.int64), True
    array = np.asarray(days)
    if array.dtype.kind == "M":
        if np.any(np.isnat(array)):
            raise ValueError("dates must not be missing (NaT); mask them before the lookup")
        return array.astype("datetime64[D]").astype(np.int64), True
    if array.dtype.kind in "iu":
        return array.astype(np.int64), False
    if array.dtype == object:
        return np.asarray(days, dtype="datetime64[D]").astype(np.int64), True
    raise TypeError(f"dates must be datetime64, integer days or `date`s, got dtype {array.dtype}")


def _weekday(epoch_days: _Days) -> _Days:
    # 1970-01-01 was a Thursday; shift so that Monday is 0.
    return (epoch_days + 3) % 7


def _read_only(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
    # Cached arrays are shared between callers; one caller must not change another's calendar.
    array.flags.writeable = False
    return array


def _span_text(epoch_days: _Days) -> str:
    low, high = (str(np.datetime64(int(f(epoch_days)), "D")) for f in (np.min, np.max))
    return low if low == high else f"{low} .. {high}"
