"""What a planner asks: a scenario of dated changes, and a goal seek, validated at the boundary.

Every check names the field, what was expected and what was got, in the words
"`field` must be EXPECTED, got GOT", so a command line or an API can pass the sentence on as is.
Checks that need the fitted data (which services exist, the as-of date) happen when the scenario
is run (`forecasting.whatif.plan`); everything a scenario says about itself is checked here.
Every date range is half-open: a change applies from `start` up to the day before `end`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Annotated, Final, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    FiniteFloat,
    ValidationError,
    model_validator,
)

from forecasting.errors import DelaiError

MAX_HORIZON_WEEKS: Final = 104
MAX_CHANGES: Final = 20
MAX_NAME_LENGTH: Final = 100
# Enough to name every segment of a national operation one by one.
MAX_SELECTORS: Final = 500
MAX_RAMP_WEEKS: Final = 52
# Outside these a figure is a typo, not a plan.
MAX_STAFF: Final = 100_000.0
MAX_PERCENT: Final = 1_000.0


class ScenarioError(DelaiError, ValueError):
    """A scenario that does not fit the data it is run on (unknown service, start too early...)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SegmentSelector(_Strict):
    """A service, optionally narrowed to one channel and one region; None means every one."""

    service: str = Field(min_length=1, max_length=100)
    channel: str | None = Field(default=None, min_length=1, max_length=100)
    region: str | None = Field(default=None, min_length=1, max_length=100)

    def matches(self, segment: tuple[str, str, str]) -> bool:
        service, channel, region = segment
        return (
            self.service == service
            and self.channel in (None, channel)
            and self.region in (None, region)
        )

    def label(self) -> str:
        return "/".join((self.service, self.channel or "*", self.region or "*"))


Selectors = Annotated[list[SegmentSelector], Field(min_length=1, max_length=MAX_SELECTORS)]


class _Change(_Strict):
    start: date = Field(description="First day the change applies.")
    end: date | None = Field(
        default=None, description="First day it no longer applies; none = to the horizon's end."
    )
    segments: Selectors | None = Field(
        default=None, description="Where it applies; none = every segment of the scenario."
    )

    @model_validator(mode="after")
    def _end_after_start(self) -> Self:
        if self.end is not None and self.end <= self.start:
            raise ValueError(f"`end` must be a date after `start` ({self.start}), got {self.end}")
        return self


class StaffingChange(_Change):
    """More or fewer staff (or a share of capacity) from a date; new hires ramp up linearly."""

    kind: Literal["staffing"] = "staffing"
    staff: FiniteFloat | None = Field(
        default=None, ge=-MAX_STAFF, le=MAX_STAFF, description="Full-time staff added (+) or cut."
    )
    percent: FiniteFloat | None = Field(
        default=None, gt=-100, le=MAX_PERCENT, description="Capacity added (+) or cut, in %."
    )
    ramp_weeks: int = Field(
        default=0, ge=0, le=MAX_RAMP_WEEKS, description="Weeks for new hires to reach full output."
    )
    overtime_percent: FiniteFloat = Field(
        default=0.0, ge=0, le=100, description="Extra capacity from overtime while it applies, %."
    )

    @model_validator(mode="after")
    def _staff_or_percent(self) -> Self:
        if self.staff is None and self.percent is None:
            raise ValueError(
                "`staff` must be given, or `percent` instead (exactly one of the two), got neither"
            )
        if self.staff is not None and self.percent is not None:
            raise ValueError(
                "`percent` must be absent when `staff` is given (exactly one of the two), got "
                f"staff {self.staff:g} and percent {self.percent:g}"
            )
        return self


class DemandChange(_Change):
    """Arrivals up (+) or down by a percentage between two dates."""

    kind: Literal["demand"] = "demand"
    percent: FiniteFloat = Field(gt=-100, le=MAX_PERCENT, description="Change in arrivals, %.")


class ChannelShift(_Change):
    """A share of one channel's arrivals moves to another channel of the same service and region."""

    kind: Literal["channel_shift"] = "channel_shift"
    from_channel: str = Field(min_length=1, max_length=100)
    to_channel: str = Field(min_length=1, max_length=100)
    share: FiniteFloat = Field(gt=0, le=1, description="Share of from_channel's arrivals moved.")

    @model_validator(mode="after")
    def _two_channels(self) -> Self:
        if self.to_channel == self.from_channel:
            raise ValueError(
                f"`to_channel` must be a channel other than `from_channel`, got "
                f"'{self.to_channel}' for both"
            )
        for i, selector in enumerate(self.segments or []):
            if selector.channel is not None:
                raise ValueError(
                    f"`segments[{i}].channel` must be empty for a channel shift (the channels are "
                    f"`from_channel` and `to_channel`), got '{selector.channel}'"
                )
        return self


class OutageChange(_Change):
    """Capacity falls to a share of normal between two dates (a system down, a strike)."""

    kind: Literal["outage"] = "outage"
    end: date = Field(description="First day capacity is back to normal.")
    capacity_percent: FiniteFloat = Field(ge=0, le=100, description="Capacity that remains, %.")


Change = Annotated[
    StaffingChange | DemandChange | ChannelShift | OutageChange, Field(discriminator="kind")
]


class ServiceStandard(_Strict):
    """`share` of applications completed within `business_days` business days."""

    business_days: int = Field(ge=1, le=365)
    share: FiniteFloat = Field(ge=0.5, le=0.99)


class Scenario(_Strict):
    """Changes relative to the baseline over `horizon_weeks` weeks from `start`."""

    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH)
    start: date
    horizon_weeks: int = Field(ge=1, le=MAX_HORIZON_WEEKS)
    segments: Selectors | None = Field(
        default=None, description="The segments the scenario covers; none = every segment."
    )
    changes: list[Change] = Field(default_factory=list, max_length=MAX_CHANGES)
    standard: ServiceStandard | None = None

    @property
    def end(self) -> date:
        """The first day after the horizon."""
        return self.start + timedelta(weeks=self.horizon_weeks)

    def shifted(self, start: date) -> Scenario:
        """The same scenario starting on `start`: every date moves by the same number of days."""
        moved = start - self.start
        return self.model_copy(
            update={
                "start": start,
                "changes": [
                    c.model_copy(update={"start": c.start + moved, "end": c.end and c.end + moved})
                    for c in self.changes
                ],
            }
        )

    @model_validator(mode="after")
    def _changes_inside_horizon(self) -> Self:
        for i, change in enumerate(self.changes):
            if not self.start <= change.start < self.end:
                raise ValueError(
                    f"`changes[{i}].start` must be a date from the scenario's start {self.start} "
                    f"to the last day of its horizon {self.end - timedelta(days=1)}, "
                    f"got {change.start}"
                )
            if change.end is not None and change.end > self.end:
                raise ValueError(
                    f"`changes[{i}].end` must be no later than the day after the horizon "
                    f"{self.end} (leave it out for a change that lasts), got {change.end}"
                )
        return self


class GoalSeekRequest(_Strict):
    """The least staff, added from `from_date`, that meet the scenario's standard by `target_date`.

    The standard is met when, for applications submitted in every week from `target_date` to the
    end of the horizon, at least `standard.share` are completed within `standard.business_days`.
    """

    scenario: Scenario
    from_date: date
    target_date: date
    segments: Selectors | None = Field(
        default=None, description="Where staff are added; none = every segment of the scenario."
    )
    max_staff: FiniteFloat = Field(default=500.0, gt=0, le=MAX_STAFF)
    ramp_weeks: int = Field(default=0, ge=0, le=MAX_RAMP_WEEKS)

    def shifted(self, start: date) -> GoalSeekRequest:
        """The same request with its scenario starting on `start`, every date moved alike."""
        moved = start - self.scenario.start
        return self.model_copy(
            update={
                "scenario": self.scenario.shifted(start),
                "from_date": self.from_date + moved,
                "target_date": self.target_date + moved,
            }
        )

    @model_validator(mode="after")
    def _dates_inside_horizon(self) -> Self:
        scenario = self.scenario
        last = scenario.end - timedelta(days=1)
        if scenario.standard is None:
            raise ValueError(
                "`scenario.standard` must be given for a goal seek (business days and share), "
                "got nothing"
            )
        if not scenario.start <= self.from_date <= last:
            raise ValueError(
                f"`from_date` must be a date from the scenario's start {scenario.start} to the "
                f"last day of its horizon {last}, got {self.from_date}"
            )
        if not self.from_date <= self.target_date <= last:
            raise ValueError(
                f"`target_date` must be a date from `from_date` {self.from_date} to the last day "
                f"of the horizon {last}, got {self.target_date}"
            )
        return self


def explain(error: ValidationError) -> str:
    """Pydantic's errors as sentences naming the field, the expectation and the input."""
    return "; ".join(_sentence(e) for e in error.errors(include_url=False))


# The tags of the `Change` union: pydantic puts them in error locations, planners never write them.
CHANGE_KINDS = ("staffing", "demand", "channel_shift", "outage")


def _sentence(error: Mapping[str, object]) -> str:
    loc = error.get("loc")
    # The union's tag is in pydantic's location but not in the document the planner wrote.
    parts = [p for p in (loc if isinstance(loc, tuple) else ()) if p not in CHANGE_KINDS]
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    if message.startswith("`"):
        # The model's own check already names its field: say where that field sits.
        inner = message[1:].split("`", 1)[0]
        if parts and isinstance(parts[-1], str) and inner.split(".")[0].split("[")[0] == parts[-1]:
            parts = parts[:-1]
        where = _path(parts)
        return f"`{where}.{message[1:]}" if where else message
    field = _path(parts)
    kind = error.get("type")
    if kind == "missing":
        return f"`{field}` must be given, got nothing"
    if kind == "extra_forbidden":
        return f"`{field}` must be absent (not a field of this form), got a value"
    context = error.get("ctx")
    ctx = context if isinstance(context, dict) else {}
    if kind == "union_tag_invalid":
        return f"`{field}.kind` must be one of {ctx.get('expected_tags')}, got {ctx.get('tag')!r}"
    if kind == "union_tag_not_found":
        return f"`{field}.kind` must be given (one of {', '.join(CHANGE_KINDS)}), got nothing"
    if kind in ("too_long", "too_short"):
        bound = "at most" if kind == "too_long" else "at least"
        limit = ctx.get("max_length", ctx.get("min_length"))
        return f"`{field}` must be {bound} {limit} items, got {ctx.get('actual_length')}"
    expected = message.removeprefix("Input should be ")
    return f"`{field or 'scenario'}` must be {expected}, got {_echo(error.get('input'))}"


def _path(parts: list[object]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _echo(value: object) -> str:
    if isinstance(value, str):
        return repr(value[:60])
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return str(value)
