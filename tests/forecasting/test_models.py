"""The model contract, run over every model class, and the invariants every estimate keeps."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecasting.asof import as_known_at
from forecasting.models import MODELS, ProcessingTimeModel
from forecasting.models.base import NotFittedError
from forecasting.queue import fifo_positions, project_backlog, reach_offsets
from forecasting.schema import ERROR, QUANTILE_DAYS, SUBMITTED_ON
from forecasting.survival_curve import SurvivalCurve, conditional_quantiles, kaplan_meier

MODEL_CLASSES = sorted(MODELS.values(), key=lambda cls: cls.__name__)


@pytest.fixture(scope="module")
def fitted(small_world) -> dict[str, ProcessingTimeModel]:
    applications, end = small_world
    as_of = end - timedelta(days=60)
    known = as_known_at(applications.lazy(), as_of).collect()
    return {name: cls().fit(known, as_of=as_of) for name, cls in MODELS.items()}


def _requests(as_of: date, days: list[int]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "service": "passport_adult",
            "channel": "online",
            "region": "ON",
            SUBMITTED_ON: [as_of + timedelta(days=d) for d in days],
        }
    )


@pytest.mark.parametrize("cls", MODEL_CLASSES, ids=lambda c: c.__name__)
def test_init_only_stores_keyword_arguments(cls: type[ProcessingTimeModel]) -> None:
    model = cls()
    assert all(not key.endswith("_") for key in vars(model))
    with pytest.raises(TypeError):
        cls(1)  # type: ignore[misc]


@pytest.mark.parametrize("cls", MODEL_CLASSES, ids=lambda c: c.__name__)
def test_predict_before_fit_is_a_clear_error(cls: type[ProcessingTimeModel]) -> None:
    with pytest.raises(NotFittedError, match=f"{cls.__name__} must be fitted before predict"):
        cls().predict(_requests(date(2025, 1, 1), [0]))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_fit_returns_self_and_sets_fitted_attributes(small_world, name: str) -> None:
    applications, end = small_world
    model = MODELS[name]()
    assert model.fit(applications, as_of=end) is model
    assert model.as_of_ == end and model.segments_


@pytest.mark.parametrize("name", sorted(MODELS))
def test_estimates_are_ordered_and_open_files_finish_after_as_of(fitted, name: str) -> None:
    model = fitted[name]
    days = list(range(-120, 91, 3))
    predicted = model.predict(_requests(model.as_of_, days))
    assert predicted.height == len(days)
    assert predicted.get_column(ERROR).null_count() == len(days)
    p50, p80, p90 = (predicted.get_column(c).to_numpy() for c in QUANTILE_DAYS)
    assert np.all(p50 <= p80) and np.all(p80 <= p90)
    waited = -np.asarray(days)
    is_open = waited >= 0
    # A file still open at the as-of day is done on as-of + 1 at the earliest.
    assert np.all(p50[is_open] >= waited[is_open] + 1)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_bad_rows_get_their_own_error_and_never_sink_the_batch(fitted, name: str) -> None:
    model = fitted[name]
    requests = pl.DataFrame(
        {
            "service": [
                "passport_adult",
                "unicorn_licence",
                "passport_adult",
                "passport_adult",
                None,
            ],
            "channel": ["online", "online", "online", "online", "online"],
            "region": ["ON", "ON", "ON", "ON", "ON"],
            SUBMITTED_ON: [
                model.as_of_,
                model.as_of_,
                None,
                model.as_of_ + timedelta(days=91),
                model.as_of_,
            ],
        }
    )
    predicted = model.predict(requests)
    errors = predicted.get_column(ERROR).to_list()
    assert errors[0] is None
    assert "known segment, got unicorn_licence / online / ON" in errors[1]
    assert "`submitted_on` must be an ISO date" in errors[2]
    assert f"must be no later than {model.as_of_ + timedelta(days=90)}" in errors[3]
    assert "got (nothing) / online / ON" in errors[4]
    assert predicted.get_column(QUANTILE_DAYS[1]).is_null().to_list() == [False] + [True] * 4


def test_fit_ignores_what_happened_after_as_of(small_world) -> None:
    """Perturbing everything after the as-of day leaves every model's answers unchanged."""
    applications, end = small_world
    as_of = end - timedelta(days=90)
    known = as_known_at(applications.lazy(), as_of).collect()
    shifted = applications.with_columns(
        pl.when(pl.col("completed_on") > as_of)
        .then(pl.col("completed_on") + timedelta(days=17))
        .otherwise(pl.col("completed_on"))
    )
    known_shifted = as_known_at(shifted.lazy(), as_of).collect()
    requests = _requests(as_of, list(range(-60, 30, 5)))
    for cls in MODELS.values():
        a = cls().fit(known, as_of=as_of).predict(requests)
        b = cls().fit(known_shifted, as_of=as_of).predict(requests)
        assert a.equals(b), cls.__name__


def test_kaplan_meier_counts_open_files_as_censored() -> None:
    # Four done at 10 days, four still open at 20 days: half finish by 10, the rest later.
    curve = kaplan_meier(pl.Series([10] * 4 + [20] * 4), pl.Series([1] * 4 + [0] * 4))
    assert conditional_quantiles(curve, np.array([-1.0]), (0.5,))[0, 0] == 10
    # Ignoring the open files would claim everything finishes by day 10.
    assert conditional_quantiles(curve, np.array([-1.0]), (0.8,))[0, 0] > 20


def test_conditional_quantiles_condition_on_waiting() -> None:
    curve = SurvivalCurve(
        times=np.array([5.0, 10.0, 15.0, 20.0]),
        surv=np.array([0.75, 0.5, 0.25, 0.0]),
        mean_days=12.5,
    )
    unconditional = conditional_quantiles(curve, np.array([-1.0]), (0.5, 0.8))[0]
    waited = conditional_quantiles(curve, np.array([12.0]), (0.5, 0.8))[0]
    assert unconditional.tolist() == [10.0, 20.0]
    # Given more than 12 days (S = 0.5): half of the rest are done by 15 days.
    assert waited.tolist() == [15.0, 20.0]


def test_reach_offsets_follow_cumulative_capacity() -> None:
    capacity = np.array([0.0, 2.0, 2.0, 0.0, 2.0])
    assert reach_offsets(np.array([1.0, 2.0, 3.0, 6.0]), capacity).tolist() == [2, 2, 3, 5]
    # Past the horizon, the horizon's mean rate (1.2 a day) carries on.
    assert reach_offsets(np.array([8.4]), capacity).tolist() == [7]


def test_fifo_positions_count_files_ahead() -> None:
    open_sorted = np.array([1, 2, 2, 5])
    assert fifo_positions(open_sorted, np.array([0, 2, 9])).tolist() == [0.5, 2.0, 4.5]


@settings(max_examples=40, deadline=None)
@given(
    st.floats(0, 500),
    st.lists(st.floats(0, 50), min_size=1, max_size=60),
    st.lists(st.floats(0, 50), min_size=1, max_size=60),
)
def test_project_backlog_conserves_files(backlog, arrivals, capacity) -> None:
    n = min(len(arrivals), len(capacity))
    arr, cap = np.array([arrivals[:n]]), np.array([capacity[:n]])
    done, level = project_backlog(np.array([backlog]), arr, cap)
    assert np.all(done <= cap + 1e-9) and np.all(level >= -1e-9)
    assert np.isclose(backlog + arr.sum(), done.sum() + level[0, -1])
