"""Fixtures for the API's tests: a small fitted forecaster, its estimate table, apps and fakes.

Apps get the table directly (`create_app(settings, table=...)`), so most tests never touch MLflow;
the registry tests that do use a throwaway sqlite store.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from api_fixtures import ADMIN_TOKEN, VERSION, FakeSource
from fastapi.testclient import TestClient
from pydantic import SecretStr

from forecasting.forecaster import Forecaster
from forecasting.settings import Settings
from serving.app import create_app
from serving.lookup import EstimateTable, build_table

# Set before any test imports MLflow: tests never phone home.
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"


@pytest.fixture(scope="session")
def forecaster(small_world: tuple[object, object]) -> Forecaster:
    """Fitted on the small world, with backtest accuracy measured at one origin."""
    from forecasting.backtest import backtest
    from forecasting.models import MODELS

    applications, as_of = small_world
    origins = [date(2024, 12, 2)]
    names = ("published_percentile", "kaplan_meier")
    results = backtest(applications, {n: MODELS[n] for n in names}, origins)  # type: ignore[arg-type]
    return Forecaster(candidates=("kaplan_meier",)).fit(
        applications,  # type: ignore[arg-type]
        as_of=as_of,  # type: ignore[arg-type]
        backtest=results,
    )


@pytest.fixture(scope="session")
def table(forecaster: Forecaster) -> EstimateTable:
    return build_table(forecaster, model_version=VERSION)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Development settings with no polling and a cache folder of the test's own."""
    return Settings(model_cache_dir=tmp_path / "cache", reload_interval_seconds=0)


@pytest.fixture
def client(settings: Settings, table: EstimateTable) -> Iterator[TestClient]:
    with TestClient(create_app(settings, table=table)) as test_client:
        yield test_client


@pytest.fixture
def source(forecaster: Forecaster) -> FakeSource:
    return FakeSource(forecaster)


@pytest.fixture(scope="session")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty MLflow store (its schema migrations take seconds: made once, then copied)."""
    from mlflow.tracking import MlflowClient

    path = tmp_path_factory.mktemp("store") / "mlflow.db"
    MlflowClient(f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def registry_settings(
    empty_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """Settings on a fresh copy of the empty store, pointed at by the environment as in
    production, with an admin token (`ADMIN_TOKEN`)."""
    store = tmp_path / "mlflow.db"
    shutil.copy(empty_store, store)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{store}")
    monkeypatch.setenv("DELAI_ARTIFACT_ROOT", str(tmp_path / "mlartifacts"))
    return Settings(
        model_cache_dir=tmp_path / "cache",
        reload_interval_seconds=0,
        registry_timeout_seconds=300,
        admin_token=SecretStr(ADMIN_TOKEN),
    )
