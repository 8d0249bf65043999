"""The planner page's form: read it from the POSTed body, check every field, build the what-if.

Each check speaks the reader's language and names the field to fix, and all problems are reported
at once (the status page's error pattern). What passes becomes the same JSON a planner would POST
to /v1/scenarios, so the page and the API run one validated model: the scenario's own checks and
the engine's stay the last word.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import date, timedelta
from typing import Any, Literal
from urllib.parse import parse_qsl

from serving.forms import FieldError
from serving.i18n import Lang, long_date, t

ALL = "all"
Action = Literal["run", "seek"]
# Longer than any real answer; a longer value is cut before it is checked or echoed back.
_MAX_LENGTH = 40
_MAX_FIELDS = 64
_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
_WHOLE = re.compile(r"[0-9]{1,4}")
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SPACES = re.compile(r"[\s\u00a0\u202f]")
MAX_RAMP_WEEKS = 52


@dataclass(frozen=True)
class PlannerForm:
    """The form as sent: text, stripped and cut short. The token is never echoed back."""

    token: str = ""
    action: str = "run"
    service: str = ALL
    channel: str = ALL
    region: str = ALL
    horizon: str = "26"
    standard_days: str = ""
    standard_share: str = ""
    staff_change: str = ""
    staff_unit: str = "staff"
    staff_from: str = ""
    staff_ramp: str = "0"
    demand_percent: str = ""
    demand_from: str = ""
    demand_to: str = ""
    outage_capacity: str = ""
    outage_from: str = ""
    outage_to: str = ""
    goal_from: str = ""
    goal_target: str = ""


FIELDS = tuple(f.name for f in fields(PlannerForm))
# Order of the fields on the page: the error summary lists problems in this order.
PAGE_ORDER = tuple(name for name in FIELDS if name != "action")


@dataclass(frozen=True)
class Offer:
    """What the served model can plan: its as-of day, segments, and whether it knows staffing."""

    as_of: date
    segments: tuple[tuple[str, str, str], ...]
    has_staff: bool
    max_horizon_weeks: int

    @property
    def start(self) -> date:
        """What-ifs start on the first day the model has not seen."""
        return self.as_of + timedelta(days=1)


@dataclass(frozen=True)
class Checked:
    """The scenario (and goal-seek) as API JSON when every check passed, else the errors."""

    action: Action
    scenario: dict[str, Any] | None
    goal_seek: dict[str, Any] | None
    errors: tuple[FieldError, ...]


def read_form(body: bytes) -> PlannerForm:
    """The form from an application/x-www-form-urlencoded body (unknown fields are ignored)."""
    try:
        pairs = parse_qsl(
            body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=_MAX_FIELDS
        )
    except ValueError:  # more fields than the form has: not our form, so nothing of it is read
        return PlannerForm()
    sent = {name: value for name, value in pairs if name in FIELDS}
    values = {name: value.strip()[:_MAX_LENGTH] for name, value in sent.items()}
    if "token" in sent:
        values["token"] = sent["token"].strip()  # not cut: a cut token would silently fail
    return replace(PlannerForm(), **values)


def check_form(form: PlannerForm, offer: Offer, lang: Lang) -> Checked:
    """Every check at once, in page order; the JSON is built only when there is no error."""
    action: Action = "seek" if form.action == "seek" else "run"
    c = _Checker(offer, lang)
    horizon = c.whole("horizon", form.horizon, 1, offer.max_horizon_weeks)
    # With no valid horizon the dates are still checked, against the longest one.
    end = offer.start + timedelta(weeks=horizon or offer.max_horizon_weeks)
    scope = c.scope(form)
    standard = c.standard(form, required=action == "seek")
    changes = [
        change
        for change in (c.staffing(form, end), c.demand(form, end), c.outage(form, end))
        if change is not None
    ]
    goal = c.goal(form, end) if action == "seek" else None
    if c.errors:
        ordered = sorted(c.errors, key=lambda e: PAGE_ORDER.index(e.field))
        return Checked(action, None, None, tuple(ordered))
    scenario = {
        "name": t("planner.scenario.name", lang),
        "start": offer.start.isoformat(),
        "horizon_weeks": horizon,
        "segments": scope,
        "changes": changes,
        "standard": standard,
    }
    if goal is None:
        return Checked(action, scenario, None, ())
    return Checked(action, scenario, {"scenario": scenario, **goal}, ())


def refuse_token(checked: Checked, lang: Lang, *, given: bool) -> Checked:
    """A checked form whose token is missing or wrong: that error first, then the others, and
    nothing to run."""
    key = "planner.error.token.wrong" if given else "planner.error.token.missing"
    errors = (FieldError("token", "token", t(key, lang)), *checked.errors)
    return Checked(checked.action, None, None, errors)


def choices(offer: Offer) -> dict[str, tuple[str, ...]]:
    """The services, channels and regions the served model plans for, as codes."""
    return {
        kind: tuple(sorted({segment[i] for segment in offer.segments}))
        for i, kind in enumerate(("service", "channel", "region"))
    }


class _Checker:
    """Field checks that collect their errors; each returns the value, or None when wrong."""

    def __init__(self, offer: Offer, lang: Lang) -> None:
        self.offer = offer
        self.lang = lang
        self.errors: list[FieldError] = []

    def fail(self, field: str, key: str, **values: object) -> None:
        if not any(e.field == field for e in self.errors):
            self.errors.append(FieldError(field, field, t(key, self.lang, **values)))

    def number(self, field: str, text: str, low: float, high: float) -> float | None:
        """A decimal number within [low, high]; a French comma and a % sign are fine."""
        plain = _SPACES.sub("", text).removesuffix("%").replace(",", ".")
        if not _NUMBER.fullmatch(plain):
            self.fail(field, f"planner.error.{field}.number")
            return None
        value = float(plain)
        if not low <= value <= high:
            self.fail(field, f"planner.error.{field}.range", low=_show(low), high=_show(high))
            return None
        return value

    def whole(self, field: str, text: str, low: int, high: int) -> int | None:
        """A whole number within [low, high]."""
        if not _WHOLE.fullmatch(text) or not low <= int(text) <= high:
            self.fail(field, f"planner.error.{field}", low=low, high=high)
            return None
        return int(text)

    def day(self, field: str, text: str, first: date, last: date) -> date | None:
        """A YYYY-MM-DD date within [first, last] (what a date input sends)."""
        if not text:
            self.fail(field, f"planner.error.{field}.missing")
            return None
        try:
            value = date.fromisoformat(text) if _ISO_DAY.fullmatch(text) else None
        except ValueError:
            value = None
        if value is None:
            self.fail(field, "planner.error.date.format", example=self.offer.start.isoformat())
            return None
        if not first <= value <= last:
            first_day, last_day = long_date(first, self.lang), long_date(last, self.lang)
            self.fail(field, f"planner.error.{field}.range", first=first_day, last=last_day)
            return None
        return value

    def scope(self, form: PlannerForm) -> list[dict[str, str]] | None:
        """None for every segment, else one selector per service that matches the choices."""
        offered = choices(self.offer)
        chosen = {"service": form.service, "channel": form.channel, "region": form.region}
        for kind, value in chosen.items():
            if value != ALL and value not in offered[kind]:
                self.fail(kind, f"planner.error.{kind}")
        if self.errors or all(v == ALL for v in chosen.values()):
            return None
        matching = [
            s
            for s in self.offer.segments
            if all(v in (ALL, s[i]) for i, v in enumerate(chosen.values()))
        ]
        if not matching:
            self.fail("channel", "planner.error.scope")
            return None
        services = [form.service] if form.service != ALL else sorted({s[0] for s in matching})
        extra = {k: v for k, v in chosen.items() if k != "service" and v != ALL}
        return [{"service": service, **extra} for service in services]

    def standard(self, form: PlannerForm, *, required: bool) -> dict[str, float] | None:
        if not form.standard_days and not form.standard_share:
            if required:
                self.fail("standard_days", "planner.error.standard.required")
            return None
        days = self.whole("standard_days", form.standard_days, 1, 365)
        share = self.number("standard_share", form.standard_share, 50, 99)
        if days is None or share is None:
            return None
        return {"business_days": days, "share": round(share / 100, 4)}

    def staffing(self, form: PlannerForm, end: date) -> dict[str, Any] | None:
        if not form.staff_change:
            return None
        unit = form.staff_unit
        if unit not in ("staff", "percent"):
            self.fail("staff_unit", "planner.error.staff_unit")
        elif unit == "staff" and not self.offer.has_staff:
            self.fail("staff_unit", "planner.error.staff_unit.no_staff")
        high = 100_000.0 if unit == "staff" else 1_000.0
        low = -high if unit == "staff" else -100.0
        change = self.number("staff_change", form.staff_change, low, high)
        start = self.day("staff_from", form.staff_from, self.offer.start, _last_day(end))
        ramp = self.whole("staff_ramp", form.staff_ramp or "0", 0, MAX_RAMP_WEEKS)
        if change is None or start is None or ramp is None or unit not in ("staff", "percent"):
            return None
        return {"kind": "staffing", "start": start.isoformat(), unit: change, "ramp_weeks": ramp}

    def demand(self, form: PlannerForm, end: date) -> dict[str, Any] | None:
        if not form.demand_percent:
            return None
        change = self.number("demand_percent", form.demand_percent, -99, 1_000)
        start = self.day("demand_from", form.demand_from, self.offer.start, _last_day(end))
        until = None
        if form.demand_to:
            # With a wrong start the end is still checked, against the plan's first day.
            until = self.day("demand_to", form.demand_to, start or self.offer.start, _last_day(end))
        if change is None or start is None or (form.demand_to and until is None):
            return None
        return {
            "kind": "demand",
            "start": start.isoformat(),
            "end": _after(until),
            "percent": change,
        }

    def outage(self, form: PlannerForm, end: date) -> dict[str, Any] | None:
        if not form.outage_capacity:
            return None
        remains = self.number("outage_capacity", form.outage_capacity, 0, 100)
        start = self.day("outage_from", form.outage_from, self.offer.start, _last_day(end))
        until = self.day("outage_to", form.outage_to, start or self.offer.start, _last_day(end))
        if remains is None or start is None or until is None:
            return None
        return {
            "kind": "outage",
            "start": start.isoformat(),
            "end": _after(until),
            "capacity_percent": remains,
        }

    def goal(self, form: PlannerForm, end: date) -> dict[str, Any] | None:
        start = self.day("goal_from", form.goal_from, self.offer.start, _last_day(end))
        target = self.day(
            "goal_target", form.goal_target, start or self.offer.start, _last_day(end)
        )
        if start is None or target is None:
            return None
        return {"from_date": start.isoformat(), "target_date": target.isoformat()}


def _last_day(end: date) -> date:
    """The horizon's last day (`end` is the first day after it)."""
    return end - timedelta(days=1)


def _after(last: date | None) -> str | None:
    """The form asks for a change's last day; the scenario wants the first day after it
    (its date ranges are half-open)."""
    return (last + timedelta(days=1)).isoformat() if last is not None else None


def _show(value: float) -> str:
    return f"{value:g}"


def form_values(form: PlannerForm) -> Mapping[str, str]:
    """What the page echoes back into the inputs: everything but the token."""
    return {name: getattr(form, name) for name in FIELDS if name != "token"}
