"""The applications contract: validate raw rows into clean applications, quarantining the rest.

Identifiers are the one personal field: they are used to find duplicates, then dropped; the
quarantine file carries a salted hash and the source row number so a data steward can find a
row without the id ever reaching a log or an artifact.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

import polars as pl

from forecasting.dates import as_text, to_date
from forecasting.quarantine import DETAIL, QuarantineReport, Rule, first_broken_rule, split
from forecasting.schema import (
    APPLICATION_ID,
    APPLICATION_KEY,
    APPLICATIONS_SCHEMA,
    CHANNEL,
    CLOSED_AT,
    CLOSED_ON,
    COMPLETED_AT,
    COMPLETED_ON,
    DEFAULT_PRIORITY,
    DEFAULT_REGION,
    DELIVERED_AT,
    DELIVERED_ON,
    OPTIONAL_COLUMNS,
    PRIORITIES,
    PRIORITY,
    REASON,
    REGION,
    REQUIRED_COLUMNS,
    SERVICE,
    SOURCE_ROW,
    SUBMITTED_AT,
    SUBMITTED_ON,
)
from forecasting.tables import reading, require_columns

_TEXT_COLUMNS = (APPLICATION_ID, SERVICE, CHANNEL, REGION, PRIORITY)
_PARSED = {
    SUBMITTED_AT: SUBMITTED_ON,
    COMPLETED_AT: COMPLETED_ON,
    DELIVERED_AT: DELIVERED_ON,
    CLOSED_AT: CLOSED_ON,
}
QUARANTINE_COLUMNS = (
    SOURCE_ROW,
    APPLICATION_KEY,
    SERVICE,
    CHANNEL,
    REGION,
    PRIORITY,
    SUBMITTED_AT,
    COMPLETED_AT,
    DELIVERED_AT,
    CLOSED_AT,
    REASON,
    DETAIL,
)


@dataclass(frozen=True)
class ValidatedApplications:
    """Accepted applications (no identifiers), the quarantined rows, and the report."""

    applications: pl.DataFrame
    quarantine: pl.DataFrame
    report: QuarantineReport


def validate_applications(
    raw: pl.LazyFrame, *, as_of: date, salt: str = ""
) -> ValidatedApplications:
    """Check every row against the contract; each is either accepted or quarantined with a reason.

    Raises `DataContractError` only for what no row can fix: a missing required column.
    """
    schema = require_columns(raw, REQUIRED_COLUMNS, table="applications", optional=OPTIONAL_COLUMNS)
    with reading("applications"):
        checked = (
            raw.pipe(_add_missing_optional, schema)
            .with_row_index(SOURCE_ROW)
            .pipe(_normalise_text)
            .pipe(_parse_dates, schema)
            .pipe(_flag, as_of)
            .collect()
        )
    accepted, quarantined, report = split(checked, table="applications", as_of=as_of)
    applications = accepted.select(
        pl.col(name).cast(dtype) for name, dtype in APPLICATIONS_SCHEMA.items()
    )
    return ValidatedApplications(
        applications=applications,
        quarantine=_quarantine_view(quarantined, salt),
        report=report,
    )


def _add_missing_optional(frame: pl.LazyFrame, schema: pl.Schema) -> pl.LazyFrame:
    missing = [c for c in OPTIONAL_COLUMNS if c not in schema]
    return frame.with_columns(pl.lit(None, dtype=pl.String).alias(c) for c in missing)


def _normalise_text(frame: pl.LazyFrame) -> pl.LazyFrame:
    # Blank strings mean "not given"; a region left out means the whole service.
    cleaned = [
        pl.col(c).cast(pl.String).str.strip_chars().replace("", None).alias(c)
        for c in _TEXT_COLUMNS
    ]
    return frame.with_columns(cleaned).with_columns(
        pl.col(REGION).fill_null(DEFAULT_REGION),
        pl.col(PRIORITY).str.to_lowercase().fill_null(DEFAULT_PRIORITY),
    )


def _parse_dates(frame: pl.LazyFrame, schema: pl.Schema) -> pl.LazyFrame:
    return frame.with_columns(
        to_date(raw, schema.get(raw, pl.String())).alias(parsed) for raw, parsed in _PARSED.items()
    )


def _rules(as_of: date) -> list[Rule]:
    def unparseable(raw: str, parsed: str) -> Rule:
        return Rule(
            f"unparseable_{raw}",
            pl.col(raw).is_not_null() & pl.col(parsed).is_null(),
            pl.format(f"`{raw}` must be an ISO date or datetime, got '{{}}'", as_text(raw)),
        )

    def after_as_of(raw: str, parsed: str) -> Rule:
        return Rule(
            f"{raw}_after_as_of",
            pl.col(parsed) > as_of,
            pl.format(f"`{raw}` must be a date no later than {as_of}, got {{}}", pl.col(parsed)),
        )

    def ordered(later: str, earlier: str, reason: str) -> Rule:
        return Rule(
            reason,
            pl.col(_PARSED[later]) < pl.col(_PARSED[earlier]),
            pl.format(
                f"`{later}` must be on or after `{earlier}` ({{}}), got {{}}",
                pl.col(_PARSED[earlier]),
                pl.col(_PARSED[later]),
            ),
        )

    duplicated = pl.col(APPLICATION_ID).is_not_null() & (pl.len().over(APPLICATION_ID) > 1)
    return [
        Rule(
            "missing_application_id",
            pl.col(APPLICATION_ID).is_null(),
            pl.lit("`application_id` must be a non-empty string, got nothing"),
        ),
        Rule(
            "duplicate_application_id",
            duplicated,
            pl.format(
                "`application_id` must be unique, got {} rows with the same id",
                pl.len().over(APPLICATION_ID),
            ),
        ),
        Rule(
            "missing_submitted_at",
            pl.col(SUBMITTED_AT).is_null(),
            pl.lit("`submitted_at` must be an ISO date or datetime, got nothing"),
        ),
        unparseable(SUBMITTED_AT, SUBMITTED_ON),
        Rule(
            "empty_service",
            pl.col(SERVICE).is_null(),
            pl.lit("`service` must be a non-empty string, got nothing"),
        ),
        Rule(
            "empty_channel",
            pl.col(CHANNEL).is_null(),
            pl.lit("`channel` must be a non-empty string, got nothing"),
        ),
        unparseable(COMPLETED_AT, COMPLETED_ON),
        unparseable(DELIVERED_AT, DELIVERED_ON),
        unparseable(CLOSED_AT, CLOSED_ON),
        Rule(
            "unknown_priority",
            ~pl.col(PRIORITY).is_in(PRIORITIES),
            pl.format(f"`priority` must be one of {', '.join(PRIORITIES)}, got '{{}}'", PRIORITY),
        ),
        after_as_of(SUBMITTED_AT, SUBMITTED_ON),
        after_as_of(COMPLETED_AT, COMPLETED_ON),
        after_as_of(DELIVERED_AT, DELIVERED_ON),
        after_as_of(CLOSED_AT, CLOSED_ON),
        ordered(COMPLETED_AT, SUBMITTED_AT, "completed_before_submitted"),
        ordered(DELIVERED_AT, COMPLETED_AT, "delivered_before_completed"),
        ordered(CLOSED_AT, SUBMITTED_AT, "closed_before_submitted"),
        Rule(
            "completed_and_closed",
            pl.col(COMPLETED_ON).is_not_null() & pl.col(CLOSED_ON).is_not_null(),
            pl.format(
                "`closed_at` must be empty for a completed file (it is for files that left the "
                "queue without completion), got completed {} and closed {}",
                pl.col(COMPLETED_ON),
                pl.col(CLOSED_ON),
            ),
        ),
        Rule(
            "delivered_without_completed",
            pl.col(DELIVERED_ON).is_not_null() & pl.col(COMPLETED_ON).is_null(),
            pl.format(
                "`completed_at` must be given when `delivered_at` is, got delivered {} and no "
                "completion",
                pl.col(DELIVERED_ON),
            ),
        ),
    ]


def _flag(frame: pl.LazyFrame, as_of: date) -> pl.LazyFrame:
    reason, detail = first_broken_rule(_rules(as_of))
    return frame.with_columns(reason.alias(REASON), detail.alias(DETAIL))


def _quarantine_view(quarantined: pl.DataFrame, salt: str) -> pl.DataFrame:
    keys = [_hash_id(value, salt) for value in quarantined.get_column(APPLICATION_ID).to_list()]
    return quarantined.with_columns(
        pl.Series(APPLICATION_KEY, keys, dtype=pl.String),
        *(as_text(c).alias(c) for c in _PARSED),
    ).select(QUARANTINE_COLUMNS)


def _hash_id(value: str | None, salt: str) -> str | None:
    if value is None:
        return None
    return hashlib.blake2b(f"{salt}{value}".encode(), digest_size=8).hexdigest()
