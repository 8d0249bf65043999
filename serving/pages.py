"""The status page, in English at /status and French at /statut: server-rendered, no JavaScript.

A GET form keeps every answer in the URL, so a result can be bookmarked and the language toggle
can carry the query to the other language. Looking up the table is a dictionary read, so the
routes are plain `def`. With no model loaded the page still renders, politely, with HTTP 503.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache, partial
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup, escape

from forecasting.forecaster import Accuracy
from serving.forms import DATE_PARTS, Checked, StatusForm, check_form, date_input_id, read_form
from serving.forms import options as form_options
from serving.i18n import Lang, catalogue, day_count, label, long_date, percent, t, whole_number
from serving.lookup import Estimate, EstimateTable

PATHS: dict[Lang, str] = {"en": "/status", "fr": "/statut"}
_OTHER: dict[Lang, Lang] = {"en": "fr", "fr": "en"}
_HERE = Path(__file__).parent
_STYLESHEET = _HERE / "static" / "delai.css"

router = APIRouter(include_in_schema=False)


def current_table(request: Request) -> EstimateTable | None:
    """The estimate table the app holds, or None while no model is loaded."""
    holder = getattr(request.app.state, "holder", None)
    return getattr(holder, "table", None)


Table = Annotated[EstimateTable | None, Depends(current_table)]


@router.get(PATHS["en"], response_class=HTMLResponse)
def status_en(request: Request, table: Table) -> HTMLResponse:
    return status_page(request, table, "en")


@router.get(PATHS["fr"], response_class=HTMLResponse)
def status_fr(request: Request, table: Table) -> HTMLResponse:
    return status_page(request, table, "fr")


@router.get("/static/delai.css", name="stylesheet")
def stylesheet() -> FileResponse:
    return FileResponse(
        _STYLESHEET, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"}
    )


@dataclass(frozen=True)
class Result:
    """What the result section shows: the estimate, its segment's accuracy and the data's date."""

    submitted_on: date
    # None only if the table has no row for a date the form accepted (it should not happen).
    estimate: Estimate | None
    accuracy: Accuracy | None
    as_of: date


def status_page(request: Request, table: EstimateTable | None, lang: Lang) -> HTMLResponse:
    """Read and check the form, then render the page in the state that follows."""
    if table is None:
        return render(
            request, lang, "unavailable.html", {"title": _title("unavailable", lang)}, 503
        )
    form = read_form(request.query_params)
    checked = check_form(form, table, lang) if form is not None else Checked(None, None, ())
    result = _result(table, checked)
    context = {
        "form": form or StatusForm(),
        "errors": checked.errors,
        "error_for": {e.field: e for e in checked.errors},
        "result": result,
        "fields": _fields(table, lang),
        "date_hint": t(
            "form.date.hint",
            lang,
            example=f"{table.as_of.day} {table.as_of.month} {table.as_of.year}",
            first=long_date(table.first_day, lang),
            last=long_date(table.last_day, lang),
        ),
        "title": _state_title(checked, result, lang),
    }
    return render(request, lang, "status.html", context, 200)


def _result(table: EstimateTable, checked: Checked) -> Result | None:
    if checked.segment is None or checked.submitted_on is None:
        return None
    estimate = table.get(checked.segment, checked.submitted_on)
    return Result(checked.submitted_on, estimate, table.accuracy.get(checked.segment), table.as_of)


def _fields(table: EstimateTable, lang: Lang) -> dict[str, list[tuple[str, str]]]:
    """(code, name) pairs for each choice on the form, in the order they are shown."""
    offered = form_options(table, lang)
    return {
        "service": [(c, label("service", c, lang)) for c in offered.services],
        "channel": [(c, label("channel", c, lang)) for c in offered.channels],
        "region": [(c, label("region", c, lang)) for c in offered.regions],
    }


def _state_title(checked: Checked, result: Result | None, lang: Lang) -> str:
    """The <title> says the page's state first: screen readers announce it on every load."""
    if checked.errors:
        return _title("error", lang)
    estimate = result.estimate if result else None
    if estimate is not None and estimate.p50 is not None:
        return _title("result", lang, date=long_date(estimate.p50, lang))
    if result is not None:
        return _title("no_estimate", lang)
    return _title("form", lang)


def _title(state: str, lang: Lang, **values: object) -> str:
    return t(
        "title.page", lang, state=t(f"title.{state}", lang, **values), site=t("site.name", lang)
    )


def render(
    request: Request,
    lang: Lang,
    name: str,
    context: dict[str, object],
    status: int,
    paths: Mapping[Lang, str] = PATHS,
) -> HTMLResponse:
    """A page in `lang`: the template `name` in the site's frame; `paths` are the page's address
    in each language (the language toggle carries the query string across)."""
    other = _OTHER[lang]
    query = request.url.query
    base = {
        "lang": lang,
        "other_lang": other,
        "other_url": paths[other] + (f"?{query}" if query else ""),
        "action": paths[lang],
        "stylesheet": request.app.url_path_for("stylesheet"),
        "_": partial(t, lang=lang),
        "rich": partial(_rich, lang=lang),
        "strong": _strong,
        "when": partial(long_date, lang=lang),
        "days": partial(day_count, lang=lang),
        "business_days": partial(day_count, lang=lang, business=True),
        "percent": partial(percent, lang=lang),
        "number": partial(whole_number, lang=lang),
        "name": partial(label, lang=lang),
        "date_parts": DATE_PARTS,
        "date_input_id": date_input_id,
    }
    return _templates().TemplateResponse(
        request,
        name,
        {**base, **context},
        status_code=status,
        headers={"Content-Language": lang},
    )


def _rich(key: str, lang: Lang, **values: object) -> Markup:
    """A catalogue string whose placeholders hold markup (a <strong> date, a link); text escaped."""
    return Markup(escape(catalogue(lang)[key])).format(**values)


def _strong(text: str) -> Markup:
    return Markup("<strong>{}</strong>").format(text)


@cache
def _templates() -> Jinja2Templates:
    loader = FileSystemLoader(_HERE / "templates")
    env = Environment(loader=loader, autoescape=True, trim_blocks=True, lstrip_blocks=True)
    return Jinja2Templates(env=env)
