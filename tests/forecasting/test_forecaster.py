"""The Forecaster and the backtest carry on without a candidate the data cannot support."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

from forecasting.asof import as_known_at
from forecasting.backtest import aggregate, backtest_predictions
from forecasting.errors import DelaiError
from forecasting.forecaster import Forecaster
from forecasting.models import BoostedQuantiles, KaplanMeier
from forecasting.schema import QUANTILE_DAYS, SUBMITTED_ON


@pytest.fixture(scope="module")
def short(small_world):
    """A hundred days of files: too short for BoostedQuantiles, enough for Kaplan-Meier."""
    applications, end = small_world
    as_of = end - timedelta(days=30)
    recent = applications.filter(pl.col(SUBMITTED_ON) > as_of - timedelta(days=100))
    return recent, as_of


def test_a_candidate_that_cannot_be_fitted_is_left_out_and_named(short) -> None:
    data, as_of = short
    known = as_known_at(data.lazy(), as_of).collect()
    forecaster = Forecaster(candidates=("boosted_quantiles", "kaplan_meier")).fit(
        known, as_of=as_of
    )
    assert list(forecaster.models_) == ["kaplan_meier"]
    assert "needs at least 200 training files" in forecaster.skipped_["boosted_quantiles"]
    assert forecaster.default_model_ == "kaplan_meier"
    service, channel, region = forecaster.segments[0]
    answered = forecaster.estimate(
        pl.DataFrame(
            {"service": [service], "channel": [channel], "region": [region], SUBMITTED_ON: [as_of]}
        )
    )
    assert answered.get_column("chosen_model").to_list() == ["kaplan_meier"]
    assert answered.get_column(QUANTILE_DAYS[1]).null_count() == 0


def test_no_candidate_fitted_is_an_error_naming_each_reason(short) -> None:
    data, as_of = short
    known = as_known_at(data.lazy(), as_of).collect()
    with pytest.raises(DelaiError, match="no candidate model could be fitted .*boosted_quantiles"):
        Forecaster(candidates=("boosted_quantiles",)).fit(known, as_of=as_of)


def test_the_backtest_scores_the_others_when_one_model_cannot_be_fitted(short) -> None:
    data, as_of = short
    origin = as_of - timedelta(days=14)
    models = {"boosted_quantiles": BoostedQuantiles, "kaplan_meier": KaplanMeier}
    predicted = backtest_predictions(data, models, [origin])
    boosted = predicted.filter(pl.col("model") == "boosted_quantiles")
    assert (
        boosted.height > 0 and boosted.get_column(QUANTILE_DAYS[0]).null_count() == boosted.height
    )
    scored = aggregate(predicted).filter(pl.col("n") > 0)
    assert scored.get_column("model").unique().to_list() == ["kaplan_meier"]
