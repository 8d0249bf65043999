"""Planned capacity: versions as known on a day, the contract, the queue projection reading a
plan, and the simulator's plan rows."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from forecasting.asof import as_known_at
from forecasting.capacity import (
    PLAN_SUMMARY_SCHEMA,
    capacity_known_at,
    plan_summary,
    validate_capacity,
)
from forecasting.dates import epoch_day
from forecasting.models import QueueProjection
from forecasting.models.capacity_plan import RATIO_BOUNDS, capacity_ratio, segment_plans
from forecasting.models.queue_model import _project
from forecasting.schema import (
    CAPACITY_SCHEMA,
    COMPLETIONS_CAPACITY,
    DATE,
    PLANNED_ON,
    SEGMENT,
    SUBMITTED_ON,
)
from forecasting.simulate import scenario_spec, simulate
from forecasting.simulate.scenarios import ScenarioSpec, StaffingChange

P = ("passport_adult", "online", "ON")


def _table(rows: list[tuple[str, float, str | None]], segment=P) -> pl.DataFrame:
    """Capacity rows (date, completions capacity, planned_on) for one segment."""
    return pl.DataFrame(
        {
            DATE: [date.fromisoformat(r[0]) for r in rows],
            "service": [segment[0]] * len(rows),
            "channel": [segment[1]] * len(rows),
            "region": [segment[2]] * len(rows),
            "staff_hours": [None] * len(rows),
            COMPLETIONS_CAPACITY: [r[1] for r in rows],
            "staff": [None] * len(rows),
            PLANNED_ON: [None if r[2] is None else date.fromisoformat(r[2]) for r in rows],
        },
        schema=CAPACITY_SCHEMA,
    )


VERSIONS = _table(
    [
        ("2026-03-02", 100.0, None),  # the record of a past day
        ("2026-03-02", 150.0, "2026-01-10"),  # ... which a plan had promised
        ("2026-03-20", 180.0, "2026-01-10"),  # a plan, revised
        ("2026-03-20", 160.0, "2026-02-20"),
        ("2026-03-20", 140.0, "2026-03-10"),  # a revision made after the day asked about
        ("2026-04-01", 120.0, None),  # a future row without planned_on
    ]
)


def _figures(frame: pl.DataFrame | None) -> list[tuple[date, float]]:
    assert frame is not None
    return sorted(frame.select(DATE, COMPLETIONS_CAPACITY).iter_rows())


def test_the_table_as_known_at_a_day_takes_the_latest_version_made_by_then() -> None:
    day = date(2026, 3, 5)
    assert _figures(capacity_known_at(VERSIONS, day)) == [
        (date(2026, 3, 2), 100.0),  # the record replaces the plan for its day
        (date(2026, 3, 20), 160.0),  # the revision of 2026-02-20, not the one made later
    ]
    # Before the record: the plan for that day, as first made.
    assert _figures(capacity_known_at(VERSIONS, date(2026, 2, 1))) == [
        (date(2026, 3, 2), 150.0),
        (date(2026, 3, 20), 180.0),
    ]
    # Every version known then, for callers that look back from earlier days.
    assert capacity_known_at(VERSIONS, day, latest=False).height == 4
    # At the as-of day a row without planned_on is the plan as it stands; a backtest leaves it.
    assert (date(2026, 4, 1), 120.0) in _figures(
        capacity_known_at(VERSIONS, day, undated_plans=True)
    )
    assert capacity_known_at(None, day) is None


def test_a_table_without_planned_on_is_cut_at_its_dates() -> None:
    old = VERSIONS.filter(pl.col(PLANNED_ON).is_null()).drop(PLANNED_ON)
    assert _figures(capacity_known_at(old, date(2026, 3, 5))) == [(date(2026, 3, 2), 100.0)]


def test_a_bad_planned_on_is_quarantined_and_revisions_are_not_duplicates() -> None:
    raw = pl.LazyFrame(
        {
            "date": ["2026-03-02", "2026-03-02", "2026-03-02", "2026-03-03", "2026-03-04"],
            "service": ["p"] * 5,
            "channel": ["mail"] * 5,
            "completions_capacity": ["100", "150", "160", "100", "100"],
            "planned_on": [None, "2026-01-10", "2026-01-10", "soon", " "],
        }
    )
    result = validate_capacity(raw)
    assert result.report.reconciles
    assert result.report.by_reason == {"duplicate_segment_day": 2, "unparseable_planned_on": 1}
    assert result.capacity.get_column(PLANNED_ON).to_list() == [None, None]
    detail = result.quarantine.filter(pl.col("reason") == "unparseable_planned_on")
    assert "`planned_on` must be an ISO date or empty, got 'soon'" in detail.row(0, named=True)[
        "detail"
    ].replace('"', "'")


@pytest.fixture(scope="module")
def world(small_world):
    applications, end = small_world
    as_of = end - timedelta(days=45)
    return as_known_at(applications.lazy(), as_of).collect(), as_of


def _plan(as_of: date, doubled_from: date) -> pl.DataFrame:
    """A flat record up to `as_of`, and capacity planned to double from `doubled_from`."""
    days = [as_of - timedelta(days=k) for k in range(60)]
    ahead = [doubled_from + timedelta(days=k) for k in range(400)]
    record = [(d.isoformat(), 100.0, None) for d in days]
    planned = (as_of - timedelta(days=5)).isoformat()
    return _table(record + [(d.isoformat(), 200.0, planned) for d in ahead])


def test_a_planned_doubling_shortens_files_reached_after_it_only(world) -> None:
    data, as_of = world
    doubled_from = as_of + timedelta(days=30)
    without = QueueProjection(calibration_origins=2).fit(data, as_of=as_of)
    with_plan = QueueProjection(calibration_origins=2).fit(
        data, as_of=as_of, capacity=_plan(as_of, doubled_from)
    )
    days = [as_of + timedelta(days=k) for k in range(-60, 60)]
    requests = pl.DataFrame({**dict(zip(SEGMENT, P, strict=True)), SUBMITTED_ON: days})
    today = epoch_day(as_of)
    submitted = np.array([epoch_day(d) for d in days])
    projected, _ = _project(without.segments_state_[P], submitted, today)
    reached_after = submitted + projected > epoch_day(doubled_from)
    assert reached_after.any() and (~reached_after).any()
    before = without.predict(requests).get_column("p50_days").to_numpy()
    after = with_plan.predict(requests).get_column("p50_days").to_numpy()
    np.testing.assert_array_equal(after[~reached_after], before[~reached_after])
    assert np.all(after[reached_after] <= before[reached_after])
    assert np.mean(after[reached_after] < before[reached_after]) > 0.9
    # Other segments have no rows: their answers do not move.
    other = requests.with_columns(pl.lit("QC").alias("region"))
    assert_frame_equal(without.predict(other), with_plan.predict(other))


def test_without_anything_planned_the_answers_are_bit_identical(world) -> None:
    data, as_of = world
    records = _plan(as_of, as_of).filter(pl.col(PLANNED_ON).is_null())
    requests = pl.DataFrame(
        {
            **dict(zip(SEGMENT, P, strict=True)),
            SUBMITTED_ON: [as_of + timedelta(days=k) for k in range(-40, 40, 3)],
        }
    )
    alone = QueueProjection(calibration_origins=2).fit(data, as_of=as_of).predict(requests)
    recorded = QueueProjection(calibration_origins=2).fit(data, as_of=as_of, capacity=records)
    assert_frame_equal(alone, recorded.predict(requests))


def test_plans_made_after_the_as_of_day_change_nothing(world) -> None:
    """Later plans must not leak into the estimate or the calibration origins."""
    data, as_of = world
    plan = _plan(as_of, as_of + timedelta(days=30))
    late = plan.filter(pl.col(PLANNED_ON).is_not_null()).with_columns(
        pl.col(COMPLETIONS_CAPACITY) * 3, pl.lit(as_of + timedelta(days=1)).alias(PLANNED_ON)
    )
    requests = pl.DataFrame(
        {**dict(zip(SEGMENT, P, strict=True)), SUBMITTED_ON: [as_of + timedelta(days=20)]}
    )
    # Handed the whole table, the model itself reads only what was known at its days.
    fitted = QueueProjection(calibration_origins=2).fit(
        data, as_of=as_of, capacity=pl.concat([plan, late])
    )
    alone = QueueProjection(calibration_origins=2).fit(data, as_of=as_of, capacity=plan)
    assert_frame_equal(fitted.predict(requests), alone.predict(requests))


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.floats(0.0, 1e4), min_size=20, max_size=20),
    late=st.lists(st.floats(0.0, 1e4), min_size=20, max_size=20),
)
def test_the_ratio_at_a_day_ignores_plans_made_later(values: list[float], late: list[float]):
    day = epoch_day(date(2026, 3, 1))
    dates = [date(2026, 2, 20) + timedelta(days=k) for k in range(20)]
    rows = [
        (d.isoformat(), v, "2026-02-01" if d > date(2026, 3, 1) else None)
        for d, v in zip(dates, values, strict=True)
    ]
    later = [(d.isoformat(), v, "2026-03-02") for d, v in zip(dates, late, strict=True)]
    business = np.ones(28, dtype=bool)
    plain = capacity_ratio(segment_plans(_table(rows))[P], day, business, 30)
    more = capacity_ratio(segment_plans(_table(rows + later))[P], day, business, 30)
    if plain is None:
        assert more is None
    else:
        assert more is not None
        np.testing.assert_array_equal(plain, more)
        assert np.all((plain >= RATIO_BOUNDS[0]) & (plain <= RATIO_BOUNDS[1]))


@pytest.mark.parametrize("scenario", ["surge", "hiring", "outage"])
def test_the_simulator_plans_hires_from_their_announcement_and_never_outages(scenario) -> None:
    start, end = date(2024, 1, 1), date(2024, 12, 31)
    result = simulate(start=start, end=end, seed=3, scale=0.02, regions=("ON",), scenario=scenario)
    spec = scenario_spec(scenario, start, end)
    capacity = validate_capacity(result.capacity.lazy())
    assert capacity.report.reconciles and capacity.quarantine.is_empty()
    plans = capacity.capacity.filter(pl.col(PLANNED_ON).is_not_null())
    if not spec.staffing_changes:
        assert plans.is_empty()
        # The outage stopped output on working days, and no plan foresaw it.
        (down, _) = spec.capacity_shocks
        stopped = capacity.capacity.filter(
            pl.col(DATE).is_between(down.start, down.end, closed="left"),
            pl.col("staff_hours") > 0,
        )
        assert stopped.height > 0 and stopped.get_column(COMPLETIONS_CAPACITY).max() == 0
        return
    (change,) = spec.staffing_changes
    announced = change.start - timedelta(days=change.announced_days)
    assert change.announced_days > 0
    assert plans.get_column(PLANNED_ON).unique().to_list() == [announced]
    assert plans.get_column(DATE).min() == change.start
    assert set(plans.get_column("service").unique()) == set(change.services)
    # Nothing after the day before the announcement; from it, the days the hire covers.
    eve = capacity_known_at(capacity.capacity, announced - timedelta(days=1))
    assert eve is not None and eve.get_column(DATE).max() < announced
    on_the_day = capacity_known_at(capacity.capacity, announced)
    assert on_the_day is not None and on_the_day.get_column(DATE).max() > change.start
    # The plan is the staffing foreseen: the record only differs by absence, day to day.
    joined = plans.join(
        capacity.capacity.filter(pl.col(PLANNED_ON).is_null()), on=[DATE, *SEGMENT]
    ).filter(pl.col(COMPLETIONS_CAPACITY) > 0)
    ratio = (pl.col(f"{COMPLETIONS_CAPACITY}_right") / pl.col(COMPLETIONS_CAPACITY)).median()
    assert joined.select(ratio).item() == pytest.approx(1.0, abs=0.05)


def test_unannounced_changes_are_not_planned_and_overlapping_plans_are_one_row() -> None:
    start, end = date(2024, 1, 1), date(2024, 6, 30)
    passports = ("passport_adult", "passport_child")
    spec = ScenarioSpec(
        name="own",
        staffing_changes=(
            StaffingChange(passports, date(2024, 3, 1), None, 0.2, 14, announced_days=30),
            StaffingChange(passports, date(2024, 4, 1), None, 0.2, 14, announced_days=61),
            StaffingChange(("ei_regular",), date(2024, 3, 1), None, 0.5, 14),
        ),
    )
    result = simulate(start=start, end=end, seed=3, scale=0.02, regions=("ON",), scenario=spec)
    checked = validate_capacity(result.capacity.lazy())
    # Both passport hires were announced on 2024-01-31: one plan, one row per day and segment.
    assert checked.quarantine.is_empty()
    plans = checked.capacity.filter(pl.col(PLANNED_ON).is_not_null())
    assert plans.get_column(PLANNED_ON).unique().to_list() == [date(2024, 1, 31)]
    assert set(plans.get_column("service").unique()) == set(passports)


def test_the_plan_summary_names_each_segment_s_planned_days_as_known_then() -> None:
    other = ("ei_regular", "mail", "QC")
    table = pl.concat(
        [VERSIONS, _table([("2026-03-01", 90.0, None), ("2026-03-02", 90.0, None)], other)]
    )
    summary = plan_summary(table, date(2026, 3, 5))
    # Only the segment with future days; the record-only one has no plan in effect.
    assert summary.select(*SEGMENT).rows() == [P]
    row = summary.row(0, named=True)
    # 2026-03-20 (the revision known then) and 2026-04-01 (given without planned_on).
    assert row["planned_days"] == 2
    assert (row["first_planned"], row["last_planned"]) == (date(2026, 3, 20), date(2026, 4, 1))
    assert row["latest_planned_on"] == date(2026, 2, 20)
    # After the last planned day nothing is planned any more; without planned_on, still typed.
    assert plan_summary(table, date(2026, 4, 2)).is_empty()
    assert plan_summary(table.drop(PLANNED_ON), date(2026, 3, 5)).schema == PLAN_SUMMARY_SCHEMA


def test_days_without_capacity_do_not_set_the_level_a_plan_is_read_against() -> None:
    """Fourteen outage days (capacity 0) among the last 28, then a plan 20 % above the working
    level: the ratio is 1.2, not 1.2 over a level the outage halved."""
    day = epoch_day(date(2026, 3, 1))
    past = [date(2026, 3, 1) - timedelta(days=k) for k in range(28)]
    rows = [(d.isoformat(), 0.0 if k < 14 else 100.0, None) for k, d in enumerate(past)]
    rows += [
        ((date(2026, 3, 1) + timedelta(days=k)).isoformat(), 120.0, "2026-02-01") for k in (1, 2)
    ]
    ratio = capacity_ratio(segment_plans(_table(rows))[P], day, np.ones(28, dtype=bool), 5)
    assert ratio is not None
    np.testing.assert_allclose(ratio, [1.2, 1.2, 1.0, 1.0, 1.0])
    # With every recent day at 0 there is no level to read a plan against.
    idle = [(d, 0.0, p) if p is None else (d, v, p) for d, v, p in rows]
    assert capacity_ratio(segment_plans(_table(idle))[P], day, np.ones(28, dtype=bool), 5) is None
