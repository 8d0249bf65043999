"""MLflow runs: where tracking points, and logging params, metrics, tables and figures to a run.

With `registry` (models: log, load, promote), the only modules of forecasting/ that import
MLflow. Without a tracking server (sqlite, a database URL, a folder), a new experiment keeps its
artifacts under `settings.artifact_root`; an artifact store that cannot be written is one clear
error naming where, and the run ends as failed.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import mlflow
import polars as pl
from mlflow.tracking import MlflowClient

from forecasting.errors import DelaiError
from forecasting.settings import Settings

DEFAULT_EXPERIMENT = "delai"
# Schemes whose server decides where artifacts go; for any other store the client writes them.
_SERVER_SCHEMES = ("http", "https", "databricks")


def configure_tracking(
    settings: Settings, experiment: str | None = DEFAULT_EXPERIMENT
) -> str | None:
    """Point MLflow at `settings.tracking_uri` and select `experiment`; returns its id.

    Without a tracking server (sqlite, a database URL, a folder), a new experiment keeps its
    artifacts under `settings.artifact_root` rather than MLflow's default `./mlruns`; with a
    server, the server decides. `experiment=None` only sets the URI (enough to load models).
    """
    uri = settings.tracking_uri
    mlflow.set_tracking_uri(uri)
    if experiment is None:
        return None
    client = MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    if found is not None:
        experiment_id = str(found.experiment_id)
    else:
        location = artifact_location(settings)
        experiment_id = client.create_experiment(experiment, artifact_location=location)
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


def artifact_location(settings: Settings) -> str | None:
    """Where a new experiment's artifacts go: the server's choice, else `artifact_root`."""
    if urlparse(settings.tracking_uri).scheme in _SERVER_SCHEMES:
        return None
    return Path(settings.artifact_root).resolve().as_uri()


def client() -> MlflowClient:
    """A client for the configured tracking and registry store."""
    return MlflowClient()


@contextmanager
def tracked_run(run_name: str, tags: Mapping[str, str] | None = None) -> Iterator[str]:
    """An MLflow run in the configured experiment; yields its id, ends it failed on error."""
    with mlflow.start_run(run_name=run_name, tags=dict(tags or {})) as run:
        yield run.info.run_id


def log_params(params: Mapping[str, object]) -> None:
    mlflow.log_params({k: str(v) for k, v in params.items()})


def log_metrics(metrics: Mapping[str, float | None], *, model_id: str | None = None) -> None:
    """Log finite metrics; NaN or missing values are skipped, not logged as NaN."""
    finite = {k: float(v) for k, v in metrics.items() if v is not None and math.isfinite(v)}
    mlflow.log_metrics(finite, model_id=model_id)


def set_tags(tags: Mapping[str, object]) -> None:
    mlflow.set_tags({k: str(v) for k, v in tags.items()})


@contextmanager
def artifact_store() -> Iterator[None]:
    """A store that cannot be written (a full disk, a folder that cannot be made) is one clear
    error naming where, not an OSError from deep inside MLflow; the run then ends as failed."""
    try:
        yield
    except OSError as exc:
        where = mlflow.get_artifact_uri() if mlflow.active_run() else "the configured store"
        raise DelaiError(
            "the artifact store must be writable (DELAI_ARTIFACT_ROOT for a local store), got "
            f"'{exc.strerror or exc}' writing to {where}"
        ) from None


def log_dict(value: Mapping[str, Any], artifact_file: str) -> None:
    with artifact_store():
        mlflow.log_dict(dict(value), artifact_file)


def log_frame(frame: pl.DataFrame, artifact_file: str) -> None:
    """Log a frame as Parquet or CSV, as the file name's suffix says."""
    target = Path(artifact_file)
    with tempfile.TemporaryDirectory() as folder:
        local = Path(folder) / target.name
        if target.suffix == ".parquet":
            frame.write_parquet(local)
        elif target.suffix == ".csv":
            frame.write_csv(local)
        else:
            raise ValueError(f"`artifact_file` must end in .parquet or .csv, got '{target.name}'")
        parent = str(target.parent)
        with artifact_store():
            mlflow.log_artifact(str(local), artifact_path=None if parent == "." else parent)


def log_figure(figure: Any, artifact_file: str) -> None:
    """Log a matplotlib Figure as an image artifact."""
    with artifact_store():
        mlflow.log_figure(figure, artifact_file)
