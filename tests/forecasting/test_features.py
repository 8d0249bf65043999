"""Segment features as of a day: hand-checked values, and no feature sees past its as-of day."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from forecasting.features import collect_segment_features, segment_features
from forecasting.schema import (
    APPLICATIONS_SCHEMA,
    ARRIVALS,
    BACKLOG,
    BACKLOG_AGE_P50,
    BACKLOG_AGE_P90,
    BACKLOG_SHARE_OVER,
    BUSINESS_DAYS_NEXT_28D,
    CAPACITY_COMPLETIONS_28D,
    CAPACITY_SCHEMA,
    CAPACITY_STAFF_HOURS_28D,
    CLOSED_ON,
    COMPLETED_ON,
    COMPLETIONS,
    HOLIDAYS_LAST_28D,
    HOLIDAYS_NEXT_28D,
    SEGMENT,
    SEGMENT_FEATURES,
    SERVICE_DAYS_P50,
    SERVICE_DAYS_P80,
    SUBMITTED_ON,
    THROUGHPUT_TREND,
)
from forecasting.survival_curve import conditional_quantiles, kaplan_meier

AS_OF = date(2025, 7, 10)  # a Thursday; Canada Day and Saint-Jean-Baptiste in the 28 days before
ON = ("passport_adult", "online", "ON")
QC = ("passport_adult", "online", "QC")


def _applications(rows: list[tuple[Any, ...]]) -> pl.DataFrame:
    """From (segment, submitted, completed[, closed]) rows, dates as ISO text or None."""
    return pl.DataFrame(
        {
            "service": [r[0][0] for r in rows],
            "channel": [r[0][1] for r in rows],
            "region": [r[0][2] for r in rows],
            "priority": ["regular"] * len(rows),
            SUBMITTED_ON: [date.fromisoformat(r[1]) for r in rows],
            COMPLETED_ON: [date.fromisoformat(r[2]) if r[2] else None for r in rows],
            "delivered_on": [None] * len(rows),
            CLOSED_ON: [date.fromisoformat(r[3]) if len(r) > 3 and r[3] else None for r in rows],
        },
        schema=APPLICATIONS_SCHEMA,
    )


HAND = _applications(
    [
        (ON, "2025-07-09", None),  # open, 1 day old
        (ON, "2025-06-01", None),  # open, 39 days
        (ON, "2025-03-01", None),  # open, 131 days
        (ON, "2025-06-20", "2025-07-05"),  # done in the last 7 days, after 15 days
        (ON, "2025-05-01", "2025-06-01"),  # done 39 days ago, after 31 days
        (ON, "2025-07-08", "2025-07-12"),  # done after the as-of day: open at it, 2 days old
        (ON, "2025-07-11", "2025-07-15"),  # submitted after the as-of day: absent
        (QC, "2025-07-01", None),
        (("passport_child", "mail", "ON"), "2025-07-12", None),  # a segment that starts later
    ]
)


def _capacity(rows: list[tuple[str, tuple[str, str, str], float]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "date": [date.fromisoformat(r[0]) for r in rows],
            "service": [r[1][0] for r in rows],
            "channel": [r[1][1] for r in rows],
            "region": [r[1][2] for r in rows],
            "staff_hours": [r[2] / 2 for r in rows],
            "completions_capacity": [r[2] for r in rows],
            "staff": [None] * len(rows),  # optional: the what-ifs' staffing, unused by features
            "planned_on": [None] * len(rows),  # records: each known on its own day
        },
        schema=CAPACITY_SCHEMA,
    )


def _row(frame: pl.DataFrame, segment: tuple[str, str, str]) -> dict[str, object]:
    picked = frame.filter(pl.struct(SEGMENT) == dict(zip(SEGMENT, segment, strict=True)))
    assert picked.height == 1
    return picked.row(0, named=True)


def test_backlog_flows_and_trend_by_hand() -> None:
    features = collect_segment_features(HAND, AS_OF)
    assert features.select(SEGMENT).rows() == [ON, QC]  # sorted; the later segment is absent
    on = _row(features, ON)
    # Open at the as-of day: ages 1, 39, 131 and 2 days (completed after it still counts).
    assert on[BACKLOG] == 4
    assert on[BACKLOG_AGE_P50] == pytest.approx(20.5)
    assert on[BACKLOG_AGE_P90] == pytest.approx(39 + 0.7 * (131 - 39))
    assert [on[BACKLOG_SHARE_OVER[d]] for d in (30, 60, 90)] == [0.5, 0.25, 0.25]
    assert [on[ARRIVALS[d]] for d in (7, 28, 91)] == [2, 3, 5]
    assert [on[COMPLETIONS[d]] for d in (7, 28, 91)] == [1, 1, 2]
    # One completion in the last 28 days, one in the 28 before.
    assert on[THROUGHPUT_TREND] == 1.0
    qc = _row(features, QC)
    assert (qc[BACKLOG], qc[THROUGHPUT_TREND], qc[SERVICE_DAYS_P50]) == (1, None, None)


def test_service_days_are_kaplan_meier_with_open_files_censored() -> None:
    on = _row(collect_segment_features(HAND, AS_OF), ON)
    curve = kaplan_meier(pl.Series([1, 39, 131, 15, 31, 2]), pl.Series([0, 0, 0, 1, 1, 0]))
    expected = conditional_quantiles(curve, np.array([-1.0]), (0.5, 0.8))[0]
    assert [on[SERVICE_DAYS_P50], on[SERVICE_DAYS_P80]] == expected.tolist()
    skipped = _row(collect_segment_features(HAND, AS_OF, service_days=False), ON)
    assert skipped[SERVICE_DAYS_P50] is None and skipped[SERVICE_DAYS_P80] is None


def test_calendar_counts_regional_holidays() -> None:
    features = collect_segment_features(HAND, AS_OF)
    on, qc = _row(features, ON), _row(features, QC)
    # Canada Day (1 July) everywhere; Saint-Jean-Baptiste (24 June) in Quebec only.
    assert (on[HOLIDAYS_LAST_28D], qc[HOLIDAYS_LAST_28D]) == (1, 2)
    # The next 28 days are four whole weeks: 20 weekdays less the weekday holidays.
    for row in (on, qc):
        assert row[BUSINESS_DAYS_NEXT_28D] == 20 - row[HOLIDAYS_NEXT_28D]


def test_capacity_is_the_mean_of_the_last_28_days_with_a_shared_region_fallback() -> None:
    days = [AS_OF - timedelta(days=i) for i in range(28)]
    capacity = _capacity(
        [(d.isoformat(), ON, 10.0 if i % 2 else 20.0) for i, d in enumerate(days)]
        + [((AS_OF - timedelta(days=28)).isoformat(), ON, 1000.0)]  # a day too early
        + [((AS_OF + timedelta(days=1)).isoformat(), ON, 999.0)]  # planned, after the as-of day
        + [(AS_OF.isoformat(), ("passport_adult", "online", "all"), 4.0)]
    )
    features = collect_segment_features(HAND, AS_OF, capacity=capacity)
    on, qc = _row(features, ON), _row(features, QC)
    assert on[CAPACITY_COMPLETIONS_28D] == 15.0 and on[CAPACITY_STAFF_HOURS_28D] == 7.5
    assert qc[CAPACITY_COMPLETIONS_28D] == 4.0
    without = collect_segment_features(HAND, AS_OF)
    assert without.get_column(CAPACITY_COMPLETIONS_28D).null_count() == without.height


def test_capacity_reads_one_figure_per_day_as_known_at_the_as_of_day() -> None:
    """Plans for past days give way to their record; a correction made later is not known."""
    days = [AS_OF - timedelta(days=i) for i in range(28)]
    record = _capacity([(d.isoformat(), ON, 10.0) for d in days])
    plans = record.with_columns(
        pl.col("completions_capacity") * 3,
        pl.col("staff_hours") * 3,
        pl.lit(AS_OF - timedelta(days=60)).alias("planned_on"),
    )
    later = record.with_columns(
        pl.col("completions_capacity") * 5, pl.lit(AS_OF + timedelta(days=2)).alias("planned_on")
    )
    features = collect_segment_features(HAND, AS_OF, capacity=pl.concat([record, plans, later]))
    assert _row(features, ON)[CAPACITY_COMPLETIONS_28D] == 10.0


def test_output_columns_and_types_are_stable() -> None:
    lazy = segment_features(HAND.lazy(), AS_OF)
    assert lazy.collect_schema().names() == [*SEGMENT, *SEGMENT_FEATURES]
    assert_frame_equal(lazy.collect(), collect_segment_features(HAND, AS_OF))


# --- no feature at T uses anything after T -----------------------------------------------------
_T = date(2025, 6, 30)
_SEGMENTS = [ON, QC, ("ei_regular", "in_person", "ON")]


def _history(seed: int, n: int = 600) -> pl.DataFrame:
    """Files over 18 months straddling `_T`, some still open at the end."""
    rng = np.random.default_rng(seed)
    start = date(2024, 7, 1)
    submitted = rng.integers(0, 540, n)
    took = rng.gamma(2.0, 15.0, n).astype(int)
    done = rng.random(n) < 0.93
    # Half the files never completed were withdrawn instead, as long after submission.
    withdrawn = ~done & (rng.random(n) < 0.5)
    segment = rng.integers(0, len(_SEGMENTS), n)
    rows = [
        (
            _SEGMENTS[s],
            (start + timedelta(days=int(d))).isoformat(),
            (start + timedelta(days=int(d + t))).isoformat() if ok else None,
            (start + timedelta(days=int(d + t))).isoformat() if gone else None,
        )
        for s, d, t, ok, gone in zip(segment, submitted, took, done, withdrawn, strict=True)
    ]
    return _applications(rows)


_BASE = _history(5)
_BASE_CAPACITY = _capacity(
    [
        ((_T + timedelta(days=i)).isoformat(), s, float(10 + i % 7))
        for i in range(-60, 60)
        for s in _SEGMENTS
    ]
)


def _later_or_none(as_of: date, rng: np.random.Generator, n: int, *, none_share: float) -> pl.Expr:
    """Per row, a random day after both `as_of` and the submission, or none (`none_share`)."""
    none = pl.Series(rng.random(n) < none_share)
    days = pl.Series(rng.integers(1, 300, n))
    later = pl.max_horizontal(pl.lit(as_of), pl.col(SUBMITTED_ON)) + pl.duration(days=days)
    return pl.when(none).then(None).otherwise(later)


def _perturb_after(frame: pl.DataFrame, as_of: date, seed: int, extra: int) -> pl.DataFrame:
    """Shuffle rows; move later submissions (dates and segments) and later completions; add
    rows after `as_of`. Nothing known at `as_of` changes.
    """
    rng = np.random.default_rng(seed)
    n = frame.height
    later = frame.get_column(SUBMITTED_ON) > as_of
    done_later = frame.get_column(COMPLETED_ON) > as_of
    services = pl.Series(rng.choice(["passport_adult", "ei_regular", "unicorn_licence"], n))
    regions = pl.Series(rng.choice(["ON", "QC", "NS"], n))
    moved = (
        frame.with_columns(
            pl.when(later).then(services).otherwise(pl.col("service")).alias("service"),
            pl.when(later).then(regions).otherwise(pl.col("region")).alias("region"),
            pl.when(later)
            .then(pl.lit(as_of) + pl.duration(days=pl.Series(rng.integers(1, 200, n))))
            .otherwise(pl.col(SUBMITTED_ON))
            .alias(SUBMITTED_ON),
        )
        .with_columns(
            # A completion after the as-of day moves elsewhere after it, or disappears.
            pl.when(done_later.fill_null(False) | later)
            .then(_later_or_none(as_of, rng, n, none_share=0.2))
            .otherwise(pl.col(COMPLETED_ON))
            .alias(COMPLETED_ON)
        )
        .with_columns(
            # A file not completed may be closed after the as-of day instead, or no longer be.
            pl.when(pl.col(COMPLETED_ON).is_null() & ~(pl.col(CLOSED_ON) <= as_of).fill_null(False))
            .then(_later_or_none(as_of, rng, n, none_share=0.5))
            .when(pl.col(COMPLETED_ON).is_not_null() & (pl.col(CLOSED_ON) > as_of))
            .then(None)
            .otherwise(pl.col(CLOSED_ON))
            .alias(CLOSED_ON)
        )
    )
    added = _history(seed + 1, extra).with_columns(
        (pl.lit(as_of) + pl.duration(days=pl.col(SUBMITTED_ON).dt.day())).alias(SUBMITTED_ON)
    )
    added = added.with_columns((pl.col(SUBMITTED_ON) + pl.duration(days=3)).alias(COMPLETED_ON))
    combined = pl.concat([moved, added]).select(APPLICATIONS_SCHEMA.names())
    return combined.sample(fraction=1.0, shuffle=True, seed=seed)


def _perturb_capacity(capacity: pl.DataFrame, as_of: date, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    later = capacity.get_column("date") > as_of
    noise = pl.Series(rng.normal(0, 50, capacity.height))
    return capacity.with_columns(
        pl.when(later).then(pl.col(c) + noise).otherwise(pl.col(c)).alias(c)
        for c in ("staff_hours", "completions_capacity")
    ).sample(fraction=1.0, shuffle=True, seed=seed)


@settings(max_examples=25, deadline=None)
@given(
    offset=st.integers(-45, 45),
    seed=st.integers(0, 2**16),
    extra=st.integers(0, 80),
)
def test_features_at_t_ignore_row_order_and_everything_after_t(
    offset: int, seed: int, extra: int
) -> None:
    as_of = _T + timedelta(days=offset)
    expected = collect_segment_features(_BASE, as_of, capacity=_BASE_CAPACITY)
    perturbed = collect_segment_features(
        _perturb_after(_BASE, as_of, seed, extra),
        as_of,
        capacity=_perturb_capacity(_BASE_CAPACITY, as_of, seed),
    )
    assert expected.height == len(_SEGMENTS)
    assert_frame_equal(perturbed, expected)
