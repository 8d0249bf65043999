"""Goal seek: the fewest staff, added from a date, that meet the service standard by a target.

Capacity only grows with staff and a fluid FIFO queue never gets longer when capacity grows, so
the share of files meeting the standard rises with staff: a bisection over whole staff (or whole
percentage points of capacity, without staffing data) finds the least that meets it. Each step
runs the scenario variant alone on the mean intake; the answer is then run in full, with bands.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Literal

from forecasting.whatif.baseline import PlanningBaseline
from forecasting.whatif.cohorts import share_within
from forecasting.whatif.engine import ratios_for, run_plan
from forecasting.whatif.flows import simulate_flow
from forecasting.whatif.plan import build_plan, local_rows
from forecasting.whatif.result import GoalSeekResult
from forecasting.whatif.scenario import (
    MAX_PERCENT,
    GoalSeekRequest,
    ServiceStandard,
    StaffingChange,
)


def goal_seek(
    baseline: PlanningBaseline, request: GoalSeekRequest, *, n_paths: int = 200, seed: int = 0
) -> GoalSeekResult:
    """The least whole staff (or percent of capacity) from `from_date` meeting the standard for
    files submitted in every week from `target_date`'s to the horizon's end."""
    scenario = request.scenario
    standard = scenario.standard
    if standard is None:  # GoalSeekRequest refuses this already; kept for direct callers
        raise ValueError("`scenario.standard` must be given for a goal seek, got nothing")
    unit: Literal["staff", "percent"] = "staff" if baseline.has_staff else "percent"
    plan = build_plan(baseline, scenario)
    goal = local_rows(baseline, plan, request.segments, "segments")
    first_week = (request.target_date - scenario.start).days // 7
    limit = request.max_staff if unit == "staff" else min(request.max_staff, MAX_PERCENT)
    tried: dict[float, float] = {}

    def change(amount: float) -> StaffingChange:
        return StaffingChange(
            start=request.from_date,
            staff=amount if unit == "staff" else None,
            percent=amount if unit == "percent" else None,
            ramp_weeks=request.ramp_weeks,
            segments=request.segments,
        )

    def worst_share(amount: float) -> float:
        """The lowest weekly share meeting the standard from the target week on."""
        if amount not in tried:
            trial = build_plan(baseline, scenario, [change(amount)])
            flow = simulate_flow(baseline, trial, variants=(1,))
            share = share_within(
                flow.arrivals[:, goal],
                flow.wait[:, goal],
                trial.first_day,
                trial.n_weeks,
                ratios_for(baseline, trial).subset(goal),
                standard,
            )
            tried[amount] = float(share[0, first_week:].min())
        return tried[amount]

    best = worst_share(limit)
    if best < standard.share:
        what = f"{limit:g} staff" if unit == "staff" else f"{limit:g} % more capacity"
        return GoalSeekResult(
            request=request,
            reachable=False,
            staff=None,
            unit=unit,
            message=(
                f"not reachable within {what}: even then only {best:.0%} of applications "
                f"submitted in the worst week from {_target_week(request)} are completed within "
                f"{standard.business_days} business days, where the standard asks "
                f"{standard.share:.0%}"
            ),
            result=None,
            evaluations=len(tried),
        )
    found = 0.0
    if worst_share(0.0) < standard.share:
        # Invariant: `low` falls short of the standard, `high` meets it.
        low, high = 0.0, float(math.floor(limit))
        if high <= low or worst_share(high) < standard.share:
            high = limit
        while high - low > 1:
            middle = float(math.floor((low + high) / 2))
            if worst_share(middle) >= standard.share:
                high = middle
            else:
                low = middle
        found = high
    result = run_plan(baseline, scenario, [change(found)], n_paths=n_paths, seed=seed)
    return GoalSeekResult(
        request=request,
        reachable=True,
        staff=found,
        unit=unit,
        message=_met(found, unit, request, standard),
        result=result,
        evaluations=len(tried),
    )


def _met(found: float, unit: str, request: GoalSeekRequest, standard: ServiceStandard) -> str:
    goal = (
        f"{standard.share:.0%} of applications completed within {standard.business_days} "
        f"business days in every week from {_target_week(request)} to the end of the horizon"
    )
    if found == 0:
        return f"no extra staff needed: the scenario already has {goal}"
    amount = f"{found:g} more staff" if unit == "staff" else f"{found:g} % more capacity"
    return f"{amount} from {request.from_date} give {goal}"


def _target_week(request: GoalSeekRequest) -> date:
    """The first day of the scenario week holding the target date."""
    start = request.scenario.start
    return start + timedelta(weeks=(request.target_date - start).days // 7)
