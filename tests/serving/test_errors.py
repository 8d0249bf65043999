"""Every error names the field, what was expected and what was got; no input gives a 500."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from api_fixtures import DAY, ESTIMATE, SEGMENT
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forecasting.settings import Settings
from serving import schemas
from serving.app import create_app
from serving.lookup import EstimateTable


def problems(response: object) -> list[schemas.ProblemOut]:
    body = schemas.ErrorOut.model_validate(response.json())  # type: ignore[attr-defined]
    assert body.status == response.status_code  # type: ignore[attr-defined]
    assert body.message
    return body.problems


def test_an_unknown_service_lists_the_known_ones(client: TestClient) -> None:
    response = client.get(f"/v1/estimate?service=passport&channel=online&submitted_on={DAY}")
    assert response.status_code == 422
    (problem,) = problems(response)
    assert (problem.field, problem.in_, problem.got) == ("service", "query", "'passport'")
    assert problem.expected == "one of ei_regular, passport_adult, passport_child, pension_oas"
    assert problem.message == f"`service` must be {problem.expected}, got 'passport'"


def test_an_unknown_region_names_the_regions_of_that_service_and_channel(
    client: TestClient,
) -> None:
    response = client.get(
        f"/v1/estimate?service={SEGMENT[0]}&channel={SEGMENT[1]}&submitted_on={DAY}"
    )
    (problem,) = problems(response)
    assert problem.field == "region" and problem.got == "'all'"
    assert problem.expected == "one of ON, QC for passport_adult online"


def test_a_date_too_far_ahead_says_the_limit(client: TestClient, table: EstimateTable) -> None:
    response = client.get(f"{ESTIMATE}&submitted_on=2030-01-01")
    (problem,) = problems(response)
    assert problem.field == "submitted_on" and problem.got == "2030-01-01"
    assert f"no later than {table.last_day}" in problem.expected
    assert f"as-of date {table.as_of}" in problem.expected


def test_a_date_too_far_back_says_the_limit(client: TestClient, table: EstimateTable) -> None:
    (problem,) = problems(client.get(f"{ESTIMATE}&submitted_on=2020-01-01"))
    assert f"no earlier than {table.first_day}" in problem.expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("28/02/2025", "a date as YYYY-MM-DD"),
        ("2025-2-3", "a date as YYYY-MM-DD"),
        ("2025-02-30", "a real calendar date as YYYY-MM-DD"),
        ("", "a date as YYYY-MM-DD"),
    ],
)
def test_a_bad_date_says_the_format(client: TestClient, value: str, expected: str) -> None:
    (problem,) = problems(client.get(f"{ESTIMATE}&submitted_on={value}"))
    assert (problem.field, problem.expected, problem.got) == (
        "submitted_on",
        expected,
        f"'{value}'",
    )


def test_every_problem_is_reported_at_once(client: TestClient) -> None:
    response = client.get("/v1/estimate?service=visa&channel=online&submitted_on=soon")
    assert {p.field for p in problems(response)} == {"service", "submitted_on"}


def test_missing_parameters_are_named(client: TestClient) -> None:
    response = client.get("/v1/estimate?service=passport_adult")
    assert response.status_code == 422
    found = problems(response)
    assert {p.field for p in found} == {"channel", "submitted_on"}
    assert all(p.expected == "given" and p.got == "nothing" for p in found)


def test_an_unsupported_language_is_refused(client: TestClient) -> None:
    (problem,) = problems(client.get(f"{ESTIMATE}&submitted_on={DAY}&lang=de"))
    assert (problem.field, problem.expected, problem.got) == ("lang", "one of en, fr", "'de'")


def test_fastapis_own_validation_errors_have_the_same_shape(client: TestClient) -> None:
    response = client.post("/v1/estimates", json={"requests": [{"service": 5}], "lang": "de"})
    assert response.status_code == 422
    found = {p.field: p for p in problems(response)}
    assert set(found) == {"requests[0].service", "lang"}
    assert found["requests[0].service"].got == "5"
    assert found["lang"].in_ == "body"
    broken = client.post(
        "/v1/estimates", content=b'{"requests": [', headers={"Content-Type": "application/json"}
    )
    (problem,) = problems(broken)
    assert (problem.field, problem.expected) == ("body", "valid JSON")
    missing = client.post("/v1/estimates", json={})
    (problem,) = problems(missing)
    assert (problem.field, problem.expected, problem.got) == ("requests", "given", "nothing")


def test_a_batch_over_the_limit_is_413_with_a_message(client: TestClient) -> None:
    requests = [{"service": "x", "channel": "y", "submitted_on": DAY}] * 1001
    response = client.post("/v1/estimates", json={"requests": requests})
    assert response.status_code == 413
    (problem,) = problems(response)
    assert (problem.field, problem.expected, problem.got) == (
        "requests",
        "at most 1,000 items",
        "1,001",
    )
    assert "split the batch" in response.json()["message"]


def test_a_body_over_the_limit_is_413_declared_or_not(client: TestClient) -> None:
    big = b'{"requests": [' + b" " * 300_000 + b"]}"
    declared = client.post(
        "/v1/estimates", content=big, headers={"Content-Type": "application/json"}
    )
    assert declared.status_code == 413
    assert "at most 262,144 bytes" in declared.json()["message"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
        for start in range(0, len(big), 65_536):
            yield big[start : start + 65_536]

    streamed = client.post(
        "/v1/estimates", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413
    assert streamed.json()["status"] == 413


NASTY_QUERIES = [
    "",
    "service=%00&channel=%00&submitted_on=%00",
    "service=" + "a" * 10_000 + f"&channel=online&submitted_on={DAY}",
    f"service=passport_adult&service=ei_regular&channel=online&submitted_on={DAY}",
    "service=%ff%fe&channel=%c3%28&submitted_on=%e2%82",
    "service=passport_adult&channel=online&region=ON&submitted_on=%D9%A2%D9%A0%D9%A2%D9%A5-01-01",
    "service=passport_adult&channel=online&region=ON&submitted_on=99999-01-01",
    "service=passport_adult&channel=online&region=ON&submitted_on=0000-00-00",
    "service=passport_adult&channel=online&region=ON&submitted_on=2025-03-03T00:00:00",
    f"service[]=x&channel={{}}&submitted_on={DAY}&lang=",
    "service=passport_adult&channel=online&region=&submitted_on=2025-03-03&lang=fr&lang=xx",
    ";;;&&&===",
    "service=passport_adult&channel=online&region=ON&submitted_on=2025-03-03&lang=%0d%0a",
]


@pytest.mark.parametrize("query", NASTY_QUERIES)
def test_nasty_queries_are_refused_politely(client: TestClient, query: str) -> None:
    response = client.get(f"/v1/estimate?{query}")
    assert response.status_code in (200, 422)
    if response.status_code == 422:
        assert all(len(p.got) < 100 for p in problems(response))


NASTY_BODIES = [
    b"",
    b"null",
    b"[]",
    b'{"requests": null}',
    b'{"requests": [1, "two", null]}',
    b'{"requests": [{"service": "x", "extra": "field"}]}',
    b'{"requests": [{"submitted_on": "' + b"9" * 40 + b'"}]}',
    b'{"requests": []}',
    b"[" * 100_000,
    b'{"requests": [{"service": "\\ud800"}]}',
    b"\xff\xfe\x00",
]


@pytest.mark.parametrize("body", NASTY_BODIES)
def test_nasty_bodies_are_refused_politely(client: TestClient, body: bytes) -> None:
    response = client.post(
        "/v1/estimates", content=body, headers={"Content-Type": "application/json"}
    )
    assert 200 <= response.status_code < 500
    if response.status_code != 200:
        problems(response)


@pytest.mark.parametrize(
    "headers",
    [
        {"Accept-Language": "*;q=0, ;;;, fr-"},
        {"Accept-Language": "x" * 5000},
        {"If-None-Match": '"unterminated, W/, *x'},
        {"Authorization": "Bearer"},
    ],
)
def test_nasty_headers_are_harmless(client: TestClient, headers: dict[str, str]) -> None:
    response = client.get(f"{ESTIMATE}&submitted_on={DAY}", headers=headers)
    assert response.status_code == 200


def test_unknown_paths_and_methods_use_the_error_shape(client: TestClient) -> None:
    assert problems(client.get("/v1/nothing-here")) == []
    response = client.delete("/v1/estimate")
    assert response.status_code == 405
    assert response.json()["status"] == 405


@pytest.fixture(scope="module")
def fuzz_client(
    table: EstimateTable, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    settings_ = Settings(
        model_cache_dir=tmp_path_factory.mktemp("cache"), reload_interval_seconds=0
    )
    with TestClient(create_app(settings_, table=table)) as client:
        yield client


_FIELDS = st.sampled_from(["service", "channel", "region", "submitted_on", "lang", "x"])
_VALUES = st.one_of(
    st.text(max_size=30),
    st.sampled_from([*SEGMENT, "all", "en", "fr", DAY, "2025-02-29", "2099-12-31"]),
    st.dates().map(str),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=st.dictionaries(_FIELDS, _VALUES, max_size=6))
def test_fuzzed_queries_never_fail(fuzz_client: TestClient, query: dict[str, str]) -> None:
    response = fuzz_client.get(f"/v1/estimate?{urlencode(query)}")
    assert response.status_code in (200, 422), response.text
    body = response.json()
    if response.status_code == 200:
        schemas.Estimate.model_validate(body)
    else:
        assert body["problems"], json.dumps(body)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    items=st.lists(
        st.dictionaries(
            st.sampled_from(["service", "channel", "region", "submitted_on"]),
            st.one_of(st.none(), _VALUES),
        ),
        max_size=5,
    )
)
def test_fuzzed_batches_answer_every_item(fuzz_client: TestClient, items: list[dict]) -> None:
    response = fuzz_client.post("/v1/estimates", json={"requests": items})
    assert response.status_code in (200, 422), response.text
    if response.status_code == 200:
        body = schemas.EstimatesResponse.model_validate(response.json())
        assert len(body.results) == len(items) == body.answered + body.failed


def test_fields_the_api_does_not_take_are_refused_without_echo(client: TestClient) -> None:
    item = {"service": SEGMENT[0], "channel": SEGMENT[1], "submitted_on": DAY}
    response = client.post(
        "/v1/estimates", json={"requests": [{**item, "application_id": "A123456789"}]}
    )
    (problem,) = problems(response)
    assert problem.field == "requests[0].application_id"
    assert "A123456789" not in response.text


def test_a_body_that_is_not_utf8_names_the_body(client: TestClient) -> None:
    # Found by the schemathesis fuzz: FastAPI answered a bare 400 that named no field.
    response = client.post(
        "/v1/estimates",
        content=b'{"requests": "\xe9t\xe9"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    (problem,) = problems(response)
    assert (problem.field, problem.in_, problem.expected) == (
        "body",
        "body",
        "a JSON document in UTF-8",
    )
