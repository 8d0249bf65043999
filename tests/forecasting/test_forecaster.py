"""The Forecaster and the backtest carry on without a candidate the data cannot support."""

from __future__ import annotations

import copy
import pickle
from datetime import timedelta

import polars as pl
import pytest
from polars.testing import assert_series_equal

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


def test_waiting_and_new_files_are_answered_by_their_own_choice(small_world) -> None:
    applications, end = small_world
    as_of = end - timedelta(days=30)
    known = as_known_at(applications.lazy(), as_of).collect()
    segment = ("passport_adult", "online", "ON")
    # A backtest where Kaplan-Meier did best on waiting files and the queue on new ones.
    backtest = pl.DataFrame(
        [
            {
                "as_of": as_of,
                "model": model,
                **dict(zip(("service", "channel", "region"), segment, strict=True)),
                "kind": kind,
                "n": 10,
                "n_censored": 0,
                "mae_p50": loss,
                "pinball": loss,
                "coverage_p80": 0.8,
                "coverage_p90": 0.9,
                "width_p50_p90": 1.0,
            }
            for model, kind, loss in [
                ("kaplan_meier", "open", 1.0),
                ("kaplan_meier", "new", 4.0),
                ("queue_projection", "open", 3.0),
                ("queue_projection", "new", 2.0),
            ]
        ]
    )
    forecaster = Forecaster(candidates=("queue_projection", "kaplan_meier")).fit(
        known, as_of=as_of, backtest=backtest
    )
    days = [-20, 0, 1, 5]
    requests = pl.DataFrame(
        {
            "service": segment[0],
            "channel": segment[1],
            "region": segment[2],
            SUBMITTED_ON: [as_of + timedelta(days=d) for d in days],
        }
    )
    chosen = forecaster.estimate(requests).get_column("chosen_model").to_list()
    assert chosen == ["kaplan_meier", "kaplan_meier", "queue_projection", "queue_projection"]
    accuracy = forecaster.accuracy_[segment]
    # Both kinds' chosen rows: 20 files, mean MAE of 1.0 and 2.0.
    assert accuracy.files_scored == 20 and accuracy.mae_p50_days == pytest.approx(1.5)


def _too_early(as_of, segment, files: int = 60) -> pl.DataFrame:
    """Backtest files of Kaplan-Meier, open at an origin 60 days before `as_of`, that took 30
    more days where it said 7 (P80) and 9 (P90)."""
    origin = as_of - timedelta(days=60)
    return pl.DataFrame(
        {
            "as_of": [origin] * files,
            "model": "kaplan_meier",
            **dict(zip(("service", "channel", "region"), segment, strict=True)),
            "submitted_on": [origin - timedelta(days=5)] * files,
            "kind": "open",
            "actual_days": [35] * files,
            "p50_days": [10.0] * files,
            "p80_days": [12.0] * files,
            "p90_days": [14.0] * files,
        }
    )


def test_the_served_upper_quantiles_are_recalibrated_and_old_pickles_still_answer(
    small_world,
) -> None:
    applications, end = small_world
    as_of = end - timedelta(days=30)
    known = as_known_at(applications.lazy(), as_of).collect()
    segment = ("passport_adult", "online", "ON")
    forecaster = Forecaster(candidates=("kaplan_meier",)).fit(
        known, as_of=as_of, backtest_predictions=_too_early(as_of, segment)
    )
    assert forecaster.choice_[(*segment, "open")] == "kaplan_meier"
    table = forecaster.calibration_.table_
    assert table.filter(pl.col("kind") == "open")["correction"].to_list() == [0.0, 0.5, 0.5]
    requests = pl.DataFrame(
        {
            "service": segment[0],
            "channel": segment[1],
            "region": segment[2],
            SUBMITTED_ON: [as_of - timedelta(days=d) for d in (40, 20, 3, 0)]
            + [as_of + timedelta(days=2)],
        }
    )
    served = forecaster.estimate(requests)
    # A Forecaster pickled before the recalibration existed has no such attribute.
    old = copy.copy(forecaster)
    del old.calibration_
    unpickled = pickle.loads(pickle.dumps(old))
    raw = unpickled.estimate(requests)
    assert raw.get_column(QUANTILE_DAYS[1]).null_count() == 0
    assert_series_equal(served.get_column(QUANTILE_DAYS[0]), raw.get_column(QUANTILE_DAYS[0]))
    later = served.get_column(QUANTILE_DAYS[1]) - raw.get_column(QUANTILE_DAYS[1])
    # Waiting files later; the new file's kind had no backtest files, so it is as answered.
    assert (later.head(4) > 0).all() and later[4] == 0


def test_the_accuracy_shown_is_that_of_the_recalibrated_dates(small_world) -> None:
    """60 backtest files done within their P80 and 40 done two days after it: the P80 is moved
    later, and the coverage applicants are shown is that of the moved date."""
    applications, end = small_world
    as_of = end - timedelta(days=30)
    known = as_known_at(applications.lazy(), as_of).collect()
    segment = ("passport_adult", "online", "ON")
    files = _too_early(as_of, segment, files=100).with_columns(
        pl.Series("actual_days", [10] * 60 + [17] * 40),
        pl.lit(10.0).alias("p50_days"),
        pl.lit(15.0).alias("p80_days"),
        pl.lit(16.0).alias("p90_days"),
    )
    baseline = files.with_columns(pl.lit("published_percentile").alias("model"))
    backtest = pl.concat([files, baseline])
    forecaster = Forecaster(candidates=("kaplan_meier",)).fit(
        known, as_of=as_of, backtest_predictions=backtest
    )
    assert forecaster.calibration_.table_.filter(
        (pl.col("kind") == "open") & (pl.col("quantile") == 0.8)
    )["coverage_raw"].to_list() == [pytest.approx(0.6)]
    accuracy = forecaster.accuracy_[segment]
    assert accuracy.files_scored == 100
    assert accuracy.coverage_p80 == pytest.approx(1.0)
    # The median is not recalibrated, so the errors are the backtest's.
    assert accuracy.mae_p50_days == pytest.approx(0.4 * 7)
    assert accuracy.published_mae_p50_days == pytest.approx(0.4 * 7)
