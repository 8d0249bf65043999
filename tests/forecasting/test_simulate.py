"""The simulator: contract-shaped output, business-day calendars, queue laws and scenarios."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import holidays
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from forecasting.schema import (
    APPLICATION_ID,
    CHANNEL,
    COMPLETED_AT,
    COMPLETIONS_CAPACITY,
    DATE,
    DELIVERED_AT,
    PLANNED_ON,
    PRIORITY,
    REGION,
    SEGMENT,
    SERVICE,
    STAFF,
    STAFF_HOURS,
    SUBMITTED_AT,
)
from forecasting.simulate import (
    DEFAULT_REGIONS,
    SCENARIOS,
    SERVICES,
    SimulationResult,
    scenario_spec,
    simulate,
    write_simulation,
)
from forecasting.simulate.frames import BACKLOG, IN_SYSTEM, PROCESSED, QUEUE_COLUMNS, SUBMITTED

START, END = date(2022, 1, 1), date(2024, 12, 31)
SMALL = 0.05
# Scratch columns of the tests' own frames.
DAYS, ARRIVED, LEFT = "days", "arrived", "left"
PASSPORTS = ("passport_adult", "passport_child")


@pytest.fixture(scope="module")
def steady() -> SimulationResult:
    return simulate(start=START, end=END, seed=7, scale=SMALL)


def _with_days(applications: pl.DataFrame) -> pl.DataFrame:
    return applications.with_columns(
        (pl.col(COMPLETED_AT) - pl.col(SUBMITTED_AT)).dt.total_days().alias(DAYS)
    )


def _regular_passports(result: SimulationResult) -> pl.DataFrame:
    return _with_days(result.applications).filter(
        pl.col(SERVICE).is_in(PASSPORTS), pl.col(PRIORITY) == "regular"
    )


# --- determinism and shape --------------------------------------------------------------------


def test_same_seed_gives_identical_frames(steady: SimulationResult) -> None:
    again = simulate(start=START, end=END, seed=7, scale=SMALL)
    assert_frame_equal(steady.applications, again.applications)
    assert_frame_equal(steady.capacity, again.capacity)
    assert_frame_equal(steady.queue, again.queue)


def test_different_seed_gives_different_applications(steady: SimulationResult) -> None:
    other = simulate(start=START, end=END, seed=8, scale=SMALL)
    assert not steady.applications.equals(other.applications)


def test_tables_have_exactly_the_contract_columns(steady: SimulationResult) -> None:
    strings = dict.fromkeys((SERVICE, CHANNEL, REGION), pl.String)
    assert steady.applications.schema == pl.Schema(
        {APPLICATION_ID: pl.String, **strings, SUBMITTED_AT: pl.Date, COMPLETED_AT: pl.Date}
        | {DELIVERED_AT: pl.Date, PRIORITY: pl.String}
    )
    assert steady.capacity.schema == pl.Schema(
        {DATE: pl.Date, **strings, STAFF: pl.Float64, STAFF_HOURS: pl.Float64}
        | {COMPLETIONS_CAPACITY: pl.Float64, PLANNED_ON: pl.Date}
    )
    assert steady.queue.columns == list(QUEUE_COLUMNS)


def test_every_segment_is_present_with_every_priority(steady: SimulationResult) -> None:
    apps = steady.applications
    assert apps.select(SEGMENT).n_unique() == len(SERVICES) * 3 * len(DEFAULT_REGIONS)
    assert set(apps[PRIORITY]) == {"regular", "express", "urgent"}
    assert apps[APPLICATION_ID].is_unique().all()


def test_dates_are_ordered_and_never_after_end(steady: SimulationResult) -> None:
    apps = steady.applications
    assert apps[SUBMITTED_AT].min() >= START
    for column in (SUBMITTED_AT, COMPLETED_AT, DELIVERED_AT):
        assert apps[column].max() <= END
    assert apps.filter(pl.col(COMPLETED_AT) < pl.col(SUBMITTED_AT)).is_empty()
    assert apps.filter(pl.col(DELIVERED_AT) < pl.col(COMPLETED_AT)).is_empty()
    assert apps.filter(
        pl.col(COMPLETED_AT).is_null() & pl.col(DELIVERED_AT).is_not_null()
    ).is_empty()


def test_files_still_open_at_the_end_stay_open(steady: SimulationResult) -> None:
    still_open = steady.applications.filter(pl.col(COMPLETED_AT).is_null())
    assert still_open.height > 0
    # A steady queue loses nothing: open files are recent ones (a few tiny queues drift at
    # this small scale, where a year's demand is a dozen files).
    recent = still_open.filter(pl.col(SUBMITTED_AT) > END - timedelta(days=120))
    assert recent.height >= 0.95 * still_open.height


def test_only_passports_are_delivered(steady: SimulationResult) -> None:
    done = steady.applications.filter(pl.col(COMPLETED_AT) < END - timedelta(days=30))
    delivered = done.group_by(SERVICE).agg(pl.col(DELIVERED_AT).is_not_null().mean())
    shares = dict(delivered.iter_rows())
    assert shares["passport_adult"] == 1.0 and shares["passport_child"] == 1.0
    assert shares["ei_regular"] == 0.0 and shares["pension_oas"] == 0.0


def test_default_scale_gives_a_national_volume() -> None:
    one_year = simulate(start=date(2023, 1, 1), end=date(2023, 12, 31), seed=1, scale=0.1)
    assert 30_000 <= one_year.applications.height <= 40_000


# --- calendars ---------------------------------------------------------------------------------


def _completions_on(result: SimulationResult, day: date, region: str) -> int:
    apps = result.applications
    return apps.filter(pl.col(COMPLETED_AT) == day, pl.col(REGION) == region).height


def test_nothing_completes_on_canada_day_or_weekends(steady: SimulationResult) -> None:
    apps = steady.applications
    for region in DEFAULT_REGIONS:
        assert _completions_on(steady, date(2024, 7, 1), region) == 0
    for column in (COMPLETED_AT, DELIVERED_AT):
        assert apps.filter(pl.col(column).dt.weekday() >= 6).is_empty()
        assert apps.filter(pl.col(column) == date(2024, 7, 1)).is_empty()


def test_saint_jean_baptiste_closes_quebec_only(steady: SimulationResult) -> None:
    assert _completions_on(steady, date(2024, 6, 24), "QC") == 0
    assert _completions_on(steady, date(2024, 6, 24), "ON") > 0


def test_offices_and_mail_take_no_weekend_submissions(steady: SimulationResult) -> None:
    weekend = steady.applications.filter(pl.col(SUBMITTED_AT).dt.weekday() >= 6)
    assert set(weekend[CHANNEL]) == {"online"}


def test_capacity_is_positive_exactly_on_business_days(steady: SimulationResult) -> None:
    cap = steady.capacity
    days = (END - START).days + 1
    assert cap.height == days * len(SERVICES) * 3 * len(DEFAULT_REGIONS)
    assert cap.select(DATE, *SEGMENT).is_unique().all()
    for region in DEFAULT_REGIONS:
        closed = list(holidays.Canada(subdiv=region, years=range(START.year, END.year + 1)))
        business = (pl.col(DATE).dt.weekday() <= 5) & ~pl.col(DATE).is_in(closed)
        mismatch = cap.filter(
            pl.col(REGION) == region, business != (pl.col(COMPLETIONS_CAPACITY) > 0)
        )
        assert mismatch.is_empty(), region
    assert (cap.filter(pl.col(COMPLETIONS_CAPACITY) == 0)[STAFF_HOURS] == 0).all()
    assert (cap[STAFF] > 0).all()


# --- queue behaviour ---------------------------------------------------------------------------


def _in_system_by_day(applications: pl.DataFrame) -> pl.DataFrame:
    """Files submitted and not yet completed at the end of each day of the window."""
    days = pl.date_range(START, END, eager=True).alias(DATE).to_frame()
    arrived = applications.group_by(pl.col(SUBMITTED_AT).alias(DATE)).len(ARRIVED)
    left = (
        applications.drop_nulls(COMPLETED_AT).group_by(pl.col(COMPLETED_AT).alias(DATE)).len(LEFT)
    )
    return (
        days.join(arrived, on=DATE, how="left")
        .join(left, on=DATE, how="left")
        .fill_null(0)
        .select(DATE, (pl.col(ARRIVED).cum_sum() - pl.col(LEFT).cum_sum()).alias(IN_SYSTEM))
    )


def test_littles_law_holds_away_from_the_edges(steady: SimulationResult) -> None:
    """Mean files in the system = arrival rate x mean time in the system (L = lambda W)."""
    first, last = date(2022, 7, 1), date(2024, 6, 30)
    ontario = steady.applications.filter(pl.col(REGION) == "ON")
    window = _in_system_by_day(ontario).filter(pl.col(DATE).is_between(first, last))
    submitted = _with_days(ontario).filter(pl.col(SUBMITTED_AT).is_between(first, last))
    assert submitted[DAYS].null_count() == 0
    arrival_rate = submitted.height / window.height
    assert window[IN_SYSTEM].mean() == pytest.approx(
        arrival_rate * submitted[DAYS].mean(), rel=0.05
    )


def test_truth_in_system_matches_the_applications_once_warm_up_files_are_done(
    steady: SimulationResult,
) -> None:
    truth = steady.queue.group_by(DATE).agg(pl.col(IN_SYSTEM).sum()).sort(DATE)
    seen = _in_system_by_day(steady.applications)
    later = pl.col(DATE) >= date(2022, 9, 1)
    assert_frame_equal(truth.filter(later), seen.filter(later), check_dtypes=False)


def test_truth_table_counts_what_the_applications_show(steady: SimulationResult) -> None:
    queue = steady.queue
    assert queue[SUBMITTED].sum() == steady.applications.height
    assert (queue[BACKLOG] >= 0).all() and (queue[IN_SYSTEM] >= 0).all()
    capacity = steady.capacity.select(DATE, *SEGMENT, COMPLETIONS_CAPACITY)
    joined = queue.join(capacity, on=[DATE, *SEGMENT])
    assert joined.filter(pl.col(PROCESSED) > pl.col(COMPLETIONS_CAPACITY) + 1e-9).is_empty()


def test_steady_utilisation_is_high_but_below_one(steady: SimulationResult) -> None:
    busy = steady.queue[PROCESSED].sum() / steady.capacity[COMPLETIONS_CAPACITY].sum()
    assert 0.8 <= busy <= 0.95


def test_priority_files_skip_the_queue(steady: SimulationResult) -> None:
    apps = _with_days(steady.applications).filter(pl.col(SERVICE).is_in(PASSPORTS))
    medians = dict(apps.group_by(PRIORITY).agg(pl.col(DAYS).median()).iter_rows())
    assert medians["urgent"] <= 2 < medians["express"] < medians["regular"]


def test_passports_wait_longest_in_summer(steady: SimulationResult) -> None:
    by_month = (
        _regular_passports(steady)
        .group_by(pl.col(SUBMITTED_AT).dt.month())
        .agg(pl.col(DAYS).median())
    )
    medians = dict(by_month.iter_rows())
    assert medians[8] > 2 * medians[11]


# --- scenarios ---------------------------------------------------------------------------------

SHORT_START, SHORT_END = date(2023, 1, 1), date(2024, 12, 31)


def test_surge_makes_passport_files_wait_much_longer(steady: SimulationResult) -> None:
    result = simulate(start=START, end=END, seed=7, scenario="surge", scale=SMALL)
    (shock,) = result.spec.demand_shocks
    during = pl.col(SUBMITTED_AT).is_between(shock.start + timedelta(days=30), shock.end)
    before = pl.col(SUBMITTED_AT).is_between(shock.start - timedelta(days=60), shock.start)
    surge = _regular_passports(result)
    assert surge.filter(during)[DAYS].median() > 3 * surge.filter(before)[DAYS].median()
    assert (
        surge.filter(during)[DAYS].median()
        > 3 * _regular_passports(steady).filter(during)[DAYS].median()
    )
    (hired,) = result.spec.staffing_changes
    assert hired.start > shock.start + timedelta(days=28)
    # The late hires clear the backlog before the window ends.
    recovered = pl.col(SUBMITTED_AT) > END - timedelta(days=150)
    assert surge.filter(recovered)[DAYS].median() < 2 * surge.filter(before)[DAYS].median()


def test_outage_stops_every_completion_then_overtime_catches_up() -> None:
    result = simulate(start=SHORT_START, end=SHORT_END, seed=3, scenario="outage", scale=SMALL)
    outage, overtime = result.spec.capacity_shocks
    during = pl.col(COMPLETED_AT).is_between(outage.start, outage.end, closed="left")
    assert result.applications.filter(during).is_empty()
    queue_during = result.queue.filter(pl.col(DATE).is_between(outage.start, outage.end, "left"))
    assert queue_during[PROCESSED].sum() == 0
    assert overtime.start == outage.end and overtime.hours_factor > 1


def test_hiring_raises_capacity_by_the_stated_factor_once_trained() -> None:
    base = simulate(start=SHORT_START, end=SHORT_END, seed=3, scale=SMALL)
    hired = simulate(start=SHORT_START, end=SHORT_END, seed=3, scale=SMALL, scenario="hiring")
    (change,) = hired.spec.staffing_changes
    trained = change.start + timedelta(days=change.ramp_days)
    keys = [DATE, *SEGMENT]
    # The record of each day; the hire's plan rows are checked in test_simulate_plans.
    record = hired.capacity.filter(pl.col(PLANNED_ON).is_null())
    both = base.capacity.join(record, on=keys, suffix="_hired")
    before = both.filter(pl.col(DATE) < change.start)
    after = both.filter(pl.col(DATE) >= trained, pl.col(COMPLETIONS_CAPACITY) > 0)
    ratio = pl.col(f"{COMPLETIONS_CAPACITY}_hired") / pl.col(COMPLETIONS_CAPACITY)
    assert before.select((ratio.fill_nan(1.0) - 1).abs().max()).item() < 1e-12
    assert after.select(ratio.min()).item() == pytest.approx(1 + change.factor)
    assert after.select(ratio.max()).item() == pytest.approx(1 + change.factor)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario_events_fall_inside_any_window(scenario: str) -> None:
    start, end = date(2024, 3, 1), date(2024, 9, 1)
    spec = scenario_spec(scenario, start, end)
    events = (*spec.demand_shocks, *spec.capacity_shocks, *spec.staffing_changes)
    assert all(start < e.start < end for e in events)
    assert (scenario == "steady") == (not events)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    start=st.dates(min_value=date(2019, 1, 1), max_value=date(2030, 1, 1)),
    length=st.integers(min_value=1, max_value=500),
    scenario=st.sampled_from(SCENARIOS),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_invariants_hold_for_any_window(start: date, length: int, scenario: str, seed: int) -> None:
    end = start + timedelta(days=length)
    apps = simulate(start=start, end=end, seed=seed, scenario=scenario, scale=0.01).applications
    assert apps[SUBMITTED_AT].is_between(start, end).all()
    assert apps.filter(
        (pl.col(COMPLETED_AT) < pl.col(SUBMITTED_AT)) | (pl.col(COMPLETED_AT) > end)
    ).is_empty()
    assert apps.filter(pl.col(COMPLETED_AT).dt.weekday() >= 6).is_empty()


# --- boundary errors and output ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"scenario": "foo"},
            r"`scenario` must be one of steady, surge, outage, hiring, got 'foo'",
        ),
        ({"end": date(2023, 1, 1)}, r"`end` must be a date after start 2023-01-01, got 2023-01-01"),
        ({"end": date(2022, 6, 1)}, r"`end` must be a date after start 2023-01-01, got 2022-06-01"),
        ({"regions": ["ON", "XX"]}, r"`regions` must be one or more distinct provinces .*'XX'"),
        ({"regions": []}, r"`regions` must be .*, got \[\]"),
        ({"scale": 0.0}, r"`scale` must be a positive number, got 0.0"),
    ],
)
def test_bad_arguments_say_what_was_expected(kwargs: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {"start": date(2023, 1, 1), "end": date(2023, 3, 1), "seed": 1}
    with pytest.raises(ValueError, match=message):
        simulate(**(arguments | kwargs))


def test_regions_pick_a_subset_of_provinces() -> None:
    result = simulate(start=SHORT_START, end=date(2023, 3, 1), seed=1, scale=SMALL, regions=["NS"])
    assert set(result.applications[REGION]) == {"NS"}
    assert set(result.capacity[REGION]) == {"NS"}


def test_progress_is_reported_to_completion() -> None:
    calls: list[tuple[int, int]] = []
    simulate(
        start=SHORT_START,
        end=date(2023, 2, 1),
        seed=1,
        scale=SMALL,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert [done for done, _ in calls] == list(range(1, len(calls) + 1))
    assert calls[-1][0] == calls[-1][1]


def test_write_simulation_round_trips(steady: SimulationResult, tmp_path: Path) -> None:
    paths = write_simulation(steady, tmp_path / "sim")
    assert {p.name for p in paths.values()} == {
        "applications.parquet", "capacity.parquet", "queue.parquet", "scenario.json"
    }  # fmt: skip
    assert_frame_equal(pl.read_parquet(paths["applications"]), steady.applications)
    assert_frame_equal(pl.read_parquet(paths["capacity"]), steady.capacity)
    assert json.loads(paths["scenario"].read_text())["name"] == "steady"


@pytest.mark.slow
def test_a_million_applications_simulate() -> None:
    result = simulate(start=date(2022, 1, 1), end=date(2024, 12, 31), seed=1)
    assert 900_000 <= result.applications.height <= 1_200_000
    assert result.applications[APPLICATION_ID].is_unique().all()
