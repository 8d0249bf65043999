"""How a week's arrivals spread over its days: weekday shares, a holiday factor, day-level noise.

Learned from each segment's own counts, never from its channel's name: a mail room closed at
weekends and on holidays shows zeros there, an online service open every day shows its dip.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

_F = npt.NDArray[np.float64]
_Days = npt.NDArray[np.int64]
_Mask = npt.NDArray[np.bool_]

# Pseudo-holidays behind the holiday factor's prior (a weekend day's share), so that one odd
# holiday in a short history does not set it.
_HOLIDAY_PRIOR_WEIGHT = 2.0


@dataclass(frozen=True)
class DayProfile:
    """How a week's arrivals spread over its days."""

    weights: _F  # share of a normal week's arrivals falling on Monday .. Sunday
    holiday_factor: float  # a weekday holiday's arrivals relative to that weekday's usual
    dispersion: float  # day-level variance beyond Poisson: var = mu + dispersion * mu^2

    def exposure(self, weekday: _Days, closed: _Mask) -> _F:
        """Each day's expected share of a normal week's arrivals."""
        return self.weights[weekday] * np.where(closed, self.holiday_factor, 1.0)


def fit_day_profile(counts: _F, weekday: _Days, closed: _Mask) -> DayProfile:
    """Weekday shares and holiday factor from daily counts; `closed`: weekdays lost to holidays."""
    weights, holiday_factor = _weekday_shares(counts, weekday, closed)
    exposure = weights[weekday] * np.where(closed, holiday_factor, 1.0)
    dispersion = _within_week_dispersion(counts, exposure, counts.size // 7)
    return DayProfile(weights, holiday_factor, dispersion)


def _weekday_shares(counts: _F, weekday: _Days, closed: _Mask) -> tuple[_F, float]:
    """Each weekday's share of a normal week, and a weekday holiday's factor on its weekday.

    Without holidays to learn from, a holiday behaves like an average weekend day: zero for a
    channel closed at weekends, partial for one open every day.
    """
    normal = ~closed
    totals = np.bincount(weekday[normal], weights=counts[normal], minlength=7)
    n_days = np.bincount(weekday[normal], minlength=7)
    means = np.divide(totals, n_days, out=np.zeros(7), where=n_days > 0)
    weights = means / means.sum() if means.sum() > 0 else np.full(7, 1 / 7)
    weekday_share = weights[:5].mean()
    prior = float(np.clip(weights[5:].mean() / weekday_share, 0.0, 1.0)) if weekday_share else 1.0
    holidays = np.flatnonzero(closed)
    if holidays.size == 0:
        return weights, prior
    # What each holiday would have received as a normal day: its weekday's share of the level
    # of the normal days in the fortnight around it.
    normal_counts = np.concatenate([[0.0], np.cumsum(counts * normal)])
    normal_weights = np.concatenate([[0.0], np.cumsum(weights[weekday] * normal)])
    low, high = np.clip(holidays - 7, 0, None), np.clip(holidays + 8, None, counts.size)
    spread = normal_weights[high] - normal_weights[low]
    nearby = np.divide(
        normal_counts[high] - normal_counts[low],
        spread,
        where=spread > 0,
        out=np.zeros(holidays.size),
    )
    expected = weights[weekday[holidays]] * nearby
    pseudo = _HOLIDAY_PRIOR_WEIGHT * expected.mean()
    if expected.sum() + pseudo <= 0:
        return weights, prior
    factor = (counts[holidays].sum() + prior * pseudo) / (expected.sum() + pseudo)
    return weights, float(factor)


def _within_week_dispersion(counts: _F, exposure: _F, n_weeks: int) -> float:
    """Moment estimate of day-level overdispersion given each week's total (0 for Poisson).

    Given its week's total, a Poisson day is binomial, so its variance mu * (1 - share) is what
    is expected; anything beyond, relative to mu^2, is the negative-binomial dispersion.
    """
    if n_weeks == 0:
        return 0.0
    days = counts[counts.size - 7 * n_weeks :].reshape(n_weeks, 7)
    share = exposure[exposure.size - 7 * n_weeks :].reshape(n_weeks, 7)
    week_share = share.sum(axis=1, keepdims=True)
    share = np.divide(share, week_share, out=np.zeros_like(share), where=week_share > 0)
    mu = days.sum(axis=1, keepdims=True) * share
    denominator = float(np.sum(mu**2))
    if denominator == 0:
        return 0.0
    excess = float(np.sum((days - mu) ** 2 - mu * (1 - share)))
    return max(excess / denominator, 0.0)
