"""The simulation itself: arrivals, queues and each file's dates, vectorised over all files.

Queues start empty a year before `start` and that warm-up year is dropped from the applications,
so the window opens on a standing queue as a real extract would; files submitted before `start`
still count in the truth table because they occupy the queue.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import numpy.typing as npt

from forecasting.schema import PRIORITIES
from forecasting.simulate.days import (
    SimCalendar,
    add_calendar_days,
    advance,
    build_calendar,
    fiscal_year_end_after,
    fiscal_year_start,
    shift,
)
from forecasting.simulate.demand import expected_arrivals
from forecasting.simulate.errors import SimulationArgumentError
from forecasting.simulate.fifo import (
    TIEBREAK_RANGE,
    QueueState,
    count_by_day,
    pickup_day,
    queue_rank,
    run_fifo,
    sort_order,
)
from forecasting.simulate.scenarios import ScenarioSpec, demand_multiplier, scenario_spec
from forecasting.simulate.segments import (
    CHANNELS,
    HANDLING_MEAN_DAYS,
    IN_PERSON,
    MAIL,
    PASSPORT_SERVICES,
    REWORK_SHARE,
    Segments,
    build_segments,
    per_service,
    validate_regions,
)
from forecasting.simulate.staffing import Capacity, plan_capacity

_Index = npt.NDArray[np.int64]

WARMUP_DAYS = 365
# Calendar kept past `end` so date arithmetic near the end never runs off the arrays.
_TAIL_DAYS = 120
# Priority codes index `schema.PRIORITIES`.
REGULAR, EXPRESS, URGENT = range(len(PRIORITIES))
# Progress stages: plan, arrivals, queues, dates; the caller reports the last (tables).
STAGES = 5


@dataclass(frozen=True)
class Files:
    """One entry per file in submission order, as calendar day indices; after `last` means open."""

    segment: _Index
    priority: _Index
    submitted: _Index
    joined: _Index
    completed: _Index
    delivered: _Index


@dataclass(frozen=True)
class Run:
    """Everything the simulation produced, still as arrays."""

    calendar: SimCalendar
    segments: Segments
    spec: ScenarioSpec
    capacity: Capacity
    queue: QueueState
    files: Files
    first: int
    last: int


def run(
    *,
    start: date,
    end: date,
    seed: int,
    scenario: str | ScenarioSpec,
    scale: float,
    regions: Sequence[str] | None,
    progress: Callable[[int, int], None] | None,
) -> Run:
    """Simulate `start` .. `end` inclusive; see `forecasting.simulate.simulate`."""
    _check_window(start, end)
    if not scale > 0:
        raise SimulationArgumentError("scale", "a positive number", repr(scale))
    spec = scenario if isinstance(scenario, ScenarioSpec) else scenario_spec(scenario, start, end)
    chosen = validate_regions(regions)
    report = progress or (lambda done, total: None)
    rng = np.random.default_rng(seed)

    cal = build_calendar(
        fiscal_year_start(shift(start, -WARMUP_DAYS)),
        fiscal_year_end_after(shift(end, _TAIL_DAYS)),
        chosen,
    )
    segments = build_segments(chosen, scale)
    expected = expected_arrivals(segments, cal, start)
    capacity = plan_capacity(segments, cal, expected, spec, rng)
    first, last = cal.index(start), cal.index(end)
    report(1, STAGES)

    demand = expected * demand_multiplier(spec, segments, cal)
    segment, submitted = _arrivals(rng, demand, first - WARMUP_DAYS, last)
    priority = _priority(rng, segments, segment)
    joined = _join_queue(rng, segments, cal, segment, submitted)
    report(2, STAGES)

    is_open = capacity.completions > 0
    queue, picked = _pick_up(rng, capacity.completions, segment, priority, joined)
    report(3, STAGES)

    completed = _complete(rng, segments, is_open, segment, priority, picked)
    delivered = _deliver(rng, segments, cal, segment, priority, completed)
    past = last + 1
    # Files are numbered in submission order, in random order within a day.
    order = sort_order(submitted, _tiebreak(rng, segment.size))
    files = Files(
        segment=segment[order],
        priority=priority[order],
        submitted=submitted[order],
        joined=joined[order],
        completed=np.where(completed <= last, completed, past)[order],
        delivered=np.where(delivered <= last, delivered, past)[order],
    )
    report(4, STAGES)
    return Run(cal, segments, spec, capacity, queue, files, first, last)


def _check_window(start: date, end: date) -> None:
    # A datetime is a date too, but day arithmetic against plain dates would fail later.
    for field, value in (("start", start), ("end", end)):
        if not isinstance(value, date) or isinstance(value, datetime):
            raise SimulationArgumentError(field, "a datetime.date", repr(value))
    if end <= start:
        raise SimulationArgumentError("end", f"a date after start {start}", str(end))


def _arrivals(
    rng: np.random.Generator, demand: npt.NDArray[np.float64], first: int, last: int
) -> tuple[_Index, _Index]:
    """Poisson arrivals per segment and day, expanded to one (segment, day) per file."""
    counts = rng.poisson(demand[:, first : last + 1])
    width = last + 1 - first
    cell = np.repeat(np.arange(counts.size), counts.ravel())
    return cell // width, first + cell % width


def _tiebreak(rng: np.random.Generator, n: int) -> _Index:
    return rng.integers(0, TIEBREAK_RANGE, size=n)


def _priority(rng: np.random.Generator, segments: Segments, segment: _Index) -> _Index:
    draw = rng.random(segment.size)
    express = segments.express_share[segment]
    urgent = segments.urgent_share[segment]
    return np.select([draw < express, draw < express + urgent], [EXPRESS, URGENT], REGULAR)


def _pick_up(
    rng: np.random.Generator,
    capacity: npt.NDArray[np.float64],
    segment: _Index,
    priority: _Index,
    joined: _Index,
) -> tuple[QueueState, _Index]:
    """Day each file is taken up by an officer, and the state of the regular FIFO queues.

    Priority files jump the queue, on the first open day, but use the same officers' time.
    """
    regular = priority == REGULAR
    shape = capacity.shape
    jumping_rows, jumping_joined = segment[~regular], joined[~regular]
    taken = advance(capacity > 0, jumping_rows, jumping_joined, np.zeros_like(jumping_joined))
    priority_load = count_by_day(jumping_rows, taken, shape)
    queue = run_fifo(
        count_by_day(segment[regular], joined[regular], shape),
        np.maximum(capacity - priority_load, 0.0),
    )
    rank = queue_rank(segment[regular], joined[regular], _tiebreak(rng, int(regular.sum())))
    picked = np.empty_like(joined)
    picked[regular] = pickup_day(queue, segment[regular], rank)
    picked[~regular] = taken
    return queue, picked


def _join_queue(
    rng: np.random.Generator,
    segments: Segments,
    cal: SimCalendar,
    segment: _Index,
    submitted: _Index,
) -> _Index:
    """Mail joins the queue after 2-6 business days in the post; other channels on the day."""
    mailed = segments.channel[segment] == CHANNELS.index(MAIL)
    transit = rng.integers(2, 7, size=segment.size)
    arrived = advance(
        cal.business, segments.region[segment[mailed]], submitted[mailed], transit[mailed]
    )
    return _scatter(mailed, arrived, submitted)


def _complete(
    rng: np.random.Generator,
    segments: Segments,
    is_open: npt.NDArray[np.bool_],
    segment: _Index,
    priority: _Index,
    picked: _Index,
) -> _Index:
    """Add in-process handling, and for some files a request for more information.

    Every step counts open days of the segment, so completions fall on business days and never
    during an outage.
    """
    n = segment.size
    handling = 1 + rng.poisson(per_service(HANDLING_MEAN_DAYS, segments)[segment] - 1.0)
    urgent, express = priority == URGENT, priority == EXPRESS
    handling[urgent] = rng.integers(0, 2, size=int(urgent.sum()))
    handling[express] = 2 + rng.poisson(3.0, size=int(express.sum()))
    done = advance(is_open, segment, picked, handling)
    rework = rng.random(n) < per_service(REWORK_SHARE, segments)[segment]
    n_rework = int(rework.sum())
    # The applicant takes weeks to answer; the answer then needs a short second review.
    reply = 10 + np.rint(rng.gamma(2.0, 8.0, size=n_rework)).astype(np.int64)
    returned = add_calendar_days(done[rework], reply, is_open.shape[1])
    review = 1 + rng.poisson(1.5, size=n_rework)
    redone = advance(is_open, segment[rework], returned, review)
    return _scatter(rework, redone, done)


def _deliver(
    rng: np.random.Generator,
    segments: Segments,
    cal: SimCalendar,
    segment: _Index,
    priority: _Index,
    completed: _Index,
) -> _Index:
    """Passports are printed and posted; priority in-person files are collected at the counter.

    Benefits have nothing to deliver: their decision is the completion, so they stay at the
    sentinel and come out null.
    """
    passport = segments.service_mask(PASSPORT_SERVICES)[segment]
    rows, level = segment[passport], priority[passport]
    n = rows.size
    collected = (segments.channel[rows] == CHANNELS.index(IN_PERSON)) & (level != REGULAR)
    # Printing takes 1-3 business days, Canada Post 2-6; a counter pick-up is the same or next day.
    posted = rng.integers(1, 4, size=n) + rng.integers(2, 7, size=n)
    steps = np.where(collected, rng.integers(0, 2, size=n), posted)
    delivered = advance(cal.business, segments.region[rows], completed[passport], steps)
    return _scatter(passport, delivered, np.full(segment.size, cal.n_days))


def _scatter(mask: npt.NDArray[np.bool_], values: _Index, default: _Index) -> _Index:
    """`default` with `values` written where `mask` is set."""
    out = default.copy()
    out[mask] = values
    return out
