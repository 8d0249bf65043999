"""What-if scenarios as explicit, dated events, placed relative to the simulated window.

Each scenario is a `ScenarioSpec` listing what changed, when and by how much, so a later what-if
validation can read the truth instead of re-deriving it. Every interval is [start, end).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from forecasting.simulate.days import SimCalendar, shift
from forecasting.simulate.errors import SimulationArgumentError
from forecasting.simulate.segments import PASSPORT_SERVICES, SERVICES, Segments

STEADY: Final = "steady"
SURGE: Final = "surge"
OUTAGE: Final = "outage"
HIRING: Final = "hiring"
SCENARIOS: tuple[str, ...] = (STEADY, SURGE, OUTAGE, HIRING)

_Matrix = npt.NDArray[np.float64]


@dataclass(frozen=True)
class DemandShock:
    """Demand for `services` is multiplied by `factor`, reached and left over `ramp_days`."""

    services: tuple[str, ...]
    start: date
    end: date
    factor: float
    ramp_days: int


@dataclass(frozen=True)
class CapacityShock:
    """Hours worked and output per hour change for `services` (outage: output 0; overtime)."""

    services: tuple[str, ...]
    start: date
    end: date
    hours_factor: float
    productivity_factor: float


@dataclass(frozen=True)
class StaffingChange:
    """`factor` more staff join `services` on `start`, reaching full output after `ramp_days`.

    They leave on `end` (term hires), or stay when `end` is None. The hire is announced
    `announced_days` before `start`: from then on the capacity table holds it as a plan.
    """

    services: tuple[str, ...]
    start: date
    end: date | None
    factor: float
    ramp_days: int
    announced_days: int = 0


@dataclass(frozen=True)
class ScenarioSpec:
    """Everything a scenario changes relative to `steady`."""

    name: str
    demand_shocks: tuple[DemandShock, ...] = ()
    capacity_shocks: tuple[CapacityShock, ...] = ()
    staffing_changes: tuple[StaffingChange, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form, dates as ISO strings."""
        return _isoformat(asdict(self))


def scenario_spec(name: str, start: date, end: date) -> ScenarioSpec:
    """The events of scenario `name` for the window `start` .. `end`."""
    if name not in SCENARIOS:
        raise SimulationArgumentError("scenario", f"one of {', '.join(SCENARIOS)}", repr(name))
    window = (end - start).days
    if name == SURGE:
        # A 2022-style passport rush: demand doubles for months, hiring is approved late and new
        # staff need weeks of training before they are fully productive.
        surge_start = shift(start, round(0.4 * window))
        surge_end = shift(surge_start, _clip(0.15 * window, 42, 182))
        hired = shift(surge_start, _clip(0.12 * window, 28, 120))
        return ScenarioSpec(
            name=name,
            demand_shocks=(DemandShock(PASSPORT_SERVICES, surge_start, surge_end, 2.0, 21),),
            staffing_changes=(
                StaffingChange(
                    PASSPORT_SERVICES,
                    hired,
                    shift(surge_end, _clip(0.3 * window, 60, 365)),
                    0.6,
                    42,
                    # Approved late, but still weeks before the new staff start.
                    announced_days=42,
                ),
            ),
        )
    if name == OUTAGE:
        # The case-management system is down nationally, then overtime clears the pile.
        down = shift(start, round(0.5 * window))
        back = shift(down, _clip(0.02 * window, 7, 28))
        return ScenarioSpec(
            name=name,
            capacity_shocks=(
                CapacityShock(SERVICES, down, back, 1.0, 0.0),
                CapacityShock(SERVICES, back, shift(back, _clip(0.08 * window, 21, 91)), 1.3, 1.0),
            ),
        )
    if name == HIRING:
        hired = shift(start, round(0.5 * window))
        return ScenarioSpec(
            name=name,
            staffing_changes=(StaffingChange(SERVICES, hired, None, 0.3, 56, announced_days=56),),
        )
    return ScenarioSpec(name=name)


def demand_multiplier(spec: ScenarioSpec, segments: Segments, cal: SimCalendar) -> _Matrix:
    """Segments x days factor on expected arrivals."""
    out = np.ones((segments.size, cal.n_days))
    for shock in spec.demand_shocks:
        ramp = _trapezoid(cal, shock.start, shock.end, shock.ramp_days)
        out[segments.service_mask(shock.services)] *= 1.0 + (shock.factor - 1.0) * ramp
    return out


def capacity_multipliers(
    spec: ScenarioSpec, segments: Segments, cal: SimCalendar
) -> tuple[_Matrix, _Matrix, _Matrix]:
    """Segments x days factors on staff on strength, hours worked and output per hour."""
    staff, productivity = staffing_multipliers(spec, segments, cal)
    hours = np.ones_like(staff)
    for shock in spec.capacity_shocks:
        rows = segments.service_mask(shock.services)
        inside = _window(cal, shock.start, shock.end)
        hours[rows] *= 1.0 + (shock.hours_factor - 1.0) * inside
        productivity[rows] *= 1.0 + (shock.productivity_factor - 1.0) * inside
    return staff, hours, productivity


def staffing_multipliers(
    spec: ScenarioSpec, segments: Segments, cal: SimCalendar
) -> tuple[_Matrix, _Matrix]:
    """Segments x days factors on staff on strength and output per hour from the staffing
    changes alone: what a staffing plan foresees, unlike outages and overtime."""
    staff = np.ones((segments.size, cal.n_days))
    productivity = np.ones_like(staff)
    for change in spec.staffing_changes:
        rows = segments.service_mask(change.services)
        present = _window(cal, change.start, change.end)
        trained = _ramp_up(cal, change.start, change.ramp_days) * present
        staff[rows] *= 1.0 + change.factor * present
        # Trainees are on strength and log hours from day one but produce little at first.
        productivity[rows] *= (1.0 + change.factor * trained) / (1.0 + change.factor * present)
    return staff, productivity


def _clip(days: float, low: int, high: int) -> int:
    return int(min(max(round(days), low), high))


def _window(cal: SimCalendar, start: date, end: date | None) -> npt.NDArray[np.float64]:
    day = np.arange(cal.n_days)
    stop = cal.n_days if end is None else cal.index(end)
    return ((day >= cal.index(start)) & (day < stop)).astype(np.float64)


def _ramp_up(cal: SimCalendar, start: date, ramp_days: int) -> npt.NDArray[np.float64]:
    """0 before `start`, rising linearly to 1 over `ramp_days`."""
    elapsed = np.arange(cal.n_days) - cal.index(start)
    return np.clip((elapsed + 1) / max(ramp_days, 1), 0.0, 1.0)


def _trapezoid(cal: SimCalendar, start: date, end: date, ramp_days: int) -> _Matrix:
    """1 on [start, end), easing in after `start` and out before `end` over `ramp_days`."""
    day = np.arange(cal.n_days)
    rise = (day - cal.index(start) + 1) / max(ramp_days, 1)
    fall = (cal.index(end) - day) / max(ramp_days, 1)
    return np.clip(np.minimum(rise, fall), 0.0, 1.0)


def _isoformat(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _isoformat(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_isoformat(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value
