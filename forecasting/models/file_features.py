"""Each file as it stood on a day: days waited, place in line, queue projection, survival quantiles.

The queue projection and the Kaplan-Meier curve are the queue and survival models' own maths
(`queue_model` state and projection, `survival_curve`), rebuilt from the files known on that
day, so a learner fed these columns sees what those models would have said then, no more.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import polars as pl

from forecasting.models.queue_model import (
    QueueProjection,
    _History,
    _project,
    _Segment,
    _segment,
)
from forecasting.queue import fifo_positions
from forecasting.schema import QUANTILES, SUBMITTED_ON
from forecasting.survival_curve import SurvivalCurve, conditional_quantiles, counted_kaplan_meier

_F = npt.NDArray[np.float64]
_I = npt.NDArray[np.int64]

WAITED_DAYS = "waited_days"  # days from submission to the day; minus the days ahead if later
FILES_AHEAD = "files_ahead"  # FIFO position: open files ahead plus expected arrivals before it
PROJECTED_DAYS = "projected_days"  # fluid-queue days from submission to being reached
KM_DAYS = tuple(f"km_p{round(q * 100)}_days" for q in QUANTILES)  # given waited so far
IS_NEW = "is_new"
FILE_FEATURES = (WAITED_DAYS, FILES_AHEAD, PROJECTED_DAYS, *KM_DAYS, IS_NEW)


@dataclass(frozen=True)
class SegmentDay:
    """One segment at the end of one day: its queue and its survival curve (None: no event)."""

    day: int
    queue: _Segment
    curve: SurvivalCurve | None


class SegmentHistory:
    """One segment's files as epoch days, from which its state on any past day is rebuilt."""

    def __init__(
        self,
        files: pl.DataFrame,
        region: str,
        *,
        first_day: int,
        today: int,
        queue: QueueProjection,
        survival_days: int,
    ) -> None:
        # Sorted by submission, so a survival cohort is a slice.
        ordered = files.sort(SUBMITTED_ON)
        self.history: _History = queue._history(ordered, region, first_day, today)
        self.queue = queue
        self.survival_days = survival_days
        self._days: dict[int, SegmentDay] = {}

    @property
    def submitted(self) -> _I:
        return self.history.submitted

    @property
    def completed(self) -> _I:
        """Completion epoch day, -1 while open at the as-of day."""
        return self.history.completed

    @property
    def stale_after(self) -> int:
        """Days open after which the queue model takes a file as stalled, as of the as-of day."""
        return self.history.stale_after

    def at(self, day: int) -> SegmentDay:
        """The queue and the survival curve as known at the end of `day`."""
        if day not in self._days:
            self._days[day] = self._at(day)
        return self._days[day]

    def _at(self, day: int) -> SegmentDay:
        # The files as known at the end of `day`: submitted by then (a prefix of the sorted
        # files), later completions still open, and the stalled-file mark learned from them.
        known = int(np.searchsorted(self.history.submitted, day, side="right"))
        submitted = self.history.submitted[:known]
        completed = self.history.completed[:known]
        completed = np.where(completed <= day, completed, -1)
        until = replace(
            self.history,
            submitted=submitted,
            completed=completed,
            stale_after=self.queue._stale_after(submitted, completed, day),
        )
        state = self.queue._state(until, day)
        horizon = self.queue.horizon_days
        business = self.history.business(day + 1, day + 1 + horizon).astype(np.float64)
        queue = _segment(state, state.throughput * business, np.full(horizon, state.intake))
        return SegmentDay(day, queue, self._curve(day))

    def _curve(self, day: int) -> SurvivalCurve | None:
        """Kaplan-Meier of the files submitted in the `survival_days` to `day`, open censored."""
        first, last = np.searchsorted(
            self.history.submitted, [day - self.survival_days, day], side="right"
        )
        submitted = self.history.submitted[first:last]
        completed = self.history.completed[first:last]
        done = (completed >= 0) & (completed <= day)
        if not done.any():
            return None
        days = np.where(done, completed, day) - submitted
        # Days are whole and few: count the files per (days, done) pair instead of fitting each.
        pairs = np.bincount(2 * days + done, minlength=2)
        present = np.flatnonzero(pairs)
        return counted_kaplan_meier(present // 2, present % 2 == 1, pairs[present])


def describe(segment: SegmentDay, submitted: _I) -> _F:
    """`FILE_FEATURES` for files submitted on `submitted` (epoch days), as of `segment.day`."""
    day, state = segment.day, segment.queue.state
    projected, _ = _project(segment.queue, submitted, day)
    ahead = submitted - day
    files_ahead = np.where(
        ahead > 0,
        state.open_sorted.size + state.intake * (ahead - 0.5),
        fifo_positions(state.open_sorted, np.minimum(submitted, day)),
    )
    waited = (day - submitted).astype(np.float64)
    if segment.curve is None:
        survival = np.full((submitted.size, len(QUANTILES)), np.nan)
    else:
        # Negative waited (files not yet submitted) asks for the unconditional quantiles.
        survival = conditional_quantiles(segment.curve, waited, QUANTILES)
    return np.column_stack([waited, files_ahead, projected, survival, (ahead > 0).astype(float)])


def unconditional_quantiles(segment: SegmentDay, quantiles: tuple[float, ...]) -> _F:
    """The curve's quantiles of processing days for a file not yet submitted (NaN: no curve)."""
    if segment.curve is None:
        return np.full(len(quantiles), np.nan)
    return conditional_quantiles(segment.curve, np.array([-1.0]), quantiles)[0]
