"""`delai train` interrupted or short of disk: the champion never moves to a half-made model.

A training killed (SIGKILL) while its run is open leaves the champion where it was, and a
server started afterwards serves that champion. An artifact store that cannot be written (a
full disk, a folder that cannot be made) is one clear error, exit code 2, and the run is
recorded as failed.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from mlflow.entities import RunStatus
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from forecasting import registry
from forecasting import tracking as mlflow_runs
from forecasting.errors import DelaiError
from forecasting.forecaster import Forecaster
from forecasting.settings import Settings
from training.cli import app
from training.data import load_data
from training.train import input_example

if TYPE_CHECKING:
    from conftest import TinyData

MODEL = "processing-time"


def _champion(tiny_data: TinyData) -> str:
    """Register a quickly fitted model and make it the champion, as an earlier training would."""
    settings = Settings()
    loaded = load_data(tiny_data.applications, capacity=None, as_of=None, settings=settings)
    forecaster = Forecaster(candidates=("kaplan_meier",)).fit(
        loaded.applications, as_of=loaded.as_of
    )
    mlflow_runs.configure_tracking(settings, "earlier")
    with mlflow_runs.tracked_run("earlier"):
        logged = registry.log_forecaster(
            forecaster,
            name="forecaster",
            input_example=input_example(forecaster),
            registered_model_name=MODEL,
        )
    version = str(logged.registered_model_version)
    MlflowClient().set_registered_model_alias(MODEL, "champion", version)
    return version


def _train_runs(client: MlflowClient) -> list:
    found = client.get_experiment_by_name(mlflow_runs.DEFAULT_EXPERIMENT)
    if found is None:
        return []
    return client.search_runs([found.experiment_id], "attributes.run_name = 'train'")


# Slow: a real `delai train` in its own process (import, validate, backtest, fit) before the kill.
@pytest.mark.slow
def test_a_training_killed_midway_leaves_the_champion_and_what_is_served(
    tracking: Path, tiny_data: TinyData
) -> None:
    from fastapi.testclient import TestClient

    from serving.app import create_app

    champion = _champion(tiny_data)
    client = MlflowClient()
    command = [
        sys.executable, "-c", "from training.cli import main; main()",
        "train", "--data", str(tiny_data.applications), "--origins", "2",
    ]  # fmt: skip
    training = subprocess.Popen(
        command, cwd=tracking, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        # The observable midpoint: the run is open (backtest and fit done, logging begun).
        deadline = time.monotonic() + 300
        while not _train_runs(client):
            assert training.poll() is None, "the training ended before it could be killed"
            assert time.monotonic() < deadline, "no training run appeared"
            time.sleep(0.05)
        os.kill(training.pid, signal.SIGKILL)
    finally:
        training.kill()
        training.wait(timeout=60)
    assert training.returncode == -signal.SIGKILL
    (run,) = _train_runs(client)
    assert run.info.status == RunStatus.to_string(RunStatus.RUNNING)  # killed, never ended
    assert str(client.get_model_version_by_alias(MODEL, "champion").version) == champion
    for version in client.search_model_versions(f"name='{MODEL}'"):
        if str(version.version) != champion:
            assert "promotion" not in version.tags  # registered, perhaps, never promoted
    settings = Settings(model_cache_dir=tracking / "cache", reload_interval_seconds=0)
    with TestClient(create_app(settings)) as served:
        ready = served.get("/readyz").json()
        assert (ready["source"], ready["model_version"]) == ("registry", champion)


def _train_in_process(tiny_data: TinyData) -> object:
    result = CliRunner().invoke(
        app, ["train", "--data", str(tiny_data.applications), "--origins", "1"]
    )
    return result.exception


def _failed_train_run(client: MlflowClient) -> None:
    (run,) = _train_runs(client)
    assert run.info.status == RunStatus.to_string(RunStatus.FAILED)
    assert client.search_model_versions(f"name='{MODEL}'") == []


def test_an_artifact_folder_that_cannot_be_made_is_a_clear_error(
    tracking: Path, tiny_data: TinyData, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Root ignores permissions, so the folder is made impossible instead: a file is in the way.
    blocker = tracking / "not-a-folder"
    blocker.write_text("a file where the artifact folder should be")
    monkeypatch.setenv("DELAI_ARTIFACT_ROOT", str(blocker / "mlartifacts"))
    error = _train_in_process(tiny_data)
    assert isinstance(error, DelaiError), repr(error)
    message = str(error)
    assert "the artifact store must be writable" in message and "Not a directory" in message
    assert str(blocker) in message
    _failed_train_run(MlflowClient())


# Slow: the same path as the folder that cannot be made (one guard), a second training to reach it.
@pytest.mark.slow
def test_a_full_disk_is_a_clear_error(
    tracking: Path, tiny_data: TinyData, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    # The one fault injected by hand: a disk cannot be filled safely on a shared machine.
    monkeypatch.setattr(LocalArtifactRepository, "log_artifact", full)
    monkeypatch.setattr(LocalArtifactRepository, "log_artifacts", full)
    error = _train_in_process(tiny_data)
    assert isinstance(error, DelaiError), repr(error)
    assert "the artifact store must be writable" in str(error)
    assert "No space left on device" in str(error)
    _failed_train_run(MlflowClient())
