"""Run a scenario: its plan through the daily flows, the weekly cohorts and the path bands.

Everything is numpy over (variant, segment, day) arrays, with Python loops over days (the
queue) and over segments (searches) only, so a year of every segment takes milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from forecasting.whatif.bands import bands
from forecasting.whatif.baseline import PlanningBaseline
from forecasting.whatif.cohorts import Ratios, cohorts
from forecasting.whatif.flows import simulate_flow
from forecasting.whatif.plan import Plan, build_plan
from forecasting.whatif.result import ScenarioResult, recovery_frame, weekly_frame
from forecasting.whatif.scenario import Change, Scenario, ScenarioError

MAX_PATHS: Final = 2000


def run_scenario(
    baseline: PlanningBaseline, scenario: Scenario, *, n_paths: int = 200, seed: int = 0
) -> ScenarioResult:
    """Baseline and scenario side by side, weekly, per segment and in total.

    Central figures follow the mean intake forecast; the bands, `n_paths` sampled intake paths
    (`seed` picks them; the paths drawn at training are reused for seed 0).
    """
    return run_plan(baseline, scenario, (), n_paths=n_paths, seed=seed)


def run_plan(
    baseline: PlanningBaseline,
    scenario: Scenario,
    extra: Sequence[Change],
    *,
    n_paths: int,
    seed: int,
) -> ScenarioResult:
    """`run_scenario` with `extra` changes after the scenario's own (a goal seek's staff)."""
    if not 1 <= n_paths <= MAX_PATHS:
        raise ScenarioError(f"`n_paths` must be from 1 to {MAX_PATHS}, got {n_paths}")
    plan = build_plan(baseline, scenario, extra)
    flow = simulate_flow(baseline, plan)
    ratios = ratios_for(baseline, plan)
    weeks = cohorts(flow.arrivals, flow.wait, plan.first_day, plan.n_weeks, ratios, plan.standard)
    spread = bands(baseline, plan, flow, weeks, ratios, n_paths=n_paths, seed=seed)
    return ScenarioResult(
        scenario=scenario,
        weekly=weekly_frame(scenario, plan, flow, weeks, spread),
        recovery=recovery_frame(scenario, plan, flow),
        n_paths=n_paths,
        as_of=baseline.as_of,
    )


def ratios_for(baseline: PlanningBaseline, plan: Plan) -> Ratios:
    return Ratios(
        quantiles=baseline.ratio_quantiles[plan.rows],
        scale=baseline.scale_days[plan.rows],
        business=baseline.business[plan.rows],
    )
