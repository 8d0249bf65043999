"""A scenario resolved against a baseline: its segments, its days, and what it multiplies.

Checks that need the data happen here and raise `ScenarioError`s naming the field, the values it
may take and the value it got. Variant 0 is the baseline (no change), variant 1 the scenario.
Staffing and overtime add to capacity, outages multiply what remains; demand changes multiply
arrivals, and channel shifts then move a share of a channel's arrivals to another channel of the
same service and region, so total arrivals are conserved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt

from forecasting.models.base import Segment
from forecasting.whatif.baseline import PlanningBaseline
from forecasting.whatif.horizon import MAX_LEAD_WEEKS, TAIL_DAYS
from forecasting.whatif.scenario import (
    Change,
    ChannelShift,
    DemandChange,
    OutageChange,
    Scenario,
    ScenarioError,
    SegmentSelector,
    ServiceStandard,
    StaffingChange,
)

_F = npt.NDArray[np.float64]
_I = npt.NDArray[np.int64]
N_VARIANTS = 2


@dataclass(frozen=True)
class Shift:
    """Mean arrivals moved each day from one segment of the plan to another (scenario only)."""

    source: int
    target: int
    moved: _F


@dataclass(frozen=True)
class Plan:
    """Arrays over the plan's segments; day 0 is the day after the as-of date."""

    rows: _I  # the segments' rows in the baseline
    segments: list[Segment]
    first_day: int  # the scenario's start
    n_weeks: int
    change_day: int  # the first change's start (the scenario's start when there is none)
    arrivals: _F  # (variants, segments, days): mean arrivals
    own: _F  # (variants, segments, days): of which the segment's own demand, after shifts out
    shifts: list[Shift]
    capacity: _F  # (variants, segments, days + TAIL_DAYS): files that can be completed per day
    standard: ServiceStandard | None

    @property
    def n_days(self) -> int:
        return self.first_day + 7 * self.n_weeks


def build_plan(
    baseline: PlanningBaseline, scenario: Scenario, extra: Sequence[Change] = ()
) -> Plan:
    """Resolve `scenario` (plus `extra` changes, e.g. a goal seek's staff) against `baseline`."""
    first_day = _day(baseline, scenario.start)
    if first_day < 0:
        raise ScenarioError(
            f"`start` must be a date after the data's as-of date {baseline.as_of}, "
            f"got {scenario.start}"
        )
    latest = baseline.as_of + timedelta(days=1 + 7 * MAX_LEAD_WEEKS)
    if scenario.start > latest:
        raise ScenarioError(
            f"`start` must be no later than {latest} ({MAX_LEAD_WEEKS} weeks after the data's "
            f"as-of date {baseline.as_of}), got {scenario.start}"
        )
    index = _Index(baseline.segments)
    rows = (
        np.arange(len(baseline.segments), dtype=np.int64)
        if scenario.segments is None
        else index.rows(scenario.segments, "segments", within=None)
    )
    segments = [baseline.segments[r] for r in rows]
    n_days = first_day + 7 * scenario.horizon_weeks
    base = baseline.arrivals[rows, :n_days]
    capacity = baseline.capacity[rows, : n_days + TAIL_DAYS]
    changes = [*scenario.changes, *extra]
    demand = np.ones_like(base)
    supply = np.ones_like(capacity)
    added = np.zeros_like(capacity)
    shift_specs: list[tuple[int, ChannelShift]] = []
    for i, change in enumerate(changes):
        where = f"changes[{i}]"
        local = index.local(rows, change.segments, f"{where}.segments", segments)
        if isinstance(change, StaffingChange):
            added[local] += _staffing(baseline, rows[local], change, where, capacity.shape[1])
        elif isinstance(change, OutageChange):
            supply[local] *= 1.0 - (1.0 - change.capacity_percent / 100.0) * _window(
                baseline, change.start, change.end, capacity.shape[1]
            )
        elif isinstance(change, DemandChange):
            demand[local] *= 1.0 + change.percent / 100.0 * _window(
                baseline, change.start, change.end, n_days
            )
        else:
            shift_specs.append((i, change))
    after_demand = base * demand
    own, shifts = _shifts(baseline, shift_specs, segments, after_demand, n_days)
    arrivals = own.copy()
    for shift in shifts:
        arrivals[shift.target] += shift.moved
    starts = [_day(baseline, c.start) for c in changes]
    return Plan(
        rows=rows,
        segments=segments,
        first_day=first_day,
        n_weeks=scenario.horizon_weeks,
        change_day=min(starts, default=first_day),
        arrivals=np.stack([base, arrivals]),
        own=np.stack([base, own]),
        shifts=shifts,
        capacity=np.stack([capacity, capacity * np.maximum(1.0 + added, 0.0) * supply]),
        standard=scenario.standard,
    )


def local_rows(
    baseline: PlanningBaseline,
    plan: Plan,
    selectors: Sequence[SegmentSelector] | None,
    field: str,
) -> _I:
    """Positions in `plan` of the segments `selectors` pick (all of them for None)."""
    return _Index(baseline.segments).local(plan.rows, selectors, field, plan.segments)


class _Index:
    """The baseline's segments, looked up by selector with errors that list what exists."""

    def __init__(self, segments: list[Segment]) -> None:
        self.segments = segments

    def rows(
        self, selectors: Sequence[SegmentSelector], field: str, within: _I | None
    ) -> npt.NDArray[np.int64]:
        chosen: list[int] = []
        for j, selector in enumerate(selectors):
            self._check(selector, f"{field}[{j}]")
            found = [
                i
                for i, key in enumerate(self.segments)
                if selector.matches(key) and (within is None or i in within)
            ]
            if not found:
                raise ScenarioError(
                    f"`{field}[{j}]` must match a segment of the scenario (see its `segments`), "
                    f"got {selector.label()}, which is outside it"
                )
            chosen.extend(i for i in found if i not in chosen)
        return np.array(sorted(chosen), dtype=np.int64)

    def local(
        self,
        rows: _I,
        selectors: Sequence[SegmentSelector] | None,
        field: str,
        segments: list[Segment],
    ) -> _I:
        """Positions in the plan of the segments a change applies to."""
        if selectors is None:
            return np.arange(len(segments), dtype=np.int64)
        picked = self.rows(selectors, field, within=rows)
        return np.searchsorted(rows, picked).astype(np.int64)

    def _check(self, selector: SegmentSelector, field: str) -> None:
        services = sorted({s for s, _, _ in self.segments})
        if selector.service not in services:
            raise ScenarioError(
                f"`{field}.service` must be one of {', '.join(services)}, got '{selector.service}'"
            )
        of_service = [key for key in self.segments if key[0] == selector.service]
        channels = sorted({c for _, c, _ in of_service})
        if selector.channel is not None and selector.channel not in channels:
            raise ScenarioError(
                f"`{field}.channel` must be one of {', '.join(channels)} (the channels of "
                f"{selector.service}), got '{selector.channel}'"
            )
        regions = sorted({r for _, _, r in of_service})
        if selector.region is not None and selector.region not in regions:
            raise ScenarioError(
                f"`{field}.region` must be one of {', '.join(regions)} (the regions of "
                f"{selector.service}), got '{selector.region}'"
            )


def _staffing(
    baseline: PlanningBaseline, rows: _I, change: StaffingChange, where: str, n_days: int
) -> _F:
    """Capacity added, as a share of each segment's own, per day (new hires ramp up linearly).

    Staff are spread over the segments in proportion to the staff each has, so N staff add
    N / (their staff) of capacity to each: the same productivity per head everywhere.
    """
    if change.staff is not None:
        staff = baseline.staff[rows]
        if not np.all(np.isfinite(staff) & (staff > 0)):
            raise ScenarioError(
                f"`{where}.percent` must be used instead of `staff`: the data has no staffing "
                "figures for these segments (a capacity table with a `staff` column), "
                f"got staff {change.staff:g}"
            )
        share = change.staff / float(staff.sum())
    else:
        share = float(change.percent or 0.0) / 100.0
    window = _window(baseline, change.start, change.end, n_days)
    ramp = np.ones(n_days)
    if share > 0 and change.ramp_weeks > 0:
        elapsed = np.arange(n_days) - _day(baseline, change.start)
        ramp = np.clip((elapsed + 1) / (7.0 * change.ramp_weeks), 0.0, 1.0)
    per_day = (share * ramp + change.overtime_percent / 100.0) * window
    return np.broadcast_to(per_day, (rows.size, n_days))


def _shifts(
    baseline: PlanningBaseline,
    specs: list[tuple[int, ChannelShift]],
    segments: list[Segment],
    arrivals: _F,
    n_days: int,
) -> tuple[_F, list[Shift]]:
    """Arrivals left to each segment's own channel, and what moves where."""
    position = {key: i for i, key in enumerate(segments)}
    moves: list[tuple[int, int, _F]] = []
    for i, change in specs:
        where = f"changes[{i}]"
        pairs = sorted(
            {
                (s, r)
                for s, _, r in segments
                if change.segments is None
                or any(sel.service == s and sel.region in (None, r) for sel in change.segments)
            }
        )
        share = change.share * _window(baseline, change.start, change.end, n_days)
        found = 0
        for service, region in pairs:
            source = position.get((service, change.from_channel, region))
            if source is None:
                continue
            target = position.get((service, change.to_channel, region))
            if target is None:
                channels = sorted(c for s, c, r in segments if s == service and r == region)
                raise ScenarioError(
                    f"`{where}.to_channel` must be one of {', '.join(channels)} (the channels "
                    f"of {service} in {region} in the scenario), got '{change.to_channel}'"
                )
            moves.append((source, target, share))
            found += 1
        if not found:
            channels = sorted({c for _, c, _ in segments})
            raise ScenarioError(
                f"`{where}.from_channel` must be one of {', '.join(channels)} (the channels of "
                f"the segments it applies to), got '{change.from_channel}'"
            )
    leaving = np.zeros_like(arrivals)
    for source, _, share in moves:
        leaving[source] += share
    # Shares that add up past 1 on a day are scaled down: a channel cannot lose more than all.
    scale = 1.0 / np.maximum(leaving, 1.0)
    shifts = [
        Shift(source, target, share * scale[source] * arrivals[source])
        for source, target, share in moves
    ]
    return arrivals * (1.0 - np.minimum(leaving, 1.0)), shifts


def _window(baseline: PlanningBaseline, start: date, end: date | None, n_days: int) -> _F:
    """1.0 on the days from `start` up to the day before `end` (to the last day if None)."""
    day = np.arange(n_days)
    stop = n_days if end is None else _day(baseline, end)
    return ((day >= _day(baseline, start)) & (day < stop)).astype(np.float64)


def _day(baseline: PlanningBaseline, day: date) -> int:
    return (day - baseline.as_of).days - 1
