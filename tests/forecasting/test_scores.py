"""Scoring the deployed choice: its backtest rows, and pinball loss relative to the baseline."""

from __future__ import annotations

import math
from datetime import date
from types import SimpleNamespace

import polars as pl
import pytest

from forecasting.scores import FORECASTER, chosen_rows, pinball_ratio, weighted_pinball


def _row(model: str, region: str, n: int, pinball: float) -> dict[str, object]:
    return {
        "as_of": date(2025, 1, 1),
        "model": model,
        "service": "passport_adult",
        "channel": "online",
        "region": region,
        "kind": "open",
        "n": n,
        "n_censored": 0,
        "mae_p50": pinball * 2,
        "pinball": pinball,
        "coverage_p80": 0.8,
        "coverage_p90": 0.9,
        "width_p50_p90": 10.0,
    }


RESULTS = pl.DataFrame(
    [
        _row("published_percentile", "ON", 10, 4.0),
        _row("published_percentile", "QC", 30, 8.0),
        _row("kaplan_meier", "ON", 10, 2.0),
        _row("kaplan_meier", "QC", 30, 9.0),
        _row("queue_projection", "ON", 10, 3.0),
        _row("queue_projection", "QC", 30, 6.0),
    ]
)


def test_chosen_rows_follow_the_per_segment_choice_and_the_default() -> None:
    forecaster = SimpleNamespace(
        choice_={("passport_adult", "online", "ON"): "kaplan_meier"},
        default_model_="queue_projection",
    )
    chosen = chosen_rows(RESULTS, forecaster)  # type: ignore[arg-type]
    assert chosen.get_column("model").to_list() == [FORECASTER, FORECASTER]
    assert dict(zip(chosen["region"], chosen["pinball"], strict=True)) == {"ON": 2.0, "QC": 6.0}
    assert chosen.columns == RESULTS.columns


def test_pinball_ratio_is_relative_to_the_baseline_on_the_same_rows() -> None:
    assert weighted_pinball(RESULTS)["published_percentile"] == pytest.approx(7.0)
    assert pinball_ratio(RESULTS, "published_percentile") == pytest.approx(1.0)
    assert pinball_ratio(RESULTS, "queue_projection") == pytest.approx((30 + 180) / 40 / 7.0)
    assert math.isnan(pinball_ratio(RESULTS, "prophet"))
    no_baseline = RESULTS.filter(pl.col("model") != "published_percentile")
    assert math.isnan(pinball_ratio(no_baseline, "kaplan_meier"))
