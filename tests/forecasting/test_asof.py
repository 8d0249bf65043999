"""The as-of cut for files that leave the queue without being completed."""

from __future__ import annotations

from datetime import date

import polars as pl

from forecasting.asof import as_known_at, history_at, is_open_at
from forecasting.schema import APPLICATIONS_SCHEMA, CLOSED_ON, COMPLETED_ON, SUBMITTED_ON

FILES = pl.DataFrame(
    {
        "service": ["s"] * 3,
        "channel": ["c"] * 3,
        "region": ["r"] * 3,
        "priority": ["regular"] * 3,
        SUBMITTED_ON: [date(2025, 1, 1), date(2025, 1, 2), date(2025, 1, 3)],
        COMPLETED_ON: [date(2025, 1, 20), None, None],
        "delivered_on": [None, None, None],
        CLOSED_ON: [None, date(2025, 1, 10), None],
    },
    schema=APPLICATIONS_SCHEMA,
)


def test_a_closed_file_is_waiting_until_its_closure_and_gone_after() -> None:
    before = as_known_at(FILES.lazy(), date(2025, 1, 9)).collect()
    assert before.get_column(SUBMITTED_ON).to_list() == [date(2025, 1, i) for i in (1, 2, 3)]
    # Nobody knew on the 9th that it would be closed on the 10th.
    assert before.get_column(CLOSED_ON).null_count() == 3
    assert FILES.select(is_open_at(date(2025, 1, 9))).to_series().to_list() == [True] * 3

    after = as_known_at(FILES.lazy(), date(2025, 1, 10)).collect()
    assert after.get_column(SUBMITTED_ON).to_list() == [date(2025, 1, 1), date(2025, 1, 3)]
    assert FILES.select(is_open_at(date(2025, 1, 10))).to_series().to_list() == [
        True,
        False,
        True,
    ]


def test_completions_after_the_day_are_still_blanked() -> None:
    known = as_known_at(FILES.lazy(), date(2025, 1, 19)).collect()
    assert known.get_column(COMPLETED_ON).null_count() == known.height
    assert as_known_at(FILES.lazy(), date(2025, 1, 20)).collect().item(0, COMPLETED_ON) == date(
        2025, 1, 20
    )


def test_the_history_keeps_closures_up_to_the_day_and_no_later() -> None:
    history = history_at(FILES.lazy(), date(2025, 1, 10)).collect()
    assert history.get_column(CLOSED_ON).to_list() == [None, date(2025, 1, 10), None]
    assert (
        history_at(FILES.lazy(), date(2025, 1, 9)).collect().get_column(CLOSED_ON).null_count() == 3
    )


def test_a_frame_without_closures_has_none() -> None:
    known = as_known_at(FILES.drop(CLOSED_ON).lazy(), date(2025, 1, 10)).collect()
    assert known.height == 3 and known.get_column(CLOSED_ON).null_count() == 3
