"""The MLflow seam: where artifacts go, and promotion by alias on scores relative to baseline."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from forecasting import registry
from forecasting import tracking as mlflow_runs
from forecasting.settings import Settings

NAME = "processing-time"


def _settings(uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("DELAI_ARTIFACT_ROOT", str(tmp_path / "mlartifacts"))
    return Settings()


@pytest.mark.parametrize(
    ("uri", "local"),
    [
        ("sqlite:///mlflow.db", True),
        ("postgresql://delai@db:5432/mlflow", True),
        ("http://mlflow.internal:5000", False),
        ("https://mlflow.example.org", False),
    ],
)
def test_artifacts_stay_local_unless_a_server_decides(
    uri: str, local: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(uri, tmp_path, monkeypatch)
    assert settings.tracking_uri == uri
    location = mlflow_runs.artifact_location(settings)
    if local:
        assert location == (tmp_path / "mlartifacts").resolve().as_uri()
    else:
        assert location is None


def test_configure_tracking_creates_the_experiment_under_the_artifact_root(tracking: Path) -> None:
    experiment_id = mlflow_runs.configure_tracking(Settings(), "delai-test")
    again = mlflow_runs.configure_tracking(Settings(), "delai-test")
    assert experiment_id == again
    experiment = MlflowClient().get_experiment(experiment_id)
    assert experiment.artifact_location == (tracking / "mlartifacts").as_uri()
    assert not (tracking / "mlruns").exists()


def _versions(client: MlflowClient, count: int, tmp_path: Path) -> list[str]:
    client.create_registered_model(NAME)
    return [
        str(client.create_model_version(NAME, source=str(tmp_path)).version) for _ in range(count)
    ]


def test_promotion_needs_the_baseline_beaten_then_the_champion(tracking: Path) -> None:
    mlflow_runs.configure_tracking(Settings(), None)
    client = MlflowClient()
    v1, v2, v3, v4 = _versions(client, 4, tracking)

    refused = registry.promote_if_better(client, NAME, v1, 1.02)
    assert not refused.promoted and "does not beat the published baseline" in refused.reason
    first = registry.promote_if_better(client, NAME, v2, 0.80)
    assert first.promoted and first.champion_version is None
    worse = registry.promote_if_better(client, NAME, v3, 0.85)
    assert not worse.promoted
    assert (worse.champion_version, worse.champion_score) == (v2, pytest.approx(0.80))
    better = registry.promote_if_better(client, NAME, v4, 0.70)
    assert better.promoted and better.champion_version == v2

    assert str(client.get_model_version_by_alias(NAME, registry.CHAMPION).version) == v4
    assert float(client.get_model_version(NAME, v3).tags[registry.SCORE_TAG]) == 0.85
    assert client.get_model_version(NAME, v3).tags["promotion"] == "refused"


def test_an_equal_score_does_not_take_the_alias(tracking: Path) -> None:
    mlflow_runs.configure_tracking(Settings(), None)
    client = MlflowClient()
    v1, v2 = _versions(client, 2, tracking)
    assert registry.promote_if_better(client, NAME, v1, 0.9).promoted
    assert not registry.promote_if_better(client, NAME, v2, 0.9).promoted


def test_the_decision_is_logged_to_the_active_run(tracking: Path) -> None:
    mlflow_runs.configure_tracking(Settings(), "delai-test")
    client = MlflowClient()
    (v1,) = _versions(client, 1, tracking)
    with mlflow_runs.tracked_run("promote") as run_id:
        decision = registry.promote_if_better(client, NAME, v1, 0.9)
    logged = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="promotion.json")
    assert json.loads(Path(logged).read_text()) == decision.as_dict()
    assert client.get_run(run_id).data.tags["promotion.promoted"] == "True"


def test_an_unknown_alias_is_a_clear_error(tracking: Path) -> None:
    mlflow_runs.configure_tracking(Settings(), None)
    with pytest.raises(registry.DelaiError, match="no version of 'processing-time' has the alias"):
        registry.load_forecaster("models:/processing-time@champion")
