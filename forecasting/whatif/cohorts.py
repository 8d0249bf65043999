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

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from forecasting.whatif.baseline import LEVELS
from forecasting.whatif.scenario import ServiceStandard

_F = npt.NDArray[np.float64]
_I = npt.NDArray[np.int64]
# Processing times are capped here (as the queue projection caps its projections).
MAX_DAYS = 5 * 365.0
# Points of the grid on which the totals' share-done curve is inverted.
_GRID = 24


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

    def subset(self, rows: _I) -> Ratios:
        return Ratios(self.quantiles[rows], self.scale[rows], self.business[rows])

    def done_by(self, days: _F, base: _F) -> _F:
        """P(a file is done within `days` calendar days) given its segment's `base`; arrays
        broadcast to (variants, segments, ...), one np.interp per segment."""
        days, base = np.broadcast_arrays(days, base)
        out = np.empty(days.shape)
        for s in range(days.shape[1]):
            x = (days[:, s] + self.scale[s]) / base[:, s]
            out[:, s] = np.interp(x, self.quantiles[s], LEVELS, left=0.0, right=1.0)
        return out


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
        total_p80_business=_mixed_business_days(weeks, base, reference, ratios, p80_business),
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


def _allowed(ratios: Ratios, segment: int, day: _I, business_days: _I) -> _F:
    """Calendar days from each `day` to its `business_days`-th business day after (0 for 0)."""
    prefix = ratios.prefix[segment]
    rank = prefix[np.clip(day + 1, 0, prefix.size - 1)].astype(np.int64)
    offsets = ratios.business_days[segment]
    found = offsets[np.clip(rank + business_days - 1, 0, offsets.size - 1)]
    return np.where(business_days > 0, found - day, 0).astype(np.float64)


def _share(
    weight: _F, w: _F, base: _F, first_day: int, ratios: Ratios, standard: ServiceStandard
) -> _F:
    """Arrival-weighted share of each week's files done by their N-th business day."""
    n_segments, n_weeks = weight.shape[1:3]
    day = first_day + np.arange(7 * n_weeks)
    allowed = np.stack(
        [
            _allowed(ratios, s, day, np.full(day.size, standard.business_days))
            for s in range(n_segments)
        ]
    ).reshape(1, n_segments, n_weeks, 7)
    met = ratios.done_by(allowed, base[..., None])
    out: _F = (w * met).sum(-1) / w.sum(-1)
    return out


def _mixed_days(weight: _F, base: _F, ratios: Ratios) -> tuple[_F, _F]:
    """P50 and P80 of all segments' files of each week together, in calendar days."""
    out = []
    for level, ratio in ((0.5, ratios.r50), (0.8, ratios.r80)):
        each = np.maximum(base * ratio[None, :, None] - ratios.scale[None, :, None], 0.0)
        grid = _bracket(each, weight, _GRID)
        done = (weight[..., None] * ratios.done_by(grid[:, None], base[..., None])).sum(1)
        out.append(_first_reaching(done / _total(weight)[..., None], grid, level))
    return out[0], out[1]


def _mixed_business_days(
    weight: _F, base: _F, reference: _I, ratios: Ratios, p80_business: _F
) -> _F:
    """P80 of all segments' files of each week in business days: the (interpolated) least N
    with 80 % done by their N-th business day, the standard's own definition."""
    span = _bracket(p80_business, weight, 2)
    low = np.maximum(np.floor(span[..., :1]) - 1, 0)
    high = np.ceil(span[..., 1:]) + 1
    counts = np.round(low + (high - low) * np.linspace(0.0, 1.0, _GRID)).astype(np.int64)
    allowed = np.empty((*base.shape, _GRID))
    for s in range(base.shape[1]):
        allowed[:, s] = _allowed(ratios, s, reference[:, s, :, None], counts)
    done = (weight[..., None] * ratios.done_by(allowed, base[..., None])).sum(1)
    return _first_reaching(done / _total(weight)[..., None], counts.astype(np.float64), 0.8)


def _bracket(each: _F, weight: _F, points: int) -> _F:
    """(variants, weeks, points) from the least to the greatest of the segments' own figures
    (over segments with arrivals): a mixture's quantile always lies between its parts'."""
    present = weight > 0
    low = np.where(present, each, np.inf).min(1)
    high = np.where(present, each, -np.inf).max(1)
    low = np.where(np.isfinite(low), low, 0.0)
    high = np.where(np.isfinite(high), np.maximum(high, low), low)
    return low[..., None] + (high - low)[..., None] * np.linspace(0.0, 1.0, points)


def _total(weight: _F) -> _F:
    return np.maximum(weight.sum(1), 1e-12)


def _first_reaching(done: _F, grid: _F, level: float) -> _F:
    """Where the non-decreasing `done` (last axis, over `grid`) first reaches `level`,
    linearly interpolated; the grid's end when it never does."""
    reached = done >= level
    index = np.where(reached.any(-1), reached.argmax(-1), done.shape[-1] - 1)
    before = np.maximum(index - 1, 0)
    take = lambda a, i: np.take_along_axis(a, i[..., None], -1)[..., 0]  # noqa: E731
    low, high = take(done, before), take(done, index)
    frac = np.where(high > low, (level - low) / np.where(high > low, high - low, 1.0), 1.0)
    at_low, at_high = take(grid, before), take(grid, index)
    return np.asarray(at_low + np.clip(frac, 0.0, 1.0) * (at_high - at_low))
