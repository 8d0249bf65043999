"""Business-day calendars: holidays per region and country, counting and moving dates."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from forecasting.calendar import OutsideCalendarError, _holiday_days, business_calendar

START, END = date(2024, 1, 1), date(2026, 12, 31)
EPOCH = date(1970, 1, 1)


def day(text: str) -> np.datetime64:
    return np.datetime64(text, "D")


def is_business(region: str, when: str, country: str = "CA") -> bool:
    return bool(business_calendar(region, START, END, country=country).is_business_day(day(when)))


def test_canada_day_is_a_holiday_everywhere_in_canada() -> None:
    # 1 July 2025 is a Tuesday.
    for region in ("ON", "QC", "BC", "NS", "all", "municipality_3"):
        calendar = business_calendar(region, START, END)
        index = (date(2025, 7, 1) - START).days
        assert calendar.is_holiday[index]
        assert not calendar.is_business[index]


def test_saint_jean_baptiste_is_a_holiday_in_quebec_only() -> None:
    # 24 June 2025 is a Tuesday.
    assert not is_business("QC", "2025-06-24")
    assert is_business("ON", "2025-06-24")
    assert is_business("all", "2025-06-24")


def test_provincial_holidays_are_not_national() -> None:
    # Family Day, 17 February 2025, is an Ontario holiday, not a federal one.
    assert not is_business("ON", "2025-02-17")
    assert is_business("all", "2025-02-17")


def test_weekends_are_never_business_days() -> None:
    calendar = business_calendar("ON", START, END)
    weekend = calendar.weekday >= 5
    # 156 whole weeks from Monday 1 January 2024, then Monday to Thursday.
    assert weekend.sum() == 2 * 156
    assert not calendar.is_business[weekend].any()
    assert (calendar.is_business == ((calendar.weekday < 5) & ~calendar.is_holiday)).all()
    assert calendar.days[calendar.weekday == 0][0] == day("2024-01-01")


def test_other_countries_use_their_national_holidays() -> None:
    # Italian Liberation Day and Ferragosto (both Fridays in 2025), Dutch Ascension Day (Thursday).
    assert not is_business("all", "2025-04-25", country="IT")
    assert not is_business("municipality_3", "2025-08-15", country="IT")
    assert not is_business("municipality_3", "2025-05-29", country="NL")
    # Canada Day means nothing in the Netherlands.
    assert is_business("municipality_3", "2025-07-01", country="NL")


def test_unknown_country_is_refused() -> None:
    with pytest.raises(ValueError, match="`country` must be an ISO 3166 code.*got 'XX'"):
        business_calendar("all", START, END, country="XX")


def test_holidays_are_built_once_per_region_country_and_years() -> None:
    business_calendar("NS", date(2030, 3, 1), date(2031, 6, 30))
    before = _holiday_days.cache_info().hits
    again = business_calendar("NS", date(2030, 1, 1), date(2031, 12, 31))
    assert _holiday_days.cache_info().hits == before + 1
    with pytest.raises(ValueError, match="read-only"):
        again.is_business[0] = True


def test_next_business_day_skips_weekends_and_holidays() -> None:
    dates = np.array(["2024-06-21", "2024-06-22", "2024-06-24", "2024-06-25"], "datetime64[D]")
    quebec = business_calendar("QC", START, END)
    ontario = business_calendar("ON", START, END)
    expected_qc = np.array(
        ["2024-06-21", "2024-06-25", "2024-06-25", "2024-06-25"], "datetime64[D]"
    )
    np.testing.assert_array_equal(quebec.next_business_day(dates), expected_qc)
    np.testing.assert_array_equal(
        quebec.next_business_day(dates, inclusive=False),
        np.array(["2024-06-25", "2024-06-25", "2024-06-25", "2024-06-26"], "datetime64[D]"),
    )
    assert ontario.next_business_day(day("2024-06-22")) == day("2024-06-24")


def test_counting_and_adding_on_a_known_week() -> None:
    calendar = business_calendar("QC", START, END)
    friday = date(2024, 6, 21)
    # Mon 24 June is Saint-Jean-Baptiste, so two business days after Friday is Wednesday.
    assert calendar.add_business_days(friday, 2) == day("2024-06-26")
    assert calendar.add_business_days(day("2024-06-26"), -2) == day("2024-06-21")
    assert calendar.business_days_between(friday, day("2024-06-28")) == 4
    assert calendar.business_days_between(day("2024-06-28"), friday) == -4


def test_integer_days_come_back_as_integers_and_dates_as_dates() -> None:
    calendar = business_calendar("ON", START, END)
    friday = (date(2024, 6, 21) - EPOCH).days
    moved = calendar.add_business_days(np.array([friday]), 1)
    assert moved.dtype == np.int64
    assert moved[0] == friday + 3
    assert calendar.add_business_days(np.array([day("2024-06-21")]), 1).dtype == "datetime64[D]"


def test_dates_outside_the_span_are_refused() -> None:
    calendar = business_calendar("ON", date(2024, 1, 1), date(2024, 12, 31))
    with pytest.raises(OutsideCalendarError, match="span 2024-01-01 .. 2024-12-31, got 2025-01-02"):
        calendar.next_business_day(day("2025-01-02"))
    with pytest.raises(OutsideCalendarError, match="10 business days from 2024-12-20 fall outside"):
        calendar.add_business_days(day("2024-12-20"), 10)


@given(
    offsets=st.lists(st.integers(0, (END - START).days), min_size=1, max_size=20),
    steps=st.integers(-150, 150),
    region=st.sampled_from(["QC", "ON", "all"]),
)
def test_adding_then_counting_gives_back_the_steps(
    offsets: list[int], steps: int, region: str
) -> None:
    calendar = business_calendar(region, date(2023, 1, 1), date(2027, 12, 31))
    dates = np.array([START + timedelta(days=o) for o in offsets], dtype="datetime64[D]")
    moved = calendar.add_business_days(dates, steps)
    np.testing.assert_array_equal(calendar.business_days_between(dates, moved), steps)
    if steps != 0:
        assert calendar.is_business_day(moved).all()
    # Rolling forward lands on a business day no earlier than the date, is idempotent,
    rolled = calendar.next_business_day(dates)
    assert (rolled >= dates).all()
    np.testing.assert_array_equal(calendar.next_business_day(rolled), rolled)
    # and skips no business day on the way.
    np.testing.assert_array_equal(calendar.business_days_between(dates - 1, rolled - 1), 0)
