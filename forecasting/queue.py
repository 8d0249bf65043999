"""The FIFO fluid queue: when is the k-th file in line reached, and how does a backlog evolve.

Kept apart from any model so that estimates for applicants and the planners' what-ifs run the
same engine. Everything is numpy over whole arrays; a day index 0 is the as-of day and future
days are 1..H.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

_F = npt.NDArray[np.float64]


def reach_offsets(positions: _F, daily_capacity: _F) -> _F:
    """For each queue position (1 = next in line), the first future day whose cumulative capacity
    reaches it; past the horizon, the horizon's average daily capacity is extrapolated.

    `daily_capacity[h]` is the work done on day h + 1 after the as-of day.
    """
    cumulative = np.cumsum(daily_capacity)
    horizon = cumulative.size
    idx = np.searchsorted(cumulative, positions, side="left")
    inside = idx < horizon
    offsets = (idx + 1).astype(np.float64)
    total = cumulative[-1] if horizon else 0.0
    rate = total / horizon if horizon and total > 0 else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        # The small tolerance keeps float noise (2.4 / 1.2 = 2.0000000000000004) from adding a day.
        beyond = horizon + np.ceil((positions - total) / rate - 1e-9) if rate > 0 else np.inf
    return np.where(inside, offsets, beyond)


def fifo_positions(open_submitted: npt.NDArray[np.int64], submitted: npt.NDArray[np.int64]) -> _F:
    """Queue position of a file submitted on each day among the sorted open files (ties: middle)."""
    before = np.searchsorted(open_submitted, submitted, side="left")
    through = np.searchsorted(open_submitted, submitted, side="right")
    return before + np.maximum(through - before, 1) / 2.0


def project_backlog(backlog: _F, arrivals: _F, capacity: _F) -> tuple[_F, _F]:
    """Daily completions and end-of-day backlog when arrivals meet capacity (fluid model).

    `backlog` has shape (segments,), `arrivals` and `capacity` (segments, days); the loop runs
    over days only, every segment at once.
    """
    completions = np.empty_like(arrivals)
    level = np.empty_like(arrivals)
    current = np.asarray(backlog, dtype=np.float64).copy()
    for day in range(arrivals.shape[-1]):
        available = current + arrivals[..., day]
        done = np.minimum(capacity[..., day], available)
        completions[..., day] = done
        current = available - done
        level[..., day] = current
    return completions, level


def reach_after(cumulative: _F, start: npt.NDArray[np.int64], amount: _F, tail_rate: _F) -> _F:
    """Day on which `amount` more work is done, counting from the beginning of day `start`.

    `cumulative[r, i]` is the capacity of row r on days 0 .. i - 1 (so `cumulative[r, 0] = 0`);
    `start` and `amount` have shape (rows, queries). Past the last day the row's `tail_rate`
    (work per day) is extrapolated; a zero rate never gets there (inf). A file waiting in a
    fluid FIFO queue keeps the server busy until it is reached, so its day comes from the
    capacity alone: the arrivals behind it never matter.
    """
    rows, width = cumulative.shape
    n_days = width - 1
    row = np.arange(rows)[:, None]
    target = cumulative[row, start] + amount
    # Rows are laid end to end, each shifted past the last's reach, so one search serves all;
    # the tolerance (far above float spacing there) keeps rounding from adding a day.
    stride = float(np.max(cumulative[:, -1], initial=0.0) + np.max(amount, initial=0.0)) + 1.0
    offset = stride * np.arange(rows)[:, None]
    flat = (cumulative + offset).ravel()
    found = np.searchsorted(flat, (target + offset - 1e-6).ravel(), side="left")
    found = found.reshape(amount.shape) - row * width - 1
    inside = found < n_days
    with np.errstate(divide="ignore", invalid="ignore"):
        extra = np.ceil((target - cumulative[:, -1:]) / tail_rate[:, None] - 1e-9)
        beyond = np.where(tail_rate[:, None] > 0, n_days - 1 + extra, np.inf)
    return np.where(inside, np.maximum(found, start), beyond)
