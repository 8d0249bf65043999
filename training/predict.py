"""`delai predict`: estimates for a file of requests, answered in-process by the registered model.

The Forecaster is unpickled once and asked for the whole file in one vectorised call; no model
server is involved. On the embedded SQLite store the model is found and read without importing
MLflow (`local_registry`), whose import and store start cost more than the answers themselves;
any other store, or anything the direct read cannot vouch for, goes through MLflow.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from time import perf_counter

import polars as pl

from forecasting import local_registry
from forecasting.errors import DelaiError
from forecasting.predictions import predict_table
from forecasting.schema import ERROR, REQUEST_COLUMNS
from forecasting.settings import Settings
from forecasting.tables import require_columns, scan_table

OUTPUT_SUFFIXES = (".csv", ".parquet")


@dataclass(frozen=True)
class PredictOutcome:
    rows: int
    errors: int
    model: local_registry.ForecasterInfo
    seconds: dict[str, float]


def predict_file(
    input_path: Path, output_path: Path, *, model_uri: str | None, settings: Settings
) -> PredictOutcome:
    """Read requests, answer every row (bad rows get an `error`), write the answers."""
    if output_path.suffix not in OUTPUT_SUFFIXES:
        raise DelaiError(f"`--output` must end in .csv or .parquet, got '{output_path.name}'")
    seconds: dict[str, float] = {}
    start = perf_counter()
    requests = scan_table(input_path, field="--input").collect()
    # A missing column is fatal: say so before paying for the model load.
    require_columns(requests.lazy(), REQUEST_COLUMNS, table="requests")
    seconds["read"] = perf_counter() - start

    start = perf_counter()
    uri = model_uri or local_registry.champion_uri(settings.model_name)
    loaded = local_registry.load_forecaster(uri, settings.tracking_uri)
    if loaded is None:
        from forecasting import registry, tracking

        tracking.configure_tracking(settings, experiment=None)
        loaded = registry.load_forecaster(uri)
    forecaster, info = loaded
    seconds["load_model"] = perf_counter() - start

    start = perf_counter()
    answers = predict_table(forecaster, requests, model_version=info.model_version)
    seconds["predict"] = perf_counter() - start

    start = perf_counter()
    try:
        if output_path.suffix == ".parquet":
            answers.write_parquet(output_path)
        else:
            answers.write_csv(output_path)
    except OSError as exc:
        raise DelaiError(
            f"`--output` must be a writable path, got '{output_path}' ({exc.strerror})"
        ) from None
    seconds["write"] = perf_counter() - start
    errors = answers.filter(pl.col(ERROR) != "").height
    return PredictOutcome(rows=answers.height, errors=errors, model=info, seconds=seconds)
