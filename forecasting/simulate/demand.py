"""Expected daily arrivals per segment: volume x weekday x season x trend, before any scenario.

Each service's season follows its real driver: passports the summer travel season, EI the
winter lay-offs (with a smaller June bump when school-year contracts end), pensions a mild
curve with a January bump of people turning 65 at the new year.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import numpy.typing as npt

from forecasting.simulate.days import SimCalendar
from forecasting.simulate.segments import (
    CHANNELS,
    EI_REGULAR,
    IN_PERSON,
    MAIL,
    ONLINE,
    PASSPORT_ADULT,
    PASSPORT_CHILD,
    PENSION_OAS,
    SERVICES,
    TREND_PER_YEAR,
    Segments,
    per_service,
)

_Matrix = npt.NDArray[np.float64]
_YEAR = 365.25

# Monday .. Sunday. Online takes weekend traffic; offices and mail rooms are closed.
_WEEKDAY_FACTOR = {
    ONLINE: (1.2, 1.1, 1.05, 1.0, 0.9, 0.45, 0.4),
    MAIL: (1.15, 1.05, 1.0, 1.0, 0.95, 0.0, 0.0),
    IN_PERSON: (1.1, 1.0, 1.0, 1.05, 1.0, 0.0, 0.0),
}
# People still apply online on a public holiday, just fewer of them.
_ONLINE_HOLIDAY_FACTOR = 0.5


def expected_arrivals(segments: Segments, cal: SimCalendar, start: date) -> _Matrix:
    """Segments x days expected arrivals; `annual_volume` is the rate in the year before `start`."""
    shape = _weekday_shape(segments, cal) * _season(segments, cal)
    reference = slice(cal.index(start) - 365, cal.index(start))
    per_unit = shape[:, reference].sum(axis=1)
    base = np.divide(
        segments.annual_volume, per_unit, out=np.zeros_like(per_unit), where=per_unit > 0
    )
    return base[:, None] * shape * _trend(segments, cal, start)


def _weekday_shape(segments: Segments, cal: SimCalendar) -> _Matrix:
    factors = np.array([_WEEKDAY_FACTOR[c] for c in CHANNELS])[segments.channel][:, cal.weekday]
    holiday = cal.holiday[segments.region]
    online = (segments.channel == CHANNELS.index(ONLINE))[:, None]
    closed_factor = np.where(online, _ONLINE_HOLIDAY_FACTOR, 0.0)
    return np.where(holiday, factors * closed_factor, factors)


def _season(segments: Segments, cal: SimCalendar) -> _Matrix:
    by_service = np.stack([_service_season(s, cal) for s in SERVICES])
    return by_service[segments.service]


def _service_season(service: str, cal: SimCalendar) -> npt.NDArray[np.float64]:
    doy = cal.day_of_year.astype(np.float64)
    festive = _bump(doy, centre=360.0, width=5.0)
    if service in (PASSPORT_ADULT, PASSPORT_CHILD):
        # Children's passports cluster more tightly before the summer holidays.
        amplitude = 0.3 if service == PASSPORT_ADULT else 0.36
        return 1.0 + amplitude * _cosine(doy, peak=140.0) - 0.35 * festive
    if service == EI_REGULAR:
        return 1.0 + 0.35 * _cosine(doy, peak=10.0) + 0.15 * _bump(doy, centre=180.0, width=10.0)
    if service == PENSION_OAS:
        january = (cal.month == 1).astype(np.float64)
        return 1.0 + 0.05 * _cosine(doy, peak=30.0) + 0.25 * january - 0.3 * festive
    raise AssertionError(service)


def _cosine(doy: npt.NDArray[np.float64], peak: float) -> npt.NDArray[np.float64]:
    return np.cos(2.0 * np.pi * (doy - peak) / _YEAR)


def _bump(doy: npt.NDArray[np.float64], centre: float, width: float) -> npt.NDArray[np.float64]:
    """Gaussian bump on the day of year, wrapping around the new year."""
    distance = np.abs(doy - centre)
    distance = np.minimum(distance, _YEAR - distance)
    return np.exp(-0.5 * (distance / width) ** 2)


def _trend(segments: Segments, cal: SimCalendar, start: date) -> _Matrix:
    years = (np.arange(cal.n_days) - cal.index(start)) / _YEAR
    return np.exp(per_service(TREND_PER_YEAR, segments)[:, None] * years[None, :])
