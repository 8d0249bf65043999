"""Command-line values: steps like 7d or 2w, and dates, with errors that say what was expected."""

from __future__ import annotations

import pytest

from forecasting.errors import DelaiError
from training.arguments import parse_names, parse_step


@pytest.mark.parametrize(("text", "days"), [("7d", 7), ("2w", 14), ("1D", 1), (" 3w ", 21)])
def test_steps_are_days_or_weeks(text: str, days: int) -> None:
    assert parse_step(text) == days


@pytest.mark.parametrize("text", ["7", "0d", "-1d", "1m", "week", "", "1.5w"])
def test_a_bad_step_names_the_option_and_the_value(text: str) -> None:
    with pytest.raises(DelaiError, match=rf"`--step` must be .* like 7d or 2w, got '{text}'"):
        parse_step(text)


def test_names_must_be_known() -> None:
    allowed = ("kaplan_meier", "queue_projection")
    assert parse_names("kaplan_meier, queue_projection", "--candidates", allowed=allowed) == allowed
    with pytest.raises(DelaiError, match="`--candidates` must be .* got 'prophet'"):
        parse_names("prophet", "--candidates", allowed=allowed)
