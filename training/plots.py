"""Figures of a backtest long frame (coverage, error, calibration) and of a what-if's weeks.

Figures are built with `matplotlib.figure.Figure` directly, never pyplot: nothing global (no
backend switch, no current figure) is touched, so plotting is safe in any process, headless or
not. Points are weighted by the number of scored files, as in `backtest.summarise`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import polars as pl
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from forecasting.backtest import MODEL, weighted, with_judged
from forecasting.schema import (
    AS_OF,
    BACKLOG,
    BACKLOG_HI,
    BACKLOG_LO,
    BASELINE_VARIANT,
    P80_DAYS_HI,
    P80_DAYS_LO,
    QUANTILE_DATES,
    QUANTILE_DAYS,
    QUANTILES,
    SCENARIO_VARIANT,
    SERVICE,
    TOTAL,
    VARIANT,
    WEEK_START,
)

P80_DAYS = QUANTILE_DAYS[1]
# Nominal quantile -> the coverage column that measures it; p50 only when the backtest has it.
COVERAGE = {q: f"coverage_{name}" for q, name in zip(QUANTILES, QUANTILE_DATES, strict=True)}


def coverage_over_time(results: pl.DataFrame) -> Figure:
    """Share of files done by their P80 and P90 date, per as-of date and model."""
    by_date = _weighted(results, [AS_OF, MODEL], ["coverage_p80", "coverage_p90"])
    figure = Figure(figsize=(10, 4.5), layout="constrained")
    axes = figure.subplots(1, 2, sharey=True)
    for ax, column, target in zip(axes, ("coverage_p80", "coverage_p90"), (0.8, 0.9), strict=True):
        _lines(ax, by_date, column)
        ax.axhline(target, color="black", linestyle="--", linewidth=1, label=f"target {target}")
        ax.set_title(f"{column.split('_')[1].upper()} coverage")
        ax.set_xlabel("as-of date")
        ax.set_ylim(0, 1.02)
        ax.tick_params(axis="x", labelrotation=30)
        ax.legend(loc="lower right", fontsize="small")
    axes[0].set_ylabel("share of files done by the date")
    figure.suptitle("Coverage of the promised dates, by as-of date")
    return figure


def mae_over_time(results: pl.DataFrame) -> Figure:
    """Mean absolute error of the P50 (days), per as-of date and model."""
    by_date = _weighted(results, [AS_OF, MODEL], ["mae_p50"])
    figure = Figure(figsize=(8, 4.5), layout="constrained")
    ax = figure.subplots()
    _lines(ax, by_date, "mae_p50")
    ax.set_title("P50 error by as-of date")
    ax.set_xlabel("as-of date")
    ax.set_ylabel("mean absolute error (days)")
    ax.set_ylim(bottom=0)
    ax.tick_params(axis="x", labelrotation=30)
    ax.legend(fontsize="small")
    return figure


def calibration(results: pl.DataFrame) -> Figure:
    """Nominal quantile against observed coverage per model; on the diagonal is calibrated.

    The quantiles plotted are those the backtest measures coverage for (0.8 and 0.9 today;
    0.5 as soon as the long frame carries `coverage_p50`).
    """
    measured = {q: c for q, c in COVERAGE.items() if c in results.columns}
    overall = _weighted(results, [MODEL], list(measured.values()))
    figure = Figure(figsize=(5.5, 5.5), layout="constrained")
    ax = figure.subplots()
    ax.plot([0, 1], [0, 1], color="black", linestyle="--", linewidth=1, label="calibrated")
    nominal = list(measured)
    for model in _models(overall):
        row = overall.filter(pl.col(MODEL) == model)
        observed = [row.item(0, c) for c in measured.values()]
        ax.plot(nominal, observed, marker="o", label=model)
    ax.set_xlim(0.4, 1.0)
    ax.set_ylim(0.4, 1.0)
    ax.set_xlabel("nominal quantile")
    ax.set_ylabel("observed share of files done by the date")
    ax.set_title("Calibration over all origins")
    ax.legend(fontsize="small")
    return figure


def backtest_figures(results: pl.DataFrame) -> dict[str, Figure]:
    """Every figure, keyed by the artifact file name it is logged under."""
    return {
        "plots/coverage_over_time.png": coverage_over_time(results),
        "plots/mae_p50_over_time.png": mae_over_time(results),
        "plots/calibration.png": calibration(results),
    }


def _weighted(results: pl.DataFrame, keys: Sequence[str], metrics: Sequence[str]) -> pl.DataFrame:
    grouped = with_judged(results).group_by(list(keys))
    return grouped.agg(*(weighted(m) for m in metrics)).sort(list(keys))


def _models(frame: pl.DataFrame) -> list[str]:
    return sorted(str(m) for m in frame.get_column(MODEL).unique())


def _lines(ax: Axes, by_date: pl.DataFrame, column: str) -> None:
    for model in _models(by_date):
        part = by_date.filter(pl.col(MODEL) == model)
        ax.plot(
            part.get_column(AS_OF).to_list(),
            part.get_column(column).to_list(),
            marker="o",
            markersize=3,
            label=model,
        )


def whatif_chart(weekly: pl.DataFrame, *, title: str, change: date | None = None) -> Figure:
    """Open files and P80 processing time per week, baseline dashed and scenario solid, each
    with its 10-90 % band from the intake paths; the totals rows of a what-if's weekly frame."""
    totals = weekly.filter(pl.col(SERVICE) == TOTAL).sort(WEEK_START)
    figure = Figure(figsize=(10, 6.5), layout="constrained")
    top, bottom = figure.subplots(2, 1, sharex=True)
    panels = (
        (top, BACKLOG, BACKLOG_LO, BACKLOG_HI, "files open at the end of the week"),
        (bottom, P80_DAYS, P80_DAYS_LO, P80_DAYS_HI, "P80 days, files submitted that week"),
    )
    for ax, column, low, high, label in panels:
        for variant, style in ((BASELINE_VARIANT, "--"), (SCENARIO_VARIANT, "-")):
            part = totals.filter(pl.col(VARIANT) == variant)
            weeks = part.get_column(WEEK_START).to_list()
            line = ax.plot(weeks, part.get_column(column).to_list(), style, label=variant)[0]
            ax.fill_between(
                weeks,
                part.get_column(low).to_list(),
                part.get_column(high).to_list(),
                color=line.get_color(),
                alpha=0.15,
                linewidth=0,
            )
        if change is not None:
            ax.axvline(change, color="black", linewidth=1, linestyle=":", label="first change")
        ax.set_ylabel(label)
        ax.set_ylim(bottom=0)
        ax.legend(loc="upper left", fontsize="small")
    bottom.set_xlabel("week starting")
    bottom.tick_params(axis="x", labelrotation=30)
    figure.suptitle(title)
    return figure
