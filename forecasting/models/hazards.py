"""Cox proportional hazards per service: channel, region and the queue in front of each file.

One statsmodels `PHReg` per service pools its channels and regions, so a sparse segment borrows
the service's baseline and differs from it only by its indicators' hazard ratios (a level with
fewer than `min_events` completions is pooled into the reference). Files submitted in the
trailing `window_days` enter right-censored at the as-of day. The queue covariate is log(1 + days
of work ahead) of a file on its submission day, as its segment stood at the end of that day: its
open files over its completions per day in the `queue_days` before. A file not yet submitted gets
the segment's queue at the as-of day, the latest known. The hazard ratio is not extrapolated past
the queues the fit saw. `queue_strata` > 1 also gives files of short and long queues baselines of
their own (a FIFO queue shifts durations more than it scales hazards); it is off by default: on
a log whose queue grows with calendar time, the longest-queue stratum is the most recent one and
its baseline the least followed up (see experiments/compare_phreg.py for the measured trade-off).

With r = exp(x.b), S(t | x) = S0(t)^r, so the quantile q of a file that has waited w days is the
baseline's conditional quantile at level 1 - (1 - q)^(1/r): the survival curve's own maths
(`survival_curve.conditional_quantiles`), tail extrapolation included, since an exponential tail
of S0 is an exponential tail of S0^r with r times the hazard.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
import polars as pl

from forecasting.dates import epoch_day
from forecasting.errors import DelaiError
from forecasting.models.base import ProcessingTimeModel, Segment, segment_groups, waited_days
from forecasting.schema import CHANNEL, COMPLETED_ON, QUANTILES, REGION, SERVICE, SUBMITTED_ON
from forecasting.survival_curve import SurvivalCurve, conditional_quantiles

_F = npt.NDArray[np.float64]
_I = npt.NDArray[np.int64]
_B = npt.NDArray[np.bool_]
_T, _EVENT, _QUEUE = "_t", "_event", "_queue"
# exp(x.b) beyond e^±20 would push the baseline's level to 0 or 1 in floating point.
_MAX_LINEAR = 20.0


@dataclass(frozen=True)
class ServiceFit:
    """One service's fitted hazard: indicator levels, coefficients and baseline survivals."""

    channels: tuple[str, ...]  # levels with an indicator; the others share the reference
    regions: tuple[str, ...]
    uses_queue: bool  # log(1 + days of work ahead) is a covariate
    queue_center: float  # its mean in the sample, subtracted
    queue_range: tuple[float, float]  # its least and greatest in the sample
    queue_edges: _F  # inner edges of the queue strata in log(1 + days of work ahead)
    params: _F  # channels, then regions, then the queue, as in `design`
    baselines: tuple[SurvivalCurve, ...]  # S0 per queue stratum: reference levels, mean queue
    files: int  # files the fit used, after sampling
    events: int

    def design(self, files: pl.DataFrame, queue_days: _F) -> _F:
        """The covariate matrix of files, columns in the order of `params`."""
        center = self.queue_center if self.uses_queue else None
        # The hazard ratio is not extrapolated past the queues the fit has seen.
        seen = np.clip(np.log1p(queue_days), *self.queue_range)
        return _design(files, np.expm1(seen), self.channels, self.regions, center)

    def stratum(self, queue_days: _F) -> _I:
        """Each file's queue stratum, an index into `baselines`."""
        return np.searchsorted(self.queue_edges, np.log1p(queue_days), side="right")


class ProportionalHazards(ProcessingTimeModel):
    """Per-service Cox regression on channel, region and days of work ahead at submission."""

    name = "proportional_hazards"

    def __init__(
        self,
        *,
        window_days: int = 365,
        queue_days: int = 28,
        min_events: int = 30,
        max_files: int = 20_000,
        use_queue: bool = True,
        queue_strata: int = 1,
        random_state: int = 0,
    ) -> None:
        self.window_days = window_days
        self.queue_days = queue_days
        self.min_events = min_events
        self.max_files = max_files
        self.use_queue = use_queue
        self.queue_strata = queue_strata
        self.random_state = random_state

    def _fit(
        self, applications: pl.DataFrame, *, as_of: date, capacity: pl.DataFrame | None
    ) -> None:
        today = epoch_day(as_of)
        # Callers pass data as known at as_of; cut again so a later completion cannot leak in.
        known = applications.filter(pl.col(SUBMITTED_ON) <= as_of).with_columns(
            pl.when(pl.col(COMPLETED_ON) <= as_of).then(pl.col(COMPLETED_ON)).alias(COMPLETED_ON)
        )
        first = known.get_column(SUBMITTED_ON).min()
        first_day = epoch_day(first) if isinstance(first, date) else today
        self.first_day_ = first_day
        self.queues_: dict[Segment, _F] = {}
        parts = []
        since = as_of - timedelta(days=self.window_days)
        for key, group in segment_groups(known):
            submitted = group.get_column(SUBMITTED_ON).cast(pl.Int64).to_numpy()
            completed = group.get_column(COMPLETED_ON).cast(pl.Int64).fill_null(-1).to_numpy()
            queue = _days_of_work_ahead(submitted, completed, first_day, today, self.queue_days)
            self.queues_[key] = queue
            parts.append(
                group.with_columns(pl.Series(_QUEUE, queue[submitted - first_day]))
                .filter(pl.col(SUBMITTED_ON) > since)
                .select(SERVICE, CHANNEL, REGION, SUBMITTED_ON, COMPLETED_ON, _QUEUE)
            )
        cohort = (
            pl.concat(parts).with_columns(
                (pl.col(COMPLETED_ON).fill_null(as_of) - pl.col(SUBMITTED_ON))
                .dt.total_days()
                .cast(pl.Float64)
                .alias(_T),
                pl.col(COMPLETED_ON).is_not_null().cast(pl.Int8).alias(_EVENT),
            )
            if parts
            else pl.DataFrame()
        )
        self.services_: dict[str, ServiceFit] = {}
        if cohort.height:
            # A fixed order, so the sample drawn from it is the same on every run.
            ordered = cohort.sort(SERVICE, CHANNEL, REGION, SUBMITTED_ON, _T, _EVENT)
            for (service,), files in ordered.group_by(SERVICE, maintain_order=True):
                fitted = self._fit_service(str(service), files)
                if fitted is not None:
                    self.services_[str(service)] = fitted
        if not self.services_:
            raise DelaiError(
                f"{type(self).__name__} needs at least one service with a completed file "
                f"submitted in the {self.window_days} days to {as_of}, got none"
            )

    def _fit_service(self, service: str, files: pl.DataFrame) -> ServiceFit | None:
        """The service's Cox fit on a sample of its files (None: no completion to learn from)."""
        events = int(files.get_column(_EVENT).sum())
        if events == 0:
            return None
        if files.height > self.max_files:
            rng = np.random.default_rng([self.random_state, files.height])
            files = files[np.sort(rng.choice(files.height, self.max_files, replace=False))]
        done = files.filter(pl.col(_EVENT) == 1)
        # Too few completions to estimate a hazard ratio: the level shares the reference's.
        channels = _indicator_levels(done.get_column(CHANNEL), self.min_events)
        regions = _indicator_levels(done.get_column(REGION), self.min_events)
        queue = files.get_column(_QUEUE).to_numpy()
        log_queue = np.log1p(queue)
        enough = done.height >= self.min_events and np.ptp(log_queue) > 0
        uses_queue = self.use_queue and enough
        center = float(log_queue.mean()) if uses_queue else None
        exog = _design(files, queue, channels, regions, center)
        t = files.get_column(_T).to_numpy()
        status = files.get_column(_EVENT).to_numpy().astype(np.int64)
        edges, stratum = _queue_strata(
            log_queue, status, self.queue_strata if enough else 1, self.min_events
        )
        params, curves = _cox(t, status, exog, stratum)
        if not np.all(np.isfinite(params)):
            raise DelaiError(
                f"{type(self).__name__}: the Cox fit of service {service} did not converge "
                f"({files.height} files, {done.height} completed); fit it on a longer history"
            )
        return ServiceFit(
            channels=channels,
            regions=regions,
            uses_queue=uses_queue,
            queue_center=center or 0.0,
            queue_range=(float(log_queue.min()), float(log_queue.max())),
            queue_edges=edges,
            params=params,
            baselines=tuple(curves[_nearest(curves, k)] for k in range(edges.size + 1)),
            files=files.height,
            events=done.height,
        )

    def _predict(self, requests: pl.DataFrame) -> _F:
        out = np.full((requests.height, len(QUANTILES)), np.nan)
        indexed = requests.with_row_index("_i")
        today = epoch_day(self.as_of_)
        for (service,), group in indexed.group_by(SERVICE):
            fitted = self.services_.get(str(service))
            if fitted is None:
                continue
            submitted = group.get_column(SUBMITTED_ON).cast(pl.Int64).to_numpy()
            queue = self._queue_at(group, np.minimum(submitted, today))
            linear = np.clip(fitted.design(group, queue) @ fitted.params, -_MAX_LINEAR, _MAX_LINEAR)
            levels = baseline_levels(QUANTILES, np.exp(linear))
            waited = waited_days(group.get_column(SUBMITTED_ON), self.as_of_).astype(np.float64)
            rows = group.get_column("_i").to_numpy()
            stratum = fitted.stratum(queue)
            for k, baseline in enumerate(fitted.baselines):
                own = stratum == k
                if own.any():
                    out[rows[own]] = conditional_quantiles(baseline, waited[own], levels[own])
        return out

    def _queue_at(self, files: pl.DataFrame, days: _I) -> _F:
        """Days of work ahead in each file's segment at the end of `days` (epoch days)."""
        queue = np.zeros(files.height)
        indexed = files.with_row_index("_j")
        for key, group in segment_groups(indexed):
            rows = group.get_column("_j").to_numpy()
            own = self.queues_[key]
            queue[rows] = own[np.clip(days[rows] - self.first_day_, 0, own.size - 1)]
        return queue


def baseline_levels(quantiles: tuple[float, ...], ratio: _F) -> _F:
    """Per file, the levels of S0 that are quantiles `quantiles` of S0^ratio: 1 - (1-q)^(1/r)."""
    q = np.asarray(quantiles, dtype=np.float64)[None, :]
    levels = -np.expm1(np.log1p(-q) / ratio[:, None])
    # A level of 1 would ask S0 for a survival of exactly 0, which Breslow's S0 never reaches.
    return np.minimum(levels, 1.0 - 1e-12)


def _design(
    files: pl.DataFrame,
    queue_days: _F,
    channels: tuple[str, ...],
    regions: tuple[str, ...],
    queue_center: float | None,
) -> _F:
    """Channel and region indicators, then log(1 + days of work ahead) less `queue_center`
    (left out when None)."""
    channel, region = files.get_column(CHANNEL), files.get_column(REGION)
    columns = [(channel == c).to_numpy().astype(np.float64) for c in channels]
    columns += [(region == r).to_numpy().astype(np.float64) for r in regions]
    if queue_center is not None:
        columns.append(np.log1p(queue_days) - queue_center)
    return np.column_stack(columns) if columns else np.zeros((files.height, 0))


def _days_of_work_ahead(
    submitted: _I, completed: _I, first_day: int, today: int, window: int
) -> _F:
    """Per day from `first_day` to `today`: files open at its end over completions per day in
    the `window` days to it (one completion added, so an idle queue is long, not infinite).

    `completed` is -1 for a file still open at `today`.
    """
    days = today - first_day + 1
    arrived = np.cumsum(np.bincount(submitted - first_day, minlength=days)[:days])
    finished = completed[completed >= 0] - first_day
    left = np.cumsum(np.bincount(finished, minlength=days)[:days])
    recent = left - np.concatenate([np.zeros(window, dtype=left.dtype), left])[:days]
    # The first days of the data have less than a window behind them.
    span = np.minimum(np.arange(1, days + 1), window)
    return (arrived - left) / ((recent + 1.0) / span)


def _indicator_levels(done: pl.Series, min_events: int) -> tuple[str, ...]:
    """Levels with at least `min_events` completions, less the most completed (the reference)."""
    counts = done.value_counts(sort=True)
    names = [str(v) for v, n in counts.iter_rows() if n >= min_events]
    return tuple(sorted(names[1:]))


def _cox(t: _F, status: _I, exog: _F, stratum: _I) -> tuple[_F, dict[int, SurvivalCurve]]:
    """Breslow partial-likelihood coefficients (none without covariates) and, per stratum with
    an event, the right-continuous baseline survival S0(t) = P(T > t | x = 0) at its event times.

    PHReg's `baseline_cumulative_hazard` gives at each event time the hazard accumulated before
    it (its own events excluded): shifted one step, and the last step's events added, it is
    the cumulative hazard up to and including each time, which `SurvivalCurve` expects.
    """
    covariates = exog.shape[1] > 0
    # Here, not at the top: a fitted model answers without statsmodels (see local_registry).
    from statsmodels.duration.hazard_regression import PHReg

    # Without covariates a zero column with a zero coefficient gives the Breslow baseline.
    model = PHReg(
        t,
        exog if covariates else np.zeros((t.size, 1)),
        status=status,
        strata=stratum,
        ties="breslow",
    )
    params = np.asarray(model.fit().params, dtype=np.float64) if covariates else np.zeros(0)
    if not np.all(np.isfinite(params)):
        return params, {}
    risk = np.exp(exog @ params)
    labels = model.surv.stratum_names  # the strata with an event, in the order of the curves
    curves = {}
    for label, (times, before, _) in zip(
        labels, model.baseline_cumulative_hazard(params if covariates else np.zeros(1)), strict=True
    ):
        own = stratum == label
        times = np.asarray(times, dtype=np.float64)
        before = np.asarray(before, dtype=np.float64)
        last = times[-1]
        at_last = float(np.count_nonzero(own & (t == last) & (status == 1)))
        at_risk = float(risk[own & (t >= last)].sum())
        cumulative = np.append(before[1:], before[-1] + at_last / at_risk)
        done = own & (status == 1)
        curves[int(label)] = SurvivalCurve(
            times, np.exp(-cumulative), max(float(t[done].mean()), 1.0)
        )
    return params, curves


def _queue_strata(log_queue: _F, status: _I, most: int, min_events: int) -> tuple[_F, _I]:
    """Inner edges of up to `most` strata of equal files by queue, as many as leave each with
    `min_events` completions, and each file's stratum."""
    for strata in range(max(most, 1), 0, -1):
        edges = np.unique(np.quantile(log_queue, np.arange(1, strata) / strata))
        stratum = np.searchsorted(edges, log_queue, side="right")
        events = np.bincount(stratum, weights=status, minlength=edges.size + 1)
        if strata == 1 or events.min() >= min_events:
            return edges, stratum
    raise AssertionError("unreachable: one stratum is always accepted")


def _nearest(curves: dict[int, SurvivalCurve], stratum: int) -> int:
    """The stratum itself if it has a curve, else the nearest one that has."""
    return min(curves, key=lambda k: (abs(k - stratum), k))
