"""A last conformal recalibration of the served P80 and P90, learned on the training's backtest.

Whichever model answers a route, its upper quantiles can be off on the data at hand. Days are
counted as remaining from the later of submission and the origin, since a waiting file has
already waited. The P80 is recalibrated in level: each backtest file's outcome is read as the
level its remaining days reach on the model's own quantile curve for that file (its P50, P80 and
P90, linear in the level on log(1 + days) between them), and the P80 is served at the
split-conformal 0.8-quantile of those levels, per request kind, so that coverage on the
backtest's files is nominal. The P90, with no quantile above it, and a P80 whose level would lie
beyond the model's P90 take a factor on 1 + remaining days instead: the split-conformal quantile
of log((1 + actual remaining) / (1 + predicted remaining)). A file still open when the outcomes
end has only a lower bound on its level and score: Kaplan-Meier counts it up to that bound
instead of dropping it, which would keep the quick files and forget the slow ones.

Why levels: one factor for every file ignores each file's own spread. Fitted on narrow and wide
answers together it covers the narrow ones too often and the wide ones too rarely (the test:
0.86 and 0.74, where levels give 0.80 and 0.80), and capped, it left the P80 of waiting traffic
fines, whose answers straddle the gap between quick payments and credit collection, at 0.94. A
level moves within the model's own P50 and P90, which bounds it without a cap. In the nested
accuracy benchmark (cached per-file predictions, 2026-11-29) levels took the P80 coverage of
waiting fines from 0.941 to 0.838, of waiting travel declarations from 0.746 to 0.758, of new
building permits from 0.781 to 0.794, of files waiting through the simulated surge from 0.779 to
0.802, and moved no other figure by more than 0.01. The fines stay out of the band whatever
the correction tried: 83 % of the fines settled after 200 days were settled on ten single days of
credit collection, 9 to 25 months apart, so a P80 falls before or after the next such day. With
levels, waiting fines were covered 0.27-0.45 or 0.89-0.96 at each scored origin; 0.838 is their
mix.

The backtest's origins lie a horizon before the as-of day, so the correction lags the present
and follows seasons and shocks that have passed. Hence the guards, each measured there with
levels: no correction while a kind's coverage is within `tolerance` of nominal, and then only to
the band's edge (correcting to nominal everywhere: the year around the outage, new files 0.780
-> 0.756); none where more than `max_censored_share` of its files are still open (without it:
new fines 0.705 -> 0.685); a factor at most `max_correction` either way; none where censoring
leaves the level unreached; recent origins weigh more (`half_life_days`; unweighted, the new
files after the outage 0.830 -> 0.840). The median is left alone: shifting it too raised the
nested MAE wherever it moved it (measured when the correction was a factor: new files after the
outage, 0.50 to 0.61 of the published error).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import numpy.typing as npt
import polars as pl

from forecasting.backtest import ACTUAL_DAYS, KIND, open_days_by
from forecasting.models.base import enforce_invariants, waited_days
from forecasting.models.conformal import censored_coverage, censored_quantile, score_cdf
from forecasting.schema import AS_OF, QUANTILE_DAYS, QUANTILES, SUBMITTED_ON

_F = npt.NDArray[np.float64]
_B = npt.NDArray[np.bool_]
NEW, OPEN = "new", "open"
# The quantiles corrected by default: the median is left as the model answered it.
UPPER = tuple(q for q in QUANTILES if q > 0.5)
_LEVELS = np.array(QUANTILES, dtype=np.float64)
# A file done after the model's top quantile is beyond every level its curve spans.
BEYOND = 1.0
# One row per request kind and quantile: what the correction was learned on and what it did.
CALIBRATION_SCHEMA = pl.Schema(
    {
        KIND: pl.String,
        "quantile": pl.Float64,
        "files": pl.Int64,
        "censored": pl.Int64,
        "correction": pl.Float64,
        "coverage_raw": pl.Float64,
        "coverage": pl.Float64,
        "level": pl.Float64,
    }
)


class Calibration:
    """Per request kind, the level of the model's own quantile curve served for each inner upper
    quantile (P80), and a factor exp(correction) on 1 + remaining days for the top one (P90),
    fitted on backtest files of the served models."""

    def __init__(
        self,
        *,
        quantiles: tuple[float, ...] = UPPER,
        tolerance: float = 0.03,
        max_censored_share: float = 0.2,
        max_correction: float = 0.5,
        half_life_days: float | None = 28.0,
        by_level: bool = True,
    ) -> None:
        self.quantiles = quantiles
        self.tolerance = tolerance
        self.max_censored_share = max_censored_share
        self.max_correction = max_correction
        self.half_life_days = half_life_days
        self.by_level = by_level

    def fit(self, predictions: pl.DataFrame, *, known_at: date) -> Calibration:
        """Learn from per-file backtest rows (`backtest.backtest_predictions`' columns) of the
        served model, outcomes as known at `known_at`: later or missing ones are censored."""
        unknown = [q for q in self.quantiles if q not in QUANTILES]
        if unknown:
            raise ValueError(f"`quantiles` must be among {QUANTILES}, got {unknown}")
        rows = predictions.filter(pl.col(QUANTILE_DAYS[0]).is_not_null())
        actual, predicted, censored = _log_remaining(rows, known_at)
        scores = actual[:, None] - predicted
        levels = _level_reached(predicted, actual)
        weights = _recency(rows.get_column(AS_OF), self.half_life_days)
        kinds = rows.get_column(KIND).to_numpy()
        report: list[dict[str, object]] = []
        self.corrections_: dict[str, _F] = {}
        self.levels_: dict[str, _F] = {}
        for kind in sorted(set(kinds.tolist())):
            picked = kinds == kind
            own = (scores[picked], levels[picked], censored[picked], weights[picked])
            self.corrections_[kind], self.levels_[kind] = self._corrections(*own)
            report += _report(kind, *own, self.corrections_[kind], self.levels_[kind])
        self.table_ = pl.DataFrame(report, schema=CALIBRATION_SCHEMA)
        return self

    def apply(self, answered: pl.DataFrame, *, as_of: date) -> pl.DataFrame:
        """`answered` (submitted_on and quantile days, as of `as_of`) with corrected days, still
        ordered and, for waiting files, still after the as-of day. Null days stay null."""
        if not hasattr(self, "corrections_"):
            raise RuntimeError("Calibration must be fitted before apply")
        if answered.is_empty():
            return answered
        submitted = answered.get_column(SUBMITTED_ON)
        is_new = (submitted > as_of).fill_null(False).to_numpy()
        none = np.zeros(len(QUANTILES))
        # Calibrations pickled before levels existed served each quantile at its own level.
        fitted_levels = getattr(self, "levels_", {})

        def per_row(table: dict[str, _F], default: _F) -> _F:
            return np.where(
                is_new[:, None], table.get(NEW, default), table.get(OPEN, default)
            ).astype(np.float64)

        shift = per_row(self.corrections_, none)
        level = per_row(fitted_levels, _LEVELS)
        days = answered.select(QUANTILE_DAYS).to_numpy().astype(np.float64)
        answerable = ~np.isnan(days).any(axis=1)
        shift, level = shift[answerable], level[answerable]
        waited = np.maximum(waited_days(submitted.filter(answerable), as_of), 0)
        remaining = np.log1p(np.maximum(days[answerable] - waited[:, None], 0.0))
        target = remaining + shift
        for i in range(len(QUANTILES)):
            target[:, i] = np.where(
                level[:, i] == _LEVELS[i], target[:, i], _at_level(remaining, level[:, i])
            )
        moved = waited[:, None] + np.expm1(target)
        unchanged = (shift == 0.0) & (level == _LEVELS)
        corrected = days.copy()
        # Uncorrected days stay exact: a rounding error would become a day once dates are whole.
        corrected[answerable] = enforce_invariants(
            np.where(unchanged, days[answerable], moved), submitted.filter(answerable), as_of
        )
        return answered.with_columns(
            pl.Series(name, corrected[:, i], dtype=pl.Float64, nan_to_null=True)
            for i, name in enumerate(QUANTILE_DAYS)
        )

    def _corrections(self, scores: _F, levels: _F, censored: _B, weights: _F) -> tuple[_F, _F]:
        shifts, served = np.zeros(len(QUANTILES)), _LEVELS.copy()
        if scores.shape[0] == 0 or np.mean(censored) > self.max_censored_share:
            return shifts, served
        for q in self.quantiles:
            i = QUANTILES.index(q)
            # A quantile with model quantiles on both sides moves along the model's own curve:
            # a factor on days would jump across the gap of a distribution with two modes.
            inner = self.by_level and QUANTILES[0] < q < QUANTILES[-1]
            own = (levels - q, censored, weights) if inner else (scores[:, i], censored, weights)
            goal = self._goal(censored_coverage(*own), q, scores.shape[0], own)
            if goal is None:
                continue
            reached = q + censored_quantile(*own, goal) if inner else BEYOND
            if reached < BEYOND:
                served[i] = max(reached, float(_LEVELS[0]))
                continue
            # Beyond the model's top quantile, or the top quantile itself: a factor on days.
            own = (scores[:, i], censored, weights)
            shift = censored_quantile(*own, goal)
            shifts[i] = float(np.clip(shift, -self.max_correction, self.max_correction))
        return shifts, served

    def _goal(self, raw: float, q: float, n: int, own: tuple[_F, _B, _F]) -> float | None:
        """The coverage to correct to (the band's nearer edge), or None: within the band, or a
        level censoring leaves unreached."""
        if abs(raw - q) <= self.tolerance:
            return None
        level = q - self.tolerance if raw < q else q + self.tolerance
        _, cdf = score_cdf(*own)
        if cdf[-1] < min(1.0, level * (1.0 + 1.0 / n)) - 1e-12:
            return None
        return level


def _log_remaining(rows: pl.DataFrame, known_at: date) -> tuple[_F, _F, _B]:
    """Per file, log(1 + actual remaining days) (a lower bound where still open at `known_at`),
    log(1 + predicted remaining days) per quantile, and whether it was still open. Remaining is
    counted from the later of submission and the origin."""
    start = pl.max_horizontal(SUBMITTED_ON, AS_OF)
    waited = (start - pl.col(SUBMITTED_ON)).dt.total_days()
    done_on = pl.col(SUBMITTED_ON) + pl.duration(days=pl.col(ACTUAL_DAYS))
    known = (pl.col(ACTUAL_DAYS).is_not_null() & (done_on <= pl.lit(known_at))).fill_null(False)
    frame = rows.select(
        known.alias("_known"),
        pl.when(known)
        .then(pl.col(ACTUAL_DAYS) - waited)
        .otherwise(open_days_by(rows, known_at) - waited)
        .clip(lower_bound=0)
        .cast(pl.Float64)
        .alias("_remaining"),
        *((pl.col(c) - waited).clip(lower_bound=0.0).alias(c) for c in QUANTILE_DAYS),
    )
    actual = np.log1p(frame.get_column("_remaining").to_numpy())
    predicted = np.log1p(frame.select(QUANTILE_DAYS).to_numpy().astype(np.float64))
    return actual, predicted, ~frame.get_column("_known").to_numpy()


def _level_reached(curve: _F, value: _F) -> _F:
    """Per file, the lowest level at which its quantile curve (log remaining days at each of
    QUANTILES, linear in between) reaches `value`: the lowest level, `value` at or below its
    median, BEYOND above its top quantile. Monotone in `value`, so a lower bound stays one."""
    out = np.full(value.shape, BEYOND)
    for k in range(len(QUANTILES) - 1, 0, -1):
        low, high = curve[:, k - 1], curve[:, k]
        inside = (value > low) & (value <= high)
        step = np.where(inside, high - low, 1.0)
        along = _LEVELS[k - 1] + (value - low) / step * (_LEVELS[k] - _LEVELS[k - 1])
        out = np.where(inside, along, out)
    return np.where(value <= curve[:, 0], _LEVELS[0], out)


def _at_level(curve: _F, level: _F) -> _F:
    """Per file, its quantile curve (as in `_level_reached`) read at `level`."""
    k = np.clip(np.searchsorted(_LEVELS, level, side="right") - 1, 0, len(QUANTILES) - 2)
    t = (level - _LEVELS[k]) / (_LEVELS[k + 1] - _LEVELS[k])
    rows = np.arange(curve.shape[0])
    return np.asarray(curve[rows, k] * (1.0 - t) + curve[rows, k + 1] * t, dtype=np.float64)


def _recency(origins: pl.Series, half_life_days: float | None) -> _F:
    """Weight 1 for the latest origin, halving every `half_life_days` before it."""
    if half_life_days is None or origins.is_empty():
        return np.ones(origins.len())
    latest = origins.max()
    age = (pl.lit(latest) - origins).dt.total_days()
    days = pl.select(age).to_series().to_numpy().astype(np.float64)
    return np.asarray(0.5 ** (days / half_life_days), dtype=np.float64)


def _report(
    kind: str, scores: _F, levels: _F, censored: _B, weights: _F, shift: _F, served: _F
) -> list[dict[str, object]]:
    """Coverage before and after: a quantile served at another level is judged by the levels
    files reached on the model's curve, the others by their scores."""
    rows: list[dict[str, object]] = []
    for i, q in enumerate(QUANTILES):
        if served[i] != q:
            raw = censored_coverage(levels - q, censored, weights)
            after = censored_coverage(levels - served[i], censored, weights)
        else:
            raw = censored_coverage(scores[:, i], censored, weights)
            after = censored_coverage(scores[:, i] - shift[i], censored, weights)
        rows.append(
            {
                KIND: kind,
                "quantile": q,
                "files": int(scores.shape[0]),
                "censored": int(np.count_nonzero(censored)),
                "correction": float(shift[i]),
                "coverage_raw": raw,
                "coverage": after,
                "level": float(served[i]),
            }
        )
    return rows
