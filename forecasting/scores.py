"""Score the deployed choice on a backtest: the rows it would have answered with, and one ratio.

The Forecaster answers each segment with the model that had the lowest pinball loss there, so
its backtest is those rows (selected on the same backtest: an optimistic figure, shared by every
candidate alike). `pinball_ratio` divides a model's pinball loss by the published baseline's on
the same origins, which makes scores from different data windows comparable; lower is better
and below 1 beats what governments publish today.
"""

from __future__ import annotations

import polars as pl

from forecasting.backtest import BASELINE, MODEL
from forecasting.forecaster import Forecaster
from forecasting.schema import SEGMENT

FORECASTER = "forecaster"


def chosen_rows(results: pl.DataFrame, forecaster: Forecaster) -> pl.DataFrame:
    """The backtest rows of each segment's chosen model, relabelled as model `forecaster`."""
    choice = pl.DataFrame(
        [(*segment, model) for segment, model in forecaster.choice_.items()],
        schema={**dict.fromkeys(SEGMENT, pl.String), "_chosen": pl.String},
        orient="row",
    )
    routed = results.join(choice, on=list(SEGMENT), how="left").with_columns(
        pl.col("_chosen").fill_null(forecaster.default_model_)
    )
    return (
        routed.filter(pl.col(MODEL) == pl.col("_chosen"))
        .drop("_chosen")
        .with_columns(pl.lit(FORECASTER).alias(MODEL))
    )


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
