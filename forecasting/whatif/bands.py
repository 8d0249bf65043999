"""Uncertainty bands from sampled intake paths, run through the same queue a week at a time.

The central figures come from the daily flows on the mean intake. Each sampled path of the
statsmodels intake forecast runs through the same two stages (delay, then the fluid queue) in
weekly steps, and so does the mean; a band is the central figure plus the 10th and 90th
percentiles over paths of (path - mean) at each week's end, so daily and weekly resolution never
mix. Waits move with the queue ahead of a file: extra files ahead take extra days at the capacity
of the days it is reached (the first-order change of the fluid queue's reach). For totals, a
path's processing times are the central mix scaled by its change in arrival-weighted
(projected + offset). Arrays are laid out weeks first, paths last, in float32: the week loop
then reads contiguous memory and the percentiles are one partition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from forecasting.whatif.baseline import PlanningBaseline
from forecasting.whatif.cohorts import Cohorts, Ratios
from forecasting.whatif.flows import Flow
from forecasting.whatif.plan import Plan

_F = npt.NDArray[np.float64]
_F32 = npt.NDArray[np.float32]
LOW, HIGH = 0.1, 0.9


@dataclass(frozen=True)
class Bands:
    """Low and high (last axis) changes around the central figures."""

    backlog: _F  # (variants, segments, weeks, 2)
    p80: _F
    total_backlog: _F  # (variants, weeks, 2)
    total_p80: _F


def bands(
    baseline: PlanningBaseline,
    plan: Plan,
    flow: Flow,
    cohorts: Cohorts,
    ratios: Ratios,
    *,
    n_paths: int,
    seed: int,
) -> Bands:
    n_blocks = -(-plan.n_days // 7)
    # Segments in order of their delay: those sharing a delay are then neighbours, read and
    # shifted as slices. `back` restores the plan's order.
    order = np.argsort(baseline.delay_days[plan.rows], kind="stable")
    back = np.argsort(order)
    rows = plan.rows[order]
    delay = baseline.delay_days[rows]
    sampled = baseline.intake_paths(n_paths, seed)[rows, :, :n_blocks]
    # (blocks, segments, paths); path 0 is the mean, the reference for every path.
    ratio = np.ones((n_blocks, rows.size, n_paths + 1), dtype=np.float32)
    ratio[..., 1:] = sampled.transpose(2, 0, 1)
    arrivals = _path_arrivals(plan, order, back, ratio, n_blocks)
    queue, backlog = _weekly_queue(baseline, rows, plan.capacity[:, order], arrivals)
    # Quantiles of (path - mean) are quantiles of the paths minus the mean: no copies of gaps.
    backlog_spread = _spread(backlog[..., 1:]) - backlog[..., :1]
    queue_spread = _spread(queue[..., 1:]) - queue[..., :1]
    total_open = backlog.sum(2)
    total_spread = _spread(total_open[..., 1:]) - total_open[..., :1]
    block_ends = 7 * np.arange(n_blocks) + 6
    week_ends = plan.first_day + 7 * np.arange(plan.n_weeks) + 6
    # Waits: extra queue ahead on the day a week's files join it, over the capacity then.
    mids = plan.first_day + 7 * np.arange(plan.n_weeks) + 3
    joins = mids[None, :] + delay[:, None] - 1  # (segments, weeks): the queue the day before
    rate = _reach_rate(plan, flow, mids)  # (variants, segments, weeks), plan order
    ahead = _per_segment(queue_spread, block_ends, joins)[:, back]
    p80 = ahead / rate[..., None] * ratios.r80[None, :, None, None]
    # Totals: each path's weighted change in (projected + offset), the weights the arrivals.
    coefficient = cohorts.weight / rate / np.maximum(cohorts.weight.sum(1, keepdims=True), 1e-12)
    weighted = _weighted_at_joins(queue, coefficient[:, order], delay, mids)  # (w, v, paths)
    total_gap = weighted[..., 1:] - weighted[..., :1]
    mean_base = (cohorts.base * cohorts.weight).sum(1) / np.maximum(cohorts.weight.sum(1), 1e-12)
    offset = (ratios.scale[None, :, None] * cohorts.weight).sum(1) / np.maximum(
        cohorts.weight.sum(1), 1e-12
    )
    scale = ((cohorts.total_p80 + offset) / np.maximum(mean_base, 1e-12)).T  # (weeks, variants)
    total_p80 = _spread(total_gap) * scale[..., None]
    backlog_band = _interpolate(backlog_spread, block_ends, week_ends)
    return Bands(
        backlog=backlog_band.transpose(1, 2, 0, 3)[:, back],
        p80=p80,
        total_backlog=_interpolate(total_spread, block_ends, week_ends).transpose(1, 0, 2),
        total_p80=total_p80.transpose(1, 0, 2),
    )


def _path_arrivals(
    plan: Plan,
    order: npt.NDArray[np.int64],
    back: npt.NDArray[np.int64],
    ratio: _F32,
    n_blocks: int,
) -> _F32:
    """(blocks, variants, segments, paths): each path's weekly arrivals under each variant,
    segments in `order`."""
    own = _blocks(plan.own[:, order], n_blocks).transpose(2, 0, 1)[..., None].astype(np.float32)
    out = own * ratio[:, None]
    for shift in plan.shifts:
        moved = _blocks(shift.moved, n_blocks).astype(np.float32)
        out[:, 1, back[shift.target]] += moved[:, None] * ratio[:, back[shift.source]]
    return out


def _weekly_queue(
    baseline: PlanningBaseline, rows: npt.NDArray[np.int64], capacity: _F, arrivals: _F32
) -> tuple[_F32, _F32]:
    """Queue and open files at the end of each week, (blocks, variants, segments, paths), for
    the baseline `rows` (sorted by delay) and their daily `capacity` (variants, rows, days)."""
    n_blocks = arrivals.shape[0]
    whole, part = np.divmod(baseline.delay_days[rows], 7)
    # A week's arrivals join the queue `delay` days later: split over the two weeks that covers.
    eligible = np.zeros_like(arrivals)
    for weeks in np.unique(whole):
        k = int(weeks)
        if k >= n_blocks:
            continue
        group = np.flatnonzero(whole == weeks)
        lo, hi = int(group[0]), int(group[-1]) + 1
        late = (part[lo:hi] / 7.0).astype(np.float32)[None, None, :, None]
        moving = arrivals[: n_blocks - k, :, lo:hi]
        eligible[k:, :, lo:hi] += moving * (1 - late)
        eligible[k + 1 :, :, lo:hi] += moving[: n_blocks - k - 1] * late
    released = np.zeros((rows.size, 7 * n_blocks))
    width = min(baseline.pipeline.shape[1], released.shape[1])
    released[:, :width] = baseline.pipeline[rows, :width]
    eligible += released.reshape(rows.size, n_blocks, 7).sum(-1).T[:, None, :, None]
    weekly = _blocks(capacity[..., : 7 * n_blocks], n_blocks).astype(np.float32)
    weekly = np.ascontiguousarray(weekly.transpose(2, 0, 1)[..., None])
    queue = np.empty_like(eligible)
    backlog = np.empty_like(eligible)
    shape = eligible.shape[1:]
    done = np.empty(shape, dtype=np.float32)
    available = np.empty(shape, dtype=np.float32)
    level = np.broadcast_to(baseline.queue[rows].astype(np.float32)[None, :, None], shape)
    open_files = np.broadcast_to(baseline.in_system[rows].astype(np.float32)[None, :, None], shape)
    # Results are written in place (out=): this loop is most of a scenario's time.
    for k in range(n_blocks):
        np.add(level, eligible[k], out=available)
        np.minimum(weekly[k], available, out=done)
        level = np.subtract(available, done, out=queue[k])
        np.subtract(arrivals[k], done, out=available)
        open_files = np.add(open_files, available, out=backlog[k])
    return queue, backlog


def _blocks(daily: _F, n_blocks: int) -> _F:
    """Weekly sums of (..., days) from day 0, zero-padded to whole weeks."""
    padded = np.zeros(daily.shape[:-1] + (7 * n_blocks,))
    width = min(daily.shape[-1], 7 * n_blocks)
    padded[..., :width] = daily[..., :width]
    return padded.reshape(*daily.shape[:-1], n_blocks, 7).sum(-1)


def _spread(gap: npt.NDArray[np.floating[Any]]) -> _F:
    """The LOW and HIGH quantiles over the last axis (paths), linearly interpolated.

    A full sort of these short rows is several times faster than a partition.
    """
    n = gap.shape[-1]
    positions = np.array([LOW, HIGH]) * (n - 1)
    below = np.floor(positions).astype(np.int64)
    above = np.minimum(below + 1, n - 1)
    ordered = np.sort(gap, axis=-1)
    frac = positions - below
    low = ordered[..., below].astype(np.float64)
    high = ordered[..., above].astype(np.float64)
    return np.asarray(low + (high - low) * frac)


def _interpolate(
    values: npt.NDArray[np.floating[Any]],
    days: npt.NDArray[np.int64],
    wanted: npt.NDArray[np.int64],
) -> _F:
    """`values` known at the end of each block (first axis) read at `wanted` days, linearly;
    no change before the first day."""
    xp = np.concatenate([[-1], days]).astype(np.float64)
    padded = np.concatenate([np.zeros((1, *values.shape[1:])), values])
    position = np.clip(wanted.astype(np.float64), xp[0], xp[-1])
    index = np.clip(np.searchsorted(xp, position, side="right") - 1, 0, xp.size - 2)
    frac = ((position - xp[index]) / (xp[index + 1] - xp[index])).reshape(
        -1, *([1] * (values.ndim - 1))
    )
    return np.asarray(padded[index] * (1 - frac) + padded[index + 1] * frac)


def _per_segment(values: _F, days: npt.NDArray[np.int64], wanted: npt.NDArray[np.int64]) -> _F:
    """`values` (blocks, variants, segments, k) known at block ends, read at each segment's own
    `wanted` days (segments, weeks); gives (variants, segments, weeks, k)."""
    xp = np.concatenate([[-1], days]).astype(np.float64)
    padded = np.concatenate([np.zeros((1, *values.shape[1:])), values])
    position = np.clip(wanted.astype(np.float64), xp[0], xp[-1])
    index = np.clip(np.searchsorted(xp, position, side="right") - 1, 0, xp.size - 2)
    frac = ((position - xp[index]) / (xp[index + 1] - xp[index]))[..., None, None]
    rows = np.arange(values.shape[2])[:, None]
    # Advanced indices on axes 0 and 2 come first: (segments, weeks, variants, k).
    read = padded[index, :, rows] * (1 - frac) + padded[index + 1, :, rows] * frac
    return np.asarray(read.transpose(2, 0, 1, 3))


def _weighted_at_joins(
    gap: _F32, coefficient: _F, delay: npt.NDArray[np.int64], mids: npt.NDArray[np.int64]
) -> _F32:
    """Per week, variant and path: sum over segments (sorted by delay) of coefficient x queue
    change on the day before that week's mid-week files join the queue.

    Weeks are 7 days apart like the blocks, so all the weeks of segments sharing a delay read
    their blocks at one fraction: two shifted slices, and the weighted sum over the segments
    is a batched matrix product.
    """
    n_blocks, n_variants, _, n_paths = gap.shape
    n_weeks = mids.size
    # Day -1 reads no change; past the last block the last change holds.
    extra = int(-(-(int(delay.max(initial=0)) + mids[-1] + 8) // 7)) - n_blocks + 2
    padded = np.concatenate(
        [np.zeros_like(gap[:1]), gap, np.repeat(gap[-1:], max(extra, 1), axis=0)]
    )
    out = np.zeros((n_weeks, n_variants, n_paths), dtype=np.float32)
    for value in np.unique(delay):
        group = np.flatnonzero(delay == value)
        lo, hi = int(group[0]), int(group[-1]) + 1
        # Block-end days are 7k + 6: the day before joining, mids + delay - 1, is at
        # position (mids + delay) / 7 of `padded`.
        position = (mids[0] + int(value)) / 7.0
        first = int(np.floor(position))
        frac = np.float32(position - first)
        low = padded[first : first + n_weeks, :, lo:hi]
        high = padded[first + 1 : first + 1 + n_weeks, :, lo:hi]
        weights = coefficient[:, lo:hi].transpose(2, 0, 1).astype(np.float32)[..., None, :]
        out += np.matmul(weights, low)[..., 0, :] * (1 - frac)
        out += np.matmul(weights, high)[..., 0, :] * frac
    return out


def _reach_rate(plan: Plan, flow: Flow, mids: npt.NDArray[np.int64]) -> _F:
    """Capacity per day in the week before each mid-week file is reached (variants, segments,
    weeks): how fast extra files ahead of it would be worked through."""
    reached = flow.reached[..., mids]
    horizon = plan.capacity.shape[-1]
    cumulative = np.concatenate(
        [np.zeros(plan.capacity.shape[:-1] + (1,)), np.cumsum(plan.capacity, axis=-1)], axis=-1
    )
    end = np.clip(np.where(np.isfinite(reached), reached, horizon - 1), 0, horizon - 1)
    end = end.astype(np.int64) + 1
    start = np.maximum(end - 7, 0)
    rate = (np.take_along_axis(cumulative, end, -1) - np.take_along_axis(cumulative, start, -1)) / (
        end - start
    )
    return np.asarray(np.maximum(rate, 1e-9))
