"""The optional capacity table: how much work each segment can complete per day.

Capacity is a plan as much as a record, so dates after the as-of date are allowed (planned
staffing); everything else is checked like the applications table.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from forecasting.dates import as_text, to_date
from forecasting.errors import DataContractError
from forecasting.quarantine import DETAIL, QuarantineReport, Rule, first_broken_rule, split
from forecasting.schema import (
    CAPACITY_MEASURES,
    CAPACITY_OPTIONAL,
    CAPACITY_REQUIRED_COLUMNS,
    CAPACITY_SCHEMA,
    CHANNEL,
    COMPLETIONS_CAPACITY,
    DATE,
    DEFAULT_REGION,
    REASON,
    REGION,
    SERVICE,
    SOURCE_ROW,
    STAFF_HOURS,
)
from forecasting.tables import reading, require_columns

_PARSED_DATE = "_date"
# Numbers each row may carry: the capacity measures and the optional staff count.
_NUMBERS = (*CAPACITY_MEASURES, *CAPACITY_OPTIONAL)


@dataclass(frozen=True)
class ValidatedCapacity:
    """Accepted capacity rows, the quarantined ones, and the report."""

    capacity: pl.DataFrame
    quarantine: pl.DataFrame
    report: QuarantineReport


def validate_capacity(raw: pl.LazyFrame) -> ValidatedCapacity:
    """Check every capacity row; each is accepted or quarantined with a reason."""
    schema = require_columns(
        raw, CAPACITY_REQUIRED_COLUMNS, table="capacity", optional=(REGION, *_NUMBERS)
    )
    if not any(m in schema for m in CAPACITY_MEASURES):
        raise DataContractError(
            " or ".join(CAPACITY_MEASURES),
            "at least one capacity measure column",
            f"a table with columns {', '.join(schema.names())}",
        )
    missing = [c for c in (REGION, *_NUMBERS) if c not in schema]
    with reading("capacity"):
        checked = (
            raw.with_columns(pl.lit(None, dtype=pl.String).alias(c) for c in missing)
            .with_row_index(SOURCE_ROW)
            .with_columns(
                *(
                    pl.col(c).cast(pl.String).str.strip_chars().replace("", None).alias(c)
                    for c in (SERVICE, CHANNEL, REGION)
                ),
                to_date(DATE, schema[DATE]).alias(_PARSED_DATE),
                *(_as_number(m).alias(f"_{m}") for m in _NUMBERS),
            )
            .with_columns(pl.col(REGION).fill_null(DEFAULT_REGION))
            .pipe(_flag)
            .collect()
        )
    accepted, quarantined, report = split(checked, table="capacity", as_of=None)
    capacity = accepted.select(
        pl.col(_PARSED_DATE).alias(DATE),
        SERVICE,
        CHANNEL,
        REGION,
        *(pl.col(f"_{m}").alias(m) for m in _NUMBERS),
    ).select(pl.col(name).cast(dtype) for name, dtype in CAPACITY_SCHEMA.items())
    quarantine = quarantined.select(
        SOURCE_ROW,
        as_text(DATE).alias(DATE),
        SERVICE,
        CHANNEL,
        REGION,
        *(as_text(m).alias(m) for m in _NUMBERS),
        REASON,
        DETAIL,
    )
    return ValidatedCapacity(capacity=capacity, quarantine=quarantine, report=report)


def _as_number(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)


def _flag(frame: pl.LazyFrame) -> pl.LazyFrame:
    segment_day = [_PARSED_DATE, SERVICE, CHANNEL, REGION]
    rules = [
        Rule(
            "missing_date",
            pl.col(DATE).is_null(),
            pl.lit("`date` must be an ISO date, got nothing"),
        ),
        Rule(
            "unparseable_date",
            pl.col(_PARSED_DATE).is_null(),
            pl.format("`date` must be an ISO date, got '{}'", as_text(DATE)),
        ),
        Rule("empty_service", pl.col(SERVICE).is_null(), pl.lit("`service` must be non-empty")),
        Rule("empty_channel", pl.col(CHANNEL).is_null(), pl.lit("`channel` must be non-empty")),
        *(
            Rule(
                f"unparseable_{m}",
                pl.col(m).is_not_null() & pl.col(f"_{m}").is_null(),
                pl.format(f"`{m}` must be a number, got '{{}}'", as_text(m)),
            )
            for m in _NUMBERS
        ),
        Rule(
            "missing_capacity",
            pl.all_horizontal(pl.col(f"_{m}").is_null() for m in CAPACITY_MEASURES),
            pl.lit(f"`{STAFF_HOURS}` or `{COMPLETIONS_CAPACITY}` must be given, got neither"),
        ),
        *(
            Rule(
                f"negative_{m}",
                pl.col(f"_{m}") < 0,
                pl.format(f"`{m}` must be zero or more, got {{}}", pl.col(f"_{m}")),
            )
            for m in _NUMBERS
        ),
        Rule(
            "duplicate_segment_day",
            pl.len().over(segment_day) > 1,
            pl.format(
                "one row per date and segment expected, got {} rows", pl.len().over(segment_day)
            ),
        ),
    ]
    reason, detail = first_broken_rule(rules)
    return frame.with_columns(reason.alias(REASON), detail.alias(DETAIL))
