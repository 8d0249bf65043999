"""How backtest rows are scored when some files were still open when the data ends."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from forecasting.backtest import (
    ACTUAL_DAYS,
    BASELINE,
    JUDGED,
    KIND,
    MODEL,
    OPEN_DAYS,
    aggregate,
    origin_intervals,
    request_sets,
    score_rows,
    summarise,
)
from forecasting.schema import (
    APPLICATIONS_SCHEMA,
    AS_OF,
    CHANNEL,
    QUANTILE_DAYS,
    REGION,
    SERVICE,
    SUBMITTED_ON,
)

AS_OF_DAY = date(2025, 3, 1)


def rows(actual: list[int | None], open_days: list[int | None], p80: float) -> pl.DataFrame:
    """Open files of one segment, all answered P50 = 10, P80 = p80, P90 = p80 + 10 days."""
    n = len(actual)
    return pl.DataFrame(
        {
            AS_OF: [AS_OF_DAY] * n,
            MODEL: ["m"] * n,
            SERVICE: ["s"] * n,
            CHANNEL: ["c"] * n,
            REGION: ["r"] * n,
            SUBMITTED_ON: [date(2025, 2, 1)] * n,
            KIND: ["open"] * n,
            ACTUAL_DAYS: pl.Series(actual, dtype=pl.Int64),
            OPEN_DAYS: pl.Series(open_days, dtype=pl.Int64),
            QUANTILE_DAYS[0]: [10.0] * n,
            QUANTILE_DAYS[1]: [p80] * n,
            QUANTILE_DAYS[2]: [p80 + 10.0] * n,
        }
    )


def test_a_file_still_open_past_its_date_is_a_miss_and_adds_no_error() -> None:
    # Two completed files (one within P80 = 30 days), one still open after 100 days.
    scored = aggregate(rows([20, 40, None], [None, None, 100], p80=30.0)).row(0, named=True)
    assert scored["n"] == 2
    assert scored["n_censored"] == 1
    assert scored[JUDGED["coverage_p80"]] == 3
    assert scored["coverage_p80"] == pytest.approx(1 / 3)
    # Errors are measured on completed files only: |20 - 10| and |40 - 10|.
    assert scored["mae_p50"] == pytest.approx(20.0)


def test_a_file_open_but_not_yet_past_its_date_is_not_judged() -> None:
    # Open for 25 days when the data ends, promised by day 30: it may still make it.
    scored = aggregate(rows([20, 40, None], [None, None, 25], p80=30.0)).row(0, named=True)
    assert scored[JUDGED["coverage_p80"]] == 2
    assert scored["coverage_p80"] == pytest.approx(0.5)
    # ... but it is past its P50 (10 days): a miss there.
    assert scored[JUDGED["coverage_p50"]] == 3


def test_summaries_weigh_coverage_by_the_files_it_judged() -> None:
    judged_three = rows([20, 40, None], [None, None, 100], p80=30.0)
    only_completed = rows([20], [None], p80=30.0).with_columns(
        pl.lit(date(2025, 3, 8)).alias(AS_OF)
    )
    table = summarise(aggregate(pl.concat([judged_three, only_completed])))
    # Four judged files, two of them within P80; MAE over the three completed: (10+30+10)/3.
    assert table.item(0, "coverage_p80") == pytest.approx(2 / 4)
    assert table.item(0, "mae_p50") == pytest.approx(50 / 3)


def _at(frame: pl.DataFrame, day: date, model: str = "m") -> pl.DataFrame:
    return frame.with_columns(pl.lit(day).alias(AS_OF), pl.lit(model).alias(MODEL))


def test_origin_intervals_collapse_when_every_origin_agrees() -> None:
    same = [_at(rows([20, 40], [None, None], p80=30.0), date(2025, 3, d)) for d in (1, 8, 15)]
    results = aggregate(pl.concat(same))
    interval = origin_intervals(results).row(0, named=True)
    point = summarise(results).item(0, "coverage_p80")
    assert interval["coverage_p80_lo"] == pytest.approx(point)
    assert interval["coverage_p80_hi"] == pytest.approx(point)


def test_origin_intervals_span_origins_that_disagree() -> None:
    # One origin's files all within their P80, the other's all past it: the point is 0.5.
    covered = _at(rows([20, 20], [None, None], p80=30.0), date(2025, 3, 1))
    missed = _at(rows([40, 40], [None, None], p80=30.0), date(2025, 3, 8))
    results = aggregate(pl.concat([covered, missed]))
    interval = origin_intervals(results, level=0.8).row(0, named=True)
    assert interval["coverage_p80_lo"] < 0.5 < interval["coverage_p80_hi"]
    assert 0.0 <= interval["coverage_p80_lo"] and interval["coverage_p80_hi"] <= 1.0
    assert origin_intervals(results, level=0.8).equals(origin_intervals(results, level=0.8))


def test_origin_intervals_resample_the_baseline_on_the_same_origins() -> None:
    # At every origin the model errs twice as much as the baseline, though origins differ 10-fold:
    # drawn on the same origins, the ratio is 2 in every resample.
    parts = []
    for day, scale in ((date(2025, 3, 1), 1), (date(2025, 3, 8), 10), (date(2025, 3, 15), 4)):
        parts.append(_at(rows([10 + 2 * scale], [None], p80=30.0), day))
        parts.append(_at(rows([10 + scale], [None], p80=30.0), day, model=BASELINE))
    interval = origin_intervals(aggregate(pl.concat(parts)))
    model = interval.filter(pl.col(MODEL) == "m").row(0, named=True)
    assert model["mae_ratio_lo"] == pytest.approx(2.0)
    assert model["mae_ratio_hi"] == pytest.approx(2.0)


def test_origin_intervals_refuse_a_level_outside_zero_one() -> None:
    results = aggregate(rows([20], [None], p80=30.0))
    with pytest.raises(ValueError, match=r"`level` must be within \(0, 1\), got 90"):
        origin_intervals(results, level=90)


def _files(
    submitted: list[date],
    completed: list[date | None],
    closed: list[date | None] | None = None,
    *,
    regions: list[str] | None = None,
) -> pl.DataFrame:
    n = len(submitted)
    return pl.DataFrame(
        {
            SERVICE: ["s"] * n,
            CHANNEL: ["c"] * n,
            REGION: regions or ["r"] * n,
            "priority": ["regular"] * n,
            SUBMITTED_ON: submitted,
            "completed_on": completed,
            "delivered_on": [None] * n,
            "closed_on": closed or [None] * n,
        },
        schema=APPLICATIONS_SCHEMA,
    )


def test_request_sets_say_how_long_unfinished_files_had_been_open() -> None:
    applications = _files(
        [date(2025, 1, 1), date(2025, 1, 10), date(2025, 2, 1)],
        [date(2025, 3, 10), None, date(2025, 4, 1)],
    )
    sets = request_sets(applications, date(2025, 2, 15)).sort(SUBMITTED_ON)
    assert sets.get_column(ACTUAL_DAYS).to_list() == [68, None, 59]
    # The data ends on its last day, 2025-04-01: the unfinished file had been open 81 days.
    assert sets.get_column(OPEN_DAYS).to_list() == [None, 81, None]


def test_a_file_closed_without_completion_is_known_open_only_until_its_closure() -> None:
    applications = _files(
        [date(2025, 1, 1), date(2025, 1, 10), date(2025, 1, 20), date(2025, 2, 1)],
        [None, None, None, date(2025, 4, 1)],
        [date(2025, 2, 1), date(2025, 3, 1), None, None],
    )
    sets = request_sets(applications, date(2025, 2, 15)).sort(SUBMITTED_ON)
    # Closed before the origin: not open there. Closed after it: open for 50 days, no more.
    assert sets.get_column(SUBMITTED_ON).to_list() == [
        date(2025, 1, 10),
        date(2025, 1, 20),
        date(2025, 2, 1),
    ]
    assert sets.get_column(OPEN_DAYS).to_list() == [50, 71, None]
    # So a promise of 40 days was missed, while one of 60 days cannot be judged.
    promised = sets.head(1).with_columns(
        pl.lit(40.0).alias(QUANTILE_DAYS[0]),
        pl.lit(60.0).alias(QUANTILE_DAYS[1]),
        pl.lit(60.0).alias(QUANTILE_DAYS[2]),
    )
    scored = score_rows(promised)
    assert scored.get_column("coverage_p50").to_list() == [0.0]
    assert scored.get_column("coverage_p80").to_list() == [None]


def test_each_segment_is_known_up_to_its_own_last_day() -> None:
    # Office B's extract ends on 2025-02-20, office A's on 2025-05-01.
    applications = _files(
        [date(2025, 1, 1), date(2025, 1, 5), date(2025, 1, 2), date(2025, 2, 20)],
        [None, date(2025, 5, 1), None, None],
        regions=["A", "A", "B", "B"],
    )
    sets = request_sets(applications, date(2025, 1, 10)).sort(REGION, SUBMITTED_ON)
    assert sets.get_column(OPEN_DAYS).to_list() == [120, None, 49]
    # Told the data's end, every segment is taken to run to it.
    told = request_sets(applications, date(2025, 1, 10), data_end=date(2025, 5, 1))
    assert told.sort(REGION, SUBMITTED_ON).get_column(OPEN_DAYS).to_list() == [120, None, 119]
