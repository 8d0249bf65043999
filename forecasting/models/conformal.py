"""Split-conformal shifts for quantile predictions, right-censored scores counted by Kaplan-Meier.

A conformity score is actual - predicted (in the learner's units). A file still open when the data
ends only has a lower bound on its score; Kaplan-Meier over scores counts it as surviving up to
that bound instead of dropping it, which would make slow files vanish and coverage look too good.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

_F = npt.NDArray[np.float64]
_B = npt.NDArray[np.bool_]
# Hold-out coverage per request kind and quantile, before and after the conformal shift.
CALIBRATION_SCHEMA = pl.Schema(
    {
        "kind": pl.String,
        "quantile": pl.Float64,
        "files": pl.Int64,
        "shift": pl.Float64,
        "coverage_raw": pl.Float64,
        "coverage": pl.Float64,
    }
)


def conformal_shifts(
    scores: _F,
    censored: _B,
    weights: _F,
    kinds: npt.NDArray[np.str_],
    quantiles: tuple[float, ...],
    shifted: tuple[float, ...],
) -> tuple[dict[str, _F], pl.DataFrame]:
    """Per kind, the shift of each quantile in `shifted` (0 for the others) that brings hold-out
    coverage to nominal, and a `CALIBRATION_SCHEMA` report of coverage before and after.

    `scores` has one column per quantile: actual - predicted, a lower bound where `censored`.
    """
    shifts: dict[str, _F] = {}
    report: list[dict[str, object]] = []
    for kind in sorted(set(kinds.tolist())):
        picked = kinds == kind
        shifts[kind] = np.zeros(len(quantiles))
        for i, q in enumerate(quantiles):
            own = scores[picked, i], censored[picked], weights[picked]
            shift = censored_quantile(*own, q) if q in shifted else 0.0
            shifts[kind][i] = shift
            report.append(
                {
                    "kind": kind,
                    "quantile": q,
                    "files": int(np.count_nonzero(picked)),
                    "shift": shift,
                    "coverage_raw": censored_coverage(*own),
                    "coverage": censored_coverage(own[0] - shift, *own[1:]),
                }
            )
    return shifts, pl.DataFrame(report, schema=CALIBRATION_SCHEMA)


def score_cdf(scores: _F, censored: _B, weights: _F) -> tuple[_F, _F]:
    """Sorted scores and the weighted Kaplan-Meier estimate of P(score <= s) at each."""
    # Ties: events before censored scores, as Kaplan-Meier counts them.
    order = np.lexsort((censored, scores))
    s, c, w = scores[order], censored[order], weights[order]
    at_risk = np.cumsum(w[::-1])[::-1]
    hazard = np.where(c, 0.0, w / at_risk)
    return s, (1.0 - np.cumprod(1.0 - hazard)).astype(np.float64)


def censored_quantile(scores: _F, censored: _B, weights: _F, level: float) -> float:
    """The shift that makes P(score <= shift) reach `level`, with the split-conformal (1 + 1/n)
    correction; where censoring leaves the level unreached, the largest score.
    """
    s, cdf = score_cdf(scores, censored, weights)
    target = min(1.0, level * (1.0 + 1.0 / s.size))
    idx = int(np.searchsorted(cdf, target - 1e-12, side="left"))
    return float(s[min(idx, s.size - 1)])


def censored_coverage(scores: _F, censored: _B, weights: _F) -> float:
    """Kaplan-Meier estimate of P(score <= 0): the share of files the prediction covers."""
    s, cdf = score_cdf(scores, censored, weights)
    idx = int(np.searchsorted(s, 0.0, side="right")) - 1
    return float(cdf[idx]) if idx >= 0 else 0.0
