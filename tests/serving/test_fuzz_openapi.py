"""Schemathesis against the app's own OpenAPI: every route, valid and invalid requests alike.

No answer may be a 5xx; every 4xx must be the API's error shape, naming the problem; statuses,
content types, headers and bodies must be the ones the OpenAPI documents. `make test` sends a
small budget; `make test-all` (the `slow` marker) at least 2,000 requests.
"""

from __future__ import annotations

import inspect
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import schemathesis
from api_fixtures import FakeSource
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from schemathesis import GenerationMode
from schemathesis import checks as schema_checks

from forecasting.forecaster import Forecaster
from forecasting.settings import Settings
from serving import schemas
from serving.app import create_app
from serving.lookup import EstimateTable

TOKEN = "fuzz-" + "t" * 40
# Schemathesis's own checks that hold for this API. Two are left out on purpose:
# `positive_data_acceptance` (the OpenAPI types `service` as any string, the model knows which
# codes exist, so a schema-valid unknown code is rightly refused) and `negative_data_rejection`
# (unknown query parameters are ignored, as HTTP APIs usually do, not refused).
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)
# The what-if routes simulate weeks of queue per request: the quick budget stays small.
FAST_BUDGET = 100
# Then this many more per operation, at most (parameterless ones repeat one request).
SWEEP = 3
SLOW_BUDGET = 2_400
SLOW_FLOOR = 2_000


@dataclass
class Tally:
    """What the fuzzer sent and got back, by route and status."""

    answers: Counter[tuple[str, str, int]]

    @property
    def requests(self) -> int:
        return sum(self.answers.values())


def _fuzzed_app(table: EstimateTable, forecaster: Forecaster, folder: Path) -> FastAPI:
    """The app with every route switched on: admin (and planner, once it exists) tokens set."""
    tokens = {
        name: SecretStr(TOKEN)
        for name in ("admin_token", "planner_token")
        if name in Settings.model_fields
    }
    config = Settings(model_cache_dir=folder, reload_interval_seconds=0, **tokens)
    # The what-ifs start from the model's planning baseline, when this app version takes one.
    planning = getattr(forecaster, "planning_", None)
    takes = "planning" in inspect.signature(create_app).parameters
    extra = {"planning": planning} if takes else {}
    return create_app(config, table=table, source=FakeSource(forecaster), **extra)


@pytest.fixture(scope="module")
def fuzzed(
    table: EstimateTable, forecaster: Forecaster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[FastAPI, schemathesis.schemas.BaseSchema]]:
    app = _fuzzed_app(table, forecaster, tmp_path_factory.mktemp("cache"))
    with TestClient(app):  # runs the lifespan, as a server would
        yield app, schemathesis.openapi.from_asgi("/openapi.json", app)


def _check_error_shape(status: int, body: object, where: str) -> None:
    """A 4xx is the API's error object: its status, a sentence, and named problems for 422s."""
    assert isinstance(body, dict), f"{where}: a {status} must answer a JSON object, got {body!r}"
    error = schemas.ErrorOut.model_validate(body)
    assert error.status == status, where
    assert error.message.strip(), f"{where}: the {status} names no problem"
    if status == 422:
        assert error.problems, f"{where}: a 422 must name each field in `problems`"
        for problem in error.problems:
            assert problem.field and problem.expected and problem.got, (where, problem)


def _fuzz(schema: schemathesis.schemas.BaseSchema, budget: int) -> Tally:
    """`budget` requests drawn across all operations, then a few per operation, so that every
    route is reached however the draw falls."""
    tally = Tally(Counter())
    everything = schema.as_strategy(GenerationMode.POSITIVE) | schema.as_strategy(
        GenerationMode.NEGATIVE
    )
    _send(everything, budget, tally)
    for result in schema.get_all_operations():
        _send(result.ok().as_strategy(GenerationMode.POSITIVE), SWEEP, tally)
    return tally


def _send(cases: st.SearchStrategy[schemathesis.Case], budget: int, tally: Tally) -> None:
    chosen = [getattr(schema_checks, name) for name in CHECKS]

    @settings(
        max_examples=budget,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases, authorised=st.booleans())
    def run(case: schemathesis.Case, authorised: bool) -> None:
        # Half the requests carry the tokens, so the bodies behind the bearer checks are fuzzed too.
        headers = {"Authorization": f"Bearer {TOKEN}"} if authorised else None
        response = case.call(headers=headers)
        where = f"{case.method} {case.formatted_path} -> {response.status_code}"
        tally.answers[(case.method, case.path, response.status_code)] += 1
        case.validate_response(response, checks=chosen, headers=headers)
        if 400 <= response.status_code < 500:
            _check_error_shape(response.status_code, response.json(), where)

    run()


def _every_route_was_fuzzed(schema: schemathesis.schemas.BaseSchema, tally: Tally) -> None:
    operations = {(r.ok().method.upper(), r.ok().path) for r in schema.get_all_operations()}
    reached = {(method.upper(), path) for method, path, _ in tally.answers}
    assert operations <= reached, f"never fuzzed: {sorted(operations - reached)}"


def _summary(tally: Tally) -> str:
    statuses = Counter(status for _, _, status in tally.answers.elements())
    routes = len({(m, p) for m, p, _ in tally.answers})
    shown = ", ".join(f"{code}: {count}" for code, count in sorted(statuses.items()))
    return f"{tally.requests:,} generated requests over {routes} operations, by status {shown}"


def test_fuzzed_requests_never_fail_and_errors_name_the_problem(
    fuzzed: tuple[FastAPI, schemathesis.schemas.BaseSchema],
    report_figure: Callable[[str], None],
) -> None:
    _, schema = fuzzed
    tally = _fuzz(schema, FAST_BUDGET)
    _every_route_was_fuzzed(schema, tally)
    assert not any(status >= 500 for _, _, status in tally.answers)
    report_figure(_summary(tally))


@pytest.mark.slow
def test_two_thousand_fuzzed_requests_never_fail(
    fuzzed: tuple[FastAPI, schemathesis.schemas.BaseSchema],
    report_figure: Callable[[str], None],
) -> None:
    _, schema = fuzzed
    tally = _fuzz(schema, SLOW_BUDGET)
    _every_route_was_fuzzed(schema, tally)
    assert tally.requests >= SLOW_FLOOR
    report_figure(_summary(tally))
