"""Daily flows on the mean intake: arrivals, completions, open files, and each day's wait.

A file spends its segment's delay (transit, handling, rework: time no extra staff can shorten)
before it joins the FIFO fluid queue of `forecasting.queue`, which completes up to the day's
capacity. Open files are those in either stage, so a queue that drains leaves the delay's files
behind, as a real operation does. A file submitted on day d joins the queue on d + delay behind
everything older, and is completed on the day the capacity from then covers that position.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from forecasting.queue import project_backlog, reach_after
from forecasting.whatif.baseline import PlanningBaseline
from forecasting.whatif.plan import Plan

_F = npt.NDArray[np.float64]
# Capacity beyond the kept tail is extrapolated at its average over this many last days.
_TAIL_RATE_DAYS = 28


@dataclass(frozen=True)
class Flow:
    """Per variant, segment and day (day 0 is the day after the as-of date)."""

    opening: _F  # (variants, segments): files open at the end of the as-of day
    arrivals: _F
    completions: _F
    backlog: _F  # files open at the end of the day
    queue: _F  # of which past their delay, waiting for capacity, at the end of the day
    wait: _F  # projected days from submission to completion for a file submitted that day
    reached: _F  # the day that file is completed

    @property
    def n_days(self) -> int:
        return int(self.arrivals.shape[-1])


def simulate_flow(baseline: PlanningBaseline, plan: Plan, variants: Sequence[int] = (0, 1)) -> Flow:
    """The flows of the plan's `variants` (0 baseline, 1 scenario) on the mean intake."""
    picked = list(variants)
    arrivals = plan.arrivals[picked]
    capacity = plan.capacity[picked]
    n_variants, n_segments, n_days = arrivals.shape
    delay = baseline.delay_days[plan.rows]
    eligible = _eligible(baseline, plan, arrivals, delay)
    span = eligible.shape[-1]
    queue0 = np.broadcast_to(baseline.queue[plan.rows], (n_variants, n_segments))
    done, queue = project_backlog(queue0, eligible, capacity[..., :span])
    in_system = baseline.in_system[plan.rows][None, :, None]
    backlog = in_system + np.cumsum(arrivals - done[..., :n_days], axis=-1)
    # Position of a day's files on the day they join the queue: the queue left the day before,
    # the older files joining with them, and half of their own day (the middle of the day).
    joins = np.broadcast_to(
        np.arange(n_days)[None, :] + delay[:, None], (n_variants, n_segments, n_days)
    )
    before = np.concatenate([queue0[..., None], queue], axis=-1)
    ahead = (
        np.take_along_axis(before, joins, -1)
        + np.take_along_axis(eligible, joins, -1)
        - arrivals / 2.0
    )
    cumulative = np.concatenate(
        [np.zeros((n_variants, n_segments, 1)), np.cumsum(capacity, axis=-1)], axis=-1
    )
    tail_rate = capacity[..., -_TAIL_RATE_DAYS:].mean(axis=-1)
    rows = n_variants * n_segments
    reached = reach_after(
        cumulative.reshape(rows, -1),
        joins.reshape(rows, n_days),
        np.maximum(ahead, 0.0).reshape(rows, n_days),
        tail_rate.ravel(),
    ).reshape(n_variants, n_segments, n_days)
    return Flow(
        opening=np.broadcast_to(in_system[..., 0], (n_variants, n_segments)),
        arrivals=arrivals,
        completions=done[..., :n_days],
        backlog=backlog,
        queue=queue[..., :n_days],
        wait=reached - np.arange(n_days),
        reached=reached,
    )


def _eligible(
    baseline: PlanningBaseline, plan: Plan, arrivals: _F, delay: npt.NDArray[np.int64]
) -> _F:
    """Files joining the queue each day: the open files' delays ending, then each day's
    arrivals `delay` days later. Runs past the last day so the last files have a place."""
    n_variants, n_segments, n_days = arrivals.shape
    span = n_days + int(delay.max(initial=0)) + 1
    eligible = np.zeros((n_variants, n_segments, span))
    pipeline = baseline.pipeline[plan.rows]
    width = min(pipeline.shape[1], span)
    eligible[..., :width] += pipeline[None, :, :width]
    rows = np.repeat(np.arange(n_segments), n_days)
    days = (np.arange(n_days)[None, :] + delay[:, None]).ravel()
    eligible[:, rows, days] += arrivals.reshape(n_variants, -1)
    return eligible
