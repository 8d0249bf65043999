"""QueueProjection specifics: future submissions queue behind the forecast intake."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from forecasting.asof import as_known_at
from forecasting.intake import MEAN, IntakeForecaster, daily_arrivals
from forecasting.models import QueueProjection
from forecasting.models.base import MAX_DAYS_AHEAD
from forecasting.models.queue_model import _project, _Segment, _segment, _State
from forecasting.schema import (
    CHANNEL,
    COMPLETED_ON,
    DEFAULT_PRIORITY,
    PRIORITY,
    REGION,
    SERVICE,
    SUBMITTED_ON,
)

SEGMENT = ("passport_adult", "online", "ON")


@pytest.fixture(scope="module")
def known(small_world):
    applications, end = small_world
    as_of = end - timedelta(days=45)
    return as_known_at(applications.lazy(), as_of).collect(), as_of


def test_future_submissions_queue_behind_the_intake_forecast(known) -> None:
    data, as_of = known
    model = QueueProjection(calibration_origins=2).fit(data, as_of=as_of)
    regular = data.filter(data.get_column(PRIORITY) == DEFAULT_PRIORITY)
    expected = (
        IntakeForecaster()
        .fit(daily_arrivals(regular, as_of=as_of), as_of=as_of)
        .predict(MAX_DAYS_AHEAD + 1)
        .filter(service=SEGMENT[0], channel=SEGMENT[1], region=SEGMENT[2])
        .get_column(MEAN)
        .to_numpy()
    )
    segment = model.segments_state_[SEGMENT]
    np.testing.assert_allclose(segment.intake[: expected.size], expected)
    # The week's pattern (fewer online submissions at weekends), not the flat recent mean.
    assert expected.max() > 1.5 * expected.min()
    assert not np.allclose(segment.intake[: expected.size], segment.state.intake)
    # A file submitted 30 days on stands behind the backlog, the 29 days before it and half its
    # own day: the fluid queue reaches it when cumulative capacity does.
    today = (as_of - as_of.replace(year=1970, month=1, day=1)).days
    ahead = 30
    position = (
        segment.state.open_sorted.size + expected[: ahead - 1].sum() + expected[ahead - 1] / 2
    )
    reach = np.searchsorted(np.cumsum(segment.capacity), position) + 1
    projected, _ = _project(segment, np.array([today + ahead]), today)
    assert projected[0] == max(reach, ahead) - ahead


def test_without_the_forecast_intake_is_the_recent_mean(known) -> None:
    data, as_of = known
    model = QueueProjection(calibration_origins=2, intake_forecast=False).fit(data, as_of=as_of)
    segment = model.segments_state_[SEGMENT]
    np.testing.assert_allclose(segment.intake, segment.state.intake)
    np.testing.assert_allclose(np.diff(segment.cumulative_intake), segment.state.intake)


def test_a_file_waiting_for_years_is_still_projected_ahead_of_its_wait(known) -> None:
    """The five-year cap is on the time still to go, not on the total."""
    data, as_of = known
    model = QueueProjection(calibration_origins=2).fit(data, as_of=as_of)
    segment = model.segments_state_[SEGMENT]
    today = (as_of - as_of.replace(year=1970, month=1, day=1)).days
    waited = np.array([10, 6 * 365, 9 * 365])
    projected, elapsed = _project(segment, today - waited, today)
    np.testing.assert_array_equal(elapsed, waited)
    assert np.all(projected > waited) and np.all(projected - waited <= 5 * 365)


def _empty_queue(handling: float) -> _Segment:
    """A segment with no one in line and ample capacity: the queue reaches any file at once."""
    state = _State(
        day=0,
        open_sorted=np.array([], dtype=np.int64),
        throughput=1e6,
        intake=0.0,
        scale=1.0,
        handling=handling,
    )
    return _segment(state, np.full(400, 1e6), np.zeros(400))


def test_a_file_reached_at_once_still_takes_its_handling() -> None:
    # New files (submitted 1 and 5 days on) and waiting ones (3 and 20 days already).
    submitted = np.array([1, 5, -3, -20])
    projected, waited = _project(_empty_queue(12.0), submitted, 0)
    # Days from submission: the handling, or one day beyond the wait when that is longer.
    np.testing.assert_array_equal(projected, [12.0, 12.0, 12.0, 21.0])
    np.testing.assert_array_equal(waited, [-1, -1, 3, 20])
    unfloored, _ = _project(_empty_queue(0.0), submitted, 0)
    np.testing.assert_array_equal(unfloored, [0.0, 0.0, 4.0, 21.0])


def test_the_handling_is_a_low_quantile_of_recent_processing_times(known) -> None:
    data, as_of = known
    one = data.filter(
        (pl.col(SERVICE) == SEGMENT[0])
        & (pl.col(CHANNEL) == SEGMENT[1])
        & (pl.col(REGION) == SEGMENT[2])
        & (pl.col(PRIORITY) == DEFAULT_PRIORITY)
    )
    recent = one.filter(pl.col(COMPLETED_ON) > as_of - timedelta(days=180))
    took = (recent.get_column(COMPLETED_ON) - recent.get_column(SUBMITTED_ON)).dt.total_days()
    for quantile in (0.1, 0.25):
        model = QueueProjection(calibration_origins=2, handling_quantile=quantile)
        state = model.fit(data, as_of=as_of).segments_state_[SEGMENT].state
        assert state.handling == pytest.approx(float(np.quantile(took.to_numpy(), quantile)))
    off = QueueProjection(calibration_origins=2, handling_quantile=None).fit(data, as_of=as_of)
    assert off.segments_state_[SEGMENT].state.handling == 0.0
