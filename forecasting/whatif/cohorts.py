"""Processing times of each week's applications, from projected waits and calibrated ratios.

The queue projection learned how actual time relates to projected time for new files:
actual + s = (projected + s) x R, with R drawn from its calibration curve and s the segment's
offset. A week's applications are described by their arrival-weighted (projected + s), so the
share done within T days is P(R <= (T + s) / base) and the P50 and P80 are base x R's quantiles
minus s. Totals mix the segments, weighted by arrivals: their share done within T days is
computed on a grid of T and inverted. Business days count on each segment's regional calendar,
and a file is "within N business days" when done by the N-th business day after submission.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from forecasting.whatif.baseline import LEVELS
from forecasting.whatif.scenario import ServiceStandard

_F = npt.NDArray[np.float64]
_I = npt.NDArray[np.int64]
# Processing times are capped here (as the queue projection caps its projections).
MAX_DAYS = 5 * 365.0
# Halvings of [0, MAX_DAYS] (to 0.1 days) where the totals' share-done curve crosses a level.
_BISECTIONS = 14


@dataclass(frozen=True)
class Ratios:
    """The plan's segments' calibration (ratio quantiles at LEVELS, offsets) and calendars."""

    quantiles: _F  # (segments, LEVELS)
    scale: _F  # (segments,)
    business: npt.NDArray[np.bool_]  # (segments, days): day 0 is the day after the as-of date
    r50: _F = field(init=False)
    r80: _F = field(init=False)
    prefix: _F = field(init=False)  # prefix[s, i]: business days among days 0 .. i - 1
    business_days: _I = field(init=False)  # (segments, n): indices of business days, padded
    _stacked: _F = field(init=False)  # ratio quantiles of every segment, end to end
    _stride: float = field(init=False)

    def __post_init__(self) -> None:
        at = {
            q: np.array([np.interp(q, LEVELS, row) for row in self.quantiles]) for q in (0.5, 0.8)
        }
        object.__setattr__(self, "r50", at[0.5])
        object.__setattr__(self, "r80", at[0.8])
        counts = np.cumsum(self.business, axis=-1, dtype=np.float64)
        object.__setattr__(
            self, "prefix", np.concatenate([np.zeros((self.business.shape[0], 1)), counts], -1)
        )
        n_days = self.business.shape[1]
        width = int(self.business.sum(axis=1).max(initial=0))
        offsets = np.full((self.business.shape[0], width + 1), n_days, dtype=np.int64)
        for s, row in enumerate(self.business):
            found = np.flatnonzero(row)
            offsets[s, : found.size] = found
        object.__setattr__(self, "business_days", offsets)
        # Each segment's quantiles shifted past the previous one's: one search serves them all.
        span = float(np.ptp(self.quantiles, axis=1).max(initial=0.0)) + 1.0
        rows = np.arange(len(self.quantiles))[:, None]
        stacked = self.quantiles - self.quantiles[:, :1] + span * rows
        object.__setattr__(self, "_stacked", stacked.ravel())
        object.__setattr__(self, "_stride", span)

    def subset(self, rows: _I) -> Ratios:
        return Ratios(self.quantiles[rows], self.scale[rows], self.business[rows])

    def done_by(self, days: _F, base: _F, axis: int = 1) -> _F:
        """P(a file is done within `days` calendar days) given its segment's `base`; arrays
        broadcast with the segments on `axis`: the ratio's CDF, interpolated linearly."""
        ndim = max(np.ndim(days), np.ndim(base))
        shape = (1,) * axis + (-1,) + (1,) * (ndim - axis - 1)
        first = self.quantiles[:, 0].reshape(shape)
        last = self.quantiles[:, -1].reshape(shape)
        x = (days + self.scale.reshape(shape)) / base
        row = np.arange(len(self.quantiles)).reshape(shape)
        n = LEVELS.size
        position = np.clip(x, first, last) - first + self._stride * row
        index = np.searchsorted(self._stacked, position, side="right") - 1
        index = np.clip(index, row * n, row * n + n - 2)
        low = self._stacked[index]
        step = self._stacked[index + 1] - low
        frac = np.clip((position - low) / np.where(step > 0, step, 1.0), 0.0, 1.0)
        level = index - row * n
        cdf = LEVELS[level] + frac * (LEVELS[level + 1] - LEVELS[level])
        return np.asarray(np.where(x < first, 0.0, np.where(x >= last, 1.0, cdf)))


@dataclass(frozen=True)
class Cohorts:
    """Per variant, segment and week of submission; totals per variant and week."""

    weight: _F  # arrivals of the week
    base: _F  # arrival-weighted (projected + offset)
    p50: _F
    p80: _F
    p80_business: _F
    share: _F | None  # share completed within the standard (None without one)
    total_p50: _F
    total_p80: _F
    total_p80_business: _F
    total_share: _F | None


def cohorts(
    arrivals: _F,
    wait: _F,
    first_day: int,
    n_weeks: int,
    ratios: Ratios,
    standard: ServiceStandard | None,
) -> Cohorts:
    """Weekly statistics of the files submitted from `first_day` for `n_weeks` weeks.

    `arrivals` and `wait` are (variants, segments, days).
    """
    weight, w, base = _weeks(arrivals, wait, first_day, n_weeks, ratios)
    offset = ratios.scale[None, :, None]
    p50 = np.maximum(base * ratios.r50[None, :, None] - offset, 0.0)
    p80 = np.maximum(base * ratios.r80[None, :, None] - offset, 0.0)
    # The week's typical submission day: its arrival-weighted mean day.
    within = np.rint((w * np.arange(7)).sum(-1) / w.sum(-1)).astype(np.int64)
    reference = first_day + 7 * np.arange(n_weeks)[None, None, :] + within
    share = None
    total_share = None
    weeks = weight.sum(-1)
    if standard is not None:
        share = _share(weight, w, base, first_day, ratios, standard)
        total_share = (share * weeks).sum(1) / np.maximum(weeks.sum(1), 1e-12)
    total_p50, total_p80 = _mixed_days(weeks, base, ratios)
    p80_business = _business_between(ratios, reference, p80)
    return Cohorts(
        weight=weeks,
        base=base,
        p50=p50,
        p80=p80,
        p80_business=p80_business,
        share=share,
        total_p50=total_p50,
        total_p80=total_p80,
        total_p80_business=_mixed_business_days(weeks, reference, ratios, total_p80),
        total_share=total_share,
    )


def share_within(
    arrivals: _F, wait: _F, first_day: int, n_weeks: int, ratios: Ratios, standard: ServiceStandard
) -> _F:
    """Per variant and week, the share of all the segments' files completed within the
    standard: what a goal seek checks, without the rest of `cohorts`."""
    weight, w, base = _weeks(arrivals, wait, first_day, n_weeks, ratios)
    share = _share(weight, w, base, first_day, ratios, standard)
    weeks = weight.sum(-1)
    out: _F = (share * weeks).sum(1) / np.maximum(weeks.sum(1), 1e-12)
    return out


def _weeks(
    arrivals: _F, wait: _F, first_day: int, n_weeks: int, ratios: Ratios
) -> tuple[_F, _F, _F]:
    """Daily arrivals by week (variants, segments, weeks, 7), the weights used (a week without
    arrivals still gets a time: what a file submitted then would take), and the base."""
    days = slice(first_day, first_day + 7 * n_weeks)
    shape = (*arrivals.shape[:2], n_weeks, 7)
    weight = arrivals[..., days].reshape(shape)
    w = np.where(weight.sum(axis=-1, keepdims=True) > 0, weight, 1.0)
    waits = np.minimum(wait[..., days].reshape(shape), MAX_DAYS)
    base = (w * (waits + ratios.scale[None, :, None, None])).sum(-1) / w.sum(-1)
    return weight, w, base


def _business_between(ratios: Ratios, reference: _I, days: _F) -> _F:
    """Business days after `reference` up to `reference + days` (fractional days interpolate);
    (variants, segments, weeks) arrays, the segment axis picking the calendar."""
    prefix = ratios.prefix
    limit = prefix.shape[1] - 2
    position = np.clip(reference + 1 + days, 0, limit)
    low = np.floor(position).astype(np.int64)
    frac = position - low
    rows = np.arange(prefix.shape[0])[None, :, None]
    at = prefix[rows, low] + frac * (prefix[rows, low + 1] - prefix[rows, low])
    return np.asarray(at - prefix[rows, np.clip(reference + 1, 0, limit)])


def _allowed(ratios: Ratios, day: _I, business_days: _I) -> _F:
    """Calendar days from each `day` to its `business_days`-th business day after (0 for 0);
    (variants, segments, ...) arrays, the segment axis picking the calendar."""
    row = np.arange(ratios.prefix.shape[0]).reshape((1, -1) + (1,) * (np.ndim(day) - 2))
    prefix = ratios.prefix[row, np.clip(day + 1, 0, ratios.prefix.shape[1] - 1)]
    index = np.clip(
        prefix.astype(np.int64) + business_days - 1, 0, ratios.business_days.shape[1] - 1
    )
    found = ratios.business_days[row, index]
    return np.where(business_days > 0, found - day, 0).astype(np.float64)


def _share(
    weight: _F, w: _F, base: _F, first_day: int, ratios: Ratios, standard: ServiceStandard
) -> _F:
    """Arrival-weighted share of each week's files done by their N-th business day."""
    n_segments, n_weeks = weight.shape[1:3]
    day = np.broadcast_to(first_day + np.arange(7 * n_weeks), (1, n_segments, 7 * n_weeks))
    allowed = _allowed(ratios, day, np.full(day.shape, standard.business_days)).reshape(
        1, n_segments, n_weeks, 7
    )
    met = ratios.done_by(allowed, base[..., None])
    out: _F = (w * met).sum(-1) / w.sum(-1)
    return out


def _mixed_days(weight: _F, base: _F, ratios: Ratios) -> tuple[_F, _F]:
    """P50 and P80 of all segments' files of each week together, in calendar days."""
    share = _total(weight)
    levels = np.array([0.5, 0.8])[:, None, None]

    def done(days: _F) -> _F:
        # (levels, variants, weeks) -> the share done, P50's and P80's searches side by side.
        reached = ratios.done_by(days[:, :, None], base[None], axis=2)
        return (weight[None] * reached).sum(2) / share - levels

    found = _bisect(done, 0.0, MAX_DAYS, _BISECTIONS, (2, *share.shape))
    return found[0], found[1]


def _mixed_business_days(weight: _F, reference: _I, ratios: Ratios, days: _F) -> _F:
    """The totals' P80 in business days: `days` (their P80 in calendar days) counted on each
    segment's calendar from its week's typical submission day, averaged over the segments by
    arrivals (regions differ only in their holidays)."""
    each = _business_between(ratios, reference, np.broadcast_to(days[:, None], reference.shape))
    out: _F = (weight * each).sum(1) / _total(weight)
    return out


def _bisect(
    done: Callable[[_F], _F], level: float, top: float, steps: int, shape: tuple[int, ...]
) -> _F:
    """Where the non-decreasing `done` first reaches `level` in [0, top], for arrays of `shape`.

    Every call halves the same range the same number of times, so if `done` grows everywhere
    (more staff), the answer can only fall: the figures stay monotone to the last digit.
    """
    low = np.zeros(shape)
    high = np.full(shape, top)
    for _ in range(steps):
        middle = (low + high) / 2
        reached = done(middle) >= level
        high = np.where(reached, middle, high)
        low = np.where(reached, low, middle)
    return high


def _total(weight: _F) -> _F:
    return np.maximum(weight.sum(1), 1e-12)
