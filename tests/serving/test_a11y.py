"""The status page in a real browser: axe-core finds no WCAG 2.1 A/AA violation in any state, and
the form can be completed with the keyboard alone.

Debian's chromium is driven by Playwright (never `playwright install`, which downloads a browser);
the tests skip, saying why, when /usr/bin/chromium is absent. The app runs in a uvicorn thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI
from page_fixtures import (
    BENEFITS_QUERY,
    EMPTY_SUBMISSION,
    PASSPORT,
    PASSPORT_QUERY,
    SUBMITTED,
    estimate_table,
    make_app,
    with_estimate,
)
from planner_fixtures import TOKEN, baseline_of, goal_form, page_form, planner_app
from server_process import in_thread

from forecasting.forecaster import Forecaster
from forecasting.whatif import PlanningBaseline
from serving.i18n import long_date
from serving.lookup import EstimateTable

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Date inputs take digits in the UI language's order: month, day, year in en-US.
    "--lang=en-US",
]
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BAD_DATE = "service=passport_adult&channel=mail&region=QC&day=31&month=2&year=2025"


@dataclass
class Served:
    """The running app's address, and its holder so a test can swap the table it serves."""

    url: str
    holder: SimpleNamespace
    table: EstimateTable


@pytest.fixture(scope="module")
def server(small_world: tuple[object, object]) -> Iterator[Served]:
    table = estimate_table(small_world)
    app = make_app(table)
    with in_thread(app, lifespan="off") as url:
        yield Served(url, app.state.holder, table)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1024, "height": 900})
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def live(server: Served, request: pytest.FixtureRequest) -> Iterator[Served]:
    """The server with the table the test asks for: normal, past_usual or none (no model)."""
    variant = getattr(request, "param", "normal")
    tables = {
        "normal": server.table,
        "past_usual": with_estimate(server.table, PASSPORT, SUBMITTED, past_usual_time=True),
        "none": None,
    }
    server.holder.table = tables[variant]
    try:
        yield server
    finally:
        server.holder.table = server.table


def axe_violations(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    options = {"runOnly": {"type": "tag", "values": WCAG_21_AA}, "resultTypes": ["violations"]}
    results = Axe().run(page, options=options)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in results.response["violations"]
    ]


STATES = [
    ("form-en", "normal", "/status", 200),
    ("form-fr", "normal", "/statut", 200),
    ("errors-en", "normal", f"/status?{EMPTY_SUBMISSION}", 200),
    ("errors-fr", "normal", f"/statut?{EMPTY_SUBMISSION}", 200),
    ("date-error-en", "normal", f"/status?{BAD_DATE}", 200),
    ("result-en", "normal", f"/status?{PASSPORT_QUERY}", 200),
    ("result-fr", "normal", f"/statut?{PASSPORT_QUERY}", 200),
    ("result-no-delivery-fr", "normal", f"/statut?{BENEFITS_QUERY}", 200),
    ("result-past-usual-en", "past_usual", f"/status?{PASSPORT_QUERY}", 200),
    ("unavailable-en", "none", "/status", 503),
    ("unavailable-fr", "none", f"/statut?{PASSPORT_QUERY}", 503),
]


@pytest.mark.parametrize(
    ("live", "path", "status"),
    [pytest.param(variant, path, status, id=name) for name, variant, path, status in STATES],
    indirect=["live"],
)
def test_no_wcag_violations(live: Served, page: Any, path: str, status: int):
    response = page.goto(live.url + path)
    assert response.status == status
    assert axe_violations(page) == []


def test_keyboard_only_from_skip_link_to_result(server: Served, page: Any):
    def focused() -> dict[str, str]:
        return page.evaluate(
            "() => ({tag: document.activeElement.tagName, id: document.activeElement.id,"
            " text: document.activeElement.textContent.trim()})"
        )

    page.goto(server.url + "/status")
    page.keyboard.press("Tab")
    assert focused() == {"tag": "A", "id": "", "text": "Skip to main content"}
    assert page.locator(".skip-link").bounding_box()["width"] > 0, "skip link hidden on focus"
    page.keyboard.press("Tab")
    assert focused()["id"] == "language-toggle"
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert focused()["id"] == "service"
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    assert focused()["id"] == "channel"
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    assert focused()["id"] == "region"
    page.keyboard.press("q")
    page.keyboard.press("Tab")
    assert focused()["id"] == "submitted-day"
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineWidth")
    assert outline == "3px", "focus must be visible"
    page.keyboard.type("3")
    page.keyboard.press("Tab")
    page.keyboard.type("3")
    page.keyboard.press("Tab")
    assert focused()["id"] == "submitted-year"
    page.keyboard.type("2025")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert "service=passport_adult" in page.url and "region=QC" in page.url
    estimate = server.table.get(PASSPORT, SUBMITTED)
    assert estimate is not None and estimate.p50 and estimate.p80
    result = page.locator("section#result").inner_text()
    assert f"likely to be completed by {long_date(estimate.p50, 'en')}" in result
    assert f"8 in 10 applications like yours are completed by {long_date(estimate.p80, 'en')}" in (
        result
    )
    assert page.title().startswith("Your estimate: likely by")


def test_error_summary_takes_focus_and_links_to_the_field(server: Served, page: Any):
    page.goto(server.url + f"/status?{EMPTY_SUBMISSION}")
    assert page.evaluate("() => document.activeElement.id") == "error-summary"
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.getAttribute('href')") == "#service"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "service"


def test_result_reflows_at_320_css_pixels(server: Served, browser: Any):
    context = browser.new_context(viewport={"width": 320, "height": 640})
    try:
        narrow = context.new_page()
        narrow.goto(server.url + f"/statut?{PASSPORT_QUERY}")
        width = narrow.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 320, f"horizontal scrolling at 320 px: the page is {width} px wide"
        size = narrow.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)")
        assert size >= 16
    finally:
        context.close()


# --- the planner page --------------------------------------------------------------------------


@dataclass
class Planner:
    """The running planner app, and the baseline its form is filled from."""

    url: str
    app: FastAPI
    planning: PlanningBaseline


@pytest.fixture(scope="module")
def planner_server(
    table: EstimateTable, forecaster: Forecaster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Planner]:
    planning = baseline_of(forecaster)
    app = planner_app(table, planning, tmp_path_factory.mktemp("cache"))
    with in_thread(app, lifespan="off") as url:
        yield Planner(url, app, planning)


@pytest.fixture(scope="module")
def planner_tab(browser: Any) -> Iterator[Any]:
    """One tab for every planner state (a context per test costs more than the check)."""
    context = browser.new_context(viewport={"width": 1024, "height": 900})
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def planner_live(planner_server: Planner, request: pytest.FixtureRequest) -> Iterator[Planner]:
    """The planner in the state the test asks for: on, off (no token) or unable to plan."""
    variant = getattr(request, "param", "on")
    app = planner_server.app
    settings, holder = app.state.settings, app.state.holder
    if variant == "off":
        app.state.settings = settings.model_copy(update={"planner_token": None})
    elif variant == "no_planning":
        holder.provide(holder.table)
    try:
        yield planner_server
    finally:
        app.state.settings = settings
        holder.provide(holder.table, planner_server.planning)


def submit(page: Any, fields: dict[str, str]) -> None:
    """Fill the planner form in one script (the keyboard test types for real) and press the
    button its `action` names."""
    script = """fields => {
        for (const [name, value] of Object.entries(fields)) {
            if (name === "staff_unit") {
                document.querySelector(`input[name=staff_unit][value=${value}]`).checked = true;
            } else if (name !== "action") document.getElementById(name).value = value;
        }
    }"""
    page.evaluate(script, fields)
    with page.expect_navigation():
        page.click(f"button[value={fields.get('action', 'run')}]")


def planner_forms(planning: PlanningBaseline) -> dict[str, dict[str, str] | None]:
    """The form that leads to each state; 4 weeks planned keep the pages (and axe) quick."""
    target = (planning.as_of + timedelta(weeks=3)).isoformat()
    return {
        "form": None,
        "errors": page_form(planning, token="", horizon="0", staff_from="", outage_capacity="50"),
        "result": page_form(planning, horizon="4"),
        "goal": goal_form(planning, horizon="4", goal_target=target),
    }


# A wrong token is one more error (403) and a goal out of reach a result without figures: the
# same markup as the states below, whose wiring test_planner_page.py checks for each.
PLANNER_STATES = [
    (f"{state}-{lang}", variant, lang, state, status)
    for lang in ("en", "fr")
    for state, variant, status in [
        ("form", "on", 200),
        ("errors", "on", 403),
        ("result", "on", 200),
        ("goal", "on", 200),
        ("form", "off", 404),
        ("form", "no_planning", 409),
    ]
]
PLANNER_PATHS = {"en": "/planner", "fr": "/planificateur"}


@pytest.mark.parametrize(
    ("planner_live", "lang", "state", "status"),
    [
        pytest.param(v, lang, st, code, id=f"{name}-{v}")
        for name, v, lang, st, code in PLANNER_STATES
    ],
    indirect=["planner_live"],
)
def test_no_wcag_violations_on_the_planner(
    planner_live: Planner, planner_tab: Any, lang: str, state: str, status: int
):
    page = planner_tab
    response = page.goto(planner_live.url + PLANNER_PATHS[lang])
    fields = planner_forms(planner_live.planning)[state]
    if fields is not None and response.status == 200:
        with page.expect_response(lambda r: r.request.method == "POST") as posted:
            submit(page, fields)
        response = posted.value
    assert response.status == status
    assert axe_violations(page) == []


def test_keyboard_only_planner_from_token_to_result(planner_server: Planner, page: Any):
    def focused() -> str:
        return page.evaluate("() => document.activeElement.id")

    start = planner_server.planning.as_of + timedelta(days=1)
    staff_from = start + timedelta(weeks=1)
    page.goto(planner_server.url + "/planner")
    for _ in range(3):  # skip link, language toggle, then the form's first field
        page.keyboard.press("Tab")
    assert focused() == "token"
    page.keyboard.type(TOKEN)
    for expected, typed in [
        ("service", None),
        ("channel", None),
        ("region", None),
        ("horizon", "12"),
        ("standard_days", "20"),
        ("standard_share", "80"),
        ("staff_change", "50"),
    ]:
        page.keyboard.press("Tab")
        assert focused() == expected
        if typed is not None:
            page.keyboard.press("Control+A")
            page.keyboard.type(typed)
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineWidth")
    assert outline == "3px", "focus must be visible"
    page.keyboard.press("Tab")  # the unit: percent is already chosen without staffing data
    assert page.evaluate("() => document.activeElement.value") == "percent"
    page.keyboard.press("Tab")
    assert focused() == "staff_from"
    page.keyboard.type(staff_from.strftime("%m%d%Y"))
    assert page.eval_on_selector("#staff_from", "e => e.value") == staff_from.isoformat()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.title().startswith("What-if result")
    assert page.locator("#result table caption").inner_text().startswith("Week by week")
    assert page.locator("#result svg.chart").count() == 2


def test_planner_error_summary_takes_focus_and_links_to_the_field(
    planner_server: Planner, page: Any
):
    page.goto(planner_server.url + "/planificateur")
    submit(page, {"token": TOKEN, "horizon": "0"})
    assert page.evaluate("() => document.activeElement.id") == "error-summary"
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.getAttribute('href')") == "#horizon"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "horizon"
