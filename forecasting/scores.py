"""Score the deployed choice on a backtest: the rows it would have answered with, and one ratio.

The Forecaster answers each segment with the model that had the lowest pinball loss there, so
its backtest is those rows (selected on the same backtest: an optimistic figure, shared by every
candidate alike). The nested figure (`nested_choice_rows`) is the honest one: at each scored
origin, the choice a training on that day could have made. `pinball_ratio` divides a model's
pinball loss by the published baseline's on the same origins, which makes scores from different
data windows comparable; lower is better and below 1 beats what governments publish today.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta

import polars as pl

from forecasting.backtest import (
    ACTUAL_DAYS,
    BASELINE,
    MODEL,
    OPEN_DAYS,
    aggregate,
    open_days_by,
)
from forecasting.calibration import Calibration
from forecasting.forecaster import Forecaster, choose_models, route_rows
from forecasting.schema import AS_OF, SUBMITTED_ON

FORECASTER = "forecaster"
# The nested figure: at each scored origin, the choice a training that day would have made.
NESTED = "delai"
# The same, before the final recalibration: what the chosen models alone would have answered.
NESTED_RAW = "delai_raw"


def chosen_rows(results: pl.DataFrame, forecaster: Forecaster) -> pl.DataFrame:
    """The backtest rows of each route's chosen model, relabelled as model `forecaster`."""
    return route_rows(results, forecaster.choice_, forecaster.default_model_).with_columns(
        pl.lit(FORECASTER).alias(MODEL)
    )


def nested_choice_rows(
    predictions: pl.DataFrame,
    scored_origins: Sequence[date],
    horizons: Mapping[date, int],
    candidates: Sequence[str],
    *,
    window_days: int = 84,
    margin: float = 0.0,
    calibration: Callable[[], Calibration] | None = Calibration,
) -> pl.DataFrame:
    """What users would have got: at each scored origin T, each segment and request kind answered
    by the model a training on T would have chosen, recalibrated as that training would have,
    as model `delai`, and before the recalibration as `delai_raw` (aggregated like `backtest`).

    The choice and the calibration see only what was known at T, as `delai train` does: origins
    at least the horizon `horizons[T]` before T (the latest within `window_days` of the latest
    such origin), outcomes in by T (files still open at T are censored there). With no such
    origin the first candidate answers, uncalibrated, as a Forecaster fitted without a backtest
    would. `predictions` is the per-file frame of `backtest.backtest_predictions` for the
    candidates, at those origins and at T; `margin` is the Forecaster's `choice_margin`;
    `calibration` makes an unfitted `Calibration` (None: `delai_raw` only).
    """
    parts = []
    origins = sorted(set(predictions.get_column(AS_OF).to_list()))
    for as_of in scored_origins:
        last = as_of - timedelta(days=horizons[as_of])
        earlier = [o for o in origins if o <= last]
        window = [o for o in earlier if o > earlier[-1] - timedelta(days=window_days)]
        known = pl.col(SUBMITTED_ON) + pl.duration(days=pl.col(ACTUAL_DAYS)) <= as_of
        seen = predictions.filter(
            pl.col(AS_OF).is_in(window) & pl.col(MODEL).is_in(list(candidates))
        ).with_columns(
            # Outcomes after T were not known at T: such a file had been open since submission
            # (or until its closure without completion).
            pl.when(known).then(pl.col(ACTUAL_DAYS)).otherwise(None),
            pl.when(known).then(None).otherwise(open_days_by(predictions, as_of)).alias(OPEN_DAYS),
        )
        choice, default = choose_models(
            aggregate(seen) if window else None, candidates, margin=margin
        )
        routed = route_rows(predictions.filter(pl.col(AS_OF) == as_of), choice, default)
        parts.append(routed.with_columns(pl.lit(NESTED_RAW).alias(MODEL)))
        if calibration is not None and window:
            fitted = calibration().fit(route_rows(seen, choice, default), known_at=as_of)
            routed = fitted.apply(routed, as_of=as_of)
        if calibration is not None:
            parts.append(routed.with_columns(pl.lit(NESTED).alias(MODEL)))
    return aggregate(pl.concat(parts)) if parts else pl.DataFrame()


def weighted_pinball(results: pl.DataFrame) -> dict[str, float]:
    """Pinball loss per model, weighted by the number of scored files."""
    table = (
        results.filter(pl.col("n") > 0)
        .group_by(MODEL)
        .agg(((pl.col("pinball") * pl.col("n")).sum() / pl.col("n").sum()).alias("pinball"))
    )
    return {str(m): float(p) for m, p in table.iter_rows()}


def pinball_ratio(results: pl.DataFrame, model: str) -> float:
    """`model`'s pinball loss over the baseline's on the same backtest; NaN if either is absent."""
    losses = weighted_pinball(results)
    base = losses.get(BASELINE)
    if model not in losses or not base:
        return float("nan")
    return losses[model] / base
