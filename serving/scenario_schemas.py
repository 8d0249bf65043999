"""The what-if routes' answer shapes and the example bodies /docs shows.

The request bodies are the engine's own pydantic models (`forecasting.whatif.Scenario`,
`GoalSeekRequest`), so the API and the engine validate one thing; the answers are the engine's
`to_dict()` stamped with the model's as-of date and version, described here for the OpenAPI.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field

from forecasting.whatif import GoalSeekRequest, Scenario

Variant = Literal["baseline", "scenario"]
TOTAL_NOTE = 'Total rows have service, channel and region "all".'

_STAFFING: dict[str, Any] = {
    "kind": "staffing",
    "start": "2027-01-04",
    "staff": 40,
    "ramp_weeks": 6,
    "segments": [{"service": "passport_adult"}],
}
_SURGE: dict[str, Any] = {
    "kind": "demand",
    "start": "2027-03-01",
    "end": "2027-05-31",
    "percent": 60,
    "segments": [{"service": "passport_adult"}],
}
_OUTAGE: dict[str, Any] = {
    "kind": "outage",
    "start": "2027-02-08",
    "end": "2027-02-15",
    "capacity_percent": 20,
}
_STANDARD = {"business_days": 20, "share": 0.8}

SCENARIO_EXAMPLES: dict[str, dict[str, Any]] = {
    "hiring": {
        "summary": "40 more staff from January, six weeks to full speed",
        "value": {
            "name": "Winter hiring",
            "start": "2026-11-30",
            "horizon_weeks": 52,
            "segments": [{"service": "passport_adult"}],
            "changes": [_STAFFING],
            "standard": _STANDARD,
        },
    },
    "surge": {
        "summary": "A 60 % spring surge in adult passports, and a week-long outage",
        "value": {
            "name": "Spring surge",
            "start": "2026-11-30",
            "horizon_weeks": 40,
            "changes": [_SURGE, _OUTAGE],
            "standard": _STANDARD,
        },
    },
    "baseline": {
        "summary": "No change: the baseline alone, every segment",
        "value": {"name": "Baseline", "start": "2026-11-30", "horizon_weeks": 26, "changes": []},
    },
}

GOAL_SEEK_EXAMPLES: dict[str, dict[str, Any]] = {
    "standard": {
        "summary": "Staff needed from January to meet 20 business days for 80 % by June",
        "value": {
            "scenario": {
                "name": "Meet the standard",
                "start": "2026-11-30",
                "horizon_weeks": 40,
                "segments": [{"service": "passport_adult"}],
                "changes": [_SURGE],
                "standard": _STANDARD,
            },
            "from_date": "2027-01-04",
            "target_date": "2027-06-07",
            "max_staff": 500,
            "ramp_weeks": 4,
        },
    }
}


class WeekOut(BaseModel):
    """One week of one segment (or the total) in one variant."""

    week_start: date = Field(description="First day of the week (weeks count from `start`).")
    service: str
    channel: str
    region: str
    variant: Variant = Field(description="baseline: no changes; scenario: with them.")
    arrivals: float | None = Field(description="Applications received that week.")
    completions: float | None = Field(description="Applications completed that week.")
    backlog: float | None = Field(description="Open applications at the end of the week.")
    backlog_lo: float | None = Field(description="10th percentile of backlog over intake paths.")
    backlog_hi: float | None = Field(description="90th percentile of backlog over intake paths.")
    p50_days: float | None = Field(
        description="Calendar days within which half the week's applications are completed."
    )
    p80_days: float | None = Field(
        description="Calendar days within which 8 in 10 of the week's applications are completed."
    )
    p80_days_lo: float | None = Field(description="10th percentile of p80_days over intake paths.")
    p80_days_hi: float | None = Field(description="90th percentile of p80_days over intake paths.")
    p80_business_days: float | None = Field(description="p80_days in business days.")
    share_within_standard: float | None = Field(
        description="Share of the week's applications completed within the standard; "
        "null without a standard."
    )


class RecoveryOut(BaseModel):
    """When a backlog is back at its level before the first change."""

    service: str
    channel: str
    region: str
    variant: Variant
    pre_change_backlog: float | None = Field(description="Backlog the day before the first change.")
    recovery_week: date | None = Field(
        description="First week the backlog is at or below that level again; null if never."
    )


class ScenarioOut(BaseModel):
    """A what-if's answer: the scenario as run, then weekly figures for both variants."""

    name: str
    as_of: date = Field(description="The day the served model's data is as of.")
    model_version: str = Field(description="The served model's registered version.")
    n_paths: int = Field(description="Intake paths simulated for the 10th-90th percentile bands.")
    scenario: Scenario = Field(description="The scenario as run, defaults filled in.")
    weekly: list[WeekOut] = Field(
        description="One row per week, segment and variant. " + TOTAL_NOTE
    )
    recovery: list[RecoveryOut] = Field(description="Per segment and variant. " + TOTAL_NOTE)


class GoalSeekOut(BaseModel):
    """The least staffing change that meets the standard, or why none does."""

    reachable: bool
    staff: float | None = Field(
        description="The least change, in `unit`: full-time staff, or percent of capacity when "
        "the model has no staffing data; null when not reachable."
    )
    unit: Literal["staff", "percent"]
    message: str = Field(description="The answer in a sentence (English).")
    evaluations: int = Field(description="Scenario runs the search took.")
    request: GoalSeekRequest = Field(description="The request as run, defaults filled in.")
    result: ScenarioOut | None = Field(description="The scenario with the change found.")
    as_of: date
    model_version: str
