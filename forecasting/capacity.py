"""The optional capacity table: how much work each segment can complete per day.

Capacity is a plan as much as a record, so dates after the as-of date are allowed (planned
staffing); everything else is checked like the applications table. A row may say when its figure
was known (`planned_on`): a plan made weeks ahead, revised later, then replaced by the record of
the day. `known_capacity` gives the table as it stood on a day, so no estimate reads a plan
before it was made.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

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
    PLANNED_ON,
    REASON,
    REGION,
    SEGMENT,
    SERVICE,
    SOURCE_ROW,
    STAFF_HOURS,
)
from forecasting.tables import reading, require_columns

_PARSED_DATE = "_date"
_PARSED_PLANNED = "_planned_on"
_KNOWN_ON = "_known_on"
_IS_RECORD = "_is_record"
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
        raw, CAPACITY_REQUIRED_COLUMNS, table="capacity", optional=(REGION, PLANNED_ON, *_NUMBERS)
    )
    if not any(m in schema for m in CAPACITY_MEASURES):
        raise DataContractError(
            " or ".join(CAPACITY_MEASURES),
            "at least one capacity measure column",
            f"a table with columns {', '.join(schema.names())}",
        )
    missing = [c for c in (REGION, PLANNED_ON, *_NUMBERS) if c not in schema]
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
                to_date(PLANNED_ON, schema.get(PLANNED_ON, pl.String())).alias(_PARSED_PLANNED),
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
        pl.col(_PARSED_PLANNED).alias(PLANNED_ON),
    ).select(pl.col(name).cast(dtype) for name, dtype in CAPACITY_SCHEMA.items())
    quarantine = quarantined.select(
        SOURCE_ROW,
        as_text(DATE).alias(DATE),
        SERVICE,
        CHANNEL,
        REGION,
        *(as_text(m).alias(m) for m in _NUMBERS),
        as_text(PLANNED_ON).alias(PLANNED_ON),
        REASON,
        DETAIL,
    )
    return ValidatedCapacity(capacity=capacity, quarantine=quarantine, report=report)


def _as_number(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)


def _flag(frame: pl.LazyFrame) -> pl.LazyFrame:
    # Revisions of a plan are rows with different `planned_on`; the same one twice is ambiguous.
    segment_day = [_PARSED_DATE, SERVICE, CHANNEL, REGION, _PARSED_PLANNED]
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
        Rule(
            "unparseable_planned_on",
            pl.col(PLANNED_ON).cast(pl.String).str.strip_chars().replace("", None).is_not_null()
            & pl.col(_PARSED_PLANNED).is_null(),
            pl.format("`planned_on` must be an ISO date or empty, got '{}'", as_text(PLANNED_ON)),
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
                "one row per date, segment and `planned_on` expected, got {} rows",
                pl.len().over(segment_day),
            ),
        ),
    ]
    reason, detail = first_broken_rule(rules)
    return frame.with_columns(reason.alias(REASON), detail.alias(DETAIL))


def planned_on(columns: Sequence[str]) -> pl.Expr:
    """A table's `planned_on`, or null throughout for a table without the column (every row
    then known on its own date)."""
    return pl.col(PLANNED_ON) if PLANNED_ON in columns else pl.lit(None, dtype=pl.Date)


def capacity_known_at(
    capacity: pl.DataFrame | None,
    as_of: date,
    *,
    undated_plans: bool = False,
    latest: bool = True,
) -> pl.DataFrame | None:
    """`known_capacity` on a collected table (None stays None)."""
    if capacity is None:
        return None
    return known_capacity(
        capacity.lazy(), as_of, undated_plans=undated_plans, latest=latest
    ).collect()


def known_capacity(
    capacity: pl.LazyFrame,
    as_of: date,
    *,
    undated_plans: bool = False,
    latest: bool = True,
) -> pl.LazyFrame:
    """The rows known at `as_of`: those whose `planned_on` (else `date`) is no later than it,
    and with `latest` only the most recent version per segment and date (a record of the day
    replaces the plans for it; of two plans, the later one wins).

    `undated_plans` also keeps rows without `planned_on` dated after `as_of`: a table handed in
    at the as-of day describes the plan as it stands, even when nobody wrote down when it was
    made. A backtest must not use it: those rows are what the future brought.
    """
    planned = planned_on(capacity.collect_schema().names())
    known_on = pl.coalesce(planned, pl.col(DATE))
    keep = known_on <= as_of
    if undated_plans:
        keep = keep | planned.is_null()
    rows = capacity.filter(keep)
    if not latest:
        return rows
    # Ties on the day known go to the record: it is what happened, not what was meant to.
    return (
        rows.with_columns(known_on.alias(_KNOWN_ON), planned.is_null().alias(_IS_RECORD))
        .sort(DATE, *SEGMENT, _KNOWN_ON, _IS_RECORD)
        .unique(subset=[DATE, *SEGMENT], keep="last", maintain_order=True)
        .drop(_KNOWN_ON, _IS_RECORD)
    )


# One row per segment with a plan in effect: what a model trained that day was told of the future.
PLAN_SUMMARY_SCHEMA = pl.Schema(
    {
        SERVICE: pl.String,
        CHANNEL: pl.String,
        REGION: pl.String,
        "planned_days": pl.UInt32,
        "first_planned": pl.Date,
        "last_planned": pl.Date,
        "latest_planned_on": pl.Date,
    }
)


def plan_summary(capacity: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Per segment, the future days the table plans as known at `as_of` (rows without
    `planned_on` dated after it count, as in training), their span and the latest plan's date
    (null when none was dated). A data scientist reads here why estimates moved with a plan."""
    planned = planned_on(capacity.columns)
    return (
        known_capacity(capacity.lazy(), as_of, undated_plans=True)
        .filter(pl.col(DATE) > as_of)
        .group_by(SEGMENT)
        .agg(
            pl.len().alias("planned_days"),
            pl.col(DATE).min().alias("first_planned"),
            pl.col(DATE).max().alias("last_planned"),
            planned.max().alias("latest_planned_on"),
        )
        .sort(SEGMENT)
        .select(pl.col(name).cast(dtype) for name, dtype in PLAN_SUMMARY_SCHEMA.items())
        .collect()
    )
