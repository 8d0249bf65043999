"""The API's request and response shapes, with the examples /docs shows."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Lang = Literal["en", "fr"]
# Text fields of a batch item are bounded so a 1,000-item body stays small.
_CODE = Field(default=None, max_length=64)


def _parameter(name: str, where: str, description: str, **schema: object) -> dict[str, object]:
    required = schema.pop("required", False)
    return {
        "name": name,
        "in": where,
        "required": required,
        "description": description,
        "schema": {"type": "string", **schema},
    }


# GET /v1/estimate reads its query itself (see `serving.api.estimate`); /docs shows these.
ESTIMATE_PARAMETERS = [
    _parameter("service", "query", "A service code from /v1/services.", required=True,
               example="passport_adult"),
    _parameter("channel", "query", "A channel code from /v1/services.", required=True,
               example="online"),
    _parameter("region", "query", "A region code from /v1/services.", default="all",
               example="ON"),
    _parameter("submitted_on", "query", "The day the file was submitted, YYYY-MM-DD.",
               required=True, format="date", example="2026-11-02"),
    _parameter("lang", "query", "Language of `message` (default: from Accept-Language, else en).",
               enum=["en", "fr"]),
    _parameter("Accept-Language", "header", "Used when `lang` is not given.", example="fr-CA"),
]  # fmt: skip


class Label(BaseModel):
    """A code and how to say it in each language (the code itself when no label is known)."""

    code: str
    en: str
    fr: str


class Percentile(BaseModel):
    completed_by: date = Field(description="Completion date at this percentile (business day).")
    business_days: int | None = Field(description="Business days from submission to that date.")
    delivered_by: date | None = Field(
        description="Delivery date at this percentile, where the data records deliveries."
    )


class Estimate(BaseModel):
    """When a file submitted on a day in a segment is likely to be completed and delivered."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "service": "passport_adult",
                    "channel": "online",
                    "region": "ON",
                    "submitted_on": "2026-11-02",
                    "as_of": "2026-11-28",
                    "model_version": "3",
                    "p50": {
                        "completed_by": "2026-11-20",
                        "business_days": 14,
                        "delivered_by": "2026-11-25",
                    },
                    "p80": {
                        "completed_by": "2026-12-04",
                        "business_days": 24,
                        "delivered_by": "2026-12-09",
                    },
                    "p90": {
                        "completed_by": "2026-12-11",
                        "business_days": 29,
                        "delivered_by": "2026-12-16",
                    },
                    "past_usual_time": False,
                    "lang": "en",
                    "message": "Half of applications like yours are completed by 20 November "
                    "2026. 8 in 10 are completed by 4 December 2026.",
                }
            ]
        }
    )

    service: str
    channel: str
    region: str
    submitted_on: date
    as_of: date = Field(description="The day the model's data is as of.")
    model_version: str
    p50: Percentile
    p80: Percentile
    p90: Percentile
    past_usual_time: bool = Field(
        description="True when the file has already waited longer than 8 in 10 files like it."
    )
    lang: Lang
    message: str = Field(description="The estimate as a sentence, in `lang`.")


class EstimateRequest(BaseModel):
    """One item of a batch; the same fields as GET /v1/estimate's query."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "service": "passport_adult",
                    "channel": "online",
                    "region": "ON",
                    "submitted_on": "2026-11-02",
                }
            ]
        },
    )

    service: str | None = _CODE
    channel: str | None = _CODE
    region: str | None = Field(default="all", max_length=64)
    submitted_on: str | None = Field(default=None, max_length=32, description="YYYY-MM-DD")


class EstimatesRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "lang": "fr",
                    "requests": [
                        {
                            "service": "passport_adult",
                            "channel": "online",
                            "region": "ON",
                            "submitted_on": "2026-11-02",
                        },
                        {
                            "service": "ei_regular",
                            "channel": "mail",
                            "region": "QC",
                            "submitted_on": "2026-10-15",
                        },
                    ],
                }
            ]
        },
    )

    requests: list[EstimateRequest] = Field(description="Up to 1,000 requests.")
    lang: Lang | None = Field(default=None, description="Default: from Accept-Language, else en.")


class ProblemOut(BaseModel):
    field: str
    in_: str = Field(alias="in")
    expected: str
    got: str
    message: str


class ErrorOut(BaseModel):
    """Every error answer: the status, one sentence, and what was wrong with which field."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": 422,
                    "message": "`submitted_on` must be a date as YYYY-MM-DD, got '28/11/2026'",
                    "problems": [
                        {
                            "field": "submitted_on",
                            "in": "query",
                            "expected": "a date as YYYY-MM-DD",
                            "got": "'28/11/2026'",
                            "message": "`submitted_on` must be a date as YYYY-MM-DD, "
                            "got '28/11/2026'",
                        }
                    ],
                }
            ]
        }
    )

    status: int
    message: str
    problems: list[ProblemOut]


class ItemError(BaseModel):
    message: str
    problems: list[ProblemOut]


class EstimateResult(BaseModel):
    """One batch item's answer: an estimate, or the error that item alone has."""

    estimate: Estimate | None
    error: ItemError | None


class EstimatesResponse(BaseModel):
    model_version: str
    as_of: date
    lang: Lang
    answered: int
    failed: int
    results: list[EstimateResult] = Field(description="In the order of the requests.")


class Segment(BaseModel):
    service: Label
    channel: Label
    region: Label


class Services(BaseModel):
    """The segments the current model answers for, and the submission dates it accepts."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "model_version": "3",
                    "as_of": "2026-11-28",
                    "first_submitted_on": "2025-11-28",
                    "last_submitted_on": "2027-02-26",
                    "segments": [
                        {
                            "service": {
                                "code": "passport_adult",
                                "en": "Adult passport",
                                "fr": "Passeport pour adulte",
                            },
                            "channel": {"code": "online", "en": "Online", "fr": "En ligne"},
                            "region": {"code": "ON", "en": "Ontario", "fr": "Ontario"},
                        }
                    ],
                }
            ]
        }
    )

    model_version: str
    as_of: date
    first_submitted_on: date
    last_submitted_on: date
    segments: list[Segment]


class AccuracyOut(BaseModel):
    files_scored: int = Field(description="Backtest files the model was scored on.")
    coverage_p80: float | None = Field(
        description="Share of those files completed by their P80 date (the promise: 0.8)."
    )
    mae_p50_days: float | None = Field(description="Mean absolute error of the P50, in days.")
    published_mae_p50_days: float | None = Field(
        description="The same error for the published-percentile method governments use."
    )


class ProcessingTime(BaseModel):
    service: Label
    channel: Label
    region: Label
    p80_days: int | None = Field(description="Calendar days to the P80 completion date.")
    p80_business_days: int | None
    p80_date: date | None
    accuracy: AccuracyOut | None = Field(
        description="Measured backtest accuracy; null if unscored."
    )
    error: str | None = Field(description="Why there is no estimate, when there is none.")


class ProcessingTimes(BaseModel):
    """One row per segment: how long a file submitted today takes, and how accurate that was."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "model_version": "3",
                    "as_of": "2026-11-28",
                    "submitted_on": "2026-11-28",
                    "rows": [
                        {
                            "service": {
                                "code": "passport_adult",
                                "en": "Adult passport",
                                "fr": "Passeport pour adulte",
                            },
                            "channel": {"code": "online", "en": "Online", "fr": "En ligne"},
                            "region": {"code": "ON", "en": "Ontario", "fr": "Ontario"},
                            "p80_days": 21,
                            "p80_business_days": 15,
                            "p80_date": "2026-12-19",
                            "accuracy": {
                                "files_scored": 4120,
                                "coverage_p80": 0.81,
                                "mae_p50_days": 3.2,
                                "published_mae_p50_days": 7.9,
                            },
                            "error": None,
                        }
                    ],
                }
            ]
        }
    )

    model_version: str
    as_of: date
    submitted_on: date = Field(
        description="Today, or the as-of date when the model cannot answer for today."
    )
    rows: list[ProcessingTime]


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    """Whether a model is being served, which one, and from where."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "ready",
                    "source": "cache",
                    "model_version": "3",
                    "model_uri": "models:/processing-time@champion",
                    "as_of": "2026-11-28",
                    "loaded_at": "2026-11-28T09:00:00Z",
                    "reason": "the registry could not be reached; serving the last model "
                    "loaded from it (cached)",
                }
            ]
        }
    )

    status: Literal["ready", "unavailable"]
    source: Literal["registry", "cache", "provided"] | None = None
    model_version: str | None = None
    model_uri: str | None = None
    as_of: date | None = None
    loaded_at: datetime | None = None
    reason: str | None = None


class ReloadOut(BaseModel):
    outcome: Literal["swapped", "unchanged"]
    model_version: str
    previous_version: str | None
    seconds: float
