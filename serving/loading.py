"""Where served models come from: the registry's champion, or the last one kept on local disk.

The registry module (and so MLflow) is imported only when a model is loaded, so an app given a
precomputed table starts without it. The local copy is a pickle, written atomically next to
itself and read back only from the directory this service writes: trust that directory as you
trust the registry.
"""

from __future__ import annotations

import logging
import os
import pickle
import tempfile
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from forecasting.forecaster import Forecaster
from forecasting.local_registry import champion_uri
from forecasting.settings import Settings

logger = logging.getLogger(__name__)

_CACHE_FORMAT = 1


@dataclass(frozen=True)
class ModelInfo:
    """Which model answers: its URI, registered version, as-of date and training run."""

    model_uri: str
    model_version: str
    as_of: date
    run_id: str


@dataclass(frozen=True)
class LoadedModel:
    forecaster: Forecaster
    info: ModelInfo


class ModelSource(Protocol):
    """Somewhere a champion model can be asked for (the MLflow registry, or a test's fake)."""

    uri: str

    def champion_version(self) -> str:
        """The version the champion alias names now; raises when it cannot be known."""
        ...

    def load(self, version: str) -> LoadedModel: ...


class RegistrySource:
    """`models:/{model_name}@champion` in the registry `settings.tracking_uri` names."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.uri = champion_uri(settings.model_name)

    def champion_version(self) -> str:
        from forecasting import registry, tracking

        tracking.configure_tracking(self.settings, experiment=None)
        version = registry.resolve_version(self.uri)
        if version is None:  # only for URIs that are not models:/ ones
            raise LookupError(f"`model_uri` must name a registered model, got '{self.uri}'")
        return version

    def load(self, version: str) -> LoadedModel:
        from forecasting import registry, tracking

        tracking.configure_tracking(self.settings, experiment=None)
        forecaster, found = registry.load_forecaster(
            f"models:/{self.settings.model_name}/{version}"
        )
        info = ModelInfo(self.uri, found.model_version, found.as_of, found.run_id)
        return LoadedModel(forecaster, info)


class ModelCache:
    """The last model loaded from the registry, kept as `<dir>/<model name>.pkl`."""

    def __init__(self, folder: Path, model_name: str) -> None:
        self.path = Path(folder) / f"{model_name}.pkl"

    def save(self, loaded: LoadedModel) -> None:
        """Write atomically: a reader sees the old copy or the new one, never half of one."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        payload = {
            "format": _CACHE_FORMAT,
            "forecaster": loaded.forecaster,
            "info": asdict(loaded.info),
        }
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                pickle.dump(payload, out, protocol=5)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def load(self) -> LoadedModel | None:
        """The cached model, or None when there is none or it cannot be read (logged)."""
        if not self.path.is_file():
            return None
        try:
            with self.path.open("rb") as handle:
                payload: Any = pickle.load(handle)
            if payload.get("format") != _CACHE_FORMAT:
                raise ValueError(f"format {payload.get('format')!r}, expected {_CACHE_FORMAT}")
            forecaster = payload["forecaster"]
            if not isinstance(forecaster, Forecaster):
                raise TypeError(f"holds a {type(forecaster).__name__}, expected a Forecaster")
            return LoadedModel(forecaster, ModelInfo(**payload["info"]))
        except Exception as exc:  # any unreadable copy is no copy; say why in the log
            logger.warning("ignoring the cached model %s: %s", self.path, exc)
            return None
