"""`delai train`: validate, backtest, fit, log, register and promote; every stage timed.

The candidate's score is the pinball loss of the Forecaster's per-segment choice over the
published baseline's on the same origins (`forecasting.scores`); promotion follows
`forecasting.promotion`, by alias.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd
import polars as pl

from forecasting import registry, tracking
from forecasting.backtest import aggregate, backtest_predictions, summarise_with_intervals
from forecasting.capacity import plan_summary
from forecasting.forecaster import Forecaster
from forecasting.models import MODELS
from forecasting.promotion import PromotionDecision
from forecasting.schema import SEGMENT, SUBMITTED_ON
from forecasting.scores import FORECASTER, chosen_rows, pinball_ratio
from forecasting.settings import Settings
from forecasting.summary import segment_summary
from training.data import Origins, choose_origins, load_data
from training.runs import (
    BACKTEST_MODELS,
    Progress,
    Stopwatch,
    backtest_metrics,
    log_backtest,
    report_metrics,
    silent,
)

# BoostedQuantiles joined once a million applications still trained within 5 minutes with it
# (measured: 173 s wall on 2 cores when it joined; docs/accuracy.md, "Speed", has the latest).
DEFAULT_CANDIDATES = ("queue_projection", "kaplan_meier", "boosted_quantiles")


@dataclass
class TrainOutcome:
    """What a training produced: where it was logged, its scores, and the promotion decision."""

    run_id: str
    model_version: str
    as_of: date
    origins: Origins
    summary: pl.DataFrame
    pinball_ratio: float
    decision: PromotionDecision
    timings: dict[str, float] = field(default_factory=dict)


def train(
    data: Path,
    *,
    settings: Settings,
    capacity: Path | None = None,
    as_of: date | None = None,
    experiment: str | None = None,
    origins: int = 12,
    step_days: int = 7,
    candidates: Sequence[str] = DEFAULT_CANDIDATES,
    progress: Progress = silent,
) -> TrainOutcome:
    """Validate, backtest, fit, log, register as `settings.model_name`, and maybe promote."""
    clock = Stopwatch()
    with clock.stage("validate"):
        loaded = load_data(data, capacity=capacity, as_of=as_of, settings=settings)
        window = choose_origins(
            loaded.applications, loaded.as_of, count=origins, step_days=step_days
        )
    compared = dict.fromkeys((*BACKTEST_MODELS, *candidates))
    with clock.stage("backtest"), progress("backtesting") as update:
        # Per file, so the final recalibration learns from the same fits the choice is made on.
        predictions = backtest_predictions(
            loaded.applications,
            {name: MODELS[name] for name in compared},
            window.origins,
            capacity=loaded.capacity,
            progress=update,
        )
        results = aggregate(predictions)
    with clock.stage("fit"):
        forecaster = Forecaster(candidates=candidates).fit(
            loaded.applications,
            as_of=loaded.as_of,
            capacity=loaded.capacity,
            backtest=results,
            backtest_predictions=predictions,
        )
        scored = pl.concat([results, chosen_rows(results, forecaster)], how="vertical_relaxed")
        summary = summarise_with_intervals(scored)
        ratio = pinball_ratio(scored, FORECASTER)
    with clock.stage("tracking"):
        tracking.configure_tracking(settings, experiment or tracking.DEFAULT_EXPERIMENT)
    tags = {"delai.command": "train", "delai.code_fingerprint": registry.code_fingerprint()}
    with tracking.tracked_run("train", tags=tags) as run_id:
        with clock.stage("log"):
            metrics = backtest_metrics(scored, summary, ratio)
            tracking.log_params(
                {
                    "data": data.name,
                    "capacity": capacity.name if capacity else "",
                    "as_of": loaded.as_of,
                    "origins": len(window.origins),
                    "first_origin": window.origins[0],
                    "last_origin": window.origins[-1],
                    "step_days": step_days,
                    "horizon_days": window.horizon_days,
                    "candidates": ",".join(candidates),
                    "applications": loaded.applications.height,
                    "segments": len(forecaster.segments),
                }
            )
            tracking.log_metrics({**metrics, **report_metrics(loaded.reports)})
            log_backtest(results, summary, scored)
            for table, report in loaded.reports.items():
                tracking.log_dict(report.as_dict(), f"validation/{table}.json")
            tracking.log_frame(
                segment_summary(loaded.applications, as_of=loaded.as_of), "data/segments.csv"
            )
            if loaded.capacity is not None:
                tracking.log_frame(
                    plan_summary(loaded.capacity, loaded.as_of), "data/capacity_plans.csv"
                )
            tracking.log_dict(
                {
                    "chosen_model": {"/".join(k): v for k, v in forecaster.choice_.items()},
                    "default_model": forecaster.default_model_,
                },
                "model/choice.json",
            )
            if forecaster.calibration_ is not None:
                tracking.log_frame(forecaster.calibration_.table_, "model/calibration.csv")
        with clock.stage("log_model"):
            info = registry.log_forecaster(
                forecaster,
                name="forecaster",
                input_example=input_example(forecaster),
                metrics={
                    k: v
                    for k, v in metrics.items()
                    if k.startswith(FORECASTER) or k == "pinball_ratio"
                },
                params={"as_of": loaded.as_of, "candidates": ",".join(candidates)},
                registered_model_name=settings.model_name,
            )
        version = str(info.registered_model_version)
        with clock.stage("promote"):
            decision = registry.promote_if_better(
                tracking.client(), settings.model_name, version, ratio
            )
        tracking.log_metrics({f"seconds.{k}": v for k, v in clock.seconds.items()})
    return TrainOutcome(
        run_id=run_id,
        model_version=version,
        as_of=loaded.as_of,
        origins=window,
        summary=summary,
        pinball_ratio=ratio,
        decision=decision,
        timings=clock.seconds,
    )


def input_example(forecaster: Forecaster, rows: int = 3) -> pd.DataFrame:
    """A few known segments, submitted on the as-of day, as the text the pyfunc receives."""
    segments = forecaster.segments[:rows]
    day = forecaster.as_of_.isoformat()
    return pd.DataFrame(
        [(*segment, day) for segment in segments], columns=[*SEGMENT, SUBMITTED_ON]
    ).astype(str)
