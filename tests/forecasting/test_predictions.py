"""The text contract of estimates: input columns kept in order, ISO dates, one error per bad row."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from forecasting.asof import as_known_at
from forecasting.contract import validate_applications
from forecasting.errors import DataContractError, DelaiError
from forecasting.forecaster import Forecaster
from forecasting.predictions import ANSWER_COLUMNS, predict_table
from forecasting.simulate import simulate

AS_OF = date(2024, 9, 30)


@pytest.fixture(scope="module")
def forecaster() -> Forecaster:
    raw = simulate(start=date(2024, 1, 1), end=AS_OF, seed=11, scale=0.02).applications
    applications = validate_applications(raw.lazy(), as_of=AS_OF).applications
    known = as_known_at(applications.lazy(), AS_OF).collect()
    return Forecaster(candidates=("kaplan_meier",)).fit(known, as_of=AS_OF)


def _requests(forecaster: Forecaster, dates: list[str | None]) -> pl.DataFrame:
    service, channel, region = forecaster.segments[0]
    return pl.DataFrame(
        {
            "ref": [f"r{i}" for i in range(len(dates))],
            "submitted_on": dates,
            "region": [region] * len(dates),
            "channel": [channel] * len(dates),
            "service": [service] * len(dates),
        }
    )


def test_answers_follow_the_request_columns_in_their_order(forecaster: Forecaster) -> None:
    requests = _requests(forecaster, ["2024-09-01", "2024-09-30T08:15:00-04:00", "2024-10-15"])
    answers = predict_table(forecaster, requests, model_version="7")
    assert answers.columns == [*requests.columns, *ANSWER_COLUMNS]
    assert answers.select(requests.columns).equals(requests)
    assert answers.get_column("error").to_list() == ["", "", ""]
    assert set(answers.get_column("as_of")) == {"2024-09-30"}
    assert set(answers.get_column("model_version")) == {"7"}
    for row in answers.iter_rows(named=True):
        assert row["p50"] <= row["p80"] <= row["p90"]
        assert date.fromisoformat(row["p50"]) > AS_OF


def test_each_bad_row_gets_its_own_error(forecaster: Forecaster) -> None:
    requests = _requests(forecaster, ["2024-09-01", "2024-02-30", None, "soon", "2024-09-02"])
    requests = requests.with_columns(
        pl.when(pl.col("ref") == "r4")
        .then(pl.lit("  "))
        .otherwise(pl.col("service"))
        .alias("service")
    )
    answers = predict_table(forecaster, requests, model_version="7")
    errors = answers.get_column("error").to_list()
    assert errors[0] == ""
    assert errors[1] == "`submitted_on` must be an ISO date like 2026-11-28, got '2024-02-30'"
    assert errors[2] == "`submitted_on` must be an ISO date like 2026-11-28, got nothing"
    assert errors[3] == "`submitted_on` must be an ISO date like 2026-11-28, got 'soon'"
    assert errors[4] == "`service` must be a non-empty string, got nothing"
    assert answers.get_column("p50").to_list()[1:] == ["", "", "", ""]


def test_unknown_segments_and_far_dates_are_row_errors(forecaster: Forecaster) -> None:
    requests = _requests(forecaster, ["2024-09-01", "2025-06-01"]).with_columns(
        pl.Series("region", ["Atlantis", forecaster.segments[0][2]])
    )
    errors = predict_table(forecaster, requests, model_version="7").get_column("error").to_list()
    assert "must be a known segment" in errors[0] and "Atlantis" in errors[0]
    assert "must be no later than" in errors[1]


def test_date_typed_and_empty_requests_are_answered(forecaster: Forecaster) -> None:
    typed = _requests(forecaster, ["2024-09-01"]).with_columns(pl.col("submitted_on").str.to_date())
    assert predict_table(forecaster, typed, model_version="7").item(0, "error") == ""
    empty = _requests(forecaster, []).cast(pl.String)
    answered = predict_table(forecaster, empty, model_version="7")
    assert answered.height == 0
    assert answered.columns == [*empty.columns, *ANSWER_COLUMNS]


def test_a_missing_column_or_a_clash_is_refused_for_the_whole_file(forecaster: Forecaster) -> None:
    requests = _requests(forecaster, ["2024-09-01"])
    with pytest.raises(DataContractError, match="`region` must be a column of the requests"):
        predict_table(forecaster, requests.drop("region"), model_version="7")
    with pytest.raises(DelaiError, match="must not already hold the answer columns .* got p50"):
        predict_table(forecaster, requests.with_columns(p50=pl.lit("x")), model_version="7")
