"""Capacity what-ifs for planners: scenarios of staffing, demand and outages, and goal seeks.

A pure library over a `PlanningBaseline` built at training time (carried by the fitted
`Forecaster` as `planning_`): no web framework, no MLflow. See `run_scenario` and `goal_seek`.
"""

from forecasting.whatif.baseline import (
    MAX_LEAD_WEEKS,
    PlanningBaseline,
    PlanningBaselineError,
    build_planning_baseline,
)
from forecasting.whatif.engine import run_scenario
from forecasting.whatif.goalseek import goal_seek
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
