"""QueueProjection specifics: future submissions queue behind the forecast intake."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from forecasting.asof import as_known_at
from forecasting.intake import MEAN, IntakeForecaster, daily_arrivals
from forecasting.models import QueueProjection
from forecasting.models.base import MAX_DAYS_AHEAD
from forecasting.models.queue_model import _project
from forecasting.schema import DEFAULT_PRIORITY, PRIORITY

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
