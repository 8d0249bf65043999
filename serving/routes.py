"""The HTTP routes: thin handlers that read the request and hand it to `serving.api`.

Single lookups are dictionary reads of pre-serialised bytes that never block, so those handlers
are `async def` and skip the thread pool; the batch (up to 1,000 answers to check and write) and
the reload (a model to load and precompute) are CPU-bound and plain `def`, as are the what-ifs
(a simulation each; a goal-seek runs several).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.responses import Response

from forecasting.settings import Settings
from forecasting.whatif import GoalSeekRequest, Scenario
from serving import api
from serving import scenarios as whatif
from serving.holder import CurrentModel, Holder
from serving.http import uncached
from serving.scenario_schemas import (
    GOAL_SEEK_EXAMPLES,
    SCENARIO_EXAMPLES,
    GoalSeekOut,
    ScenarioOut,
)
from serving.schemas import (
    ESTIMATE_PARAMETERS,
    ErrorOut,
    Estimate,
    EstimatesRequest,
    EstimatesResponse,
    Health,
    ProcessingTimes,
    Readiness,
    ReloadOut,
    Services,
)


async def _settings(request: Request) -> Settings:
    found: Settings = request.app.state.settings
    return found


Config = Annotated[Settings, Depends(_settings)]
IfNoneMatch = Annotated[str | None, Header(include_in_schema=False)]
AcceptLanguage = Annotated[
    str | None, Header(description="Used when `lang` is not given; falls back to English.")
]
_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorOut, "description": "A field is missing or invalid; each is named."},
    503: {"model": ErrorOut, "description": "No model is loaded yet."},
}
_CACHED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified (the ETag sent in If-None-Match still holds)."}
}

v1 = APIRouter(prefix="/v1", tags=["estimates"], responses=_ERRORS)


@v1.get("/services", response_model=Services, responses=_CACHED)
async def list_services(
    model: CurrentModel, config: Config, if_none_match: IfNoneMatch = None
) -> Response:
    """The segments (service, channel, region) the current model answers for, with labels."""
    return api.services(model, config, if_none_match)


@v1.get(
    "/estimate",
    response_model=Estimate,
    responses=_CACHED,
    # The query is read by `api.estimate` itself (the hot path), so it is described here.
    openapi_extra={"parameters": ESTIMATE_PARAMETERS},
)
async def get_estimate(model: CurrentModel, request: Request) -> Response:
    """When a file submitted on a day is likely completed (P50/P80/P90), as dates and words."""
    return api.estimate(model, request.app.state.settings, request)


@v1.post(
    "/estimates",
    response_model=EstimatesResponse,
    responses={413: {"model": ErrorOut, "description": "Too many requests in one batch."}},
)
def post_estimates(
    model: CurrentModel,
    config: Config,
    payload: EstimatesRequest,
    accept_language: AcceptLanguage = None,
) -> Response:
    """Up to 1,000 estimates at once; each is answered, or refused with its own error."""
    return api.estimates(model, config, payload, accept_language)


@v1.get("/processing-times", response_model=ProcessingTimes, responses=_CACHED)
async def get_processing_times(
    model: CurrentModel, config: Config, if_none_match: IfNoneMatch = None
) -> Response:
    """Per segment: the P80 for a file submitted today, and its measured backtest accuracy."""
    return api.processing_times(model, config, if_none_match, date.today())


health = APIRouter(tags=["operations"])


@health.get("/healthz", response_model=Health)
async def healthz() -> Response:
    """The process is up (whether or not a model is loaded)."""
    return uncached(b'{"status":"ok"}')


@health.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
async def readyz(holder: Holder) -> Response:
    """A model is served: which version, from where (registry or local cache), and why."""
    return api.readiness(holder)


@health.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Prometheus metrics: requests by route and status, latencies, the model's version."""
    body, content_type = request.app.state.metrics.exposition()
    return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})


admin = APIRouter(prefix="/admin", tags=["operations"])
_bearer = HTTPBearer(auto_error=False)


@admin.post(
    "/reload",
    response_model=ReloadOut,
    responses={401: {"model": ErrorOut}, 409: {"model": ErrorOut}, 502: {"model": ErrorOut}},
)
def reload(
    holder: Holder,
    config: Config,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    force: bool = False,
) -> Response:
    """Load the registry's champion if it moved (or `force`), precompute it, swap it in."""
    api.check_admin(config, credentials.credentials if credentials else None)
    return api.reload(holder, force=force)


bench = APIRouter(include_in_schema=False)


@bench.get("/v1/_bench/constant")
async def constant() -> dict[str, str]:
    """The bare-FastAPI baseline of `make bench-serve`: a constant JSON object."""
    return {"service": "constant", "status": "ok"}


_PLANNER: dict[int | str, dict[str, Any]] = {
    401: {
        "model": ErrorOut,
        "description": "The planner bearer token is missing or wrong.",
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
    },
    404: {"model": ErrorOut, "description": "Planner access is not configured on this server."},
    409: {"model": ErrorOut, "description": "The model being served has no planning baseline."},
    413: {"model": ErrorOut, "description": "The body is over the scenario size limit."},
}
_DETAIL = (
    "`segments` (default): every segment's weekly rows and the totals; `total`: the totals "
    "only (rows with service `all`), for dashboards that chart the whole service."
)
scenarios = APIRouter(
    prefix="/v1/scenarios",
    tags=["what-ifs"],
    dependencies=[whatif.PlannerAccess],
    responses={**_ERRORS, **_PLANNER},
)


@scenarios.post("", response_model=ScenarioOut)
def post_scenario(
    planning: whatif.CurrentPlanning,
    scenario: Annotated[Scenario, Body(openapi_examples=SCENARIO_EXAMPLES)],
    detail: Annotated[whatif.Detail, Query(description=_DETAIL)] = "segments",
) -> Response:
    """A capacity what-if: weekly arrivals, completions, backlog, P50/P80 processing time and
    share within the standard, per segment and in total, baseline and scenario side by side,
    with 10th-90th percentile bands and the week each backlog recovers. Planner token needed."""
    return whatif.run(planning, scenario, detail)


@scenarios.post("/goal-seek", response_model=GoalSeekOut)
def post_goal_seek(
    planning: whatif.CurrentPlanning,
    request: Annotated[GoalSeekRequest, Body(openapi_examples=GOAL_SEEK_EXAMPLES)],
    detail: Annotated[whatif.Detail, Query(description=_DETAIL)] = "segments",
) -> Response:
    """The smallest staffing change from `from_date` that meets the scenario's standard from
    `target_date` to the end of the horizon, or a clear "not reachable within N staff"."""
    return whatif.seek(planning, request, detail)
