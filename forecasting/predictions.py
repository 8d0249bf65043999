"""Estimates as a table of text: the contract shared by `delai predict`, the pyfunc and files.

Requests arrive as text (CSV cells, JSON strings), so every failure a row can have (a blank
field, a date that does not parse, an unknown segment) becomes that row's `error`, never an
exception for the batch. Dates leave as ISO strings and a fine row's `error` is "".
"""

from __future__ import annotations

import polars as pl

from forecasting.dates import to_date
from forecasting.errors import DelaiError
from forecasting.forecaster import Forecaster
from forecasting.schema import (
    AS_OF,
    ERROR,
    MODEL_VERSION,
    QUANTILE_DATES,
    REQUEST_COLUMNS,
    SEGMENT,
    SUBMITTED_ON,
)
from forecasting.tables import require_columns

ANSWER_COLUMNS = (*QUANTILE_DATES, AS_OF, MODEL_VERSION, ERROR)
_INPUT_ERROR = "__input_error"


def predict_table(
    forecaster: Forecaster, requests: pl.DataFrame, *, model_version: str
) -> pl.DataFrame:
    """The request columns as given, in their order, then p50/p80/p90, as_of, version and error.

    Raises `DataContractError` only for what no row can fix: a missing request column.
    """
    require_columns(requests.lazy(), REQUEST_COLUMNS, table="requests")
    clashing = [c for c in ANSWER_COLUMNS if c in requests.columns]
    if clashing:
        raise DelaiError(
            f"requests must not already hold the answer columns {', '.join(ANSWER_COLUMNS)}, "
            f"got {', '.join(clashing)}"
        )
    as_of = forecaster.as_of_.isoformat()
    if requests.height == 0:
        return requests.with_columns(pl.lit(None, dtype=pl.String).alias(c) for c in ANSWER_COLUMNS)
    parsed = _parse_requests(requests)
    estimates = forecaster.estimate(parsed.select(*SEGMENT, SUBMITTED_ON))
    error = pl.coalesce(pl.col(_INPUT_ERROR), pl.col(ERROR))
    formatted = estimates.with_columns(parsed.get_column(_INPUT_ERROR)).select(
        *(
            pl.when(error.is_null()).then(pl.col(c).dt.to_string("%Y-%m-%d")).otherwise(pl.lit(""))
            for c in QUANTILE_DATES
        ),
        pl.lit(as_of).alias(AS_OF),
        pl.lit(model_version).alias(MODEL_VERSION),
        error.fill_null("").alias(ERROR),
    )
    return pl.concat([requests, formatted], how="horizontal")


def _parse_requests(requests: pl.DataFrame) -> pl.DataFrame:
    """Segment fields as trimmed text, `submitted_on` as a date, and each row's input error."""
    text = {c: pl.col(c).cast(pl.String).str.strip_chars() for c in SEGMENT}
    raw_date = pl.col(SUBMITTED_ON).cast(pl.String)
    parsed = to_date(SUBMITTED_ON, requests.schema[SUBMITTED_ON])
    checks = [
        *(
            (
                text[c].is_null() | (text[c] == ""),
                pl.lit(f"`{c}` must be a non-empty string, got nothing"),
            )
            for c in SEGMENT
        ),
        (
            raw_date.is_null(),
            pl.lit(f"`{SUBMITTED_ON}` must be an ISO date like 2026-11-28, got nothing"),
        ),
        (
            parsed.is_null(),
            pl.format(
                f"`{SUBMITTED_ON}` must be an ISO date like 2026-11-28, got '{{}}'", raw_date
            ),
        ),
    ]
    # The first failed check is the row's error, as in the applications contract.
    input_error = pl.lit(None, dtype=pl.String)
    for failed, message in reversed(checks):
        input_error = pl.when(failed).then(message).otherwise(input_error)
    return requests.select(
        # Blank segment fields become "" so the models see an unknown segment, not a null key.
        *(text[c].fill_null("").alias(c) for c in SEGMENT),
        parsed.alias(SUBMITTED_ON),
        input_error.alias(_INPUT_ERROR),
    )
