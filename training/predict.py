"""`delai predict`: estimates for a file of requests, answered in-process by the registered model.

The Forecaster is unpickled once and asked for the whole file in one vectorised call, so a
hundred thousand requests take well under a second of model time; no model server is involved.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from time import perf_counter

import polars as pl

from forecasting import registry, tracking
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
    model: registry.ForecasterInfo
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
    tracking.configure_tracking(settings, experiment=None)
    forecaster, info = registry.load_forecaster(
        model_uri or registry.champion_uri(settings.model_name)
    )
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
