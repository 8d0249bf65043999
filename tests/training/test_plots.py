"""Backtest figures: one line per model, reference lines, and no pyplot state left behind."""

from __future__ import annotations

from datetime import date, timedelta

import matplotlib.pyplot as plt
import polars as pl
import pytest
from matplotlib.figure import Figure

from training import plots

MODELS = ("published_percentile", "kaplan_meier")


def _long_frame(with_p50: bool = False) -> pl.DataFrame:
    rows = []
    for i in range(3):
        for j, model in enumerate(MODELS):
            for kind, n in (("new", 10), ("open", 30)):
                rows.append(
                    {
                        "as_of": date(2025, 1, 1) + timedelta(days=7 * i),
                        "model": model,
                        "service": "passport_adult",
                        "channel": "online",
                        "region": "ON",
                        "kind": kind,
                        "n": n,
                        "n_censored": 0,
                        "mae_p50": 5.0 + j,
                        "pinball": 2.0 + j,
                        "coverage_p80": 0.7 + 0.1 * j,
                        "coverage_p90": 0.8 + 0.1 * j,
                        "width_p50_p90": 10.0,
                        **({"coverage_p50": 0.5} if with_p50 else {}),
                    }
                )
    return pl.DataFrame(rows)


def test_every_figure_has_a_line_per_model_and_leaves_pyplot_alone() -> None:
    before = plt.get_fignums()
    figures = plots.backtest_figures(_long_frame())
    assert plt.get_fignums() == before
    assert set(figures) == {
        "plots/coverage_over_time.png",
        "plots/mae_p50_over_time.png",
        "plots/calibration.png",
    }
    for figure in figures.values():
        assert isinstance(figure, Figure)
    p80, p90 = figures["plots/coverage_over_time.png"].axes
    labels = [line.get_label() for line in p80.get_lines()]
    assert labels == [*sorted(MODELS), "target 0.8"]
    assert p90.get_lines()[-1].get_ydata()[0] == 0.9
    (mae,) = figures["plots/mae_p50_over_time.png"].axes
    assert [line.get_label() for line in mae.get_lines()] == sorted(MODELS)


def test_calibration_plots_the_quantiles_the_backtest_measured() -> None:
    (ax,) = plots.calibration(_long_frame()).axes
    kaplan = next(line for line in ax.get_lines() if line.get_label() == "kaplan_meier")
    assert list(kaplan.get_xdata()) == [0.8, 0.9]
    assert list(kaplan.get_ydata()) == pytest.approx([0.8, 0.9])
    (ax,) = plots.calibration(_long_frame(with_p50=True)).axes
    kaplan = next(line for line in ax.get_lines() if line.get_label() == "kaplan_meier")
    assert list(kaplan.get_xdata()) == [0.5, 0.8, 0.9]
