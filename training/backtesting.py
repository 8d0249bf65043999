"""`delai backtest`: a rolling-origin backtest of every model, summarised and logged to MLflow."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl

from forecasting import tracking
from forecasting.backtest import backtest, summarise_with_intervals, weekly_origins
from forecasting.errors import DelaiError
from forecasting.models import MODELS
from forecasting.settings import Settings
from training.data import load_data
from training.runs import (
    BACKTEST_MODELS,
    Progress,
    Stopwatch,
    backtest_metrics,
    log_backtest,
    report_metrics,
    silent,
    write_frame,
)


@dataclass
class BacktestOutcome:
    """The long frame, its summary, and the run they were logged to."""

    run_id: str
    results: pl.DataFrame
    summary: pl.DataFrame
    timings: dict[str, float] = field(default_factory=dict)


def run_backtest(
    data: Path,
    *,
    settings: Settings,
    start: date,
    end: date,
    step_days: int = 7,
    capacity: Path | None = None,
    experiment: str | None = None,
    out: Path | None = None,
    progress: Progress = silent,
) -> BacktestOutcome:
    """A rolling-origin backtest of every model from `start` to `end`, logged to MLflow."""
    if end < start:
        raise DelaiError(f"`--end` must be on or after `--start` ({start}), got {end}")
    if out is not None and out.suffix not in (".csv", ".parquet"):
        raise DelaiError(f"`--out` must end in .csv or .parquet, got '{out.name}'")
    clock = Stopwatch()
    with clock.stage("validate"):
        loaded = load_data(data, capacity=capacity, as_of=None, settings=settings)
    origins = weekly_origins(start, end, step_days)
    if origins[-1] > loaded.as_of:
        raise DelaiError(
            f"`--end` must be no later than the data's last date {loaded.as_of}, got {end}"
        )
    with clock.stage("backtest"), progress("backtesting") as update:
        results = backtest(
            loaded.applications,
            {name: MODELS[name] for name in BACKTEST_MODELS},
            origins,
            capacity=loaded.capacity,
            progress=update,
        )
    summary = summarise_with_intervals(results)
    if out is not None:
        write_frame(results, out)
    with clock.stage("tracking"):
        tracking.configure_tracking(settings, experiment or tracking.DEFAULT_EXPERIMENT)
    with tracking.tracked_run("backtest", tags={"delai.command": "backtest"}) as run_id:
        with clock.stage("log"):
            tracking.log_params(
                {
                    "data": data.name,
                    "capacity": capacity.name if capacity else "",
                    "start": start,
                    "end": end,
                    "step_days": step_days,
                    "origins": len(origins),
                    "applications": loaded.applications.height,
                }
            )
            tracking.log_metrics(
                {
                    **backtest_metrics(results, summary, None),
                    **report_metrics(loaded.reports),
                }
            )
            log_backtest(results, summary, results)
            for table, report in loaded.reports.items():
                tracking.log_dict(report.as_dict(), f"validation/{table}.json")
    return BacktestOutcome(run_id, results, summary, clock.seconds)
