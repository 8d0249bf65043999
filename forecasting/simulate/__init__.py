"""A passport-and-benefits operation simulated as FIFO queues per service x channel x province.

Every file is simulated, but never in a Python loop over files: arrivals, queue positions and
dates are numpy operations over all files at once, so a million files take seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from forecasting.simulate.engine import STAGES, WARMUP_DAYS, run
from forecasting.simulate.errors import SimulationArgumentError
from forecasting.simulate.frames import SimulationResult, to_result, write_simulation
from forecasting.simulate.scenarios import (
    SCENARIOS,
    CapacityShock,
    DemandShock,
    ScenarioSpec,
    StaffingChange,
    scenario_spec,
)
from forecasting.simulate.segments import CHANNELS, DEFAULT_REGIONS, SERVICES

__all__ = [
    "CHANNELS",
    "DEFAULT_REGIONS",
    "SCENARIOS",
    "SERVICES",
    "WARMUP_DAYS",
    "CapacityShock",
    "DemandShock",
    "ScenarioSpec",
    "SimulationArgumentError",
    "SimulationResult",
    "StaffingChange",
    "scenario_spec",
    "simulate",
    "write_simulation",
]


def simulate(
    *,
    start: date,
    end: date,
    seed: int,
    scenario: str | ScenarioSpec = "steady",
    scale: float = 1.0,
    regions: Sequence[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SimulationResult:
    """Simulate files submitted from `start` to `end` inclusive, and the capacity behind them.

    `scale` multiplies demand and staffing alike (1.0 is ~350k files a year over the default
    provinces); `regions` picks provinces (default ON, QC, BC, AB, NS); `progress(done, total)`
    is called after each stage. The same arguments always give identical tables. `scenario` is
    a name from SCENARIOS or one's own `ScenarioSpec` (a what-if's ground truth, say).
    """
    simulated = run(
        start=start,
        end=end,
        seed=seed,
        scenario=scenario,
        scale=scale,
        regions=regions,
        progress=progress,
    )
    result = to_result(simulated)
    if progress is not None:
        progress(STAGES, STAGES)
    return result
