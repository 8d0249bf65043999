"""Backtest origins end a horizon (recent P90 processing days plus a week) before the as-of date."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from forecasting.errors import DelaiError
from training.data import choose_origins, horizon_days

AS_OF = date(2025, 6, 30)


def _applications(days: list[int], *, completed_on: date = AS_OF) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "priority": ["regular"] * len(days),
            "submitted_on": [completed_on - timedelta(days=d) for d in days],
            "completed_on": [completed_on] * len(days),
        }
    ).vstack(
        # An old file, so the data starts long before the origins; and an urgent slow one.
        pl.DataFrame(
            {
                "priority": ["regular", "urgent"],
                "submitted_on": [date(2024, 1, 1), date(2025, 1, 1)],
                "completed_on": [date(2024, 1, 5), AS_OF],
            }
        )
    )


def test_the_horizon_is_the_recent_p90_of_regular_files_plus_a_week() -> None:
    applications = _applications(list(range(1, 21)))  # P90 ("higher") of 1..20 is 19
    assert horizon_days(applications, AS_OF) == 19 + 7


def test_origins_step_back_from_one_horizon_before_the_as_of_date() -> None:
    window = choose_origins(_applications([10] * 20), AS_OF, count=3, step_days=14)
    last = AS_OF - timedelta(days=17)
    assert window.horizon_days == 17
    assert window.origins == [last - timedelta(days=28), last - timedelta(days=14), last]


def test_origins_before_the_data_are_refused() -> None:
    with pytest.raises(DelaiError, match=r"`--origins` 100 every 7 days .* use fewer origins"):
        choose_origins(_applications([10] * 20), AS_OF, count=100, step_days=7)


def test_no_recent_completion_is_a_clear_error() -> None:
    old = _applications([10] * 5, completed_on=date(2024, 6, 1))
    with pytest.raises(DelaiError, match="completed in the 180 days before 2025-06-30"):
        horizon_days(old, AS_OF)
