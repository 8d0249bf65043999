"""Capacity what-ifs for planners: scenarios of staffing, demand and outages, and goal seeks.

A pure library over a `PlanningBaseline` built at training time (carried by the fitted
`Forecaster` as `planning_`): no web framework, no MLflow. See `run_scenario` and `goal_seek`.
Names are imported on first use, so checking a scenario document does not load statsmodels.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from forecasting.whatif.baseline import (
        PlanningBaseline,
        PlanningBaselineError,
        build_planning_baseline,
    )
    from forecasting.whatif.engine import run_scenario
    from forecasting.whatif.goalseek import goal_seek
    from forecasting.whatif.horizon import MAX_LEAD_WEEKS
    from forecasting.whatif.result import GoalSeekResult, ScenarioResult
    from forecasting.whatif.scenario import (
        MAX_CHANGES,
        MAX_HORIZON_WEEKS,
        Change,
        ChannelShift,
        DemandChange,
        GoalSeekRequest,
        OutageChange,
        Scenario,
        ScenarioError,
        SegmentSelector,
        ServiceStandard,
        StaffingChange,
        explain,
    )

_HOMES = {
    "forecasting.whatif.baseline": (
        "PlanningBaseline",
        "PlanningBaselineError",
        "build_planning_baseline",
    ),
    "forecasting.whatif.engine": ("run_scenario",),
    "forecasting.whatif.horizon": ("MAX_LEAD_WEEKS",),
    "forecasting.whatif.goalseek": ("goal_seek",),
    "forecasting.whatif.result": ("GoalSeekResult", "ScenarioResult"),
    "forecasting.whatif.scenario": (
        "MAX_CHANGES",
        "MAX_HORIZON_WEEKS",
        "Change",
        "ChannelShift",
        "DemandChange",
        "GoalSeekRequest",
        "OutageChange",
        "Scenario",
        "ScenarioError",
        "SegmentSelector",
        "ServiceStandard",
        "StaffingChange",
        "explain",
    ),
}
_WHERE = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    "MAX_CHANGES",
    "MAX_HORIZON_WEEKS",
    "MAX_LEAD_WEEKS",
    "Change",
    "ChannelShift",
    "DemandChange",
    "GoalSeekRequest",
    "GoalSeekResult",
    "OutageChange",
    "PlanningBaseline",
    "PlanningBaselineError",
    "Scenario",
    "ScenarioError",
    "ScenarioResult",
    "SegmentSelector",
    "ServiceStandard",
    "StaffingChange",
    "build_planning_baseline",
    "explain",
    "goal_seek",
    "run_scenario",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'forecasting.whatif' has no attribute '{name}'")
    return getattr(importlib.import_module(module), name)
