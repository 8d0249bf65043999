"""Survival curves of processing days: Kaplan-Meier fits and quantiles conditional on waiting.

Open files are right-censored at the as-of day instead of being ignored, so a slowdown shows up
before the slow files finish; a file that has waited w days is told the conditional quantile
S(t) / S(w) <= 1 - q, never a date already passed. Pure maths on arrays, below both the models
and the segment features that use it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import polars as pl

_I = npt.NDArray[np.int64]


@dataclass(frozen=True)
class SurvivalCurve:
    """A right-continuous step survival function S(t) = P(duration > t)."""

    times: npt.NDArray[np.float64]
    surv: npt.NDArray[np.float64]
    mean_days: float


def kaplan_meier(
    durations: pl.Series, events: pl.Series, weights: npt.NDArray[np.float64] | None = None
) -> SurvivalCurve:
    """Fit the Kaplan-Meier curve of `durations` (days) with `events` 1 = done, 0 = still open.

    Optional `weights` count some observations more than others (e.g. recent ones).
    """
    t = durations.to_numpy().astype(np.float64)
    e = events.to_numpy().astype(np.int64)
    # Here, not at the top: a fitted model answers without statsmodels (see local_registry).
    from statsmodels.duration.survfunc import SurvfuncRight

    fitted = SurvfuncRight(t, e, freq_weights=weights)
    done = t[e == 1]
    return SurvivalCurve(
        times=np.asarray(fitted.surv_times, dtype=np.float64),
        surv=np.asarray(fitted.surv_prob, dtype=np.float64),
        mean_days=float(done.mean()) if done.size else float(t.mean() + 1.0),
    )


def survival_at(curve: SurvivalCurve, t: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """S(t) for each t: the survival just after the last event time <= t."""
    if curve.times.size == 0:
        return np.ones_like(t)
    idx = np.searchsorted(curve.times, t, side="right") - 1
    return np.where(idx >= 0, curve.surv[np.clip(idx, 0, None)], 1.0)


def conditional_quantiles(
    curve: SurvivalCurve,
    waited: npt.NDArray[np.float64],
    quantiles: tuple[float, ...] | npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Quantiles of total duration given it exceeds `waited` (negative waited: unconditional).

    `quantiles` is one tuple for every row, or an array (rows, quantiles) of each row's own
    levels: a proportional-hazards curve S0(t)^r asks S0 for level 1 - (1 - q)^(1/r).
    Beyond the last observed time the tail is extrapolated as exponential with the curve's
    average hazard, so a long wait still gets a finite, growing answer.
    """
    levels = np.asarray(quantiles, dtype=np.float64)
    levels = levels[None, :] if levels.ndim == 1 else levels
    s_w = np.where(waited >= 0, survival_at(curve, np.maximum(waited, 0.0)), 1.0)
    targets = (1.0 - levels) * s_w[:, None]
    # surv is non-increasing: search on its negation, which is non-decreasing.
    idx = np.searchsorted(-curve.surv, -targets, side="left")
    reached = idx < curve.times.size
    inside = curve.times[np.clip(idx, 0, curve.times.size - 1)]
    t_end = curve.times[-1] if curve.times.size else 0.0
    s_end = curve.surv[-1] if curve.surv.size else 1.0
    hazard = -np.log(s_end) / t_end if 0.0 < s_end < 1.0 and t_end > 0 else 1.0 / curve.mean_days
    # A wait past the last observed time is in the tail too: S(w) = s_end e^(-hazard (w - t_end)),
    # so the answer is w plus the tail's quantile, never a day the file has already waited.
    beyond = np.maximum(waited - t_end, 0.0)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        tail = t_end + beyond + np.log(np.maximum(s_end, 1e-12) / targets) / hazard
    beyond_all = (s_w <= 0.0)[:, None]
    exhausted = np.maximum(waited, 0.0)[:, None] + (-np.log(1.0 - levels)) * curve.mean_days
    result = np.where(reached, inside, np.maximum(tail, t_end))
    return np.where(beyond_all, exhausted, result)


def counted_kaplan_meier(days: _I, done: npt.NDArray[np.bool_], files: _I) -> SurvivalCurve:
    """Kaplan-Meier from distinct (days, done) pairs and the number of files sharing each: the
    curve of the files one by one, fitted in the time of the distinct pairs.
    """
    curve = kaplan_meier(pl.Series(days), pl.Series(done.astype(np.int8)), files.astype(np.float64))
    finished = files[done]
    # The tail extrapolation uses the mean processing days, which must count every file too.
    mean = (
        float(np.average(days[done], weights=finished))
        if finished.sum()
        else float(np.average(days, weights=files)) + 1.0
    )
    return replace(curve, mean_days=mean)
