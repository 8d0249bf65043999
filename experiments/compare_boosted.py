"""Compare BoostedQuantiles with QueueProjection and the published baseline on four scenarios.

Run with `.venv/bin/python -m experiments.compare_boosted` (about 20 minutes on two cores).
Simulates each scenario at scale 0.3 from 2023-01-01 to 2025-12-31 (seed 3), backtests every 14
days from 2024-04-01 to 2025-06-01 with `forecasting.backtest`, and prints per scenario and kind:
MAE of P50, its ratio to the published percentile, pinball loss, P80 / P90 coverage and the mean
fit time. `--oracle` adds the censoring check: BoostedQuantiles fitted on the full data, whose
training files' outcomes are all known (features stay as of each origin), against the same model
fitted on what was known at the as-of day.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import polars as pl

from forecasting.asof import as_known_at
from forecasting.backtest import (
    ACTUAL_DAYS,
    KIND,
    MODEL,
    backtest,
    request_sets,
    score_rows,
    summarise,
    weekly_origins,
)
from forecasting.contract import validate_applications
from forecasting.models import (
    BoostedQuantiles,
    ProcessingTimeModel,
    PublishedPercentile,
    QueueProjection,
)
from forecasting.schema import QUANTILE_DAYS, SEGMENT, SUBMITTED_ON
from forecasting.simulate import SCENARIOS, simulate

START, END, SEED, SCALE = date(2023, 1, 1), date(2025, 12, 31), 3, 0.3
ORIGINS = weekly_origins(date(2024, 4, 1), date(2025, 6, 1), step_days=14)
COLUMNS = ("mae_p50", "mae_ratio", "pinball", "coverage_p80", "coverage_p90", "fit_s")


class Timed:
    """A model factory that records how long each fit takes."""

    def __init__(self, cls: type[ProcessingTimeModel], **params: Any) -> None:
        self.cls, self.params, self.seconds = cls, params, []

    def __call__(self) -> ProcessingTimeModel:
        model = self.cls(**self.params)
        fit: Callable[..., ProcessingTimeModel] = model.fit

        def timed_fit(*args: Any, **kwargs: Any) -> ProcessingTimeModel:
            started = time.perf_counter()
            fitted = fit(*args, **kwargs)
            self.seconds.append(time.perf_counter() - started)
            return fitted

        model.fit = timed_fit  # type: ignore[method-assign]
        return model


def applications(scenario: str) -> pl.DataFrame:
    simulated = simulate(start=START, end=END, seed=SEED, scenario=scenario, scale=SCALE)
    return validate_applications(simulated.applications.lazy(), as_of=END).applications


def compare(scenario: str, data: pl.DataFrame) -> pl.DataFrame:
    factories = {
        BoostedQuantiles.name: Timed(BoostedQuantiles),
        QueueProjection.name: Timed(QueueProjection),
        PublishedPercentile.name: Timed(PublishedPercentile),
    }
    summary = summarise(backtest(data, factories, ORIGINS))
    fit_seconds = pl.DataFrame(
        {
            MODEL: list(factories),
            "fit_s": [sum(f.seconds) / len(f.seconds) for f in factories.values()],
        }
    )
    return summary.join(fit_seconds, on=MODEL).select(
        pl.lit(scenario).alias("scenario"), MODEL, KIND, "n", *COLUMNS
    )


def censoring_check(scenario: str, data: pl.DataFrame, origins: list[date]) -> pl.DataFrame:
    """Scores of the model fitted on data as known at each origin vs on the full data."""
    parts = []
    for as_of in origins:
        requests = request_sets(data, as_of)
        known = as_known_at(data.lazy(), as_of).collect()
        for fit, history in (("as_known", known), ("oracle", data)):
            predicted = (
                BoostedQuantiles()
                .fit(history, as_of=as_of)
                .predict(requests.select(*SEGMENT, SUBMITTED_ON))
            )
            scored = score_rows(requests.with_columns(predicted.select(QUANTILE_DAYS)))
            parts.append(
                scored.filter(pl.col(ACTUAL_DAYS).is_not_null()).with_columns(
                    pl.lit(fit).alias("fit")
                )
            )
    return (
        pl.concat(parts)
        .group_by("fit", KIND)
        .agg(
            pl.len().alias("n"), pl.col("mae_p50", "pinball", "coverage_p80", "coverage_p90").mean()
        )
        .select(pl.lit(scenario).alias("scenario"), pl.all())
        .sort("fit", KIND)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", nargs="+", default=list(SCENARIOS), choices=SCENARIOS)
    parser.add_argument("--oracle", action="store_true", help="add the censoring check")
    args = parser.parse_args()
    tables, checks = [], []
    with pl.Config(
        tbl_rows=100,
        tbl_cols=-1,
        tbl_width_chars=200,
        float_precision=3,
        tbl_hide_dataframe_shape=True,
    ):
        for scenario in args.scenarios:
            data = applications(scenario)
            tables.append(compare(scenario, data))
            print(tables[-1], flush=True)
            if args.oracle:
                checks.append(censoring_check(scenario, data, ORIGINS[::4]))
                print(checks[-1], flush=True)
        print("all scenarios")
        print(pl.concat(tables))
        if checks:
            print("censoring check: fitted as known at each origin vs on every outcome")
            print(pl.concat(checks))


if __name__ == "__main__":
    main()
