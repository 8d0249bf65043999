"""Compare ProportionalHazards with Kaplan-Meier and the published percentile, per request kind.

Run with `.venv/bin/python -m experiments.compare_phreg` (add `--only "sim surge"` and the like to
run fewer sets). The data sets and their scored origins are `experiments.bench_accuracy`'s own:
the simulator's scenarios (2023-2025, seed 3, `--scale`; an event scenario is scored from its
start to 26 weeks after, and over the year around it) and the real logs under the shared data
folder (skipped, and said so, when it is absent). For each set and kind (files submitted in the
7 days after an origin, files open at it) it prints the MAE of P50, its ratio to the published
method, P80 and P90 coverage (a file still open past its date when the data ends counts as a
miss; `cov80_done` judges completed files only), the P50-P90 width, and each model's mean fit
time; `proportional_hazards_strata5` is the same model with `queue_strata=5`. Nothing is
hard-coded: every figure is measured in the run.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl

from experiments.bench_accuracy import (
    REAL,
    DataSet,
    factories,
    real,
    shared_data_root,
    simulated,
    with_completed_coverage,
)
from forecasting.backtest import (
    AS_OF,
    BASELINE,
    KIND,
    MODEL,
    aggregate,
    backtest_predictions,
    summarise,
)
from forecasting.models import KaplanMeier, ProcessingTimeModel, ProportionalHazards

COMPARED = (BASELINE, KaplanMeier.name, ProportionalHazards.name)
# Not a registered model: ProportionalHazards with five queue strata, for the trade-off.
STRATIFIED = f"{ProportionalHazards.name}_strata5"
SCENARIOS = ("steady", "surge")
COLUMNS = (
    "n",
    "n_censored",
    "mae_p50",
    "mae_ratio",
    "coverage_p80",
    "cov80_done",
    "coverage_p90",
    "width_p50_p90",
    "fit_s",
)


def timed(
    factory: Callable[[], ProcessingTimeModel], seconds: list[float]
) -> Callable[[], ProcessingTimeModel]:
    """`factory`, whose models append each fit's wall-clock seconds to `seconds`."""

    def make() -> ProcessingTimeModel:
        model = factory()
        fit = model.fit

        def fit_and_time(*args: object, **kwargs: object) -> ProcessingTimeModel:
            started = time.perf_counter()
            try:
                return fit(*args, **kwargs)  # type: ignore[arg-type]
            finally:
                seconds.append(time.perf_counter() - started)

        model.fit = fit_and_time  # type: ignore[method-assign]
        return model

    return make


def scores(predictions: pl.DataFrame, data: DataSet) -> pl.DataFrame:
    """Per model and kind over the set's origins; `cov80_done` counts completed files only."""
    own = predictions.filter(pl.col(AS_OF).is_in(data.origins))
    return with_completed_coverage(lambda p: summarise(aggregate(p)), own)


def data_sets(scale: float, root: Path, wanted: list[str]) -> list[DataSet]:
    def picked(label: str) -> bool:
        return not wanted or any(label.startswith(w) or w.startswith(label) for w in wanted)

    sets = [
        s for scenario in SCENARIOS if picked(f"sim {scenario}") for s in simulated(scenario, scale)
    ]
    if root.is_dir():
        sets += [real(name, root) for name in REAL if picked(f"real {name}")]
    else:
        print(f"real logs skipped: {root} is absent (set DELAI_SHARED_DATA)")
    return [s for s in sets if not wanted or any(s.label.startswith(w) for w in wanted)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.3, help="simulator scale")
    parser.add_argument("--only", default="", help="comma-separated data set prefixes")
    args = parser.parse_args()
    root = shared_data_root()
    sets = data_sets(args.scale, root, [w for w in args.only.split(",") if w])
    tables = []
    for source in dict.fromkeys(s.source for s in sets):
        group = [s for s in sets if s.source == source]
        origins = sorted({day for data in group for day in data.origins})
        made = factories(group[0].country, list(COMPARED))
        made[STRATIFIED] = lambda: ProportionalHazards(queue_strata=5)
        seconds: dict[str, list[float]] = {name: [] for name in made}
        models = {name: timed(made[name], seconds[name]) for name in made}
        started = time.perf_counter()
        predictions = backtest_predictions(group[0].applications, models, origins)
        print(
            f"{source}: {group[0].applications.height} files, {len(origins)} origins, "
            f"{time.perf_counter() - started:.0f} s",
            flush=True,
        )
        fit_s = pl.DataFrame(
            {MODEL: list(seconds), "fit_s": [sum(s) / max(len(s), 1) for s in seconds.values()]}
        )
        for data in group:
            print(
                f"  {data.label}: {len(data.origins)} origins {data.origins[0]}..{data.origins[-1]}"
            )
            tables.append(
                scores(predictions, data)
                .join(fit_s, on=MODEL)
                .select(pl.lit(data.label).alias("data"), KIND, MODEL, *COLUMNS)
            )
    with pl.Config(
        tbl_rows=200,
        tbl_cols=-1,
        tbl_width_chars=200,
        float_precision=2,
        tbl_hide_dataframe_shape=True,
    ):
        print(pl.concat(tables))


if __name__ == "__main__":
    main()
