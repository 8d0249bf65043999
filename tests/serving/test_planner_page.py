"""The planner page's states, markup wiring and wording in both languages, through a test client;
and its form, chart and view, checked on their own."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from api_fixtures import FakeSource
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from page_fixtures import Element, parse
from planner_fixtures import TOKEN, baseline_of, goal_form, page_form, planner_app

from forecasting.forecaster import Forecaster
from forecasting.settings import Settings
from forecasting.whatif import PlanningBaseline, ScenarioError
from serving import planner_page
from serving.app import create_app
from serving.chart import Series, line_chart, nice_ticks
from serving.i18n import catalogue, long_date
from serving.lookup import EstimateTable
from serving.planner_form import FIELDS, Offer, check_form, read_form

PATHS = {"en": "/planner", "fr": "/planificateur"}
NBSP = "\u00a0"


@pytest.fixture(scope="module")
def planning(forecaster: Forecaster) -> PlanningBaseline:
    return baseline_of(forecaster)


@pytest.fixture(scope="module")
def client(
    table: EstimateTable, planning: PlanningBaseline, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    with TestClient(planner_app(table, planning, tmp_path_factory.mktemp("cache"))) as test_client:
        yield test_client


def page(response: object, status: int = 200) -> Element:
    assert response.status_code == status, response.text[:800]  # type: ignore[attr-defined]
    assert response.headers["content-type"].startswith("text/html")  # type: ignore[attr-defined]
    return parse(response.text)  # type: ignore[attr-defined]


def title(tree: Element) -> str:
    return tree.find("title").text.replace(NBSP, " ")


def summary(tree: Element) -> list[tuple[str, str]]:
    box = tree.by_id("error-summary")
    assert box.attrs["tabindex"] == "-1" and "autofocus" in box.attrs
    return [(a.attrs["href"], a.text) for a in box.find_all("a")]


# The frame and the empty form -----------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_empty_form_has_every_field_labelled(client: TestClient, lang: str) -> None:
    tree = page(client.get(PATHS[lang]))
    words = catalogue(lang)  # type: ignore[arg-type]
    assert tree.find("html").attrs["lang"] == lang
    assert title(tree) == f"{words['planner.title.form']} – {words['planner.site']}"
    assert not tree.find_all(id="error-summary") and not tree.find_all("section")
    form = tree.by_id("planner-form")
    assert (form.attrs["method"], form.attrs["action"]) == ("post", PATHS[lang])
    labelled = {e.attrs["for"] for e in tree.find_all("label")}
    for field in form.find_all("input") + form.find_all("select"):
        assert field.attrs["id"] in labelled, field.attrs
    token = tree.by_id("token")
    assert token.attrs["type"] == "password" and "value" not in token.attrs
    buttons = [(b.attrs["name"], b.attrs["value"], b.text) for b in form.find_all("button")]
    assert buttons == [
        ("action", "run", words["planner.run"]),
        ("action", "seek", words["planner.seek"]),
    ]
    other = {"en": "fr", "fr": "en"}[lang]
    assert tree.by_id("language-toggle").attrs["href"] == PATHS[other]


def test_the_scope_offers_all_then_the_model_s_segments(
    client: TestClient, planning: PlanningBaseline
) -> None:
    tree = page(client.get("/planner"))
    services = [o.attrs["value"] for o in tree.by_id("service").find_all("option")]
    assert services[0] == "all"
    assert sorted(services[1:]) == sorted({s for s, _, _ in planning.segments})
    assert tree.by_id("staff_from").attrs["min"] == (planning.as_of + timedelta(days=1)).isoformat()


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_without_a_planner_token_the_page_is_off(
    table: EstimateTable, planning: PlanningBaseline, tmp_path: Path, lang: str
) -> None:
    config = Settings(model_cache_dir=tmp_path, reload_interval_seconds=0)
    with TestClient(create_app(config, table=table, planning=planning)) as off:
        for response in (off.get(PATHS[lang]), off.post(PATHS[lang], data={"token": TOKEN})):
            tree = page(response, 404)
            assert tree.find("h1").text == catalogue(lang)["planner.off.heading"]  # type: ignore[arg-type]
            assert not tree.find_all("form")


def test_a_model_that_cannot_plan_says_so(table: EstimateTable, tmp_path: Path) -> None:
    with TestClient(planner_app(table, None, tmp_path)) as client:
        tree = page(client.get("/planificateur"), 409)
    assert tree.find("p", class_="lead").text == catalogue("fr")["planner.no_planning.body"]


def test_no_model_yet_is_a_polite_503(forecaster: Forecaster, tmp_path: Path) -> None:
    source = FakeSource(forecaster)
    source.failure = ConnectionError("registry down")
    settings = Settings(model_cache_dir=tmp_path, reload_interval_seconds=0, planner_token=TOKEN)
    with TestClient(create_app(settings, source=source)) as client:
        tree = page(client.get("/planner"), 503)
    assert tree.find("h1").text == catalogue("en")["planner.unavailable.heading"]


# Errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("token", "key"), [("", "missing"), ("nope", "wrong")])
def test_a_missing_or_wrong_token_runs_nothing(
    client: TestClient, planning: PlanningBaseline, token: str, key: str
) -> None:
    tree = page(client.post("/planner", data=page_form(planning, token=token)), 403)
    assert summary(tree) == [("#token", catalogue("en")[f"planner.error.token.{key}"])]
    assert not tree.find_all("section")
    assert tree.by_id("token").attrs["aria-invalid"] == "true"
    # What the planner typed is kept, except the token.
    assert tree.by_id("horizon").attrs["value"] == "12"
    # Other problems are listed with it, all at once.
    both = page(client.post("/planner", data=page_form(planning, token=token, horizon="0")), 403)
    assert [href for href, _ in summary(both)] == ["#token", "#horizon"]


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_every_wrong_field_is_listed_and_linked_in_page_order(
    client: TestClient, planning: PlanningBaseline, lang: str
) -> None:
    form = page_form(
        planning,
        horizon="105",
        standard_share="45",
        staff_change="beaucoup",
        staff_from="2020-01-01",
        demand_percent="60",
        outage_capacity="120",
        outage_from="31/12/2025",
    )
    tree = page(client.post(PATHS[lang], data=form))
    words = catalogue(lang)  # type: ignore[arg-type]
    assert title(tree).startswith(words["planner.title.error"])
    anchors = [href for href, _ in summary(tree)]
    assert anchors == [
        "#horizon",
        "#standard_share",
        "#staff_change",
        "#staff_from",
        "#demand_from",
        "#outage_capacity",
        "#outage_from",
        "#outage_to",
    ]
    for href, message in summary(tree):
        field = tree.by_id(href[1:])
        assert field.attrs["aria-invalid"] == "true"
        described = field.attrs["aria-describedby"].split()
        assert f"{href[1:]}-error" in described
        assert message in tree.by_id(f"{href[1:]}-error").text
    assert words["planner.error.horizon"].format(low=1, high=104) in dict(summary(tree)).values()
    # The reader's answers come back, escaped, for correcting.
    assert tree.by_id("staff_change").attrs["value"] == "beaucoup"


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    values=st.dictionaries(
        st.sampled_from([f for f in FIELDS if f != "token"]),
        st.text(max_size=12) | st.sampled_from(["", "all", "-1", "2025-04-08", "99,5", "1e9"]),
    )
)
def test_no_form_input_is_a_server_error(
    client: TestClient, planning: PlanningBaseline, values: dict[str, str]
) -> None:
    response = client.post("/planificateur", data={**page_form(planning), **values})
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")


def test_echoed_values_are_escaped(client: TestClient, planning: PlanningBaseline) -> None:
    response = client.post("/planner", data=page_form(planning, staff_change="<b>x</b>"))
    assert "<b>x</b>" not in response.text and "&lt;b&gt;x&lt;/b&gt;" in response.text


def test_the_engine_s_refusal_is_shown_in_its_own_words(
    client: TestClient, planning: PlanningBaseline, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_: object, **__: object) -> None:
        raise ScenarioError("`segments[0].region` must be one of ON, QC, got 'YT'")

    monkeypatch.setattr(planner_page, "run_scenario", refuse)
    tree = page(client.post("/planificateur", data=page_form(planning)))
    ((href, message),) = summary(tree)
    assert href == "#planner-form"
    assert message.startswith("La simulation n'a pas pu être lancée")
    english = tree.by_id("error-summary").find("span", lang="en")
    assert english.text == "`segments[0].region` must be one of ON, QC, got 'YT'"


# Results ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_a_result_has_sentences_two_charts_and_a_table(
    client: TestClient, planning: PlanningBaseline, table: EstimateTable, lang: str
) -> None:
    response = client.post(PATHS[lang], data=page_form(planning))
    assert TOKEN not in response.text
    tree = page(response)
    words = catalogue(lang)  # type: ignore[arg-type]
    assert title(tree).startswith(words["planner.title.result"])
    result = tree.by_id("result")
    assert result.find("h2").text == words["planner.result.heading"]
    start = long_date(planning.as_of + timedelta(days=1), lang)  # type: ignore[arg-type]
    assert f"12 {'weeks' if lang == 'en' else 'semaines'}" in result.text and start in result.text
    sentences = [p.text for p in result.find("div", class_="panel").find_all("p")]
    assert any("8 in 10" in s or "8 sur 10" in s for s in sentences)
    as_of = long_date(table.as_of, lang)  # type: ignore[arg-type]
    stamp = words["planner.result.as_of"].format(date=as_of, version=table.model_version)
    assert result.find("p", class_="secondary-text").text == stamp
    for chart in result.find_all("svg", class_="chart"):
        assert chart.attrs["role"] == "img"
        name, description = chart.attrs["aria-labelledby"].split()
        assert (
            chart.find("title").attrs["id"] == name
            and chart.find("desc").attrs["id"] == description
        )
        lines = chart.find_all("path")
        assert {p.attrs["class"] for p in lines} >= {
            "chart__line chart__line--baseline",
            "chart__line chart__line--scenario",
        }
        dashed = [p for p in lines if "chart__line--baseline" in p.attrs["class"]]
        assert all(p.attrs.get("stroke-dasharray") for p in dashed)
    assert len(result.find_all("svg", class_="chart")) == 2
    grid = tree.by_id("weekly")
    assert grid.find("caption").text == words["planner.table.caption"]
    body_rows = grid.find("tbody").find_all("tr")
    assert len(body_rows) == 12
    assert all(row.elements()[0].attrs.get("scope") == "row" for row in body_rows)
    assert [th.attrs["scope"] for th in grid.find("thead").find_all("th")][:2] == [
        "col",
        "colgroup",
    ]
    # Six pairs of columns: the standard was given, so the share within it is shown.
    assert len(body_rows[0].find_all("td")) == 12


def test_the_table_gives_the_engine_s_totals(
    client: TestClient, planning: PlanningBaseline
) -> None:
    from forecasting.whatif import Scenario, run_scenario
    from serving.planner_form import Offer as FormOffer

    offer = FormOffer(planning.as_of, tuple(planning.segments), planning.has_staff, 104)
    checked = check_form(read_form(_encode(page_form(planning))), offer, "en")
    assert checked.scenario is not None
    result = run_scenario(planning, Scenario.model_validate(checked.scenario))
    last = (
        result.weekly.filter(service="all", variant="scenario")
        .sort("week_start")
        .row(-1, named=True)
    )
    tree = page(client.post("/planner", data=page_form(planning)))
    cells = tree.by_id("weekly").find("tbody").find_all("tr")[-1].find_all("td")
    # Backlog: the scenario's figure (the 6th cell), then its range.
    assert cells[5].text.startswith(f"{round(last['backlog']):,}")


def test_goal_seek_says_the_least_change_and_shows_its_figures(
    client: TestClient, planning: PlanningBaseline
) -> None:
    tree = page(client.post("/planner", data=goal_form(planning)))
    assert title(tree).startswith(catalogue("en")["planner.title.goal"])
    first = tree.by_id("result").find("div", class_="panel").find("p").text
    assert first.startswith("The smallest change that meets the standard is ")
    assert "more capacity from" in first
    assert tree.find_all("table")


def test_goal_seek_out_of_reach_says_so(client: TestClient, planning: PlanningBaseline) -> None:
    form = goal_form(planning, standard_days="1", standard_share="99")
    tree = page(client.post("/planificateur", data=form))
    text = tree.by_id("result").text
    assert "ne peut pas être respectée" in text and "même avec 500" in text
    assert not tree.find_all("table")


def test_goal_seek_needs_a_standard(client: TestClient, planning: PlanningBaseline) -> None:
    form = goal_form(planning, standard_days="", standard_share="")
    tree = page(client.post("/planner", data=form))
    assert summary(tree)[0] == (
        "#standard_days",
        catalogue("en")["planner.error.standard.required"],
    )


# The form, the chart and the view on their own -------------------------------------------------


def _encode(fields: dict[str, str]) -> bytes:
    from urllib.parse import urlencode

    return urlencode(fields).encode()


OFFER = Offer(
    as_of=date(2025, 3, 31),
    segments=(("ei_regular", "online", "ON"), ("passport_adult", "mail", "QC"),
              ("passport_adult", "online", "ON")),
    has_staff=False,
    max_horizon_weeks=104,
)  # fmt: skip


def test_read_form_keeps_the_whole_token_and_ignores_unknown_fields() -> None:
    long_token = "t" * 300
    form = read_form(_encode({"token": long_token, "horizon": " 8 ", "application_id": "A1"}))
    assert form.token == long_token and form.horizon == "8"
    assert not hasattr(form, "application_id")


def test_a_body_that_is_not_the_form_reads_as_an_empty_one(client: TestClient) -> None:
    flood = "&".join(f"f{i}=1" for i in range(500)) + f"&token={TOKEN}"
    assert read_form(flood.encode()) == read_form(b"")
    response = client.post(
        "/planner", content=flood, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 403  # not even the token was read


def test_last_days_become_half_open_ends_and_numbers_read_in_french() -> None:
    fields = {
        "horizon": "10",
        "demand_percent": "12,5 %",
        "demand_from": "2025-04-07",
        "demand_to": "2025-04-13",
        "outage_capacity": "40",
        "outage_from": "2025-04-14",
        "outage_to": "2025-04-14",
    }
    checked = check_form(read_form(_encode(fields)), OFFER, "fr")
    assert checked.errors == () and checked.scenario is not None
    demand, outage = checked.scenario["changes"]
    assert (demand["percent"], demand["end"]) == (12.5, "2025-04-14")
    assert (outage["start"], outage["end"]) == ("2025-04-14", "2025-04-15")
    assert checked.scenario["start"] == "2025-04-01" and checked.scenario["segments"] is None


def test_a_channel_alone_selects_it_in_every_service_that_has_it() -> None:
    checked = check_form(read_form(_encode({"channel": "online"})), OFFER, "en")
    assert checked.scenario is not None
    assert checked.scenario["segments"] == [
        {"service": "ei_regular", "channel": "online"},
        {"service": "passport_adult", "channel": "online"},
    ]


def test_staff_without_staffing_data_is_refused_on_the_form() -> None:
    form = read_form(
        _encode({"staff_change": "10", "staff_unit": "staff", "staff_from": "2025-04-07"})
    )
    checked = check_form(form, OFFER, "en")
    assert [e.field for e in checked.errors] == ["staff_unit"]


def test_nice_ticks_cover_the_data_from_zero() -> None:
    assert nice_ticks((12.0, 941.0)) == [0, 250, 500, 750, 1000]
    assert nice_ticks((0.0, 0.0)) == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_a_gap_in_a_series_breaks_its_line() -> None:
    weeks = [date(2025, 4, 1) + timedelta(weeks=i) for i in range(5)]
    chart = line_chart(
        chart_id="c",
        title="T",
        description="D",
        weeks=weeks,
        series=[Series("scenario", [1.0, 2.0, None, 4.0, 5.0]), Series("baseline", [1.0] * 5)],
        week_label=str,
        value_label=str,
    )
    assert len(re.findall(r"chart__line--scenario", chart)) == 2
    assert 'stroke-dasharray="8 6"' in chart and '<title id="c-title">T</title>' in chart
