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
# When a file left the queue without being completed (withdrawn, refused, abandoned, lost to
# follow-up): it is censored there, waiting until then and never completed.
CLOSED_AT: Final = "closed_at"
PRIORITY: Final = "priority"

REQUIRED_COLUMNS: Final = (APPLICATION_ID, SERVICE, CHANNEL, SUBMITTED_AT)
OPTIONAL_COLUMNS: Final = (REGION, COMPLETED_AT, DELIVERED_AT, PRIORITY, CLOSED_AT)
CONTRACT_COLUMNS: Final = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
DATE_COLUMNS: Final = (SUBMITTED_AT, COMPLETED_AT, DELIVERED_AT, CLOSED_AT)

DEFAULT_REGION: Final = "all"
PRIORITIES: Final = ("regular", "express", "urgent")
DEFAULT_PRIORITY: Final = "regular"

# A segment is service x channel x region: the unit every estimate is made for.
SEGMENT: Final = (SERVICE, CHANNEL, REGION)

# --- validated applications: dates at day resolution, no identifiers -------------------------
SUBMITTED_ON: Final = "submitted_on"
COMPLETED_ON: Final = "completed_on"
DELIVERED_ON: Final = "delivered_on"
CLOSED_ON: Final = "closed_on"

APPLICATIONS_SCHEMA: Final = pl.Schema(
    {
        SERVICE: pl.String,
        CHANNEL: pl.String,
        REGION: pl.String,
        PRIORITY: pl.String,
        SUBMITTED_ON: pl.Date,
        COMPLETED_ON: pl.Date,
        DELIVERED_ON: pl.Date,
        CLOSED_ON: pl.Date,
    }
)

# --- quarantine: the rows refused, with why ----------------------------------------------------
SOURCE_ROW: Final = "source_row"
APPLICATION_KEY: Final = "application_key"
REASON: Final = "reason"

# --- the optional capacity table: one row per segment, day and plan -------------------------------
DATE: Final = "date"
STAFF: Final = "staff"
STAFF_HOURS: Final = "staff_hours"
COMPLETIONS_CAPACITY: Final = "completions_capacity"
# Optional: the day a row's figure was known (a plan made that day). Null: known on its own date.
PLANNED_ON: Final = "planned_on"

CAPACITY_REQUIRED_COLUMNS: Final = (DATE, SERVICE, CHANNEL)
# At least one of these measures must be present.
CAPACITY_MEASURES: Final = (STAFF_HOURS, COMPLETIONS_CAPACITY)
# Optional: full-time staff on strength, which lets planners ask for staff rather than percent.
CAPACITY_OPTIONAL: Final = (STAFF,)

CAPACITY_SCHEMA: Final = pl.Schema(
    {
        DATE: pl.Date,
        SERVICE: pl.String,
        CHANNEL: pl.String,
        REGION: pl.String,
        STAFF_HOURS: pl.Float64,
        COMPLETIONS_CAPACITY: pl.Float64,
        STAFF: pl.Float64,
        PLANNED_ON: pl.Date,
    }
)

# --- requests and estimates --------------------------------------------------------------------
QUANTILES: Final = (0.5, 0.8, 0.9)
# Days from submission to completion at each quantile, and the same as dates.
QUANTILE_DAYS: Final = ("p50_days", "p80_days", "p90_days")
QUANTILE_DATES: Final = ("p50", "p80", "p90")
REQUEST_COLUMNS: Final = (SERVICE, CHANNEL, REGION, SUBMITTED_ON)
AS_OF: Final = "as_of"
ERROR: Final = "error"
MODEL_VERSION: Final = "model_version"

# --- segment features as of a day: one row per segment (forecasting.features) ------------------
BACKLOG: Final = "backlog"
BACKLOG_AGE_P50: Final = "backlog_age_p50"
BACKLOG_AGE_P90: Final = "backlog_age_p90"
# Flow and age windows in days; the column names carry the window.
AGE_THRESHOLDS: Final = (30, 60, 90)
FLOW_WINDOWS: Final = (7, 28, 91)
BACKLOG_SHARE_OVER: Final = {d: f"backlog_share_over_{d}d" for d in AGE_THRESHOLDS}
ARRIVALS: Final = {d: f"arrivals_{d}d" for d in FLOW_WINDOWS}
COMPLETIONS: Final = {d: f"completions_{d}d" for d in FLOW_WINDOWS}
THROUGHPUT_TREND: Final = "throughput_trend"
SERVICE_DAYS_P50: Final = "service_days_p50"
SERVICE_DAYS_P80: Final = "service_days_p80"
BUSINESS_DAYS_NEXT_28D: Final = "business_days_next_28d"
HOLIDAYS_LAST_28D: Final = "holidays_last_28d"
HOLIDAYS_NEXT_28D: Final = "holidays_next_28d"
CAPACITY_COMPLETIONS_28D: Final = "capacity_completions_28d"
CAPACITY_STAFF_HOURS_28D: Final = "capacity_staff_hours_28d"
SEGMENT_FEATURES: Final = (
    BACKLOG,
    BACKLOG_AGE_P50,
    BACKLOG_AGE_P90,
    *BACKLOG_SHARE_OVER.values(),
    *ARRIVALS.values(),
    *COMPLETIONS.values(),
    THROUGHPUT_TREND,
    SERVICE_DAYS_P50,
    SERVICE_DAYS_P80,
    BUSINESS_DAYS_NEXT_28D,
    HOLIDAYS_LAST_28D,
    HOLIDAYS_NEXT_28D,
    CAPACITY_COMPLETIONS_28D,
    CAPACITY_STAFF_HOURS_28D,
)

# --- what-if results: one row per week, segment and variant (forecasting.whatif) ---------------
WEEK_START: Final = "week_start"
VARIANT: Final = "variant"
BASELINE_VARIANT: Final = "baseline"
SCENARIO_VARIANT: Final = "scenario"
VARIANTS: Final = (BASELINE_VARIANT, SCENARIO_VARIANT)
# Service, channel and region of the rows that total every segment of a scenario.
TOTAL: Final = "all"
WEEK_ARRIVALS: Final = "arrivals"
WEEK_COMPLETIONS: Final = "completions"
# BACKLOG (above) is the files open at the end of the week; P50/P80 are QUANTILE_DAYS' names.
P80_BUSINESS_DAYS: Final = "p80_business_days"
SHARE_WITHIN_STANDARD: Final = "share_within_standard"
BACKLOG_LO: Final = "backlog_lo"
BACKLOG_HI: Final = "backlog_hi"
P80_DAYS_LO: Final = "p80_days_lo"
P80_DAYS_HI: Final = "p80_days_hi"
PRE_CHANGE_BACKLOG: Final = "pre_change_backlog"
RECOVERY_WEEK: Final = "recovery_week"
