"""What the training commands share: stage timing, progress, and logging a backtest to a run."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from time import perf_counter

import polars as pl

from forecasting import tracking
from forecasting.backtest import BASELINE, INTERVAL_COLUMNS, KIND, METRICS, MODEL
from forecasting.errors import DelaiError
from forecasting.quarantine import QuarantineReport
from forecasting.scores import weighted_pinball
from training.plots import backtest_figures

# The baseline and the two models every backtest compares; a training adds its candidates.
BACKTEST_MODELS = (BASELINE, "kaplan_meier", "queue_projection")
SUMMARY_METRICS = (
    *METRICS,
    "mae_ratio",
    *INTERVAL_COLUMNS,
)
# `progress(description)` gives a context whose value is `update(done, total)`.
Progress = Callable[[str], AbstractContextManager[Callable[[int, int], None]]]


@contextmanager
def silent(description: str) -> Iterator[Callable[[int, int], None]]:
    yield lambda done, total: None


class Stopwatch:
    """Seconds spent per named stage, in the order the stages ran."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + perf_counter() - start


def backtest_metrics(
    scored: pl.DataFrame, summary: pl.DataFrame, ratio: float | None
) -> dict[str, float | None]:
    """`model.kind.metric` from the summary, each model's pinball loss and ratio to baseline."""
    metrics: dict[str, float | None] = {}
    for row in summary.iter_rows(named=True):
        for name in SUMMARY_METRICS:
            if name in row:
                metrics[f"{row[MODEL]}.{row[KIND]}.{name}"] = row[name]
    losses = weighted_pinball(scored)
    base = losses.get(BASELINE)
    for model, loss in losses.items():
        metrics[f"{model}.pinball"] = loss
        metrics[f"{model}.pinball_ratio"] = loss / base if base else None
    if ratio is not None:
        metrics["pinball_ratio"] = ratio
    return metrics


def report_metrics(reports: dict[str, QuarantineReport]) -> dict[str, float | None]:
    """Rows read, accepted and quarantined (in total and per reason) for each table."""
    metrics: dict[str, float | None] = {}
    for table, report in reports.items():
        metrics[f"{table}.rows_read"] = report.rows_read
        metrics[f"{table}.accepted"] = report.accepted
        metrics[f"{table}.quarantined"] = report.quarantined
        for reason, count in report.by_reason.items():
            metrics[f"{table}.quarantined.{reason}"] = count
    return metrics


def log_backtest(results: pl.DataFrame, summary: pl.DataFrame, plotted: pl.DataFrame) -> None:
    """The long frame (Parquet), the summary (CSV) and the figures of `plotted`."""
    tracking.log_frame(results, "backtest/backtest.parquet")
    tracking.log_frame(summary, "backtest/summary.csv")
    for artifact, figure in backtest_figures(plotted).items():
        tracking.log_figure(figure, artifact)


def write_frame(frame: pl.DataFrame, target: Path) -> None:
    try:
        if target.suffix == ".parquet":
            frame.write_parquet(target)
        else:
            frame.write_csv(target)
    except OSError as exc:
        raise DelaiError(
            f"`--out` must be a writable path, got '{target}' ({exc.strerror})"
        ) from None
