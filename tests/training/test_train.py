"""`delai train` and `delai predict` end to end on a tiny store: register, promote, answer.

One training (module-scoped) serves the checks that only read; the second training adds a
version to the same store, as a later week's training would.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import mlflow
import pandas as pd
import polars as pl
import pytest
from mlflow.tracking import MlflowClient
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from forecasting import local_registry, registry
from forecasting.errors import DataContractError
from forecasting.predictions import ANSWER_COLUMNS
from forecasting.schema import QUANTILE_DATES, REQUEST_COLUMNS
from forecasting.settings import Settings
from training.cli import app
from training.predict import PredictOutcome, predict_file

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import TinyData

runner = CliRunner()
MODEL_NAME = "processing-time"


@dataclass(frozen=True)
class Trained:
    folder: Path
    output: str
    client: MlflowClient


def _train(data: TinyData, *extra: str) -> str:
    args = ["train", "--data", str(data.applications), "--capacity", str(data.capacity)]
    result = runner.invoke(app, [*args, "--origins", "2", *extra])
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    return result.output


def _decision(client: MlflowClient, version: str) -> dict[str, object]:
    run_id = client.get_model_version(MODEL_NAME, version).run_id
    path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="promotion.json")
    return json.loads(Path(path).read_text())


@pytest.fixture(scope="module")
def trained(module_tracking: Path, tiny_data: TinyData) -> Trained:
    output = _train(tiny_data)
    return Trained(module_tracking, output, MlflowClient())


def test_first_training_registers_version_1_and_makes_it_champion(trained: Trained) -> None:
    champion = trained.client.get_model_version_by_alias(MODEL_NAME, "champion")
    assert str(champion.version) == "1"
    assert float(champion.tags[registry.SCORE_TAG]) < 1.0
    decision = _decision(trained.client, "1")
    assert decision["promoted"] is True
    assert "no champion yet" in str(decision["reason"])
    assert "promoted" in trained.output and "Time per stage" in trained.output


def test_training_logs_metrics_params_and_artifacts(trained: Trained, tiny_data: TinyData) -> None:
    run = trained.client.get_run(trained.client.get_model_version(MODEL_NAME, "1").run_id)
    metrics, params = run.data.metrics, run.data.params
    assert 0 < metrics["pinball_ratio"] < 1
    assert metrics["published_percentile.pinball_ratio"] == pytest.approx(1.0)
    for model in ("published_percentile", "kaplan_meier", "queue_projection", "forecaster"):
        for kind in ("new", "open"):
            for name in ("mae_p50", "pinball", "coverage_p80", "coverage_p90", "mae_ratio"):
                assert f"{model}.{kind}.{name}" in metrics
    # How far each figure could move with other origins, around the figure itself.
    for kind in ("new", "open"):
        low, high = (metrics[f"forecaster.{kind}.coverage_p80_{end}"] for end in ("lo", "hi"))
        assert low <= metrics[f"forecaster.{kind}.coverage_p80"] <= high
    assert metrics["applications.quarantined"] == tiny_data.quarantined
    assert params["data"] == "applications.parquet" and params["as_of"] == "2025-03-31"
    assert params["origins"] == "2"
    logged = {a.path for a in _artifacts(trained.client, run.info.run_id)}
    assert {
        "backtest/backtest.parquet",
        "backtest/summary.csv",
        "data/capacity_plans.csv",
        "data/segments.csv",
        "model/calibration.csv",
        "plots/calibration.png",
        "plots/coverage_over_time.png",
        "plots/mae_p50_over_time.png",
        "promotion.json",
        "validation/applications.json",
        "validation/capacity.json",
    } <= logged


def test_files_closed_without_completion_are_counted_in_the_data_summary(
    trained: Trained, tiny_data: TinyData
) -> None:
    run_id = trained.client.get_model_version(MODEL_NAME, "1").run_id
    path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="data/segments.csv")
    segments = pl.read_csv(path)
    raw = pl.read_parquet(tiny_data.applications)
    withdrawn = raw.filter(pl.col("closed_at").is_not_null()).height
    assert withdrawn > 0
    # Every withdrawn file was accepted (none is among the three refused rows' ids).
    assert segments.get_column("closed").sum() == withdrawn
    assert segments.get_column("open").sum() > 0


def test_training_logs_the_recalibration_it_serves_with(trained: Trained) -> None:
    """Per request kind and quantile: files, still open, correction, coverage before and after,
    the level served; the median is never corrected."""
    run_id = trained.client.get_model_version(MODEL_NAME, "1").run_id
    path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="model/calibration.csv")
    table = pl.read_csv(path)
    assert table.columns == [
        "kind",
        "quantile",
        "files",
        "censored",
        "correction",
        "coverage_raw",
        "coverage",
        "level",
    ]
    assert set(table.get_column("kind")) <= {"new", "open"} and table.height > 0
    assert (table.get_column("files") > 0).all()
    median = table.filter(pl.col("quantile") == 0.5)
    assert median.get_column("correction").to_list() == [0.0] * median.height
    assert median.get_column("level").to_list() == [0.5] * median.height


def test_worse_candidate_does_not_take_the_champion(trained: Trained, tiny_data: TinyData) -> None:
    # One candidate instead of the per-segment pick of two: never better on the same backtest.
    output = _train(tiny_data, "--candidates", "kaplan_meier")
    versions = trained.client.search_model_versions(f"name='{MODEL_NAME}'")
    latest = str(max(int(v.version) for v in versions))
    assert latest != "1"
    assert str(trained.client.get_model_version_by_alias(MODEL_NAME, "champion").version) == "1"
    decision = _decision(trained.client, latest)
    assert decision["promoted"] is False
    assert "does not beat champion v1" in str(decision["reason"])
    assert decision["champion_score"] is not None
    assert decision["candidate_score"] >= decision["champion_score"]
    assert trained.client.get_model_version(MODEL_NAME, latest).tags["promotion"] == "refused"
    assert "not promoted" in output


def test_predict_writes_the_contracted_columns_with_per_row_errors(
    trained: Trained, tmp_path: Path
) -> None:
    requests = pl.DataFrame(
        {
            "note": ["fine", "bad date", "unknown segment", "blank date"],
            "service": ["passport_adult", "passport_adult", "moon_visa", "passport_adult"],
            "channel": ["online", "online", "online", "online"],
            "region": ["ON", "ON", "ON", "ON"],
            "submitted_on": ["2025-03-20", "2025-02-30", "2025-03-20", None],
        }
    )
    source, target = tmp_path / "requests.csv", tmp_path / "predictions.csv"
    requests.write_csv(source)
    result = runner.invoke(app, ["predict", "--input", str(source), "--output", str(target)])
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    answers = pl.read_csv(target, infer_schema=False).fill_null("")
    assert answers.columns == [*requests.columns, *ANSWER_COLUMNS]
    assert answers.get_column("model_version").unique().to_list() == ["1"]
    assert answers.get_column("as_of").unique().to_list() == ["2025-03-31"]
    errors = answers.get_column("error").to_list()
    assert errors[0] == ""
    assert "`submitted_on` must be an ISO date" in errors[1] and "2025-02-30" in errors[1]
    assert "must be a known segment" in errors[2]
    assert "got nothing" in errors[3]
    p50, p80, p90 = (answers.row(0, named=True)[c] for c in QUANTILE_DATES)
    assert "2025-03-31" < p50 <= p80 <= p90
    assert all(answers.row(i, named=True)["p50"] == "" for i in (1, 2, 3))


def test_predict_refuses_a_file_without_a_request_column(trained: Trained, tmp_path: Path) -> None:
    source = tmp_path / "requests.csv"
    pl.DataFrame({"service": ["passport_adult"], "channel": ["online"]}).write_csv(source)
    target = tmp_path / "out.csv"
    result = runner.invoke(app, ["predict", "--input", str(source), "--output", str(target)])
    assert isinstance(result.exception, DataContractError)
    assert re.search(r"`region` must be a column of the requests table", str(result.exception))
    assert not target.exists()


def test_pyfunc_round_trip_gives_the_in_process_dates(trained: Trained) -> None:
    forecaster, info = registry.load_forecaster(f"models:/{MODEL_NAME}@champion")
    assert info.model_version == "1"
    segments = forecaster.segments
    requests = pd.DataFrame(
        {
            "service": [s[0] for s in segments],
            "channel": [s[1] for s in segments],
            "region": [s[2] for s in segments],
            "submitted_on": ["2025-03-01"] * len(segments),
        }
    )
    served = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}/1").predict(requests)
    assert list(served.columns) == [*REQUEST_COLUMNS, *ANSWER_COLUMNS]
    assert (served["error"] == "").all()
    in_process = forecaster.estimate(
        pl.from_pandas(requests).with_columns(pl.col("submitted_on").str.to_date())
    )
    for column in QUANTILE_DATES:
        expected = in_process.get_column(column).dt.to_string("%Y-%m-%d").to_list()
        assert served[column].tolist() == expected


def test_the_pyfunc_answers_bad_rows_and_reports_its_version(trained: Trained) -> None:
    model = registry.load_pyfunc(f"models:/{MODEL_NAME}@champion")
    requests = pd.DataFrame(
        {
            "service": ["passport_adult", "passport_adult"],
            "channel": ["online", "online"],
            "region": ["ON", "ON"],
            "submitted_on": ["2025-03-01", "2025-02-30"],
        }
    )
    served = model.predict(requests)
    assert served["model_version"].tolist() == ["1", "1"]
    assert served["error"].iloc[0] == "" and "2025-02-30" in served["error"].iloc[1]
    assert served["p50"].iloc[1] == ""


def test_no_application_id_reaches_the_tracking_store(
    trained: Trained, tiny_data: TinyData, find_ids: Callable[[Path], set[str]]
) -> None:
    # The detector must see ids where they are (a control), then find none in the store.
    assert find_ids(tiny_data.applications) >= tiny_data.ids
    files = [p for p in trained.folder.rglob("*") if p.is_file()]
    assert any(p.name == "forecaster.pkl" for p in files)
    assert any(p.name == "mlflow.db" for p in files)
    leaks = {str(p.relative_to(trained.folder)): find_ids(p) & tiny_data.ids for p in files}
    assert {p: ids for p, ids in leaks.items() if ids} == {}


def _artifacts(client: MlflowClient, run_id: str, path: str | None = None) -> list:
    found = []
    for item in client.list_artifacts(run_id, path):
        found += _artifacts(client, run_id, item.path) if item.is_dir else [item]
    return found


# --- the embedded store read without MLflow ---------------------------------------------------
def test_the_embedded_store_is_read_as_mlflow_reads_it(trained: Trained) -> None:
    """Fails, rather than slowing `delai predict` down unseen, if MLflow's tables change."""
    uri = f"models:/{MODEL_NAME}@champion"
    direct = local_registry.load_forecaster(uri, Settings().tracking_uri)
    assert direct is not None, "the embedded store could not be read directly"
    forecaster, info = direct
    through_mlflow, expected = registry.load_forecaster(uri)
    assert info == expected
    segment = forecaster.segments[0]
    requests = pl.DataFrame(
        {"service": [segment[0]], "channel": [segment[1]], "region": [segment[2]]}
    ).with_columns(pl.lit(date(2025, 3, 1)).alias("submitted_on"))
    assert_frame_equal(forecaster.estimate(requests), through_mlflow.estimate(requests))


def test_predict_needs_no_mlflow_on_the_embedded_store(
    trained: Trained, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(uri: str) -> None:
        raise AssertionError(f"MLflow was asked for {uri}")

    monkeypatch.setattr(registry, "load_forecaster", refuse)
    outcome = _predict_one(tmp_path)
    assert (outcome.model.model_version, outcome.errors) == ("1", 0)


def test_predict_goes_through_mlflow_when_the_store_cannot_be_read_directly(
    trained: Trained, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    load = registry.load_forecaster

    def counted(uri: str) -> tuple[object, object]:
        asked.append(uri)
        return load(uri)

    monkeypatch.setattr(local_registry, "load_forecaster", lambda uri, tracking: None)
    monkeypatch.setattr(registry, "load_forecaster", counted)
    outcome = _predict_one(tmp_path)
    assert asked == [f"models:/{MODEL_NAME}@champion"]
    assert (outcome.model.model_version, outcome.errors) == ("1", 0)


def test_a_version_whose_files_are_gone_is_left_to_mlflow(trained: Trained) -> None:
    store = sqlite3.connect(trained.folder / "mlflow.db")
    try:
        (location,) = store.execute(
            "SELECT storage_location FROM model_versions WHERE name = ? AND version = 1",
            (MODEL_NAME,),
        ).fetchone()
    finally:
        store.close()
    tracking_uri = Settings().tracking_uri
    moved = Path(location.removeprefix("file://")) / local_registry.PAYLOAD_PATH
    hidden = moved.with_suffix(".moved")
    moved.rename(hidden)
    try:
        assert local_registry.load_forecaster(f"models:/{MODEL_NAME}/1", tracking_uri) is None
    finally:
        hidden.rename(moved)
    assert local_registry.load_forecaster(f"models:/{MODEL_NAME}/1", tracking_uri) is not None


def _predict_one(folder: Path) -> PredictOutcome:
    source, target = folder / "one.csv", folder / "one-out.csv"
    pl.DataFrame(
        {
            "service": ["passport_adult"],
            "channel": ["online"],
            "region": ["ON"],
            "submitted_on": ["2025-03-20"],
        }
    ).write_csv(source)
    return predict_file(source, target, model_uri=None, settings=Settings())
