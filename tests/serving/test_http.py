"""HTTP edges: ETags and 304s, cache lifetimes, CORS from an allowlist, security headers."""

from __future__ import annotations

import dataclasses

import pytest
from api_fixtures import DAY, ESTIMATE
from fastapi.testclient import TestClient

from forecasting.settings import Settings
from serving.app import create_app
from serving.http import matches
from serving.lookup import EstimateTable

URL = f"{ESTIMATE}&submitted_on={DAY}&lang=en"


def test_estimates_are_cacheable_with_an_etag_and_304(client: TestClient) -> None:
    first = client.get(URL)
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "public, max-age=300"
    again = client.get(URL, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    assert client.get(URL, headers={"If-None-Match": f'"other", W/{etag}'}).status_code == 304
    assert client.get(URL, headers={"If-None-Match": '"other"'}).status_code == 200
    # The language is part of the representation.
    assert client.get(URL.replace("lang=en", "lang=fr")).headers["etag"] != etag


@pytest.mark.parametrize("path", ["/v1/services", "/v1/processing-times"])
def test_lists_are_cacheable_with_an_etag_and_304(client: TestClient, path: str) -> None:
    first = client.get(path)
    assert first.headers["cache-control"].startswith("public")
    again = client.get(path, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


def test_the_etag_changes_with_the_model_version(
    client: TestClient, table: EstimateTable, settings: Settings
) -> None:
    newer = dataclasses.replace(table, model_version="8")
    with TestClient(create_app(settings, table=newer)) as other:
        assert other.get(URL).headers["etag"] != client.get(URL).headers["etag"]
        stale = client.get(URL).headers["etag"]
        assert other.get(URL, headers={"If-None-Match": stale}).status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/metrics"),
        ("POST", "/admin/reload"),
        ("GET", "/v1/estimate?service=x"),
        ("POST", "/v1/estimates"),
    ],
)
def test_health_admin_errors_and_batches_are_never_stored(
    client: TestClient, method: str, path: str
) -> None:
    response = client.request(method, path, json={"requests": []} if method == "POST" else None)
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("path", [URL, "/healthz", "/v1/nothing", "/status", "/metrics"])
def test_security_headers_are_on_every_answer(client: TestClient, path: str) -> None:
    headers = client.get(path).headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    csp = headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert "strict-transport-security" not in headers  # development: http is fine


def test_the_docs_page_may_load_swagger_and_nothing_else_may(client: TestClient) -> None:
    csp = client.get("/docs").headers["content-security-policy"]
    assert "https://cdn.jsdelivr.net" in csp and "frame-ancestors 'none'" in csp


def test_production_adds_hsts(table: EstimateTable, settings: Settings) -> None:
    production = settings.model_copy(update={"environment": "production"})
    with TestClient(create_app(production, table=table)) as client:
        assert "max-age=" in client.get("/healthz").headers["strict-transport-security"]


@pytest.fixture
def cors_client(table: EstimateTable, settings: Settings) -> TestClient:
    allowed = settings.model_copy(update={"cors_origins": ["https://canada.example"]})
    return TestClient(create_app(allowed, table=table))


def test_cors_allows_listed_origins_only(cors_client: TestClient) -> None:
    with cors_client:
        allowed = cors_client.get(URL, headers={"Origin": "https://canada.example"})
        assert allowed.headers["access-control-allow-origin"] == "https://canada.example"
        assert "etag" in allowed.headers["access-control-expose-headers"].lower()
        refused = cors_client.get(URL, headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in refused.headers
        preflight = cors_client.options(
            "/v1/estimates",
            headers={
                "Origin": "https://canada.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        assert preflight.status_code == 200
        assert "POST" in preflight.headers["access-control-allow-methods"]
        bad = cors_client.options(
            "/v1/estimates",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert bad.status_code == 400


def test_without_an_allowlist_no_origin_is_allowed(client: TestClient) -> None:
    response = client.get(URL, headers={"Origin": "https://canada.example"})
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize(
    ("header", "hit"),
    [(None, False), ("", False), ("*", True), ('"a"', True), ('W/"a"', True), ('"b", "a"', True)],
)
def test_if_none_match_is_compared_weakly(header: str | None, hit: bool) -> None:
    assert matches(header, '"a"') is hit
