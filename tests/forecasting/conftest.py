"""Fixtures for the forecasting tests: a planning baseline for the what-if tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl
import pytest

from forecasting.asof import as_known_at
from forecasting.capacity import validate_capacity
from forecasting.contract import validate_applications
from forecasting.schema import DATE
from forecasting.simulate import simulate
from forecasting.whatif import PlanningBaseline, build_planning_baseline


@dataclass(frozen=True)
class PlanningWorld:
    """A baseline built as training builds it, from a small simulated operation as of a day."""

    baseline: PlanningBaseline
    as_of: date

    @property
    def start(self) -> date:
        """A Monday shortly after the as-of day, where the tests' scenarios start."""
        return self.as_of + timedelta(days=3)


@pytest.fixture(scope="session")
def planning_world() -> PlanningWorld:
    """Passports and benefits in two provinces at 5 % scale, as known on Friday 2025-02-28,
    with the capacity table (and so staff) known to that day; 40 intake paths. Two years and
    more of history, so the intake forecast has its season."""
    end, as_of = date(2025, 3, 31), date(2025, 2, 28)
    simulated = simulate(
        start=date(2022, 12, 1), end=end, seed=11, scale=0.05, regions=("ON", "QC")
    )
    applications = validate_applications(simulated.applications.lazy(), as_of=end).applications
    known = as_known_at(applications.lazy(), as_of).collect()
    capacity = validate_capacity(simulated.capacity.lazy()).capacity.filter(pl.col(DATE) <= as_of)
    baseline = build_planning_baseline(known, as_of=as_of, capacity=capacity, n_paths=40)
    return PlanningWorld(baseline, as_of)
