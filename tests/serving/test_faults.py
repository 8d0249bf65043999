"""Faults with the real registry (an MLflow sqlite store in tmp_path): the service keeps serving.

A store deleted or unreadable at start: the last-known-good copy serves and /readyz says why.
A corrupted model artifact: refused with a message, the model serving goes on serving. A cache
folder that cannot be written: the registry's model serves, the failure is logged.
"""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
from api_fixtures import ADMIN_TOKEN, DAY, ESTIMATE, FakeSource, register
from fastapi.testclient import TestClient
from server_process import serving

from forecasting.forecaster import Forecaster
from forecasting.settings import Settings
from serving.app import create_app

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def artifact_of(settings: Settings, version: str) -> Path:
    """The pickled forecaster inside a registered version's artifacts, on local disk."""
    from mlflow.tracking import MlflowClient

    from forecasting import tracking

    tracking.configure_tracking(settings, experiment=None)
    found = MlflowClient().get_model_version(settings.model_name, version)
    root = Path(settings.artifact_root)
    (path,) = [p for p in root.rglob("forecaster.pkl") if found.run_id in str(p)] or [
        p for p in root.rglob("forecaster.pkl") if found.source.rsplit("/", 1)[-1] in str(p)
    ]
    return path


def served_version(client: TestClient | httpx.Client) -> str:
    response = client.get(f"{ESTIMATE}&submitted_on={DAY}")
    assert response.status_code == 200, response.text
    return str(response.json()["model_version"])


# Slow: each starts a server process, and MLflow retries a store it cannot open until startup
# gives up waiting (DELAI_REGISTRY_TIMEOUT_SECONDS, 15 here) and serves the copy meanwhile.
@pytest.mark.slow
@pytest.mark.parametrize("fault", ["deleted", "not a database", "a folder"])
def test_a_lost_store_at_start_serves_the_last_known_good_copy(
    registry_settings: Settings, forecaster: Forecaster, tmp_path: Path, fault: str
) -> None:
    version = register(registry_settings, forecaster, champion=True)
    # Serves the champion and keeps a copy.
    with TestClient(create_app(registry_settings)) as client:
        assert client.get("/readyz").json()["source"] == "registry"
    database = Path(registry_settings.tracking_uri.removeprefix("sqlite:///"))
    database.unlink()
    if fault == "not a database":
        database.write_bytes(b"these bytes are not an SQLite database" * 100)
    elif fault == "a folder":
        database.mkdir()
    # A fresh process: this one's MLflow keeps the store it opened, as a restart would not.
    env = {
        "MLFLOW_TRACKING_URI": registry_settings.tracking_uri,
        "DELAI_ARTIFACT_ROOT": str(registry_settings.artifact_root),
        "DELAI_MODEL_CACHE_DIR": str(registry_settings.model_cache_dir),
        "DELAI_RELOAD_INTERVAL_SECONDS": "0",
        "DELAI_REGISTRY_TIMEOUT_SECONDS": "15",
    }
    with serving(env, tmp_path) as server, httpx.Client(base_url=server.base) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200
        body = ready.json()
        assert (body["status"], body["source"], body["model_version"]) == (
            "ready",
            "cache",
            version,
        )
        assert f"serving the cached copy of version {version}" in body["reason"]
        assert served_version(client) == version
        info = f'as_of="{forecaster.as_of_}",model_version="{version}",source="cache"'
        assert f"delai_model_info{{{info}}} 1.0" in client.get("/metrics").text


def test_a_corrupted_artifact_is_refused_and_the_old_model_serves_on(
    registry_settings: Settings, forecaster: Forecaster
) -> None:
    from mlflow.tracking import MlflowClient

    first = register(registry_settings, forecaster, champion=True)
    with TestClient(create_app(registry_settings)) as client:
        assert served_version(client) == first
        second = register(registry_settings, forecaster, champion=False)
        artifact = artifact_of(registry_settings, second)
        artifact.write_bytes(artifact.read_bytes()[:100])  # a copy cut short
        MlflowClient().set_registered_model_alias(registry_settings.model_name, "champion", second)
        refused = client.post("/admin/reload", headers=AUTH)
        assert refused.status_code == 502
        message = refused.json()["message"]
        assert message.startswith("the model was not reloaded, the previous one serves on: ")
        assert f"models:/{registry_settings.model_name}/{second}" in message
        assert "`forecaster artifact` must be a delai forecaster pickle" in message
        ready = client.get("/readyz").json()
        assert (ready["source"], ready["model_version"]) == ("registry", first)
        assert "the last reload failed" in ready["reason"]
        assert served_version(client) == first
        assert 'delai_model_reloads_total{outcome="failed"} 1.0' in client.get("/metrics").text
    # Restarted against the broken champion: the last-known-good copy serves, saying why.
    with TestClient(create_app(registry_settings)) as client:
        ready = client.get("/readyz").json()
        assert (ready["source"], ready["model_version"]) == ("cache", first)
        assert f"models:/{registry_settings.model_name}/{second}" in ready["reason"]
        assert served_version(client) == first


def test_a_cache_folder_that_cannot_be_made_is_logged_not_fatal(
    tmp_path: Path,
    forecaster: Forecaster,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Root ignores permissions, so the folder is made impossible instead: a file is in the way.
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    settings = Settings(model_cache_dir=blocker / "cache", reload_interval_seconds=0)
    with (
        caplog.at_level(logging.WARNING),
        TestClient(create_app(settings, source=FakeSource(forecaster))) as client,
    ):
        ready = client.get("/readyz").json()
        assert (ready["status"], ready["source"]) == ("ready", "registry")
        assert served_version(client) == "1"
    assert any("could not keep a local copy" in r.getMessage() for r in caplog.records)
