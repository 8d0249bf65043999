"""Goal seek: the fewest whole staff meeting the standard, checked one staff either side."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from forecasting.schema import SERVICE, TOTAL, VARIANT, WEEK_START
from forecasting.whatif import GoalSeekRequest, Scenario, goal_seek, run_scenario

if TYPE_CHECKING:
    from datetime import date

    from conftest import PlanningWorld

    from forecasting.whatif import PlanningBaseline

PASSPORTS = [{"service": "passport_adult"}]


def _scenario(world: PlanningWorld, business_days: int, share: float = 0.8) -> dict[str, Any]:
    """Passports only, with a demand surge so that a queue builds up."""
    return {
        "name": "surge",
        "start": world.start,
        "horizon_weeks": 20,
        "segments": PASSPORTS,
        "changes": [{"kind": "demand", "start": world.start, "percent": 60}],
        "standard": {"business_days": business_days, "share": share},
    }


def _worst_share(
    baseline: PlanningBaseline, document: dict[str, Any], target: date, **staff: float
) -> float:
    """The lowest weekly share within the standard from `target`'s week, with `staff` added."""
    extra = {"kind": "staffing", "start": document["start"], **staff}
    scenario = Scenario.model_validate(document | {"changes": [*document["changes"], extra]})
    weekly = run_scenario(baseline, scenario, n_paths=2).weekly
    rows = weekly.filter(
        (pl.col(SERVICE) == TOTAL)
        & (pl.col(VARIANT) == "scenario")
        & (pl.col(WEEK_START) > target - timedelta(weeks=1))
    )
    return float(rows["share_within_standard"].min())  # type: ignore[arg-type]


def _standard_between(world: PlanningWorld) -> int:
    """Business days the surge misses with no extra staff but meets with plenty of them."""
    target = world.start + timedelta(weeks=8)
    shares = {}
    for days in range(5, 60):
        document = _scenario(world, days)
        shares[days] = (
            _worst_share(world.baseline, document, target, percent=0),
            _worst_share(world.baseline, document, target, percent=300),
        )
        if shares[days][0] < 0.8 <= shares[days][1]:
            return days
    raise AssertionError(f"no standard between what no staff and +300 % give: {shares}")


def test_goal_seek_finds_the_fewest_staff(planning_world: PlanningWorld) -> None:
    world = planning_world
    days = _standard_between(world)
    document = _scenario(world, days)
    target = world.start + timedelta(weeks=8)
    request = GoalSeekRequest.model_validate(
        {"scenario": document, "from_date": world.start, "target_date": target}
    )
    found = goal_seek(world.baseline, request, n_paths=4)
    assert found.reachable and found.unit == "staff" and found.result is not None
    assert found.staff is not None and found.staff >= 1 and found.staff == int(found.staff)
    assert found.message.startswith(f"{found.staff:g} more staff from {world.start}")
    assert _worst_share(world.baseline, document, target, staff=found.staff) >= 0.8
    assert _worst_share(world.baseline, document, target, staff=found.staff - 1) < 0.8
    # The bisection needs far fewer runs than trying every head count.
    assert found.evaluations <= 2 + int(np.ceil(np.log2(request.max_staff)))


def test_goal_seek_says_plainly_when_it_cannot_be_met(planning_world: PlanningWorld) -> None:
    request = GoalSeekRequest.model_validate(
        {
            "scenario": _scenario(planning_world, business_days=1, share=0.99),
            "from_date": planning_world.start,
            "target_date": planning_world.start + timedelta(weeks=4),
            "max_staff": 50,
        }
    )
    found = goal_seek(planning_world.baseline, request, n_paths=2)
    assert not found.reachable and found.staff is None and found.result is None
    assert found.message.startswith("not reachable within 50 staff: even then only")
    assert found.to_dict()["reachable"] is False


def test_without_staffing_data_goal_seek_answers_in_percent(planning_world: PlanningWorld) -> None:
    world = planning_world
    no_staff = dataclasses.replace(
        world.baseline, has_staff=False, staff=np.full(len(world.baseline.segments), np.nan)
    )
    request = GoalSeekRequest.model_validate(
        {
            "scenario": _scenario(world, business_days=_standard_between(world)),
            "from_date": world.start,
            "target_date": world.start + timedelta(weeks=8),
        }
    )
    found = goal_seek(no_staff, request, n_paths=2)
    assert found.reachable and found.unit == "percent"
    assert found.message.startswith(f"{found.staff:g} % more capacity from")
