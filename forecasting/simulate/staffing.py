"""Staffing plan and daily capacity: staff on strength x hours x availability x output per hour.

Staff are planned once per fiscal year (1 April) from that year's expected demand and a target
utilisation, as a budget cycle would; leave, absences and scenario events then move the hours
actually worked and the output per hour around that plan.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from forecasting.simulate.days import SimCalendar
from forecasting.simulate.scenarios import (
    ScenarioSpec,
    capacity_multipliers,
    staffing_multipliers,
)
from forecasting.simulate.segments import Segments

_Matrix = npt.NDArray[np.float64]

HOURS_PER_DAY = 7.5
# Share of rostered hours spent on files: sick days, training and meetings take the rest.
_BASE_AVAILABILITY = 0.93
# Summer leave in July-August and the festive fortnight cut the hours worked.
_SUMMER_AVAILABILITY = 0.78
_FESTIVE_AVAILABILITY = 0.72
# Unplanned absence: a persistent day-to-day wobble (flu weeks), as a log-AR(1).
_ABSENCE_SD = 0.05
_ABSENCE_PERSISTENCE = 0.8


@dataclass(frozen=True)
class Capacity:
    """Segments x days: FTE on strength, hours worked on files and files that can be finished,
    and the last two as planned: staffing changes foreseen, absence and shocks not."""

    staff: _Matrix
    staff_hours: _Matrix
    completions: _Matrix
    planned_hours: _Matrix
    planned_completions: _Matrix


def plan_capacity(
    segments: Segments,
    cal: SimCalendar,
    expected: _Matrix,
    spec: ScenarioSpec,
    rng: np.random.Generator,
) -> Capacity:
    """Staff each segment for its fiscal-year demand, then apply leave, absence and the scenario.

    `expected` is the steady expected demand: the plan does not foresee a scenario's events.
    """
    hours_per_fte = cal.business[segments.region] * (HOURS_PER_DAY * _availability(cal))[None, :]
    output_per_fte = hours_per_fte * segments.files_per_hour[:, None]
    starts = _fiscal_year_starts(cal)
    staff_per_year = _planned_staff(
        np.add.reduceat(expected, starts, axis=1),
        np.add.reduceat(output_per_fte, starts, axis=1),
        segments.target_utilisation,
    )
    year_of_day = np.searchsorted(starts, np.arange(cal.n_days), side="right") - 1
    staff_factor, hours_factor, productivity_factor = capacity_multipliers(spec, segments, cal)
    staff = staff_per_year[:, year_of_day] * staff_factor
    absence = _absence(rng, segments.size, cal.n_days)
    staff_hours = staff * hours_per_fte * absence * hours_factor
    completions = staff_hours * segments.files_per_hour[:, None] * productivity_factor
    planned_hours = staff * hours_per_fte
    _, planned_productivity = staffing_multipliers(spec, segments, cal)
    return Capacity(
        staff=staff,
        staff_hours=staff_hours,
        completions=completions,
        planned_hours=planned_hours,
        planned_completions=planned_hours * segments.files_per_hour[:, None] * planned_productivity,
    )


def _planned_staff(
    demand: _Matrix, output_per_fte: _Matrix, utilisation: npt.NDArray[np.float64]
) -> _Matrix:
    """FTE so that the year's expected demand uses `utilisation` of the year's capacity."""
    return np.divide(
        demand,
        utilisation[:, None] * output_per_fte,
        out=np.zeros_like(demand),
        where=output_per_fte > 0,
    )


def _availability(cal: SimCalendar) -> npt.NDArray[np.float64]:
    summer = (cal.month == 7) | (cal.month == 8)
    festive = ((cal.month == 12) & (cal.day_of_year >= 354)) | (cal.day_of_year <= 3)
    return np.select(
        [summer, festive], [_SUMMER_AVAILABILITY, _FESTIVE_AVAILABILITY], _BASE_AVAILABILITY
    )


def _fiscal_year_starts(cal: SimCalendar) -> npt.NDArray[np.int64]:
    """Day indices of every 1 April; the calendar itself starts on one."""
    april_first = (cal.month == 4) & (np.diff(cal.month, prepend=cal.month[0] - 1) != 0)
    return np.flatnonzero(april_first)


def _absence(rng: np.random.Generator, n_rows: int, n_days: int) -> _Matrix:
    """Multiplicative absence factor with mean ~1, as a stationary log-AR(1) per segment."""
    shocks = rng.standard_normal((n_rows, n_days)) * _ABSENCE_SD
    shocks *= np.sqrt(1.0 - _ABSENCE_PERSISTENCE**2)
    log_factor = np.empty_like(shocks)
    log_factor[:, 0] = shocks[:, 0] / np.sqrt(1.0 - _ABSENCE_PERSISTENCE**2)
    for day in range(1, n_days):
        log_factor[:, day] = _ABSENCE_PERSISTENCE * log_factor[:, day - 1] + shocks[:, day]
    return np.exp(log_factor - 0.5 * _ABSENCE_SD**2)
