"""The status page's states, markup wiring and bilingual catalogues, through a test client."""

from __future__ import annotations

import dataclasses
import re
import string
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from page_fixtures import (
    BENEFITS_QUERY,
    EMPTY_SUBMISSION,
    PASSPORT,
    PASSPORT_QUERY,
    SUBMITTED,
    Element,
    estimate_table,
    make_app,
    parse,
    with_estimate,
    without_segments,
)

from serving.forms import StatusForm, check_date, read_form
from serving.i18n import LANGUAGES, catalogue, day_count, join_or, long_date, whole_number
from serving.lookup import EstimateTable

NBSP = "\u00a0"
TEMPLATES = Path(__file__).parents[2] / "serving" / "templates"


@pytest.fixture(scope="module")
def page_table(small_world: tuple[object, object]) -> EstimateTable:
    return estimate_table(small_world)


@pytest.fixture(scope="module")
def client(page_table: EstimateTable) -> TestClient:
    return TestClient(make_app(page_table))


def get(client: TestClient, url: str, status: int = 200) -> Element:
    response = client.get(url)
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    return parse(response.text)


def title(page: Element) -> str:
    return page.find("title").text.replace(NBSP, " ")


def main(page: Element) -> Element:
    return page.by_id("main-content")


def date_query(day: date) -> str:
    return f"service=passport_adult&channel=mail&region=QC&{day_fields(day)}"


def day_fields(day: date) -> str:
    return f"day={day.day}&month={day.month}&year={day.year}"


# The page's frame ------------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "lang"), [("/status", "en"), ("/statut", "fr")])
def test_empty_form_has_every_field_labelled_and_no_errors(client: TestClient, url: str, lang: str):
    page = get(client, url)
    assert page.find("html").attrs["lang"] == lang
    assert title(page) == f"{catalogue(lang)['page.heading']} – {catalogue(lang)['site.name']}"
    assert not page.find_all(id="error-summary")
    assert not page.find_all("section")
    form = page.find("form")
    assert form.attrs["method"] == "get" and form.attrs["action"] == url
    labelled = {e.attrs["for"] for e in page.find_all("label")}
    for field in form.find_all("input") + form.find_all("select"):
        assert field.attrs["id"] in labelled, field.attrs
    legends = [f.find("legend").text for f in form.find_all("fieldset")]
    assert legends == [
        catalogue(lang)[k]
        for k in ("form.service.legend", "form.channel.legend", "form.date.legend")
    ]
    assert form.find("button", type="submit").text == catalogue(lang)["form.submit"]
    assert [h.tag for h in page.iter() if re.fullmatch(r"h[1-6]", h.tag)] == ["h1"]


def test_skip_link_comes_first_and_targets_main(client: TestClient):
    page = get(client, "/status")
    first = page.find("body").elements()[0]
    assert first.tag == "a" and first.attrs["href"] == "#main-content"
    assert first.text == "Skip to main content"
    assert main(page).tag == "main"


def test_form_offers_the_table_s_segments_by_name(client: TestClient, page_table: EstimateTable):
    page = get(client, "/status")
    services = [e.attrs["value"] for e in page.find_all("input", name="service")]
    assert sorted(services) == sorted({s for s, _, _ in page_table.segments})
    assert page.find("label", for_="service").text == "Adult passport"
    regions = page.by_id("region").find_all("option")
    assert [(o.attrs["value"], o.text) for o in regions][1:] == [
        ("ON", "Ontario"),
        ("QC", "Quebec"),
    ]
    hint = page.by_id("submitted-hint").text
    assert "For example, 31 3 2025" in hint
    assert long_date(page_table.first_day, "en") in hint
    assert long_date(page_table.last_day, "en") in hint
    assert "submitted-hint" in page.find("fieldset", role="group").attrs["aria-describedby"]


def test_stylesheet_is_served(client: TestClient):
    response = client.get("/static/delai.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert "focus" in response.text


# Errors ----------------------------------------------------------------------------------------


def assert_error_state(page: Element, lang: str) -> list[tuple[str, str]]:
    """The GOV.UK error pattern; returns the summary's (anchor, message) pairs."""
    prefix = "Error:" if lang == "en" else "Erreur :"
    assert title(page).startswith(prefix)
    summary = main(page).elements()[0]
    assert summary.attrs["id"] == "error-summary"
    assert summary.attrs["tabindex"] == "-1" and "autofocus" in summary.attrs
    assert summary.find_all(role="alert")
    links = [(a.attrs["href"], a.text) for a in summary.find_all("a")]
    assert links
    for href, message in links:
        assert href.startswith("#")
        target = page.by_id(href[1:])
        assert target.tag in {"input", "select"}
        # The inline message is tied to the field (or its fieldset) and says the same thing.
        holders = [target, *(a for a in target.ancestors() if a.tag == "fieldset")]
        described = " ".join(h.attrs.get("aria-describedby", "") for h in holders).split()
        inline = [page.by_id(i) for i in described if i.endswith("-error")]
        assert len(inline) == 1, described
        assert inline[0].text.replace(NBSP, " ") == f"{prefix} {message}".replace(NBSP, " ")
    return links


def test_nothing_chosen_lists_every_field_in_page_order(client: TestClient):
    page = get(client, f"/status?{EMPTY_SUBMISSION}")
    links = assert_error_state(page, "en")
    assert links == [
        ("#service", "Select what you applied for"),
        ("#channel", "Select how you applied"),
        ("#region", "Select your province or territory"),
        ("#submitted-day", "Enter the date you submitted your application"),
    ]
    assert page.by_id("region").attrs["aria-invalid"] == "true"
    assert all(page.by_id(f"submitted-{p}").attrs.get("aria-invalid") for p in ("day", "month"))
    assert not page.find_all("section")


def test_unknown_option_is_treated_as_not_chosen(client: TestClient):
    page = get(client, "/status?service=visa&channel=online&region=ON&day=3&month=3&year=2025")
    assert assert_error_state(page, "en") == [("#service", "Select what you applied for")]
    assert page.find("input", name="channel", checked="").attrs["value"] == "online"


def test_unknown_combination_names_the_channels_that_exist(page_table: EstimateTable):
    client = TestClient(make_app(without_segments(page_table, PASSPORT)))
    page = get(client, f"/status?{PASSPORT_QUERY}")
    [(anchor, message)] = assert_error_state(page, "en")
    assert anchor == "#channel"
    assert message == (
        "We have no estimates for this combination: Adult passport, by mail, Quebec. "
        "For this service and province or territory, select in person or online."
    )


def test_unknown_combination_names_the_regions_that_exist(page_table: EstimateTable):
    gone = [s for s in page_table.segments if s[0] == "passport_adult" and s[2] == "QC"]
    client = TestClient(make_app(without_segments(page_table, *gone)))
    page = get(client, f"/statut?{PASSPORT_QUERY}")
    [(anchor, message)] = assert_error_state(page, "fr")
    assert anchor == "#region"
    assert "Passeport pour adulte, par la poste, Québec" in message
    assert message.endswith("sélectionnez Ontario comme province ou territoire.")


@pytest.mark.parametrize(
    ("day", "month", "year", "anchor", "message", "invalid"),
    [
        ("31", "2", "2025", "#submitted-day", "must be a real date", {"day"}),
        ("3", "13", "2025", "#submitted-month", "must be a real date", {"month"}),
        ("3", "March", "2025", "#submitted-month", "must be a real date", {"month"}),
        ("3", "3", "25", "#submitted-year", "The year must have 4 numbers", {"year"}),
        ("3", "3", "", "#submitted-year", "must include a year", {"year"}),
        ("", "3", "", "#submitted-day", "must include a day and year", {"day", "year"}),
    ],
)
def test_bad_dates_point_at_the_wrong_part(
    client: TestClient,
    day: str,
    month: str,
    year: str,
    anchor: str,
    message: str,
    invalid: set[str],
):
    query = f"service=passport_adult&channel=mail&region=QC&day={day}&month={month}&year={year}"
    page = get(client, f"/status?{query}")
    [(href, text)] = assert_error_state(page, "en")
    assert href == anchor and message in text
    marked = {
        p
        for p in ("day", "month", "year")
        if page.by_id(f"submitted-{p}").attrs.get("aria-invalid")
    }
    assert marked == invalid
    # What the reader typed is given back to correct, not wiped.
    assert page.by_id("submitted-month").attrs["value"] == month


def test_date_beyond_the_limit_says_the_limit(client: TestClient, page_table: EstimateTable):
    late = page_table.last_day + timedelta(days=1)
    page = get(client, f"/status?{date_query(late)}")
    [(_, message)] = assert_error_state(page, "en")
    assert f"on or before {long_date(page_table.last_day, 'en')}" in message


def test_date_before_the_first_day_says_the_first_day(
    client: TestClient, page_table: EstimateTable
):
    early = page_table.first_day - timedelta(days=1)
    page = get(client, f"/statut?{date_query(early)}")
    [(_, message)] = assert_error_state(page, "fr")
    assert f"au plus tôt le {long_date(page_table.first_day, 'fr')}" in message
    # The error points to the phone number shown under the form.
    assert page.find("p", class_="contact-note").find("a").attrs["href"].startswith("tel:")


def test_the_edges_of_the_range_are_accepted(client: TestClient, page_table: EstimateTable):
    for day in (page_table.first_day, page_table.last_day):
        page = get(client, f"/status?{date_query(day)}")
        assert not page.find_all(id="error-summary")
        assert page.find_all("section")


def test_echoed_values_are_escaped(client: TestClient):
    response = client.get('/status?service=&day="><script>alert(1)</script>')
    assert "<script>" not in response.text
    assert "&#34;&gt;&lt;script&gt;" in response.text or "&quot;&gt;&lt;script&gt;" in response.text


# Results ---------------------------------------------------------------------------------------


def test_result_reads_the_dates_in_words(client: TestClient, page_table: EstimateTable):
    estimate = page_table.get(PASSPORT, SUBMITTED)
    accuracy = page_table.accuracy[PASSPORT]
    assert estimate is not None and estimate.p50 and estimate.p80 and estimate.delivery_p50
    page = get(client, f"/status?{PASSPORT_QUERY}")
    p50, p80 = long_date(estimate.p50, "en"), long_date(estimate.p80, "en")
    assert title(page) == f"Your estimate: likely by {p50} – Processing time estimates"
    section = page.find("section")
    heading = page.by_id(section.attrs["aria-labelledby"])
    assert heading.tag == "h2" and heading.text == "Your estimate"
    text = section.text
    assert "For: Adult passport, by mail, Quebec, submitted on 3 March 2025." in text
    assert (
        f"Your application is likely to be completed by {p50}, "
        f"{estimate.p50_business_days} business days after it was submitted." in text
    )
    assert f"8 in 10 applications like yours are completed by {p80}." in text
    assert f"If you have not heard from us by {p80}, call 1{NBSP}800{NBSP}O-Canada" in text
    assert f"likely to reach you by {long_date(estimate.delivery_p50, 'en')}" in text
    assert f"In testing on {accuracy.files_scored} past applications like yours" in text
    assert f"was met in {round(100 * accuracy.coverage_p80)}% of cases" in text
    assert f"on average {round(accuracy.mae_p50_days)} days away" in text
    assert f"compared with {round(accuracy.published_mae_p50_days)} days for the published" in text
    assert "up to 31 March 2025" in text
    assert ("Warning" in text) == estimate.past_usual_time
    headings = [h.tag for h in page.iter() if re.fullmatch(r"h[1-6]", h.tag)]
    assert headings == ["h1", "h2", "h3", "h3", "h2"]
    # The form stays, filled in, to check another application.
    assert page.find("input", name="service", checked="").attrs["value"] == "passport_adult"
    assert page.find("option", selected="").attrs["value"] == "QC"


def test_result_without_delivery_dates_says_nothing_of_delivery(client: TestClient):
    page = get(client, f"/status?{BENEFITS_QUERY}")
    text = page.find("section").text
    assert "Employment Insurance (regular benefits), online, Ontario" in text
    assert "reach you" not in text


def test_result_past_its_usual_time_warns_first(page_table: EstimateTable):
    table = with_estimate(page_table, PASSPORT, SUBMITTED, past_usual_time=True)
    page = get(TestClient(make_app(table)), f"/status?{PASSPORT_QUERY}")
    section = page.find("section")
    warning = section.find("div", class_="warning-text")
    assert warning.text == (
        "! Warning: Your application has already waited longer than 8 in 10 applications like it."
    )
    assert warning.find("span", class_="warning-text__icon").attrs["aria-hidden"] == "true"


def test_result_without_accuracy_says_it_was_not_measured(page_table: EstimateTable):
    table = dataclasses.replace(page_table, accuracy={})
    page = get(TestClient(make_app(table)), f"/status?{PASSPORT_QUERY}")
    assert "We have not yet measured how accurate" in page.find("section").text


def test_segment_without_an_estimate_says_so_politely(page_table: EstimateTable):
    nothing = dict.fromkeys(("p50", "p80", "p90", "delivery_p50", "delivery_p80", "delivery_p90"))
    table = with_estimate(page_table, PASSPORT, SUBMITTED, error="no completed files", **nothing)
    page = get(TestClient(make_app(table)), f"/status?{PASSPORT_QUERY}")
    assert title(page) == "Your estimate – Processing time estimates"
    text = page.find("section").text
    assert "We cannot estimate this kind of application yet" in text
    assert "1-800-622-6232" in text


def test_french_result(client: TestClient, page_table: EstimateTable):
    estimate = page_table.get(PASSPORT, SUBMITTED)
    accuracy = page_table.accuracy[PASSPORT]
    assert estimate is not None and estimate.p50 and estimate.p80
    page = get(client, f"/statut?{PASSPORT_QUERY}")
    assert page.find("html").attrs["lang"] == "fr"
    p50, p80 = long_date(estimate.p50, "fr"), long_date(estimate.p80, "fr")
    assert (
        title(page)
        == f"Votre estimation : probablement au plus tard le {p50} – {catalogue('fr')['site.name']}"
    )
    text = page.find("section").text.replace(NBSP, " ")
    assert (
        "Pour : Passeport pour adulte, par la poste, Québec, demande présentée le 3 mars 2025."
        in text
    )
    assert f"Votre demande sera probablement traitée au plus tard le {p50}" in text
    assert f"8 demandes semblables sur 10 sont traitées au plus tard le {p80}." in text
    assert f"respectée dans {round(100 * accuracy.coverage_p80)} % des cas" in text
    assert page.find("h1").text == "Vérifier le délai de traitement de votre demande"


def test_french_long_dates_use_1er(client: TestClient, page_table: EstimateTable):
    page = get(client, f"/statut?{date_query(date(2025, 2, 1))}")
    assert "demande présentée le 1er février 2025" in page.find("section").text


# Language toggle -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "toggle", "lang"),
    [
        ("/status", "/statut", "fr"),
        ("/statut", "/status", "en"),
        (f"/status?{PASSPORT_QUERY}", f"/statut?{PASSPORT_QUERY}", "fr"),
        (f"/statut?{EMPTY_SUBMISSION}", f"/status?{EMPTY_SUBMISSION}", "en"),
    ],
)
def test_language_toggle_keeps_the_query(client: TestClient, url: str, toggle: str, lang: str):
    response = client.get(url)
    assert response.headers["content-language"] == ("en" if lang == "fr" else "fr")
    link = parse(response.text).by_id("language-toggle")
    assert link.attrs["href"] == toggle
    assert link.attrs["lang"] == lang and link.attrs["hreflang"] == lang
    assert link.text == ("Français" if lang == "fr" else "English")
    assert link.ancestors()[0].tag == "nav"


# No model --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "lang"), [("/status", "en"), (f"/statut?{PASSPORT_QUERY}", "fr")])
def test_no_model_is_a_polite_503(url: str, lang: str):
    page = get(TestClient(make_app(None)), url, status=503)
    assert page.find("html").attrs["lang"] == lang
    assert page.find("h1").text == catalogue(lang)["unavailable.heading"]
    assert title(page).startswith(catalogue(lang)["title.unavailable"])
    assert "1-800-622-6232" in main(page).text
    assert not page.find_all("form")


def test_app_without_a_holder_is_a_503():
    from fastapi import FastAPI

    from serving import pages

    app = FastAPI()
    app.include_router(pages.router)
    assert TestClient(app).get("/status").status_code == 503


# Forms and i18n, directly -------------------------------------------------------------------------


def test_read_form_tells_a_first_visit_from_an_empty_submission():
    assert read_form({}) is None
    assert read_form({"utm_source": "x"}) is None
    assert read_form({"day": ""}) == StatusForm()
    assert read_form({"day": " 3 ", "year": "2" * 50}) == StatusForm(day="3", year="2" * 20)


def test_check_date_accepts_leading_zeros_and_the_range():
    first, last = date(2024, 3, 31), date(2025, 6, 29)
    ok, error = check_date(StatusForm(day="03", month="03", year="2025"), first, last, "en")
    assert (ok, error) == (date(2025, 3, 3), None)
    _, error = check_date(StatusForm(day="³", month="3", year="2025"), first, last, "en")
    assert error is not None and error.parts == ("day",)


def test_number_words_in_both_languages():
    assert day_count(1, "en") == "1 day" and day_count(0, "en") == "0 days"
    assert day_count(1, "fr") == "1 jour" and day_count(0, "fr") == "0 jour"
    assert day_count(21, "fr", business=True) == "21 jours ouvrables"
    assert whole_number(1234, "en") == "1,234" and whole_number(1234, "fr") == f"1{NBSP}234"
    assert join_or(["A", "B", "C"], "fr") == "A, B ou C" and join_or(["A"], "en") == "A"


# Catalogues ------------------------------------------------------------------------------------

# Values that are rightly the same in both languages: proper names, numbers and a separator.
SAME_IN_BOTH = {
    "title.page",
    "region.AB",
    "region.MB",
    "region.NU",
    "region.ON",
    "region.SK",
    "region.YT",
    "contact.line",
    "contact.phone",
    "contact.phone_uri",
}


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_catalogues_have_the_same_keys_and_placeholders():
    en, fr = catalogue("en"), catalogue("fr")
    assert sorted(en) == sorted(fr)
    for key in en:
        assert en[key].strip() and fr[key].strip(), key
        assert placeholders(en[key]) == placeholders(fr[key]), key


def test_french_is_translated_where_it_should_be():
    en, fr = catalogue("en"), catalogue("fr")
    same = {key for key in en if en[key] == fr[key]}
    assert same <= SAME_IN_BOTH, f"untranslated: {sorted(same - SAME_IN_BOTH)}"


def test_every_key_the_templates_use_exists():
    used = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(
            re.findall(r"""(?:_|rich)\(\s*["']([a-z_.]+)["']\s*[,)]""", template.read_text())
        )
    assert used, "no keys found: the pattern no longer matches the templates"
    for lang in LANGUAGES:
        assert used <= set(catalogue(lang)), used - set(catalogue(lang))
