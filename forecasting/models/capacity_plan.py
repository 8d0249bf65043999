"""Planned capacity as a multiplier on the queue's measured pace, read as known on a given day.

The queue model measures throughput from completions, which cannot show a hire that has not
started yet; an office's staffing plan can. The plan enters as r(day) = the table's capacity that
day / the table's recent level, so the table's units (files or staff hours) never meet the
throughput's: only the planned change does. Versions follow `forecasting.capacity.known_capacity`
(latest figure known on the day, a record replacing the plans for its day), on arrays, because
the calibration asks again at every origin.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from forecasting.capacity import planned_on
from forecasting.models.base import Segment
from forecasting.schema import (
    CHANNEL,
    COMPLETIONS_CAPACITY,
    DATE,
    DEFAULT_REGION,
    REGION,
    SERVICE,
    STAFF_HOURS,
)

_F = npt.NDArray[np.float64]
_I = npt.NDArray[np.int64]
_B = npt.NDArray[np.bool_]

# The recent level is the median per business day over these days up to the day looked from.
LEVEL_DAYS: Final = 28
# A plan moves the measured pace by a factor within these bounds. Staffing plans change output by
# tens of percent within months; a figure far outside says something else (a unit mixed up
# between files and hours, a closure day on a day the calendar works), and trusting it would
# promise dates nobody meets or a queue that never moves. Slowdowns below half are outages,
# which nobody plans and the throughput's own floor already treats as temporary.
RATIO_BOUNDS: Final = (0.5, 3.0)


@dataclass(frozen=True)
class SegmentPlan:
    """One segment's capacity rows as epoch days: the day each figure is for, the day it was
    known (`planned_on`, else the day itself), whether it was given without `planned_on`, and
    the figure (completions capacity, else staff hours: one measure per segment)."""

    day: _I
    known: _I
    undated: _B
    value: _F


def segment_plans(capacity: pl.DataFrame | None) -> dict[Segment, SegmentPlan]:
    """The capacity table split per segment, each in the one measure it gives throughout."""
    if capacity is None or capacity.is_empty():
        return {}
    planned = planned_on(capacity.columns)
    measures = [m for m in (COMPLETIONS_CAPACITY, STAFF_HOURS) if m in capacity.columns]
    frame = capacity.select(
        SERVICE,
        CHANNEL,
        REGION,
        pl.col(DATE).cast(pl.Int64).alias("_day"),
        pl.coalesce(planned, pl.col(DATE)).cast(pl.Int64).alias("_known"),
        planned.is_null().alias("_undated"),
        *(pl.col(m).cast(pl.Float64) for m in measures),
    )
    out: dict[Segment, SegmentPlan] = {}
    for key, group in frame.partition_by([SERVICE, CHANNEL, REGION], as_dict=True).items():
        # Mixing files and hours across days would read a change of unit as a change of staff.
        measure = next((m for m in measures if group.get_column(m).is_not_null().any()), None)
        if measure is None:
            continue
        rows = group.filter(pl.col(measure).is_not_null())
        out[(str(key[0]), str(key[1]), str(key[2]))] = SegmentPlan(
            day=rows.get_column("_day").to_numpy(),
            known=rows.get_column("_known").to_numpy(),
            undated=rows.get_column("_undated").to_numpy(),
            value=rows.get_column(measure).to_numpy(),
        )
    return out


def plan_for(plans: dict[Segment, SegmentPlan], key: Segment) -> SegmentPlan | None:
    """The segment's rows, else its service and channel's rows for all regions."""
    return plans.get(key, plans.get((key[0], key[1], DEFAULT_REGION)))


def capacity_ratio(
    plan: SegmentPlan,
    day: int,
    business: _B,
    horizon: int,
    *,
    undated_plans: bool = False,
) -> _F | None:
    """r on days day + 1 .. day + horizon: the figure known at `day` over the recent level,
    1 where the table has none; None when nothing is planned or there is no level to compare to.

    `business` covers days day - LEVEL_DAYS + 1 .. day. `undated_plans` also reads rows without
    `planned_on` dated after `day` (a table handed in at the as-of day, see `known_capacity`).
    """
    keep = plan.known <= day
    if undated_plans:
        keep |= plan.undated
    first = day - LEVEL_DAYS + 1
    inside = keep & (plan.day >= first) & (plan.day <= day + horizon)
    days, known, records = plan.day[inside], plan.known[inside], plan.undated[inside]
    values = plan.value[inside]
    if not np.any(days > day):
        return None
    # Per day the latest version known; on a tie the record, as `known_capacity` does.
    order = np.lexsort((records, known, days))
    days, values = days[order], values[order]
    last = np.append(days[1:] != days[:-1], True)
    table = np.full(LEVEL_DAYS + horizon, np.nan)
    table[days[last] - first] = values[last]
    # Days the office could not work (an outage on record, capacity 0) are left out of the
    # level, as the measured pace leaves out weeks far below the norm: otherwise a plan made just
    # after an outage would read as a multiple of the level and promise a pace nobody reaches.
    recent = table[:LEVEL_DAYS]
    past = recent[business & np.isfinite(recent) & (recent > 0)]
    level = float(np.median(past)) if past.size else 0.0
    if level <= 0:
        return None
    future = table[LEVEL_DAYS:] / level
    return np.where(np.isfinite(future), np.clip(future, *RATIO_BOUNDS), 1.0)


def planned_capacity(
    capacity: _F,
    plan: SegmentPlan | None,
    day: int,
    business: Callable[[int, int], _B],
    *,
    undated_plans: bool = False,
) -> _F:
    """`capacity` on days day + 1 .. day + its length, scaled by the plan as known on `day`
    relative to its recent level; unchanged where nothing is planned. `business(start, stop)`
    tells which days from `start` to `stop - 1` are worked."""
    if plan is None:
        return capacity
    recent = business(day - LEVEL_DAYS + 1, day + 1)
    ratio = capacity_ratio(plan, day, recent, capacity.size, undated_plans=undated_plans)
    return capacity if ratio is None else capacity * ratio
