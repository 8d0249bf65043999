"""The planners' what-ifs over HTTP: who may run them, what they run on, what they answer.

A what-if is CPU-bound (tens of milliseconds; a goal-seek up to a few seconds), so its routes are
plain `def` and run in the thread pool. The engine is `forecasting.whatif`, kept pure; this module
only checks access, finds the served model's planning baseline and turns the engine's refusals
into 422s that name the field, what was expected and what was got.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import ValidationError
from starlette.responses import Response

from forecasting.errors import DataContractError, DelaiError
from forecasting.schema import SERVICE, TOTAL
from forecasting.whatif import (
    GoalSeekRequest,
    PlanningBaseline,
    Scenario,
    ScenarioResult,
    goal_seek,
    run_scenario,
)
from serving.api import check_bearer
from serving.errors import InputError, Problem, from_validation, named_problem
from serving.holder import State
from serving.http import uncached

REALM = "planner"
NO_PLANNING = (
    "the model being served has no planning baseline, so it cannot run what-ifs "
    "(it was trained before what-ifs existed, or its data could not give one): "
    "train and promote a new model"
)
_bearer = HTTPBearer(auto_error=False)
T = TypeVar("T")


@dataclass(frozen=True)
class Planning:
    """What a what-if runs on: the served model's baseline, its as-of date and its version."""

    baseline: PlanningBaseline
    as_of: date
    model_version: str


async def planner_access(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """404 when no planner token is configured (the routes are off, not open), 401 when the
    bearer token is missing or wrong (compared in constant time)."""
    expected = request.app.state.settings.planner_token
    check_bearer(expected, credentials.credentials if credentials else None, realm=REALM)


def served_planning(state: State) -> Planning | None:
    """The planning of the model serving now; None when none is served or it has none."""
    served = state.served
    if served is None or served.planning is None:
        return None
    table = served.prepared.table
    return Planning(served.planning, table.as_of, table.model_version)


async def current_planning(request: Request) -> Planning:
    """503 while no model is loaded (as the other routes); 409 when the model cannot plan."""
    state: State = request.app.state.holder.state
    if state.served is None:
        raise HTTPException(503, f"no model is loaded: {state.reason}", {"Retry-After": "30"})
    planning = served_planning(state)
    if planning is None:
        raise HTTPException(409, NO_PLANNING)
    return planning


PlannerAccess = Depends(planner_access)
CurrentPlanning = Annotated[Planning, Depends(current_planning)]


# How much of a result to send: every segment and the totals, or the totals only (a 52-week
# scenario over 60 segments is about 1.5 MB in full, a few kB as totals).
Detail = Literal["segments", "total"]


def run(planning: Planning, scenario: Scenario, detail: Detail = "segments") -> Response:
    """POST /v1/scenarios: the weekly series of the baseline and the scenario, side by side."""
    result = refused_as_422(lambda: run_scenario(planning.baseline, scenario))
    return _answer(result_dict(result, planning, detail))


def seek(planning: Planning, request: GoalSeekRequest, detail: Detail = "segments") -> Response:
    """POST /v1/scenarios/goal-seek: the smallest staffing change that meets the standard."""
    found = refused_as_422(lambda: goal_seek(planning.baseline, request))
    body = {**finite(found.to_dict()), **_stamp(planning)}
    if body.get("result") is not None:
        body["result"] = {**_only(body["result"], detail), **_stamp(planning)}
    return _answer(body)


def result_dict(
    result: ScenarioResult, planning: Planning, detail: Detail = "segments"
) -> dict[str, Any]:
    """The engine's JSON-ready result, stamped with the model's as-of date and version."""
    return {**_only(finite(result.to_dict()), detail), **_stamp(planning)}


def _only(result: dict[str, Any], detail: Detail) -> dict[str, Any]:
    """`result` with its weekly and recovery rows cut to the totals when `detail` says so."""
    if detail == "segments":
        return result
    return {
        **result,
        **{
            part: [row for row in result[part] if row[SERVICE] == TOTAL]
            for part in ("weekly", "recovery")
        },
    }


def refused_as_422(work: Callable[[], T]) -> T:
    """Run `work`; the engine's refusals (a scenario this model cannot run) become 422s."""
    try:
        return work()
    except ValidationError as exc:
        raise InputError(from_validation(exc.errors())) from None
    except DelaiError as exc:
        raise InputError([refusal(exc)]) from None


def refusal(exc: DelaiError) -> Problem:
    """The engine's error as a Problem: its own field and words when its message names them."""
    if isinstance(exc, DataContractError):
        return Problem(exc.field, exc.expected, exc.got, "body")
    message = str(exc)
    return named_problem(message) or Problem(
        "body", "a scenario the served model can run", message, "body"
    )


def finite(value: Any) -> Any:
    """JSON has no NaN or infinity: an undefined figure is null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def _stamp(planning: Planning) -> dict[str, str]:
    return {"as_of": planning.as_of.isoformat(), "model_version": planning.model_version}


def _answer(body: dict[str, Any]) -> Response:
    return uncached(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode())
