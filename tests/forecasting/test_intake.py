"""Intake forecasts on synthetic Poisson series: weekly shape, season, trend and surges."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from forecasting.calendar import business_calendar
from forecasting.errors import DataContractError
from forecasting.intake import (
    ARRIVALS,
    LEVEL,
    MEAN,
    SEASONAL,
    WEEKDAY_MEAN,
    IntakeForecaster,
    IntakeNotFittedError,
    daily_arrivals,
)

START, END = date(2022, 1, 3), date(2025, 12, 31)
MAIL = ("passport", "mail", "ON")  # closed at weekends and on holidays
ONLINE = ("passport", "online", "ON")  # open every day, quieter at weekends and on holidays
_Days = npt.NDArray[np.datetime64]


def true_rate(
    segment: tuple[str, str, str],
    *,
    level: float = 40.0,
    surge_from: date | None = None,
) -> tuple[_Days, npt.NDArray[np.float64]]:
    """Expected arrivals per day: weekday shape x spring season x 3%/year growth x holidays."""
    calendar = business_calendar(segment[2], START, END)
    weekday = calendar.weekday
    online = segment[1] == "online"
    shape = np.array([1.15, 1.0, 1.0, 1.0, 0.9, 0.5, 0.45] if online else [1.1, 1, 1, 1, 0.9, 0, 0])
    closed = calendar.is_holiday & (weekday < 5)
    day_of_year = (calendar.days - calendar.days.astype("datetime64[Y]")).astype(np.int64)
    season = 1 + 0.3 * np.cos(2 * np.pi * (day_of_year - 140) / 365.25)
    growth = np.exp(0.03 * np.arange(calendar.n_days) / 365.25)
    rate = level * shape[weekday] * season * growth * np.where(closed, 0.5 if online else 0.0, 1)
    if surge_from is not None:
        rate = rate * np.where(calendar.days >= np.datetime64(surge_from), 2.0, 1.0)
    return calendar.days, rate


def arrivals_frame(
    segment: tuple[str, str, str], days: _Days, counts: npt.NDArray[np.int64]
) -> pl.DataFrame:
    service, channel, region = segment
    return pl.DataFrame(
        {"service": service, "channel": channel, "region": region, "date": days, ARRIVALS: counts}
    ).with_columns(pl.col("date").cast(pl.Date))


def simulated(
    segment: tuple[str, str, str], seed: int, **kwargs: float | date | None
) -> tuple[pl.DataFrame, _Days, npt.NDArray[np.float64]]:
    days, rate = true_rate(segment, **kwargs)  # type: ignore[arg-type]
    counts = np.random.default_rng(seed).poisson(rate)
    return arrivals_frame(segment, days, counts), days, rate


def next_days(rate: npt.NDArray[np.float64], as_of: date, n: int) -> npt.NDArray[np.float64]:
    first = (as_of - START).days + 1
    return rate[first : first + n]


@pytest.mark.parametrize("as_of", [date(2025, 3, 30), date(2025, 9, 28)])
@pytest.mark.parametrize("segment", [MAIL, ONLINE])
def test_four_week_forecast_is_close_to_the_true_rate(
    as_of: date, segment: tuple[str, str, str]
) -> None:
    forecasts, truths = [], []
    for seed in (1, 2, 3):
        frame, _, rate = simulated(segment, seed=seed)
        forecaster = IntakeForecaster().fit(frame, as_of=as_of)
        assert forecaster.method_ == {segment: SEASONAL}
        forecasts.append(forecaster.predict(28)[MEAN].sum())
        truths.append(next_days(rate, as_of, 28).sum())
    # About 1,000 files in four weeks; the season turns in spring and autumn. Growth is
    # followed by the level, not extrapolated, so forecasts run a little low (2-3% here).
    assert np.mean(forecasts) == pytest.approx(np.mean(truths), rel=0.06)


def test_weekends_and_holidays_follow_the_profile_learned_per_segment() -> None:
    mail, _, _ = simulated(MAIL, seed=2)
    online, _, _ = simulated(ONLINE, seed=3)
    quebec, _, _ = simulated(("passport", "mail", "QC"), seed=4)
    as_of = date(2025, 6, 15)
    forecast = IntakeForecaster().fit(pl.concat([mail, online, quebec]), as_of=as_of).predict(21)

    def mean(segment: tuple[str, str, str], day: date) -> float:
        service, channel, region = segment
        row = forecast.filter(
            (pl.col("service") == service)
            & (pl.col("channel") == channel)
            & (pl.col("region") == region)
            & (pl.col("date") == day)
        )
        return float(row[MEAN].item())

    saturday, tuesday, canada_day = date(2025, 6, 21), date(2025, 6, 17), date(2025, 7, 1)
    # Mail never arrives on a weekend or a holiday, so none is forecast.
    assert mean(MAIL, saturday) == 0.0
    assert mean(MAIL, canada_day) == 0.0
    # Saint-Jean-Baptiste (Tuesday 24 June) closes Quebec, not Ontario.
    assert mean(("passport", "mail", "QC"), date(2025, 6, 24)) == 0.0
    assert mean(MAIL, date(2025, 6, 24)) > 30
    # Online takes half a normal day on a holiday and at weekends.
    assert 0.35 < mean(ONLINE, canada_day) / mean(ONLINE, tuesday) < 0.65
    assert 0.35 < mean(ONLINE, saturday) / mean(ONLINE, tuesday) < 0.65


def test_intervals_hold_about_their_share_of_days() -> None:
    frame, _, _ = simulated(ONLINE, seed=5, level=20.0)
    counts = frame[ARRIVALS].to_numpy()
    inside80, inside95 = [], []
    for k in range(10):
        as_of = date(2024, 2, 4) + timedelta(days=35 * k)
        forecast = IntakeForecaster().fit(frame, as_of=as_of).predict(28)
        actual = next_days(counts.astype(np.float64), as_of, 28)
        lo80, hi80, lo95, hi95 = (forecast[c].to_numpy() for c in ("lo80", "hi80", "lo95", "hi95"))
        assert (lo95 <= lo80).all() and (lo80 <= hi80).all() and (hi80 <= hi95).all()
        inside80.append(((actual >= lo80) & (actual <= hi80)).mean())
        inside95.append(((actual >= lo95) & (actual <= hi95)).mean())
    # Whole-number bounds hold a little more than their nominal share.
    assert 0.75 <= np.mean(inside80) <= 0.95
    assert 0.9 <= np.mean(inside95) <= 1.0


def test_a_doubling_is_followed_within_two_weeks() -> None:
    # Ten files a day: too few for the smoothed level alone, which reached about 60% of the
    # new rate after two weeks on these series; the level-shift test takes it to about 97%.
    surge = date(2025, 3, 3)
    as_of = surge + timedelta(weeks=2)
    ratios = []
    for seed in (1, 2, 3):
        frame, _, rate = simulated(MAIL, seed=seed, level=10.0, surge_from=surge)
        before = IntakeForecaster().fit(frame, as_of=surge - timedelta(days=1)).predict(14)
        after = IntakeForecaster().fit(frame, as_of=as_of).predict(14)
        assert after[MEAN].sum() > 1.5 * before[MEAN].sum()
        ratios.append(after[MEAN].sum() / next_days(rate, as_of, 14).sum())
    assert np.mean(ratios) > 0.85


def test_short_histories_fall_back_and_say_so() -> None:
    frame, _, rate = simulated(MAIL, seed=7)
    as_of = date(2025, 5, 4)
    young = frame.filter(pl.col("date") > as_of - timedelta(weeks=5))
    forecaster = IntakeForecaster().fit(young, as_of=as_of)
    assert forecaster.method_ == {MAIL: WEEKDAY_MEAN}
    forecast = forecaster.predict(14)
    weekdays = forecast.filter(pl.col("date").dt.weekday() <= 5)
    assert (forecast.filter(pl.col("date").dt.weekday() > 5)[MEAN] == 0).all()
    # The recent mean by weekday: five weeks of about 40 a day.
    assert weekdays[MEAN].mean() == pytest.approx(next_days(rate, as_of, 14).sum() / 10, rel=0.2)
    one_year = frame.filter(pl.col("date") > as_of - timedelta(days=400))
    assert IntakeForecaster().fit(one_year, as_of=as_of).method_ == {MAIL: LEVEL}


def test_a_segment_that_never_received_anything_forecasts_zero() -> None:
    days, _ = true_rate(MAIL)
    frame = arrivals_frame(MAIL, days, np.zeros(days.size, dtype=np.int64))
    forecaster = IntakeForecaster().fit(frame, as_of=date(2025, 5, 4))
    assert (forecaster.predict(7)[MEAN] == 0).all()
    assert (forecaster.simulate_paths(MAIL, 7, n_paths=5, seed=0) == 0).all()


def sparse_forecast(frame: pl.DataFrame, as_of: date) -> tuple[float, float, float]:
    """Arrivals per day: history's mean over two years, 2-year forecast's mean, sample paths'."""
    known = frame.filter(pl.col("date").is_between(as_of - timedelta(days=729), as_of))
    forecaster = IntakeForecaster().fit(frame, as_of=as_of)
    with np.errstate(over="ignore", invalid="ignore"):
        forecast = forecaster.predict(728)[MEAN]
    assert forecast.is_finite().all()
    paths = forecaster.simulate_paths(MAIL, 728, n_paths=200, seed=0)
    return known[ARRIVALS].sum() / 730, forecast.sum() / 728, paths.sum() / (200 * 728)


def test_a_sparse_segment_with_an_empty_year_end_does_not_run_away() -> None:
    # About one file a week; none at all over the earlier year's year-end weeks, so that year's
    # year-end season has no finite estimate. Before, its runaway coefficient shrank those
    # weeks' exposure to nothing, and the one file in such a week blew the Pearson dispersion
    # of the mean up to thousands: forecasts overflowed.
    days, rate = true_rate(MAIL, level=0.2)
    counts = np.random.default_rng(11).poisson(rate)
    counts[(days >= np.datetime64("2023-12-18")) & (days <= np.datetime64("2024-01-07"))] = 0
    frame = arrivals_frame(MAIL, days, counts)
    history, forecast, paths = sparse_forecast(frame, date(2025, 3, 30))
    assert forecast == pytest.approx(history, rel=0.5)
    assert paths == pytest.approx(history, rel=0.5)


@pytest.mark.parametrize("seed", range(6))
def test_a_segment_of_a_few_files_a_year_does_not_run_away(seed: int) -> None:
    # About seven files a year: too few for the yearly season's coefficients, which ran off
    # towards infinity (forecasts of 10^80 times the history's rate, or not finite).
    days, rate = true_rate(MAIL, level=0.03)
    frame = arrivals_frame(MAIL, days, np.random.default_rng(seed).poisson(rate))
    history, forecast, paths = sparse_forecast(frame, date(2025, 3, 30))
    assert forecast < 3 * history + 0.01 and paths < 3 * history + 0.01


def test_sample_paths_agree_with_the_forecast() -> None:
    frame, _, _ = simulated(ONLINE, seed=8)
    as_of = date(2025, 5, 4)
    forecaster = IntakeForecaster().fit(frame, as_of=as_of)
    paths = forecaster.simulate_paths(ONLINE, 56, n_paths=2000, seed=1)
    assert paths.shape == (2000, 56)
    assert paths.dtype == np.int64
    assert (paths >= 0).all()
    np.testing.assert_array_equal(paths, forecaster.simulate_paths(ONLINE, 56, 2000, seed=1))
    mean = forecaster.predict(56)[MEAN].to_numpy()
    np.testing.assert_allclose(paths.mean(axis=0), mean, rtol=0.1)
    # Eight weeks' total is more spread out than independent days would make it.
    assert paths.sum(axis=1).var() > mean.sum()


def test_two_year_horizon_for_planners() -> None:
    frame, _, _ = simulated(MAIL, seed=9)
    forecast = IntakeForecaster().fit(frame, as_of=date(2024, 1, 7)).predict(728)
    assert forecast.height == 728
    assert forecast[MEAN].is_finite().all()
    weekly = forecast[MEAN].to_numpy().reshape(104, 7).sum(axis=1)
    assert weekly.min() > 0
    assert weekly.max() / weekly.min() < 3


def test_predict_before_fit_is_refused_and_fit_returns_itself() -> None:
    forecaster = IntakeForecaster(history_days=365, levels=(80,))
    assert vars(forecaster) == {
        "history_days": 365,
        "min_history_weeks": 8,
        "harmonics": 3,
        "level_damping": 0.97,
        "trend_damping": 0.98,
        "levels": (80,),
        "country": "CA",
    }
    with pytest.raises(IntakeNotFittedError, match="must be fitted before predict"):
        forecaster.predict(7)
    with pytest.raises(IntakeNotFittedError, match="must be fitted"):
        forecaster.simulate_paths(MAIL, 7, n_paths=2, seed=0)
    frame, _, _ = simulated(MAIL, seed=10)
    assert forecaster.fit(frame, as_of=date(2025, 1, 5)) is forecaster
    assert forecaster.predict(3).columns == [
        "service", "channel", "region", "date", MEAN, "lo80", "hi80"
    ]  # fmt: skip
    with pytest.raises(ValueError, match="`horizon_days` must be 1 or more, got 0"):
        forecaster.predict(0)
    with pytest.raises(ValueError, match="`segment` must be one of the fitted segments"):
        forecaster.simulate_paths(ONLINE, 7, n_paths=2, seed=0)


def test_bad_arrivals_are_refused_with_the_reason() -> None:
    frame, _, _ = simulated(MAIL, seed=11)
    with pytest.raises(DataContractError, match="`arrivals` must be a column"):
        IntakeForecaster().fit(frame.drop(ARRIVALS), as_of=date(2025, 1, 5))
    negative = frame.with_columns(pl.when(pl.col("date") == date(2024, 3, 4)).then(-1)
                                  .otherwise(pl.col(ARRIVALS)).alias(ARRIVALS))  # fmt: skip
    with pytest.raises(DataContractError, match="zero or more on every row, got 1 empty or neg"):
        IntakeForecaster().fit(negative, as_of=date(2025, 1, 5))


AS_OF = date(2024, 11, 3)
# Online starts a year later than mail: one segment on the seasonal model, one on the level.
_STRICT_FRAME = pl.concat(
    [
        simulated(MAIL, seed=12)[0],
        simulated(ONLINE, seed=13)[0].filter(pl.col("date") >= date(2024, 1, 1)),
    ]
)
_STRICT_FORECAST = IntakeForecaster().fit(_STRICT_FRAME, as_of=AS_OF).predict(35)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    drop_share=st.floats(0.0, 0.9),
    scale=st.integers(0, 50),
)
def test_rows_after_the_as_of_date_change_nothing(seed: int, drop_share: float, scale: int) -> None:
    rng = np.random.default_rng(seed)
    before = _STRICT_FRAME.filter(pl.col("date") <= AS_OF)
    after = _STRICT_FRAME.filter(pl.col("date") > AS_OF)
    after = after.filter(pl.Series(rng.random(after.height) >= drop_share))
    after = after.with_columns(
        pl.Series(ARRIVALS, rng.integers(0, scale + 1, after.height) * 10, dtype=pl.Int64)
    )
    # A new segment that starts after the as-of date does not exist yet either.
    newcomer = arrivals_frame(
        ("pension", "mail", "ON"),
        np.array(["2024-11-04", "2024-11-05"], dtype="datetime64[D]"),
        np.array([5, 7]),
    )
    perturbed = pl.concat([before, after, newcomer])
    shuffled = perturbed.sample(fraction=1.0, shuffle=True, seed=seed % 2**31)
    forecast = IntakeForecaster().fit(shuffled, as_of=AS_OF).predict(35)
    assert_frame_equal(forecast, _STRICT_FORECAST)


def test_daily_arrivals_counts_each_day_from_the_first_file() -> None:
    applications = pl.DataFrame(
        {
            "service": ["p", "p", "p", "p", "e"],
            "channel": ["mail"] * 5,
            "region": ["ON"] * 5,
            "priority": ["regular"] * 5,
            "submitted_on": [date(2025, 1, d) for d in (2, 2, 4, 9, 3)],
            "completed_on": [date(2025, 1, 3), None, None, None, date(2025, 1, 4)],
            "delivered_on": [None] * 5,
        },
        schema_overrides={"delivered_on": pl.Date},
    )  # fmt: skip
    submitted = daily_arrivals(applications.lazy(), as_of=date(2025, 1, 5))
    expected = pl.DataFrame(
        {
            "service": ["e", "e", "e", "p", "p", "p", "p"],
            "channel": ["mail"] * 7,
            "region": ["ON"] * 7,
            "date": [date(2025, 1, d) for d in (3, 4, 5, 2, 3, 4, 5)],
            ARRIVALS: [1, 0, 0, 2, 0, 1, 0],
        }
    )
    assert_frame_equal(submitted, expected)
    completed = daily_arrivals(applications, as_of=date(2025, 1, 4), column="completed_on")
    assert completed.rows() == [
        ("e", "mail", "ON", date(2025, 1, 4), 1),
        ("p", "mail", "ON", date(2025, 1, 3), 1),
        ("p", "mail", "ON", date(2025, 1, 4), 0),
    ]
