"""Planning arrivals: the intake forecast's mean, and where it gives way to recent weekday means."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from forecasting.intake import MEAN, IntakeForecaster, daily_arrivals
from forecasting.whatif.arrivals import mean_arrivals
from forecasting.whatif.horizon import N_DAYS

AS_OF = date(2025, 6, 29)  # a Sunday
YOUNG = ("passport", "mail", "ON")


def _young_daily(seed: int) -> pl.DataFrame:
    """Ten weeks of a mail channel taking about one file a week."""
    weekdays = [d for d in (AS_OF - timedelta(days=k) for k in range(70)) if d.weekday() < 5]
    counts = np.random.default_rng(seed).poisson(0.2, len(weekdays))
    submitted = [day for day, n in zip(weekdays, counts, strict=True) for _ in range(n)]
    service, channel, region = YOUNG
    files = pl.DataFrame(
        {"service": service, "channel": channel, "region": region, "submitted_on": submitted}
    )
    return daily_arrivals(files, as_of=AS_OF)


def test_a_young_segments_runaway_planning_mean_gives_way_to_its_weekday_means() -> None:
    # Under two years, the level alone forecasts, and its uncertainty grows without end: two
    # years out, the mean of this segment's log-normal rate is thousands of times its rate.
    daily = _young_daily(seed=2)
    intake = IntakeForecaster().fit(daily, as_of=AS_OF)
    assert intake.predict(N_DAYS)[MEAN].sum() > 1000 * daily["arrivals"].sum()
    arrivals, fallback = mean_arrivals(intake, [YOUNG], daily)
    assert fallback == {YOUNG}
    recent = daily["arrivals"].to_numpy()[-56:]
    # Mail: nothing at weekends; weekdays at their mean over the last eight weeks.
    assert arrivals[0, 5::7].sum() == 0 and arrivals[0, 6::7].sum() == 0
    assert arrivals[0].sum() == pytest.approx(recent.sum() / 56 * N_DAYS)


def test_a_sane_forecast_is_kept() -> None:
    daily = _young_daily(seed=0)
    intake = IntakeForecaster().fit(daily, as_of=AS_OF)
    arrivals, fallback = mean_arrivals(intake, [YOUNG], daily)
    assert not fallback
    np.testing.assert_allclose(arrivals[0], intake.predict(N_DAYS)[MEAN].to_numpy())
