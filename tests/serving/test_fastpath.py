"""The estimate fast path sends exactly what the route sends, and leaves everything else to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_fixtures import DAY, ESTIMATE, SEGMENT
from fastapi.testclient import TestClient

from forecasting.settings import Settings
from serving import api
from serving.app import create_app
from serving.lookup import EstimateTable


@pytest.fixture
def routed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The queries that reached the route (the rest were answered by the fast path)."""
    calls: list[str] = []
    real = api.estimate

    def spy(prepared, settings, request):  # type: ignore[no-untyped-def]
        calls.append(request.url.query)
        return real(prepared, settings, request)

    monkeypatch.setattr(api, "estimate", spy)
    return calls


@pytest.fixture
def cors_client(table: EstimateTable, settings: Settings) -> Iterator[TestClient]:
    allowed = settings.model_copy(update={"cors_origins": ["https://canada.example"]})
    with TestClient(create_app(allowed, table=table)) as client:
        yield client


@pytest.mark.parametrize(
    ("query", "headers"),
    [
        ("&lang=en", {}),
        ("&lang=fr", {}),
        ("", {"Accept-Language": "fr-CA,fr;q=0.8"}),
        ("", {}),
        ("&lang=fr&lang=en", {}),
        ("&lang=en", {"Origin": "https://canada.example"}),
    ],
)
def test_a_repeat_answer_is_identical_and_skips_the_route(
    cors_client: TestClient, routed: list[str], query: str, headers: dict[str, str]
) -> None:
    url = f"{ESTIMATE}&submitted_on={DAY}{query}"
    first = cors_client.get(url, headers=headers)
    second = cors_client.get(url, headers=headers)
    assert len(routed) == 1, "the first answer comes from the route, the second does not"
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert list(first.headers.multi_items()) == list(second.headers.multi_items())


def test_the_region_default_is_the_same_on_both_paths(
    client: TestClient, routed: list[str]
) -> None:
    url = f"/v1/estimate?service={SEGMENT[0]}&channel={SEGMENT[1]}&submitted_on={DAY}"
    assert client.get(url).status_code == client.get(url).status_code == 422
    assert len(routed) == 2  # an unknown segment is never kept, so never answered fast


@pytest.mark.parametrize(
    ("query", "headers", "status"),
    [
        (f"&submitted_on={DAY}&lang=en", {"If-None-Match": '"x"'}, 200),
        (f"&submitted_on={DAY}&lang=en&note=a%20b", {}, 200),
        (f"&submitted_on={DAY}&lang=de", {}, 422),
        ("&lang=en", {}, 422),
    ],
)
def test_anything_unusual_goes_to_the_route(
    client: TestClient, routed: list[str], query: str, headers: dict[str, str], status: int
) -> None:
    client.get(f"{ESTIMATE}&submitted_on={DAY}&lang=en")  # kept for the fast path
    response = client.get(f"{ESTIMATE}{query}", headers=headers)
    assert response.status_code == status
    assert len(routed) == 2


def test_a_revalidation_is_answered_by_the_route(client: TestClient) -> None:
    url = f"{ESTIMATE}&submitted_on={DAY}&lang=en"
    etag = client.get(url).headers["etag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
