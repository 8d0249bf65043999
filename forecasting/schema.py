"""Column names and roles of every table delai reads or writes; nothing else spells them out.

Columns are referred to by these names and passed explicitly, never inferred from position.
"""

from __future__ import annotations

from typing import Final

import polars as pl

# --- the applications contract: one row per application, as supplied -------------------------
APPLICATION_ID: Final = "application_id"
SERVICE: Final = "service"
CHANNEL: Final = "channel"
REGION: Final = "region"
SUBMITTED_AT: Final = "submitted_at"
COMPLETED_AT: Final = "completed_at"
DELIVERED_AT: Final = "delivered_at"
PRIORITY: Final = "priority"

REQUIRED_COLUMNS: Final = (APPLICATION_ID, SERVICE, CHANNEL, SUBMITTED_AT)
OPTIONAL_COLUMNS: Final = (REGION, COMPLETED_AT, DELIVERED_AT, PRIORITY)
CONTRACT_COLUMNS: Final = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
DATE_COLUMNS: Final = (SUBMITTED_AT, COMPLETED_AT, DELIVERED_AT)

DEFAULT_REGION: Final = "all"
PRIORITIES: Final = ("regular", "express", "urgent")
DEFAULT_PRIORITY: Final = "regular"

# A segment is service x channel x region: the unit every estimate is made for.
SEGMENT: Final = (SERVICE, CHANNEL, REGION)

# --- validated applications: dates at day resolution, no identifiers -------------------------
SUBMITTED_ON: Final = "submitted_on"
COMPLETED_ON: Final = "completed_on"
DELIVERED_ON: Final = "delivered_on"

APPLICATIONS_SCHEMA: Final = pl.Schema(
    {
        SERVICE: pl.String,
        CHANNEL: pl.String,
        REGION: pl.String,
        PRIORITY: pl.String,
        SUBMITTED_ON: pl.Date,
        COMPLETED_ON: pl.Date,
        DELIVERED_ON: pl.Date,
    }
)

# --- quarantine: the rows refused, with why ----------------------------------------------------
SOURCE_ROW: Final = "source_row"
APPLICATION_KEY: Final = "application_key"
REASON: Final = "reason"

# --- the optional capacity table: one row per segment and day ---------------------------------
DATE: Final = "date"
STAFF: Final = "staff"
STAFF_HOURS: Final = "staff_hours"
COMPLETIONS_CAPACITY: Final = "completions_capacity"

CAPACITY_REQUIRED_COLUMNS: Final = (DATE, SERVICE, CHANNEL)
# At least one of these measures must be present.
CAPACITY_MEASURES: Final = (STAFF_HOURS, COMPLETIONS_CAPACITY)

CAPACITY_SCHEMA: Final = pl.Schema(
    {
        DATE: pl.Date,
        SERVICE: pl.String,
        CHANNEL: pl.String,
        REGION: pl.String,
        STAFF_HOURS: pl.Float64,
        COMPLETIONS_CAPACITY: pl.Float64,
    }
)
