"""Constants and fakes of the API's tests (fixtures are in conftest.py, which imports these).

A module of its own because test modules must not import conftest: several share that name.
"""

from __future__ import annotations

import threading

from forecasting.forecaster import Forecaster
from forecasting.settings import Settings
from serving.loading import LoadedModel, ModelInfo

VERSION = "7"
# A segment and day the small world has an estimate for.
SEGMENT = ("passport_adult", "online", "ON")
DAY = "2025-03-03"
ESTIMATE = f"/v1/estimate?service={SEGMENT[0]}&channel={SEGMENT[1]}&region={SEGMENT[2]}"
# The admin token of the registry tests' settings (`registry_settings` in conftest.py).
ADMIN_TOKEN = "registry-" + "k" * 40


class FakeSource:
    """A registry stand-in: a champion version that tests move, can fail or can hang."""

    uri = "models:/processing-time@champion"

    def __init__(self, forecaster: Forecaster, version: str = "1") -> None:
        self.forecaster = forecaster
        self.version = version
        self.failure: Exception | None = None
        self.gate: threading.Event | None = None
        self.loads = 0

    def champion_version(self) -> str:
        if self.gate is not None:
            self.gate.wait(timeout=60)
        if self.failure is not None:
            raise self.failure
        return self.version

    def load(self, version: str) -> LoadedModel:
        self.loads += 1
        as_of = self.forecaster.as_of_
        return LoadedModel(self.forecaster, ModelInfo(self.uri, version, as_of, f"run-{version}"))


def register(settings: Settings, forecaster: Forecaster, *, champion: bool) -> str:
    """Log `forecaster` to the registry of `settings` as a new version of its model, as a
    training would; give it the champion alias if asked. Returns the version."""
    from mlflow.tracking import MlflowClient

    from forecasting import registry, tracking
    from training.train import input_example

    tracking.configure_tracking(settings, "serving-test")
    with tracking.tracked_run("serving-test"):
        logged = registry.log_forecaster(
            forecaster,
            name="forecaster",
            input_example=input_example(forecaster),
            registered_model_name=settings.model_name,
        )
    version = str(logged.registered_model_version)
    if champion:
        MlflowClient().set_registered_model_alias(settings.model_name, "champion", version)
    return version
