"""The capacity table contract."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from forecasting.capacity import validate_capacity
from forecasting.errors import DataContractError


def test_capacity_rows_are_accepted_or_quarantined_and_reconcile() -> None:
    raw = pl.LazyFrame(
        {
            "date": ["2026-01-05", "2026-01-05", "2026-01-06", "oops", "2026-01-07", "2027-03-01"],
            "service": ["p", "p", "p", "p", "p", "p"],
            "channel": ["mail", "mail", "mail", "mail", "mail", "mail"],
            "staff_hours": ["75", "80", "-1", "10", "lots", None],
            "completions_capacity": [None, None, None, None, None, "120"],
        }
    )
    result = validate_capacity(raw)
    assert result.report.reconciles
    assert result.report.by_reason == {
        "duplicate_segment_day": 2,
        "negative_staff_hours": 1,
        "unparseable_date": 1,
        "unparseable_staff_hours": 1,
    }
    # planned capacity after today is allowed: it is how planners describe hiring
    assert result.capacity.row(0, named=True) == {
        "date": date(2027, 3, 1),
        "service": "p",
        "channel": "mail",
        "region": "all",
        "staff_hours": None,
        "completions_capacity": 120.0,
        "staff": None,
        "planned_on": None,
    }


def test_capacity_needs_a_measure() -> None:
    raw = pl.LazyFrame({"date": ["2026-01-05"], "service": ["p"], "channel": ["mail"]})
    with pytest.raises(DataContractError, match="staff_hours or completions_capacity"):
        validate_capacity(raw)


def test_row_without_any_measure_is_quarantined() -> None:
    raw = pl.LazyFrame(
        {"date": ["2026-01-05"], "service": ["p"], "channel": ["mail"], "staff_hours": [None]},
        schema={
            "date": pl.String,
            "service": pl.String,
            "channel": pl.String,
            "staff_hours": pl.String,
        },
    )
    assert validate_capacity(raw).report.by_reason == {"missing_capacity": 1}


def test_staff_is_kept_when_given_and_checked_like_a_measure() -> None:
    raw = pl.LazyFrame(
        {
            "date": ["2026-01-05", "2026-01-06", "2026-01-07"],
            "service": ["p", "p", "p"],
            "channel": ["mail", "mail", "mail"],
            "completions_capacity": ["100", "100", "100"],
            "staff": ["12.5", "-2", "many"],
        }
    )
    result = validate_capacity(raw)
    assert result.report.by_reason == {"negative_staff": 1, "unparseable_staff": 1}
    assert result.capacity.get_column("staff").to_list() == [12.5]


def test_a_nested_staff_column_is_refused_by_name() -> None:
    raw = pl.LazyFrame(
        {
            "date": ["2026-01-05"],
            "service": ["passport"],
            "channel": ["online"],
            "completions_capacity": [10.0],
            "staff": [[1.0, 2.0]],
        }
    )
    with pytest.raises(DataContractError, match="`staff`.*List"):
        validate_capacity(raw)
