"""FIFO queues for every segment at once, without a loop over files.

The daily law is the forecaster's own fluid queue (`forecasting.queue.project_backlog`), so the
truth and the estimates share one definition; the k-th file to enter a queue is picked up on the
first day that queue's cumulative output reaches k, found for every file with one searchsorted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from forecasting.queue import project_backlog

_Matrix = npt.NDArray[np.float64]
_Index = npt.NDArray[np.int64]

# Capacity is fractional, so cumulative output is compared with k within this tolerance.
_EPS = 1e-7
# Random tie-breaks are drawn below this bound and packed under the sort key.
TIEBREAK_RANGE = 1 << 20


@dataclass(frozen=True)
class QueueState:
    """Segments x days: files entering, picked up and left waiting at the end of each day."""

    arrivals: _Matrix
    processed: _Matrix
    backlog: _Matrix


def run_fifo(arrivals: _Matrix, capacity: _Matrix) -> QueueState:
    """Daily output = min(capacity, backlog + arrivals), for every segment at once, from empty."""
    processed, backlog = project_backlog(np.zeros(arrivals.shape[0]), arrivals, capacity)
    return QueueState(arrivals=arrivals, processed=processed, backlog=backlog)


def count_by_day(rows: _Index, day: _Index, shape: tuple[int, int]) -> _Matrix:
    """Segments x days count of files, ignoring days past the end."""
    inside = day < shape[1]
    flat = np.bincount(rows[inside] * shape[1] + day[inside], minlength=shape[0] * shape[1])
    return flat.reshape(shape).astype(np.float64)


def queue_rank(rows: _Index, joined: _Index, tiebreak: _Index) -> _Index:
    """1-based position of each file in its segment's queue: by entry day, random within a day.

    `tiebreak` holds random integers below `TIEBREAK_RANGE`.
    """
    order = sort_order(rows * (int(joined.max(initial=0)) + 1) + joined, tiebreak)
    sorted_rows = rows[order]
    first_of_row = np.searchsorted(sorted_rows, sorted_rows, side="left")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size) - first_of_row + 1
    return rank


def sort_order(key: _Index, tiebreak: _Index) -> _Index:
    """Order by `key`, then `tiebreak`: one integer sort is several times faster than a lexsort."""
    return np.argsort(key * TIEBREAK_RANGE + tiebreak)


def pickup_day(state: QueueState, rows: _Index, rank: _Index) -> _Index:
    """Day each file is picked up: the first day its queue's cumulative output reaches its rank.

    Files not reached by the last day get the past-the-end sentinel `n_days`.
    """
    n_rows, n_days = state.processed.shape
    # Output is never negative, so the running sum is sorted as searchsorted needs.
    output = np.cumsum(state.processed, axis=1)
    stride = float(np.ceil(output[:, -1].max(initial=0.0))) + 2.0
    flat = (output + (np.arange(n_rows) * stride)[:, None]).ravel()
    found = np.searchsorted(flat, rank - _EPS + rows * stride, side="left") - rows * n_days
    return np.where(found < n_days, found, n_days)
