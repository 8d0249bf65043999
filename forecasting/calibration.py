"""A last conformal recalibration of the served P80 and P90, learned on the training's backtest.

Whichever model answers a route, its upper quantiles can be off on the data at hand. The score of
a backtest file for quantile q is log((1 + actual remaining days) / (1 + predicted remaining
days)), remaining counted from the later of submission and the origin, since a waiting file has
already waited; the correction is the split-conformal q-quantile of the scores, per request kind,
so that coverage on the backtest's files is nominal. A file still open when the outcomes end has
only a lower bound on its score: Kaplan-Meier over scores counts it up to that bound instead of
dropping it, which would keep the quick files and forget the slow ones.

The backtest's origins lie a horizon before the as-of day, so the correction lags the present.
In the nested accuracy benchmark an unguarded correction was as often wrong as right: it ran
after seasons and shocks that had passed (steady P80 of new files 0.81 -> 0.77, the year around
the outage 0.80 -> 0.74), and on travel declarations, where 57 % of the files open at a backtest
origin were still open at the scored day (measured before withdrawn declarations were closed, when
most files open at a day were never paid in the log), Kaplan-Meier read them as slow and pushed
the P80 of open files from 0.82 to 0.97. Hence
the guards, each measured there: no correction while a kind's coverage is within `tolerance` of
nominal, and then only to the band's edge; none where more than `max_censored_share` of its
files are still open; at most `max_correction` either way; none where censoring leaves the level
unreached; recent origins weigh more (`half_life_days`: the P80 of new files after the outage
0.84 unweighted, 0.83 at 28 days). The median is left alone: shifting it too raised the nested
MAE wherever it moved it (new files after the outage: 0.50 to 0.61 of the published error).
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
    }
)


class Calibration:
    """Per request kind, a correction of each upper quantile's remaining days (a factor
    exp(correction) on 1 + remaining days), fitted on backtest files of the served models."""

    def __init__(
        self,
        *,
        quantiles: tuple[float, ...] = UPPER,
        tolerance: float = 0.03,
        max_censored_share: float = 0.2,
        max_correction: float = 0.5,
        half_life_days: float | None = 28.0,
    ) -> None:
        self.quantiles = quantiles
        self.tolerance = tolerance
        self.max_censored_share = max_censored_share
        self.max_correction = max_correction
        self.half_life_days = half_life_days

    def fit(self, predictions: pl.DataFrame, *, known_at: date) -> Calibration:
        """Learn from per-file backtest rows (`backtest.backtest_predictions`' columns) of the
        served model, outcomes as known at `known_at`: later or missing ones are censored."""
        unknown = [q for q in self.quantiles if q not in QUANTILES]
        if unknown:
            raise ValueError(f"`quantiles` must be among {QUANTILES}, got {unknown}")
        rows = predictions.filter(pl.col(QUANTILE_DAYS[0]).is_not_null())
        scores, censored = _scores(rows, known_at)
        weights = _recency(rows.get_column(AS_OF), self.half_life_days)
        kinds = rows.get_column(KIND).to_numpy()
        report: list[dict[str, object]] = []
        self.corrections_: dict[str, _F] = {}
        for kind in sorted(set(kinds.tolist())):
            picked = kinds == kind
            own = (scores[picked], censored[picked], weights[picked])
            self.corrections_[kind] = self._corrections(*own)
            report += _report(kind, *own, self.corrections_[kind])
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
        shift = np.where(
            is_new[:, None],
            self.corrections_.get(NEW, none),
            self.corrections_.get(OPEN, none),
        )
        days = answered.select(QUANTILE_DAYS).to_numpy().astype(np.float64)
        answerable = ~np.isnan(days).any(axis=1)
        waited = np.maximum(waited_days(submitted.filter(answerable), as_of), 0)
        remaining = np.maximum(days[answerable] - waited[:, None], 0.0)
        moved = waited[:, None] + np.expm1(np.log1p(remaining) + shift[answerable])
        corrected = days.copy()
        # Uncorrected days stay exact: a rounding error would become a day once dates are whole.
        corrected[answerable] = enforce_invariants(
            np.where(shift[answerable] == 0.0, days[answerable], moved),
            submitted.filter(answerable),
            as_of,
        )
        return answered.with_columns(
            pl.Series(name, corrected[:, i], dtype=pl.Float64, nan_to_null=True)
            for i, name in enumerate(QUANTILE_DAYS)
        )

    def _corrections(self, scores: _F, censored: _B, weights: _F) -> _F:
        out = np.zeros(len(QUANTILES))
        if scores.shape[0] == 0 or np.mean(censored) > self.max_censored_share:
            return out
        for q in self.quantiles:
            i = QUANTILES.index(q)
            raw = censored_coverage(scores[:, i], censored, weights)
            if abs(raw - q) <= self.tolerance:
                continue
            level = q - self.tolerance if raw < q else q + self.tolerance
            _, cdf = score_cdf(scores[:, i], censored, weights)
            if cdf[-1] < min(1.0, level * (1.0 + 1.0 / scores.shape[0])) - 1e-12:
                continue
            shift = censored_quantile(scores[:, i], censored, weights, level)
            out[i] = float(np.clip(shift, -self.max_correction, self.max_correction))
        return out


def _scores(rows: pl.DataFrame, known_at: date) -> tuple[_F, _B]:
    """Per file and quantile, log(1 + actual remaining) - log(1 + predicted remaining), and
    whether the file was still open at `known_at` (its score then a lower bound)."""
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
    remaining = frame.get_column("_remaining").to_numpy()
    predicted = frame.select(QUANTILE_DAYS).to_numpy().astype(np.float64)
    scores = np.log1p(remaining)[:, None] - np.log1p(predicted)
    return scores, ~frame.get_column("_known").to_numpy()


def _recency(origins: pl.Series, half_life_days: float | None) -> _F:
    """Weight 1 for the latest origin, halving every `half_life_days` before it."""
    if half_life_days is None or origins.is_empty():
        return np.ones(origins.len())
    latest = origins.max()
    age = (pl.lit(latest) - origins).dt.total_days()
    days = pl.select(age).to_series().to_numpy().astype(np.float64)
    return np.asarray(0.5 ** (days / half_life_days), dtype=np.float64)


def _report(kind: str, scores: _F, censored: _B, weights: _F, shift: _F) -> list[dict[str, object]]:
    return [
        {
            KIND: kind,
            "quantile": q,
            "files": int(scores.shape[0]),
            "censored": int(np.count_nonzero(censored)),
            "correction": float(shift[i]),
            "coverage_raw": censored_coverage(scores[:, i], censored, weights),
            "coverage": censored_coverage(scores[:, i] - shift[i], censored, weights),
        }
        for i, q in enumerate(QUANTILES)
    ]
