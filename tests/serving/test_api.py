"""The estimates API: each endpoint's answer, in the documented shapes and both languages."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest
from api_fixtures import DAY, ESTIMATE, SEGMENT, VERSION
from fastapi.testclient import TestClient

from forecasting.settings import Settings
from serving import answers, schemas
from serving.app import create_app
from serving.i18n import estimate_message
from serving.lookup import EstimateTable


def test_services_lists_every_segment_with_both_labels(
    client: TestClient, table: EstimateTable
) -> None:
    response = client.get("/v1/services")
    assert response.status_code == 200
    body = schemas.Services.model_validate(response.json())
    assert body.model_version == VERSION
    assert (body.first_submitted_on, body.last_submitted_on) == (table.first_day, table.last_day)
    codes = {(s.service.code, s.channel.code, s.region.code) for s in body.segments}
    assert codes == set(table.segments)
    adult = next(s for s in body.segments if s.service.code == "passport_adult")
    assert (adult.service.en, adult.service.fr) != ("passport_adult", "passport_adult")
    assert adult.region.code in ("ON", "QC") and adult.region.fr in ("Ontario", "Québec")


def test_an_unknown_code_is_labelled_with_itself() -> None:
    assert answers.label("service", "visa_student") == {
        "code": "visa_student",
        "en": "visa_student",
        "fr": "visa_student",
    }
    assert answers.label("region", "all")["en"] == "All provinces and territories"


def test_estimate_gives_dates_business_days_and_the_message(
    client: TestClient, table: EstimateTable
) -> None:
    response = client.get(f"{ESTIMATE}&submitted_on={DAY}")
    assert response.status_code == 200
    body = schemas.Estimate.model_validate(response.json())
    expected = table.get(SEGMENT, date.fromisoformat(DAY))
    assert expected is not None and expected.p50 and expected.p80 and expected.p90
    assert (body.service, body.channel, body.region) == SEGMENT
    assert (body.as_of, body.model_version) == (table.as_of, VERSION)
    assert (body.p50.completed_by, body.p80.completed_by, body.p90.completed_by) == (
        expected.p50,
        expected.p80,
        expected.p90,
    )
    assert body.p80.business_days == expected.p80_business_days
    assert body.p50.delivered_by == expected.delivery_p50
    assert body.past_usual_time == expected.past_usual_time
    assert body.lang == "en"
    assert body.message == estimate_message(
        p50=expected.p50, p80=expected.p80, past_usual_time=expected.past_usual_time, lang="en"
    )


@pytest.mark.parametrize(
    ("query", "header", "lang"),
    [
        ("&lang=fr", None, "fr"),
        ("", "fr-CA,fr;q=0.9,en;q=0.5", "fr"),
        ("&lang=en", "fr-CA", "en"),
        ("", "de-DE", "en"),
    ],
)
def test_the_message_follows_lang_then_accept_language(
    client: TestClient, query: str, header: str | None, lang: str
) -> None:
    headers = {"Accept-Language": header} if header else {}
    response = client.get(f"{ESTIMATE}&submitted_on={DAY}{query}", headers=headers)
    assert response.status_code == 200
    assert response.json()["lang"] == lang
    if lang == "fr":
        assert "demandes" in response.json()["message"]
    # Without `lang`, caches must key the answer on the header it came from.
    assert ("accept-language" in response.headers.get("vary", "").lower()) == (query == "")


def test_region_defaults_to_all(table: EstimateTable, settings: Settings) -> None:
    national = {
        (s, c, "all", d): dataclasses.replace(e, region="all")
        for (s, c, r, d), e in table.estimates.items()
        if r == "ON"
    }
    flat = EstimateTable(
        as_of=table.as_of,
        model_version=VERSION,
        segments=tuple(sorted({(s, c, "all") for s, c, _ in table.segments})),
        first_day=table.first_day,
        last_day=table.last_day,
        estimates=national,
        accuracy={},
    )
    with TestClient(create_app(settings, table=flat)) as client:
        response = client.get(
            f"/v1/estimate?service={SEGMENT[0]}&channel={SEGMENT[1]}&submitted_on={DAY}"
        )
    assert response.status_code == 200
    assert response.json()["region"] == "all"


def test_a_batch_answers_each_item_or_refuses_it_alone(client: TestClient) -> None:
    good = dict(zip(("service", "channel", "region"), SEGMENT, strict=True)) | {"submitted_on": DAY}
    payload = {
        "lang": "fr",
        "requests": [good, {**good, "service": "visa"}, {**good, "submitted_on": "2099-01-01"}],
    }
    response = client.post("/v1/estimates", json=payload)
    assert response.status_code == 200
    body = schemas.EstimatesResponse.model_validate(response.json())
    assert (body.answered, body.failed, body.lang) == (1, 2, "fr")
    first, unknown, late = body.results
    assert first.estimate is not None and first.error is None
    assert first.estimate == schemas.Estimate.model_validate(
        client.get(f"{ESTIMATE}&submitted_on={DAY}&lang=fr").json()
    )
    assert unknown.estimate is None and unknown.error is not None
    assert unknown.error.problems[0].field == "service"
    assert "passport_adult" in unknown.error.problems[0].expected
    assert late.error is not None and "no later than" in late.error.message


def test_a_batch_of_exactly_the_limit_is_answered(client: TestClient) -> None:
    item = dict(zip(("service", "channel", "region"), SEGMENT, strict=True))
    requests = [{**item, "submitted_on": DAY}] * 1000
    response = client.post("/v1/estimates", json={"requests": requests})
    assert response.status_code == 200
    assert response.json()["answered"] == 1000


def test_processing_times_has_one_row_per_segment_with_accuracy(
    client: TestClient, table: EstimateTable
) -> None:
    response = client.get("/v1/processing-times")
    assert response.status_code == 200
    body = schemas.ProcessingTimes.model_validate(response.json())
    assert len(body.rows) == len(table.segments)
    # The small world ended long ago: the model's own today stands in for today.
    assert body.submitted_on == table.as_of
    scored = [row for row in body.rows if row.accuracy is not None]
    assert scored, "the forecaster was fitted with a backtest: accuracy must be there"
    row = scored[0]
    assert row.accuracy and 0 <= (row.accuracy.coverage_p80 or 0) <= 1
    assert row.accuracy.published_mae_p50_days is not None
    assert row.p80_date is not None and row.p80_days == (row.p80_date - table.as_of).days


def test_processing_times_use_today_when_the_table_covers_it(table: EstimateTable) -> None:
    today = table.as_of + timedelta(days=10)
    assert answers.reference_day(table, today) == today
    assert answers.reference_day(table, table.last_day + timedelta(days=1)) == table.as_of
    rows = answers.processing_times_dict(table, today)["rows"]
    segment = dict(zip(("service", "channel", "region"), SEGMENT, strict=True))
    row = next(r for r in rows if {k: r[k]["code"] for k in segment} == segment)
    estimate = table.get(SEGMENT, today)
    assert estimate is not None and estimate.p80 is not None
    assert row["p80_date"] == estimate.p80.isoformat()
    assert row["p80_days"] == (estimate.p80 - today).days


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = schemas.Readiness.model_validate(ready.json())
    assert (body.status, body.source, body.model_version) == ("ready", "provided", VERSION)


def test_the_openapi_document_describes_the_api(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in ("/v1/services", "/v1/estimate", "/v1/estimates", "/v1/processing-times"):
        assert path in paths
    estimate = paths["/v1/estimate"]["get"]
    names = {p["name"] for p in estimate["parameters"]}
    assert {"service", "channel", "region", "submitted_on", "lang"} <= names
    assert "examples" in spec["components"]["schemas"]["Estimate"]
    assert "/v1/_bench/constant" not in paths
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_the_bench_route_exists_only_when_enabled(table: EstimateTable, settings: Settings) -> None:
    with TestClient(create_app(settings, table=table)) as client:
        assert client.get("/v1/_bench/constant").status_code == 404
    enabled = settings.model_copy(update={"bench_routes": True})
    with TestClient(create_app(enabled, table=table)) as client:
        assert client.get("/v1/_bench/constant").json() == {"service": "constant", "status": "ok"}


def test_the_status_page_is_served(client: TestClient) -> None:
    assert client.get("/status").status_code == 200
    assert client.get("/statut").status_code == 200
