"""The planner page, in English at /planner and French at /planificateur: what-ifs without code.

Server-rendered and usable without JavaScript, like the status page. The form is POSTed, not sent
as a query, because it carries the planner's access token (a browser form cannot send a bearer
header): a token must never sit in a URL, a history or a log. The token is checked in constant
time on every run and never written back into the page. The page is off (404) when no planner
token is configured, exactly as the API routes are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from markupsafe import Markup, escape
from pydantic import ValidationError

from forecasting.errors import DelaiError
from forecasting.whatif import (
    MAX_HORIZON_WEEKS,
    GoalSeekRequest,
    GoalSeekResult,
    Scenario,
    goal_seek,
    run_scenario,
)
from serving.api import token_matches
from serving.errors import from_validation
from serving.forms import FieldError, sort_key
from serving.holder import State
from serving.i18n import Lang, catalogue, label, long_date, percent, t, whole_number
from serving.pages import render
from serving.planner_form import (
    ALL,
    Checked,
    Offer,
    PlannerForm,
    check_form,
    choices,
    form_values,
    read_form,
    refuse_token,
)
from serving.planner_view import View, build_view, scope_text, standard_text
from serving.scenarios import Planning, refusal, served_planning

PATHS: dict[Lang, str] = {"en": "/planner", "fr": "/planificateur"}
# The anchor of an error the engine found: the form as a whole.
FORM_ANCHOR = "planner-form"

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Outcome:
    """The result section: its heading, what it covers, the goal-seek's answer and the figures."""

    heading: str
    scope: str
    goal: tuple[str, ...]
    view: View | None
    as_of: str


@router.get(PATHS["en"], response_class=HTMLResponse)
def planner_en(request: Request) -> HTMLResponse:
    return show(request, "en", None)


@router.get(PATHS["fr"], response_class=HTMLResponse)
def planner_fr(request: Request) -> HTMLResponse:
    return show(request, "fr", None)


@router.post(PATHS["en"], response_class=HTMLResponse)
async def submit_en(request: Request) -> HTMLResponse:
    body = await request.body()
    return await run_in_threadpool(show, request, "en", body)


@router.post(PATHS["fr"], response_class=HTMLResponse)
async def submit_fr(request: Request) -> HTMLResponse:
    body = await request.body()
    return await run_in_threadpool(show, request, "fr", body)


def show(request: Request, lang: Lang, body: bytes | None) -> HTMLResponse:
    """The page: off, unavailable, the empty form, or the submitted form's errors or result."""
    settings = request.app.state.settings
    if settings.planner_token is None:
        return _notice(request, lang, "off", "planner.off.body", 404)
    state: State = request.app.state.holder.state
    if state.served is None:
        return _notice(request, lang, "unavailable", "planner.unavailable.body", 503)
    planning = served_planning(state)
    if planning is None:
        return _notice(request, lang, "unavailable", "planner.no_planning.body", 409)
    offer = Offer(
        as_of=planning.as_of,
        segments=tuple(planning.baseline.segments),
        has_staff=bool(planning.baseline.has_staff),
        max_horizon_weeks=MAX_HORIZON_WEEKS,
    )
    if body is None:
        # Without staffing data only a percent of capacity can be asked for.
        empty = PlannerForm(staff_unit="staff" if offer.has_staff else "percent")
        return _page(request, lang, offer, empty, Checked("run", None, None, ()), None)
    form = read_form(body)
    checked = check_form(form, offer, lang)
    if not token_matches(settings.planner_token, form.token or None):
        # Every problem at once, as always; but without the token nothing runs.
        refused = refuse_token(checked, lang, given=bool(form.token))
        return _page(request, lang, offer, form, refused, None, status=403)
    if checked.errors:
        return _page(request, lang, offer, form, checked, None)
    try:
        outcome = _run(checked, planning, form, lang)
    except (ValidationError, DelaiError) as exc:
        failed = Checked(checked.action, None, None, (_engine_error(exc, lang),))
        return _page(request, lang, offer, form, failed, None)
    return _page(request, lang, offer, form, checked, outcome)


def _run(checked: Checked, planning: Planning, form: PlannerForm, lang: Lang) -> Outcome:
    """Run the checked scenario, or the goal-seek, through the same models the API validates."""
    assert checked.scenario is not None
    scenario = Scenario.model_validate(checked.scenario)
    scope = t(
        "planner.result.for",
        lang,
        scope=scope_text(form.service, form.channel, form.region, lang),
        weeks=scenario.horizon_weeks,
        start=long_date(scenario.start, lang),
    )
    as_of = t(
        "planner.result.as_of",
        lang,
        date=long_date(planning.as_of, lang),
        version=planning.model_version,
    )
    standard = checked.scenario.get("standard")
    if checked.goal_seek is None:
        result = run_scenario(planning.baseline, scenario)
        view = build_view(result.weekly, result.recovery, standard, lang)
        return Outcome(t("planner.result.heading", lang), scope, (), view, as_of)
    request = GoalSeekRequest.model_validate(checked.goal_seek)
    found = goal_seek(planning.baseline, request)
    goal = _goal_sentences(found, request, lang)
    shown = None
    if found.result is not None:
        shown = build_view(found.result.weekly, found.result.recovery, standard, lang)
    return Outcome(t("planner.result.goal_heading", lang), scope, goal, shown, as_of)


def _goal_sentences(found: GoalSeekResult, request: GoalSeekRequest, lang: Lang) -> tuple[str, ...]:
    """The goal-seek's answer in words: the least change, none needed, or out of reach."""
    standard = request.scenario.standard
    assert standard is not None  # GoalSeekRequest refuses a goal seek without one
    words = {
        "start": long_date(request.from_date, lang),
        "target": long_date(request.target_date, lang),
        "standard": standard_text(standard.model_dump(), lang),
    }
    if not found.reachable or found.staff is None:
        most = _amount(request.max_staff, found.unit, lang)
        return (t(f"planner.goal.unreachable.{found.unit}", lang, max=most, **words),)
    if found.staff == 0:
        return (t("planner.goal.none_needed", lang, **words),)
    change = _amount(found.staff, found.unit, lang)
    found_sentence = t(f"planner.goal.found.{found.unit}", lang, change=change, **words)
    return (found_sentence, t("planner.goal.shown", lang))


def _amount(value: float, unit: str, lang: Lang) -> str:
    """Staff as a count (one decimal when not whole), capacity as a percentage."""
    if unit == "percent":
        return t("format.percent", lang, value=_decimal(value, lang))
    return _decimal(value, lang)


def _decimal(value: float, lang: Lang) -> str:
    if abs(value - round(value)) < 0.05:
        return whole_number(round(value), lang)
    return f"{value:.1f}".replace(".", "," if lang == "fr" else ".")


def _engine_error(exc: ValidationError | DelaiError, lang: Lang) -> FieldError:
    """A refusal the page's own checks did not foresee: shown in the engine's (English) words."""
    if isinstance(exc, ValidationError):
        detail = "; ".join(p.message for p in from_validation(exc.errors()))
    else:
        detail = refusal(exc).message
    words = Markup('<span lang="en">{}</span>').format(detail)
    message = Markup(escape(catalogue(lang)["planner.error.engine"])).format(detail=words)
    return FieldError("engine", FORM_ANCHOR, message)


def _page(
    request: Request,
    lang: Lang,
    offer: Offer,
    form: PlannerForm,
    checked: Checked,
    outcome: Outcome | None,
    status: int = 200,
) -> HTMLResponse:
    last = offer.start + timedelta(weeks=offer.max_horizon_weeks)
    context: dict[str, object] = {
        "form": form_values(form),
        "errors": checked.errors,
        "error_for": {e.field: e for e in checked.errors},
        "fields": _fields(offer, lang),
        "units": [(u, t(f"planner.staff_unit.{u}", lang)) for u in ("staff", "percent")],
        "offer": {
            "as_of": offer.as_of,
            "start": offer.start,
            "first": offer.start.isoformat(),
            "last": last.isoformat(),
            "max_horizon_weeks": offer.max_horizon_weeks,
            "has_staff": offer.has_staff,
        },
        "outcome": outcome,
        "show_count": lambda v: _or_none(v, lambda x: whole_number(round(x), lang), lang),
        "show_days": lambda v: _or_none(v, lambda x: whole_number(round(x), lang), lang),
        "show_share": lambda v: _or_none(v, lambda x: percent(x, lang), lang),
        "title": _title(checked, outcome, lang),
    }
    return render(request, lang, "planner.html", context, status, paths=PATHS)


def _fields(offer: Offer, lang: Lang) -> dict[str, list[tuple[str, str]]]:
    """(code, name) pairs for the scope's selects, "all" first, then by name."""
    offered = choices(offer)
    return {
        kind: [(ALL, t(f"planner.all.{kind}", lang))]
        + sorted(((c, label(kind, c, lang)) for c in offered[kind]), key=lambda p: sort_key(p[1]))
        for kind in ("service", "channel", "region")
    }


def _or_none(value: float | None, show: Any, lang: Lang) -> str:
    return t("planner.table.none", lang) if value is None else str(show(value))


def _title(checked: Checked, outcome: Outcome | None, lang: Lang) -> str:
    """The <title> says the page's state first: screen readers announce it on every load."""
    if checked.errors:
        state = "error"
    elif outcome is not None:
        state = "goal" if checked.goal_seek is not None else "result"
    else:
        state = "form"
    return _full_title(state, lang)


def _full_title(state: str, lang: Lang) -> str:
    return t(
        "title.page", lang, state=t(f"planner.title.{state}", lang), site=t("planner.site", lang)
    )


def _notice(request: Request, lang: Lang, state: str, body: str, status: int) -> HTMLResponse:
    context: dict[str, object] = {
        "title": _full_title(state, lang),
        "heading": t(f"planner.{state}.heading", lang),
        "body": t(body, lang),
    }
    return render(request, lang, "planner_notice.html", context, status, paths=PATHS)
