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
from forecasting.errors import DelaiError
from forecasting.intake import ARRIVALS, MEAN, IntakeForecaster, daily_arrivals
from forecasting.models.base import Segment
from forecasting.models.queue_model import NEW, QueueProjection
from forecasting.models.survival import conditional_quantiles
from forecasting.schema import (
    COMPLETED_ON,
    COMPLETIONS_CAPACITY,
    DATE,
    DEFAULT_PRIORITY,
    PRIORITY,
    SEGMENT,
    STAFF,
    STAFF_HOURS,
    SUBMITTED_ON,
)
from forecasting.whatif.scenario import MAX_HORIZON_WEEKS

logger = logging.getLogger(__name__)

_F = npt.NDArray[np.float64]
_I = npt.NDArray[np.int64]
_EPOCH = date(1970, 1, 1)

# A scenario may start up to this long after the data's as-of date.
MAX_LEAD_WEEKS: Final = 52
N_DAYS: Final = 7 * (MAX_LEAD_WEEKS + MAX_HORIZON_WEEKS)
N_BLOCKS: Final = N_DAYS // 7
# Capacity is kept this far past the last day, so late files still get a completion day.
TAIL_DAYS: Final = 365
# Probability levels at which the calibration ratio's quantiles are kept.
LEVELS: Final = np.concatenate([[0.001, 0.005], np.arange(1, 100) / 100, [0.995, 0.999]])
MAX_DELAY_DAYS: Final = 120
# Recent windows: capacity and throughput level, and the year the delay is read from.
RECENT_DAYS: Final = 28
# Capacity follows last year's shape (leave, planning years) where the table covers last year:
# read in 7-day means, then a rolling median over this many weeks, so a one-off event (an
# outage) is not taken for a season; within these bounds of the level a year earlier.
YEAR_DAYS: Final = 364
SHAPE_WEEKS: Final = 5
SHAPE_BOUNDS: Final = (0.5, 1.5)
SHAPE_COVERAGE: Final = 0.9
# Days before the as-of day (itself included) the calendars and capacity tables cover.
HISTORY_DAYS: Final = YEAR_DAYS + RECENT_DAYS + 7 * SHAPE_WEEKS
DELAY_WEEKS: Final = 52
DELAY_QUANTILE: Final = 0.1
MIN_WEEK_FILES: Final = 10
# Weeks of history whose weekday means stand in for an unusable intake forecast.
FALLBACK_WEEKS: Final = 8
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
            self._paths[key] = _path_ratios(
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
    answers from the same model.
    """
    if queue_model is None or getattr(queue_model, "as_of_", None) != as_of:
        queue_model = QueueProjection(country=country).fit(
            applications, as_of=as_of, capacity=capacity
        )
    known = applications.filter(pl.col(SUBMITTED_ON) <= as_of)
    segments = sorted(
        (str(s), str(c), str(r)) for s, c, r in known.select(SEGMENT).unique().iter_rows()
    )
    if not segments:
        raise PlanningBaselineError(f"no applications submitted by {as_of} to plan from")
    today = _epoch(as_of)
    calendars = _calendars(segments, as_of, country)
    files = _segment_files(known, segments)
    per_segment = [
        _segment_state(files[key], queue_model, key, today, calendars[key[2]]) for key in segments
    ]
    capacity_rows = _capacity_levels(capacity, segments, as_of, calendars, per_segment)
    daily = daily_arrivals(known, as_of=as_of)
    intake = IntakeForecaster(country=country).fit(daily, as_of=as_of)
    arrivals, fallback = _mean_arrivals(intake, segments, daily)
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
        path_ratios=_path_ratios(intake, segments, arrivals, n_paths, seed, fallback).astype(
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


@dataclass(frozen=True)
class _Capacity:
    per_day: _F
    staff: float
    source: str


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


def _capacity_levels(
    capacity: pl.DataFrame | None,
    segments: list[Segment],
    as_of: date,
    calendars: dict[str, npt.NDArray[np.bool_]],
    states: list[_State],
) -> list[_Capacity]:
    """Capacity per future day: the table's plan where it has one, else its recent level per
    business day shaped like last year; without table rows, the measured throughput."""
    tables = _capacity_tables(capacity, as_of - timedelta(days=HISTORY_DAYS - 1))
    out = []
    for key, state in zip(segments, states, strict=True):
        business = calendars[key[2]]
        future = business[HISTORY_DAYS:].astype(np.float64)
        rows = tables.get(key)
        level, staff = (None, np.nan) if rows is None else _table_level(rows, business, state)
        if level is None or rows is None:
            out.append(_Capacity(state.throughput * future, staff, "throughput"))
            continue
        shape = _last_year_shape(rows[0, :HISTORY_DAYS], business[:HISTORY_DAYS], future.size)
        # Rows dated after the as-of day are the plan: they replace the level where given.
        planned = rows[0, HISTORY_DAYS:]
        per_day = np.where(np.isfinite(planned), planned, level * shape * future)
        out.append(_Capacity(per_day, staff, "capacity table"))
    return out


def _capacity_tables(capacity: pl.DataFrame | None, first: date) -> dict[Segment, _F]:
    """Per segment, capacity per day from `first` (files; nan where the table has no figure),
    with staff and staff hours in a second and third row."""
    if capacity is None or capacity.is_empty():
        return {}
    n_days = HISTORY_DAYS + N_DAYS + TAIL_DAYS
    frame = capacity.filter(pl.col(DATE) >= first).with_columns(
        (pl.col(DATE) - pl.lit(first)).dt.total_days().alias("_day")
    )
    frame = frame.filter(pl.col("_day") < n_days)
    out = {}
    for key, group in frame.partition_by(SEGMENT, as_dict=True).items():
        day = group.get_column("_day").to_numpy()
        block = np.full((3, n_days), np.nan)
        for i, column in enumerate((COMPLETIONS_CAPACITY, STAFF, STAFF_HOURS)):
            if column in group.columns:
                block[i, day] = group.get_column(column).cast(pl.Float64).to_numpy()
        out[(str(key[0]), str(key[1]), str(key[2]))] = block
    return out


def _table_level(
    rows: _F, business: npt.NDArray[np.bool_], state: _State
) -> tuple[float | None, float]:
    """Recent capacity per business day and staff on strength, from the table's last weeks.

    Rows with staff hours but no completions capacity are converted at the files per staff
    hour the segment completed recently.
    """
    recent = slice(HISTORY_DAYS - RECENT_DAYS, HISTORY_DAYS)
    worked = business[recent]
    files, staff, hours = rows[0, recent], rows[1, recent], rows[2, recent]
    if not np.isfinite(files[worked]).any() and np.isfinite(hours[worked]).any():
        per_hour = state.throughput / max(float(np.nanmean(hours[worked])), 1e-9)
        files = hours * per_hour
        rows[0] = rows[2] * per_hour
    known = worked & np.isfinite(files)
    level = float(files[known].mean()) if known.any() else None
    staffed = worked & np.isfinite(staff)
    return level, float(staff[staffed].mean()) if staffed.any() else np.nan


def _last_year_shape(files: _F, business: npt.NDArray[np.bool_], n_days: int) -> _F:
    """Capacity per business day on each future day, relative to the recent level, as it was
    the same weeks last year relative to the same window then; 1.0 without a year of table.

    Day i after the as-of day reads 52 weeks earlier (same weekday), in 7-day means with a
    rolling median over SHAPE_WEEKS weeks; beyond a year the shape repeats.
    """
    known = business & np.isfinite(files)
    covered = slice(HISTORY_DAYS - YEAR_DAYS - RECENT_DAYS, HISTORY_DAYS)
    if known[covered].sum() < SHAPE_COVERAGE * max(int(business[covered].sum()), 1):
        return np.ones(n_days)
    window = np.ones(7)
    total = np.convolve(np.where(known, files, 0.0), window, mode="same")
    count = np.convolve(known.astype(np.float64), window, mode="same")
    weekly = np.where(count > 0, total / np.maximum(count, 1.0), np.nan)
    then = slice(HISTORY_DAYS - YEAR_DAYS - RECENT_DAYS, HISTORY_DAYS - YEAR_DAYS)
    level = float(files[then][known[then]].mean()) if known[then].any() else np.nan
    if not np.isfinite(level) or level <= 0:
        return np.ones(n_days)
    reference = HISTORY_DAYS - YEAR_DAYS + np.arange(YEAR_DAYS)
    half = SHAPE_WEEKS // 2
    spread = reference[:, None] + 7 * np.arange(-half, half + 1)[None, :]
    around = weekly[np.clip(spread, 0, HISTORY_DAYS - 4)]
    shape = np.nanmedian(around, axis=1) / level
    shape = np.clip(np.where(np.isfinite(shape), shape, 1.0), *SHAPE_BOUNDS)
    return np.resize(shape, n_days)


def _ratio_quantiles(queue_model: QueueProjection, key: Segment) -> _F:
    """Quantiles of actual / projected time for new files, pooled segment, service, all."""
    for pool in ((*key, NEW), (key[0], NEW), (NEW,)):
        curve = queue_model.residuals_.get(pool)
        if curve is not None:
            return conditional_quantiles(curve, np.array([-1.0]), tuple(LEVELS))[0]
    raise PlanningBaselineError(
        "the queue projection has no calibration for new files (too few completed files)"
    )


def _mean_arrivals(
    intake: IntakeForecaster, segments: list[Segment], daily: pl.DataFrame
) -> tuple[_F, frozenset[Segment]]:
    """The intake forecast's daily means, and the segments where it cannot be used.

    A forecast that is not finite, or runs far above anything the segment ever received (a
    degenerate fit on a sparse segment), is replaced by the segment's mean by weekday over its
    last FALLBACK_WEEKS weeks, and the segment is listed.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        forecast = intake.predict(N_DAYS)
    out = np.zeros((len(segments), N_DAYS))
    index = {key: i for i, key in enumerate(segments)}
    for key, group in forecast.partition_by(SEGMENT, as_dict=True).items():
        row = index.get((str(key[0]), str(key[1]), str(key[2])))
        if row is not None:
            out[row] = group.sort(DATE).get_column(MEAN).to_numpy()
    histories = {
        (str(k[0]), str(k[1]), str(k[2])): g.sort(DATE).get_column(ARRIVALS).to_numpy()
        for k, g in daily.partition_by(SEGMENT, as_dict=True).items()
    }
    fallback = set()
    for i, key in enumerate(segments):
        history = histories.get(key, np.zeros(7))
        weeks = np.add.reduceat(history, np.arange(0, history.size, 7)) if history.size else [0]
        if np.all(np.isfinite(out[i])) and out[i].sum() <= 10 * max(np.max(weeks), 1) * N_BLOCKS:
            continue
        recent = history[-7 * FALLBACK_WEEKS :]
        # Weekday of each recent day, counted back from the as-of day's.
        by_weekday = np.array(
            [recent[::-1][d::7].mean() if recent[::-1][d::7].size else 0.0 for d in range(7)]
        )
        # Day i of the forecast is i + 1 days after the as-of day: weekday offset (i + 1) mod 7
        # after the as-of day's, i.e. 7 - ((i + 1) mod 7) days back in the cycle.
        back = (7 - (np.arange(N_DAYS) + 1) % 7) % 7
        out[i] = by_weekday[back]
        fallback.add(key)
    if fallback:
        logger.warning(
            "intake forecast unusable for %d segment(s); their recent weekday means are used",
            len(fallback),
        )
    return out, frozenset(fallback)


def _path_ratios(
    intake: IntakeForecaster,
    segments: list[Segment],
    arrivals: _F,
    n_paths: int,
    seed: int,
    fallback: frozenset[Segment],
) -> _F:
    """Weekly totals of sampled intake paths over the mean forecast's.

    Segments of one service share their seed, so a surge in the paths hits all its channels
    and regions together, as real surges do; services draw independently. Fallback segments
    get Poisson noise around their means.
    """
    services = sorted({key[0] for key in segments})
    mean_blocks = arrivals.reshape(len(segments), N_BLOCKS, 7).sum(axis=2)
    out = np.ones((len(segments), n_paths, N_BLOCKS))
    for i, key in enumerate(segments):
        service_seed = seed + services.index(key[0])
        blocks = None
        if key not in fallback and key in intake.segments_:
            try:
                with np.errstate(over="ignore", invalid="ignore"):
                    paths = intake.simulate_paths(key, N_DAYS, n_paths, service_seed)
                blocks = paths.reshape(n_paths, N_BLOCKS, 7).sum(axis=2)
            except ValueError:  # numpy's Poisson refuses rates a degenerate fit produces
                logger.warning("intake paths unusable for one segment; Poisson noise is used")
        if blocks is None:
            rng = np.random.default_rng(service_seed)
            blocks = rng.poisson(np.broadcast_to(mean_blocks[i], (n_paths, N_BLOCKS)))
        has_mean = mean_blocks[i] > 0
        out[i][:, has_mean] = blocks[:, has_mean] / mean_blocks[i][has_mean]
    return out


def _epoch(day: date) -> int:
    return (day - _EPOCH).days
