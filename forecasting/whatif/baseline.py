"""The planning baseline: everything a what-if needs from the data as of a day, built at training.

Per segment it holds the open files (split into those still in their unavoidable delay and those
queueing for capacity), capacity per day (the capacity table's recent level and plan, or the
measured throughput), the statsmodels intake forecast (mean and sample paths), and the queue
projection's calibration of its errors. A what-if then only does array arithmetic on it.

The delay is the time a file takes when nobody is ahead of it (mail transit, handling, rework):
more staff cannot shorten it, and it keeps a floor under the open files that a plain queue would
drain to zero. It is read from the weeks in the last year whose completed files took least time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import polars as pl

from forecasting.calendar import business_calendar
from forecasting.dates import epoch_day
from forecasting.errors import DelaiError
from forecasting.intake import IntakeForecaster, daily_arrivals
from forecasting.models.base import Segment
from forecasting.models.queue_model import NEW, QueueProjection
from forecasting.schema import COMPLETED_ON, DEFAULT_PRIORITY, PRIORITY, SEGMENT, SUBMITTED_ON
from forecasting.survival_curve import conditional_quantiles
from forecasting.whatif.arrivals import mean_arrivals, path_ratios
from forecasting.whatif.capacity import capacity_levels
from forecasting.whatif.horizon import (
    HISTORY_DAYS,
    N_DAYS,
    RECENT_DAYS,
    TAIL_DAYS,
)

logger = logging.getLogger(__name__)

_F = npt.NDArray[np.float64]
_I = npt.NDArray[np.int64]
# Probability levels at which the calibration ratio's quantiles are kept.
LEVELS: Final = np.concatenate([[0.001, 0.005], np.arange(1, 100) / 100, [0.995, 0.999]])
MAX_DELAY_DAYS: Final = 120
# The year the delay is read from, in weeks with enough completed files.
DELAY_WEEKS: Final = 52
DELAY_QUANTILE: Final = 0.1
MIN_WEEK_FILES: Final = 10
# The queue projection's rule for files open far longer than anything recent took.
STALE_FACTOR: Final = 1.5
MIN_STALE_DAYS: Final = 60


class PlanningBaselineError(DelaiError):
    """The data cannot support what-ifs (no completed files to learn from, say)."""


@dataclass(eq=False)
class PlanningBaseline:
    """The state and forecasts a what-if starts from; day i of the arrays is as_of + 1 + i."""

    as_of: date
    segments: list[Segment]
    has_staff: bool
    country: str
    capacity_source: list[str]  # per segment: "capacity table" or "throughput"
    in_system: _F  # files open at the as-of day
    queue: _F  # of which past their delay: waiting for capacity
    delay_days: _I
    pipeline: _F  # (segments, MAX_DELAY_DAYS): open files whose delay ends on each day
    scale_days: _F  # the queue projection's offset for ratios of short waits
    ratio_quantiles: _F  # (segments, LEVELS): actual / projected wait of new files
    staff: _F  # full-time staff on strength (nan when unknown)
    arrivals: _F  # (segments, N_DAYS): mean daily intake forecast
    capacity: _F  # (segments, N_DAYS + TAIL_DAYS): files that can be completed per day
    business: npt.NDArray[np.bool_]  # (segments, N_DAYS + TAIL_DAYS)
    path_ratios: npt.NDArray[np.float16]  # (segments, paths, N_BLOCKS): path / mean, by week
    path_seed: int
    intake: IntakeForecaster = field(repr=False)
    fallback: frozenset[Segment]  # segments whose intake is their recent weekday means instead
    _paths: dict[tuple[int, int], npt.NDArray[np.float32]] = field(default_factory=dict, repr=False)

    @property
    def end(self) -> date:
        """The last day the baseline can simulate."""
        return self.as_of + timedelta(days=N_DAYS)

    def intake_paths(self, n_paths: int, seed: int) -> npt.NDArray[np.floating[Any]]:
        """Sampled intake as a ratio to the mean forecast, shape (segments, paths, N_BLOCKS).

        The paths drawn at training time are reused; other seeds or more paths are drawn once
        (about a second) and kept for later runs in this process.
        """
        if seed == self.path_seed and n_paths <= self.path_ratios.shape[1]:
            return self.path_ratios[:, :n_paths]
        key = (n_paths, seed)
        if key not in self._paths:
            self._paths[key] = path_ratios(
                self.intake, self.segments, self.arrivals, n_paths, seed, self.fallback
            ).astype(np.float32)
        return self._paths[key]

    def __getstate__(self) -> dict[str, Any]:
        # Paths drawn on request are a cache, not part of the fitted state.
        state = dict(self.__dict__)
        state["_paths"] = {}
        return state


def build_planning_baseline(
    applications: pl.DataFrame,
    *,
    as_of: date,
    capacity: pl.DataFrame | None = None,
    queue_model: QueueProjection | None = None,
    country: str = "CA",
    n_paths: int = 200,
    seed: int = 0,
) -> PlanningBaseline:
    """The baseline from `applications` known at `as_of` (every priority) and the capacity table.

    `queue_model` is a QueueProjection fitted at the same day (one is fitted when absent): its
    calibration ratios and throughput estimate are reused, so planners and applicants see
    answers from the same model. Its ratios are learned on the bare reach of the queue
    (`handling_quantile=None`), as they were when the what-ifs were validated: the delay stage
    here models handling its own way, and ratios learned on the served projection's floored
    waits took the passport surge's week +8 P80 from -12 % to -17 % of the truth
    (`make bench-whatif`, 2026-11-29). A served model with the floor is refitted without it;
    throughput and scale come out the same.
    """
    if (
        queue_model is None
        or getattr(queue_model, "as_of_", None) != as_of
        or queue_model.handling_quantile is not None
    ):
        queue_model = QueueProjection(country=country, handling_quantile=None).fit(
            applications, as_of=as_of, capacity=capacity
        )
    known = applications.filter(pl.col(SUBMITTED_ON) <= as_of)
    segments = sorted(
        (str(s), str(c), str(r)) for s, c, r in known.select(SEGMENT).unique().iter_rows()
    )
    if not segments:
        raise PlanningBaselineError(f"no applications submitted by {as_of} to plan from")
    today = epoch_day(as_of)
    calendars = _calendars(segments, as_of, country)
    files = _segment_files(known, segments)
    per_segment = [
        _segment_state(files[key], queue_model, key, today, calendars[key[2]]) for key in segments
    ]
    capacity_rows = capacity_levels(
        capacity, segments, as_of, calendars, [state.throughput for state in per_segment]
    )
    daily = daily_arrivals(known, as_of=as_of)
    intake = IntakeForecaster(country=country).fit(daily, as_of=as_of)
    arrivals, fallback = mean_arrivals(intake, segments, daily)
    n_segments = len(segments)
    pipeline = np.zeros((n_segments, MAX_DELAY_DAYS))
    for i, state in enumerate(per_segment):
        pipeline[i] = state.pipeline
    staff = np.array([row.staff for row in capacity_rows])
    return PlanningBaseline(
        as_of=as_of,
        segments=segments,
        has_staff=bool(np.all(np.isfinite(staff) & (staff > 0))),
        country=country,
        capacity_source=[row.source for row in capacity_rows],
        in_system=np.array([s.in_system for s in per_segment], dtype=np.float64),
        queue=np.array([s.queue for s in per_segment], dtype=np.float64),
        delay_days=np.array([s.delay for s in per_segment], dtype=np.int64),
        pipeline=pipeline,
        scale_days=np.array([s.scale for s in per_segment]),
        ratio_quantiles=np.stack([_ratio_quantiles(queue_model, key) for key in segments]),
        staff=staff,
        arrivals=arrivals,
        capacity=np.stack([row.per_day for row in capacity_rows]),
        business=np.stack([calendars[key[2]][HISTORY_DAYS:] for key in segments]),
        path_ratios=path_ratios(intake, segments, arrivals, n_paths, seed, fallback).astype(
            np.float16
        ),
        fallback=fallback,
        path_seed=seed,
        intake=intake,
    )


def planning_baseline_or_none(
    applications: pl.DataFrame,
    *,
    as_of: date,
    capacity: pl.DataFrame | None,
    queue_model: QueueProjection | None,
    country: str,
) -> PlanningBaseline | None:
    """`build_planning_baseline`, or None (with a warning) when the data cannot support it."""
    try:
        return build_planning_baseline(
            applications, as_of=as_of, capacity=capacity, queue_model=queue_model, country=country
        )
    except (DelaiError, ValueError, np.linalg.LinAlgError) as exc:
        logger.warning("no planning baseline for what-ifs: %s", exc)
        return None


@dataclass(frozen=True)
class _Files:
    submitted: _I
    completed: _I  # -1 while open
    regular: npt.NDArray[np.bool_]


@dataclass(frozen=True)
class _State:
    in_system: int
    queue: float
    delay: int
    pipeline: _F
    scale: float
    throughput: float  # files completed per business day, every priority


def _segment_files(known: pl.DataFrame, segments: list[Segment]) -> dict[Segment, _Files]:
    columns = known.select(
        *SEGMENT,
        pl.col(SUBMITTED_ON).cast(pl.Int64),
        pl.col(COMPLETED_ON).cast(pl.Int64).fill_null(-1),
        (pl.col(PRIORITY) == DEFAULT_PRIORITY).fill_null(True).alias(PRIORITY),
    )
    out = {}
    for key, group in columns.partition_by(SEGMENT, as_dict=True).items():
        out[(str(key[0]), str(key[1]), str(key[2]))] = _Files(
            group.get_column(SUBMITTED_ON).to_numpy(),
            group.get_column(COMPLETED_ON).to_numpy(),
            group.get_column(PRIORITY).to_numpy(),
        )
    return {key: out[key] for key in segments}


def _calendars(
    segments: list[Segment], as_of: date, country: str
) -> dict[str, npt.NDArray[np.bool_]]:
    """Business days of each region from HISTORY_DAYS before the as-of day (index
    HISTORY_DAYS - 1 is the as-of day) to the tail's end."""
    first = as_of - timedelta(days=HISTORY_DAYS - 1)
    last = as_of + timedelta(days=N_DAYS + TAIL_DAYS)
    return {
        region: np.asarray(business_calendar(region, first, last, country=country).is_business)
        for region in sorted({key[2] for key in segments})
    }


def _segment_state(
    files: _Files,
    queue_model: QueueProjection,
    key: Segment,
    today: int,
    business: npt.NDArray[np.bool_],
) -> _State:
    # Completions after the as-of day are unknown then (callers pass `as_known_at` data).
    done = (files.completed >= 0) & (files.completed <= today)
    took = files.completed - files.submitted
    recent = done & (files.completed > today - 365)
    stale_after = (
        max(STALE_FACTOR * float(np.quantile(took[recent], 0.99)), MIN_STALE_DAYS)
        if recent.any()
        else 10**6
    )
    is_open = ~done & (files.submitted > today - stale_after)
    delay = _delay(files.completed[done], took[done], today)
    # The delay stage holds what the last `delay` days brought, as it will on every later day
    # (files finishing early and files in rework beyond it balance out, as in Little's law);
    # the queue is the rest of the open files. Ages index the day each leaves the delay.
    ages = today - files.submitted[files.submitted > today - delay]
    pipeline = np.bincount(delay - ages - 1, minlength=MAX_DELAY_DAYS)[:MAX_DELAY_DAYS].astype(
        np.float64
    )
    in_system = int(is_open.sum())
    if pipeline.sum() > in_system:
        # Fewer open than the delay would hold: no queue, and the stage as full as the open.
        pipeline *= in_system / pipeline.sum()
    last_month = done & (files.completed > today - RECENT_DAYS)
    business_days = int(business[HISTORY_DAYS - RECENT_DAYS : HISTORY_DAYS].sum())
    fitted = queue_model.segments_state_.get(key)
    if fitted is not None and np.count_nonzero(last_month & files.regular):
        # The queue projection's pace counts regular files; every priority uses the same staff.
        share = np.count_nonzero(last_month) / np.count_nonzero(last_month & files.regular)
        throughput = fitted.state.throughput * share
        scale = fitted.state.scale
    else:
        throughput = np.count_nonzero(last_month) / max(business_days, 1)
        scale = max(float(np.median(took[recent])), 1.0) if recent.any() else 7.0
    return _State(
        in_system=in_system,
        queue=float(in_system - pipeline.sum()),
        delay=delay,
        pipeline=pipeline,
        scale=float(scale),
        throughput=float(throughput),
    )


def _delay(completed: _I, took: _I, today: int) -> int:
    """Days a file takes with no queue ahead: a low quantile of the weekly mean processing time
    of files completed in each of the last DELAY_WEEKS weeks.

    In a week when the queue was short, completed files took about the unavoidable delay; the
    mean (not the median) counts the rework that keeps some files open for weeks.
    """
    window = completed > today - 7 * DELAY_WEEKS
    if not window.any():
        return int(min(np.median(took), MAX_DELAY_DAYS)) if took.size else 0
    week = (today - completed[window]) // 7
    counts = np.bincount(week, minlength=DELAY_WEEKS)
    sums = np.bincount(week, weights=took[window].astype(np.float64), minlength=DELAY_WEEKS)
    full = counts >= MIN_WEEK_FILES
    means = sums[full] / counts[full] if full.any() else np.array([took[window].mean()])
    return int(np.clip(np.round(np.quantile(means, DELAY_QUANTILE)), 0, MAX_DELAY_DAYS))


def _ratio_quantiles(queue_model: QueueProjection, key: Segment) -> _F:
    """Quantiles of actual / projected time for new files, pooled segment, service, all."""
    for pool in ((*key, NEW), (key[0], NEW), (NEW,)):
        curve = queue_model.residuals_.get(pool)
        if curve is not None:
            return conditional_quantiles(curve, np.array([-1.0]), tuple(LEVELS))[0]
    raise PlanningBaselineError(
        "the queue projection has no calibration for new files (too few completed files)"
    )
