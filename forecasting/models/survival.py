"""Kaplan-Meier estimate of processing days that counts still-open files and conditions on waiting.

Open files are right-censored at the as-of day instead of being ignored, so a slowdown shows up
before the slow files finish; a file that has waited w days is told the conditional quantile
S(t) / S(w) <= 1 - q, never a date already passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
import polars as pl
from statsmodels.duration.survfunc import SurvfuncRight

from forecasting.models.base import ProcessingTimeModel, Segment, segment_groups, waited_days
from forecasting.schema import COMPLETED_ON, QUANTILES, SERVICE, SUBMITTED_ON


@dataclass(frozen=True)
class SurvivalCurve:
    """A right-continuous step survival function S(t) = P(duration > t)."""

    times: npt.NDArray[np.float64]
    surv: npt.NDArray[np.float64]
    mean_days: float


class KaplanMeier(ProcessingTimeModel):
    """Per-segment Kaplan-Meier on files submitted in the trailing `window_days`."""

    name = "kaplan_meier"

    def __init__(self, *, window_days: int = 365, min_events: int = 30) -> None:
        self.window_days = window_days
        self.min_events = min_events

    def _fit(
        self, applications: pl.DataFrame, *, as_of: date, capacity: pl.DataFrame | None
    ) -> None:
        cohort = applications.filter(
            pl.col(SUBMITTED_ON) > as_of - timedelta(days=self.window_days)
        ).with_columns(
            (pl.col(COMPLETED_ON).fill_null(as_of) - pl.col(SUBMITTED_ON))
            .dt.total_days()
            .alias("t"),
            pl.col(COMPLETED_ON).is_not_null().cast(pl.Int8).alias("event"),
        )
        self.curves_: dict[Segment, SurvivalCurve] = {}
        for key, group in segment_groups(cohort):
            if group.get_column("event").sum() >= self.min_events:
                self.curves_[key] = kaplan_meier(group.get_column("t"), group.get_column("event"))
        self.by_service_: dict[str, SurvivalCurve] = {
            str(key[0]): kaplan_meier(group.get_column("t"), group.get_column("event"))
            for key, group in cohort.group_by(SERVICE)
            if group.get_column("event").sum() > 0
        }

    def _predict(self, requests: pl.DataFrame) -> npt.NDArray[np.float64]:
        out = np.full((requests.height, len(QUANTILES)), np.nan)
        indexed = requests.with_row_index("_i")
        for key, group in segment_groups(indexed):
            curve = self.curves_.get(key) or self.by_service_.get(key[0])
            if curve is None:
                continue
            waited = waited_days(group.get_column(SUBMITTED_ON), self.as_of_)
            rows = group.get_column("_i").to_numpy()
            out[rows] = conditional_quantiles(curve, waited.astype(np.float64), QUANTILES)
        return out


def kaplan_meier(
    durations: pl.Series, events: pl.Series, weights: npt.NDArray[np.float64] | None = None
) -> SurvivalCurve:
    """Fit the Kaplan-Meier curve of `durations` (days) with `events` 1 = done, 0 = still open.

    Optional `weights` count some observations more than others (e.g. recent ones).
    """
    t = durations.to_numpy().astype(np.float64)
    e = events.to_numpy().astype(np.int64)
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
    curve: SurvivalCurve, waited: npt.NDArray[np.float64], quantiles: tuple[float, ...]
) -> npt.NDArray[np.float64]:
    """Quantiles of total duration given it exceeds `waited` (negative waited: unconditional).

    Beyond the last observed time the tail is extrapolated as exponential with the curve's
    average hazard, so a long wait still gets a finite, growing answer.
    """
    s_w = np.where(waited >= 0, survival_at(curve, np.maximum(waited, 0.0)), 1.0)
    targets = (1.0 - np.asarray(quantiles))[None, :] * s_w[:, None]
    # surv is non-increasing: search on its negation, which is non-decreasing.
    idx = np.searchsorted(-curve.surv, -targets, side="left")
    reached = idx < curve.times.size
    inside = curve.times[np.clip(idx, 0, curve.times.size - 1)]
    t_end = curve.times[-1] if curve.times.size else 0.0
    s_end = curve.surv[-1] if curve.surv.size else 1.0
    hazard = -np.log(s_end) / t_end if 0.0 < s_end < 1.0 and t_end > 0 else 1.0 / curve.mean_days
    with np.errstate(divide="ignore", invalid="ignore"):
        tail = t_end + np.log(np.maximum(s_end, 1e-12) / targets) / hazard
    beyond_all = (s_w <= 0.0)[:, None]
    exhausted = np.maximum(waited, 0.0)[:, None] + (-np.log(1.0 - np.asarray(quantiles))) * (
        curve.mean_days
    )
    result = np.where(reached, inside, np.maximum(tail, t_end))
    return np.where(beyond_all, exhausted, result)
