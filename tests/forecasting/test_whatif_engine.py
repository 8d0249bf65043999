"""The what-if engine on a small simulated operation: invariants a planner relies on."""

from __future__ import annotations

import dataclasses
import json
import pickle
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from forecasting.schema import (
    BACKLOG,
    CHANNEL,
    RECOVERY_WEEK,
    REGION,
    SERVICE,
    TOTAL,
    VARIANT,
    WEEK_ARRIVALS,
    WEEK_START,
)
from forecasting.whatif import Scenario, ScenarioError, ScenarioResult, run_scenario

if TYPE_CHECKING:
    from conftest import PlanningWorld

KEYS = [WEEK_START, SERVICE, CHANNEL, REGION]


def _run(
    world: PlanningWorld, *changes: dict[str, Any], n_paths: int = 8, **fields: Any
) -> ScenarioResult:
    document = {"name": "test", "start": world.start, "horizon_weeks": 26} | fields
    scenario = Scenario.model_validate(document | {"changes": list(changes)})
    return run_scenario(world.baseline, scenario, n_paths=n_paths)


def _variant(result: ScenarioResult, variant: str, service: str = TOTAL) -> pl.DataFrame:
    return result.weekly.filter((pl.col(VARIANT) == variant) & (pl.col(SERVICE) == service))


def test_no_change_gives_the_baseline_twice(planning_world: PlanningWorld) -> None:
    result = _run(planning_world, n_paths=20)
    weekly = result.weekly
    n_segments = len(planning_world.baseline.segments)
    assert weekly.height == 2 * (n_segments + 1) * 26
    base = weekly.filter(pl.col(VARIANT) == "baseline").drop(VARIANT)
    scenario = weekly.filter(pl.col(VARIANT) == "scenario").drop(VARIANT)
    assert_frame_equal(base, scenario)
    assert weekly.get_column(WEEK_START).min() == planning_world.start
    assert weekly.select(pl.col("backlog_lo") <= pl.col("backlog_hi")).to_series().all()
    assert weekly.select(pl.col("p80_days_lo") <= pl.col("p80_days_hi")).to_series().all()
    assert weekly.select(pl.col("p50_days") <= pl.col("p80_days")).to_series().all()
    # Totals add up the segments.
    sums = (
        weekly.filter(pl.col(SERVICE) != TOTAL)
        .group_by(VARIANT, WEEK_START)
        .agg(pl.col(BACKLOG).sum(), pl.col(WEEK_ARRIVALS).sum())
    )
    joined = sums.join(weekly.filter(pl.col(SERVICE) == TOTAL), on=[VARIANT, WEEK_START])
    assert np.allclose(joined[BACKLOG], joined[f"{BACKLOG}_right"])
    assert np.allclose(joined[WEEK_ARRIVALS], joined[f"{WEEK_ARRIVALS}_right"])


@settings(max_examples=6, deadline=None)
@given(low=st.integers(-50, 100), extra=st.integers(1, 150))
def test_more_staff_never_raises_open_files_or_p80(
    planning_world: PlanningWorld, low: int, extra: int
) -> None:
    fewer, more = (
        _variant(
            _run(planning_world, {"kind": "staffing", "start": planning_world.start + timedelta(
                weeks=1), "percent": p, "ramp_weeks": 3}, n_paths=2),
            "scenario",
        )
        for p in (low, low + extra)
    )  # fmt: skip
    for column in (BACKLOG, "p80_days", "p80_business_days"):
        assert (more[column] <= fewer[column] + 1e-6).all(), column


def test_an_outage_raises_open_files_then_they_recover(planning_world: PlanningWorld) -> None:
    outage = planning_world.start + timedelta(weeks=2)
    result = _run(
        planning_world,
        {"kind": "outage", "start": outage, "end": outage + timedelta(days=14),
         "capacity_percent": 0},
        horizon_weeks=52,
    )  # fmt: skip
    base, hit = (_variant(result, v) for v in ("baseline", "scenario"))
    third = 3  # the week after the outage's two weeks
    assert hit[BACKLOG][third] > base[BACKLOG][third] * 1.2
    assert (hit["p80_days"][: third + 1] > base["p80_days"][: third + 1]).any()
    total = result.recovery.filter((pl.col(SERVICE) == TOTAL) & (pl.col(VARIANT) == "scenario"))
    back = total[RECOVERY_WEEK][0]
    assert back is not None and back > outage
    before = total["pre_change_backlog"][0]
    assert hit.filter(pl.col(WEEK_START) == back)[BACKLOG][0] <= before + 0.5


def test_demand_change_raises_arrivals_by_its_percent(planning_world: PlanningWorld) -> None:
    first = planning_world.start + timedelta(weeks=2)
    result = _run(
        planning_world,
        {"kind": "demand", "start": first, "end": first + timedelta(weeks=4), "percent": 40,
         "segments": [{"service": "passport_adult"}]},
    )  # fmt: skip
    rows = result.weekly.filter(pl.col(SERVICE) != TOTAL).pivot(
        VARIANT, index=KEYS, values=WEEK_ARRIVALS
    )
    inside = pl.col(WEEK_START).is_between(first, first + timedelta(weeks=3))
    adult = pl.col(SERVICE) == "passport_adult"
    changed = rows.filter(inside & adult)
    assert changed.height == 4 * 3 * 2  # four weeks x three channels x two regions
    assert np.allclose(changed["scenario"], 1.4 * changed["baseline"])
    same = rows.filter(~(inside & adult))
    assert np.allclose(same["scenario"], same["baseline"])


def test_a_channel_shift_moves_arrivals_and_keeps_the_total(planning_world: PlanningWorld) -> None:
    result = _run(
        planning_world,
        {"kind": "channel_shift", "start": planning_world.start, "from_channel": "mail",
         "to_channel": "online", "share": 0.5, "segments": [{"service": "passport_adult"}]},
    )  # fmt: skip
    totals = result.weekly.filter(pl.col(SERVICE) == TOTAL).pivot(
        VARIANT, index=WEEK_START, values=WEEK_ARRIVALS
    )
    assert np.allclose(totals["scenario"], totals["baseline"])
    adult = result.weekly.filter(pl.col(SERVICE) == "passport_adult").pivot(
        VARIANT, index=KEYS, values=WEEK_ARRIVALS
    )
    mail = adult.filter(pl.col(CHANNEL) == "mail").sort(WEEK_START, REGION)
    online = adult.filter(pl.col(CHANNEL) == "online").sort(WEEK_START, REGION)
    assert np.allclose(mail["scenario"], 0.5 * mail["baseline"])
    assert np.allclose(online["scenario"], online["baseline"] + 0.5 * mail["baseline"])


def test_mismatches_with_the_data_are_refused_by_name(planning_world: PlanningWorld) -> None:
    world = planning_world
    with pytest.raises(ScenarioError, match=r"`segments\[0\]\.service` must be one of ei_regular"):
        _run(world, segments=[{"service": "passports"}])
    with pytest.raises(ScenarioError, match=r"`segments\[0\]\.region` must be one of ON, QC"):
        _run(world, segments=[{"service": "ei_regular", "region": "BC"}])
    with pytest.raises(ScenarioError, match=r"`start` must be a date after the data's as-of date"):
        _run(world, start=world.as_of)
    shift = {"kind": "channel_shift", "start": world.start, "from_channel": "mail",
             "to_channel": "fax", "share": 0.5}  # fmt: skip
    with pytest.raises(ScenarioError, match=r"`changes\[0\]\.to_channel` must be one of"):
        _run(world, shift)
    no_staff = dataclasses.replace(
        world.baseline, has_staff=False, staff=np.full(len(world.baseline.segments), np.nan)
    )
    scenario = Scenario.model_validate(
        {"name": "t", "start": world.start, "horizon_weeks": 4,
         "changes": [{"kind": "staffing", "start": world.start, "staff": 10}]}
    )  # fmt: skip
    with pytest.raises(ScenarioError, match=r"`changes\[0\]\.percent` must be used instead"):
        run_scenario(no_staff, scenario, n_paths=2)


def test_results_are_json_ready_and_standards_are_shares(planning_world: PlanningWorld) -> None:
    plain = _run(planning_world, n_paths=2)
    assert plain.weekly["share_within_standard"].null_count() == plain.weekly.height
    graded = _run(planning_world, n_paths=2, standard={"business_days": 15, "share": 0.8})
    share = graded.weekly["share_within_standard"]
    assert share.null_count() == 0 and share.min() >= 0 and share.max() <= 1
    # A P80 within the standard means at least 80 % within it, and the other way round.
    met = graded.weekly.select(
        (pl.col("p80_business_days") <= 15) == (pl.col("share_within_standard") >= 0.8 - 1e-9)
    ).to_series()
    assert met.mean() > 0.95
    document = json.loads(json.dumps(graded.to_dict()))
    assert document["as_of"] == planning_world.as_of.isoformat()
    assert document["weekly"][0][WEEK_START] == planning_world.start.isoformat()
    assert {"recovery", "scenario", "n_paths"} <= document.keys()


def test_the_baseline_pickles_and_answers_the_same(planning_world: PlanningWorld) -> None:
    copy = pickle.loads(pickle.dumps(planning_world.baseline))
    scenario = Scenario.model_validate(
        {"name": "t", "start": planning_world.start, "horizon_weeks": 6,
         "changes": [{"kind": "staffing", "start": planning_world.start, "percent": 20}]}
    )  # fmt: skip
    assert_frame_equal(
        run_scenario(copy, scenario, n_paths=5).weekly,
        run_scenario(planning_world.baseline, scenario, n_paths=5).weekly,
    )


def test_the_baseline_reads_error_ratios_learned_on_the_bare_queue(small_world) -> None:
    """The served projection floors its waits at the handling; the what-if's delay stage models
    handling itself, so its ratios come from a projection without the floor."""
    from forecasting.asof import as_known_at
    from forecasting.models import QueueProjection
    from forecasting.whatif import build_planning_baseline

    applications, end = small_world
    as_of = end - timedelta(days=45)
    known = as_known_at(applications.lazy(), as_of).collect()
    served = QueueProjection(calibration_origins=4).fit(known, as_of=as_of)
    bare = QueueProjection(calibration_origins=4, handling_quantile=None).fit(known, as_of=as_of)
    # The floor changes what the served model learned, so the test can tell which was read.
    assert served.handling_quantile is not None
    assert any(
        not np.array_equal(served.residuals_[k].surv, bare.residuals_[k].surv)
        or not np.array_equal(served.residuals_[k].times, bare.residuals_[k].times)
        for k in served.residuals_
    )
    with_bare = build_planning_baseline(known, as_of=as_of, queue_model=bare, n_paths=4)
    refitted = build_planning_baseline(known, as_of=as_of, queue_model=served, n_paths=4)
    reference = build_planning_baseline(
        known,
        as_of=as_of,
        queue_model=QueueProjection(handling_quantile=None).fit(known, as_of=as_of),
        n_paths=4,
    )
    # Passed the bare model, the baseline uses it; passed the served one, it refits a bare one.
    assert not np.allclose(with_bare.ratio_quantiles, reference.ratio_quantiles)
    np.testing.assert_allclose(refitted.ratio_quantiles, reference.ratio_quantiles)
