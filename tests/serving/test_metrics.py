"""Prometheus metrics: per-app registries, counts and latencies by route, the model's state."""

from __future__ import annotations

from datetime import date

from api_fixtures import DAY, ESTIMATE, VERSION
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from forecasting.settings import Settings
from serving.app import create_app
from serving.lookup import EstimateTable


def samples(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_requests_are_counted_and_timed_by_route_template(client: TestClient) -> None:
    for _ in range(3):
        client.get(f"{ESTIMATE}&submitted_on={DAY}")
    client.get(f"{ESTIMATE}&submitted_on=never")
    client.get("/no/such/path/a1b2c3")
    found = samples(client)
    ok = frozenset({("route", "/v1/estimate"), ("method", "GET"), ("status", "200")})
    refused = ok - {("status", "200")} | {("status", "422")}
    assert found[("delai_http_requests_total", ok)] == 3
    assert found[("delai_http_requests_total", refused)] == 1
    assert found[("delai_http_request_duration_seconds_count", ok)] == 3
    # Raw paths never become labels: a scanner cannot grow the series.
    assert not any("a1b2c3" in value for _, labels in found for _, value in labels)
    unmatched = frozenset({("route", "unmatched"), ("method", "GET"), ("status", "404")})
    assert found[("delai_http_requests_total", unmatched)] == 1


def test_the_model_version_and_the_age_of_its_data_are_exposed(
    client: TestClient, table: EstimateTable
) -> None:
    found = samples(client)
    info = frozenset(
        {("model_version", VERSION), ("as_of", table.as_of.isoformat()), ("source", "provided")}
    )
    assert found[("delai_model_info", info)] == 1
    assert found[("delai_model_ready", frozenset())] == 1
    age = found[("delai_model_as_of_age_days", frozenset())]
    assert age == (date.today() - table.as_of).days


def test_two_apps_in_one_process_keep_their_own_counts(
    table: EstimateTable, settings: Settings
) -> None:
    with (
        TestClient(create_app(settings, table=table)) as one,
        TestClient(create_app(settings, table=table)) as two,
    ):
        one.get("/healthz")
        one.get("/healthz")
        two.get("/healthz")
        key = frozenset({("route", "/healthz"), ("method", "GET"), ("status", "200")})
        assert samples(one)[("delai_http_requests_total", key)] == 2
        assert samples(two)[("delai_http_requests_total", key)] == 1
