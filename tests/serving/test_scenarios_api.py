"""The what-if API: the planner token, scenarios and goal-seeks on the served model's baseline,
and every refusal a 4xx that names the field, what was expected and what was got."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from api_fixtures import FakeSource
from fastapi.testclient import TestClient
from planner_fixtures import AUTH, TOKEN, baseline_of, planner_app, planner_settings

from forecasting.forecaster import Forecaster
from forecasting.settings import Settings
from forecasting.whatif import MAX_CHANGES, MAX_HORIZON_WEEKS, PlanningBaseline
from serving import schemas
from serving.app import create_app
from serving.lookup import EstimateTable
from serving.scenario_schemas import GoalSeekOut, ScenarioOut

SCENARIOS = "/v1/scenarios"
GOAL_SEEK = "/v1/scenarios/goal-seek"
WEEKLY_COLUMNS = {
    "week_start",
    "service",
    "channel",
    "region",
    "variant",
    "arrivals",
    "completions",
    "backlog",
    "backlog_lo",
    "backlog_hi",
    "p50_days",
    "p80_days",
    "p80_days_lo",
    "p80_days_hi",
    "p80_business_days",
    "share_within_standard",
}


@pytest.fixture(scope="module")
def planning(forecaster: Forecaster) -> PlanningBaseline:
    """The baseline the real Forecaster built while training on the small world."""
    return baseline_of(forecaster)


@pytest.fixture(scope="module")
def planner(
    table: EstimateTable, planning: PlanningBaseline, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    app = planner_app(table, planning, tmp_path_factory.mktemp("cache"))
    with TestClient(app) as client:
        yield client


def scenario(planning: PlanningBaseline, **fields: Any) -> dict[str, Any]:
    """A 12-week scenario starting the day after the as-of date: capacity +50 % from week 2."""
    start = planning.as_of + timedelta(days=1)
    return {
        "name": "more capacity",
        "start": start.isoformat(),
        "horizon_weeks": 12,
        "changes": [
            {"kind": "staffing", "start": (start + timedelta(weeks=1)).isoformat(), "percent": 50}
        ],
        "standard": {"business_days": 20, "share": 0.8},
        **fields,
    }


def problems(response: Any) -> list[schemas.ProblemOut]:
    body = schemas.ErrorOut.model_validate(response.json())
    assert body.status == response.status_code and body.message
    return body.problems


# --- access ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [SCENARIOS, GOAL_SEEK])
def test_without_a_planner_token_the_routes_are_off(
    table: EstimateTable, planning: PlanningBaseline, tmp_path: Path, path: str
) -> None:
    config = Settings(model_cache_dir=tmp_path, reload_interval_seconds=0)
    with TestClient(create_app(config, table=table, planning=planning)) as client:
        response = client.post(path, json=scenario(planning), headers=AUTH)
    assert response.status_code == 404
    assert "planner access is not configured" in response.json()["message"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}],
    ids=["missing", "wrong", "not-bearer"],
)
def test_a_missing_or_wrong_token_is_401_before_the_body_is_read(
    planner: TestClient, headers: dict[str, str]
) -> None:
    # The body is invalid too: an unauthenticated caller learns nothing about it.
    response = planner.post(SCENARIOS, json={"horizon_weeks": 999}, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="planner"'
    assert response.json()["message"] == "a valid bearer token is required"


def test_a_model_without_a_planning_baseline_is_409(table: EstimateTable, tmp_path: Path) -> None:
    with TestClient(planner_app(table, None, tmp_path)) as client:
        response = client.post(SCENARIOS, json={}, headers=AUTH)
    assert response.status_code == 409
    assert "no planning baseline" in response.json()["message"]


def test_no_model_loaded_is_503(forecaster: Forecaster, tmp_path: Path) -> None:
    source = FakeSource(forecaster)
    source.failure = ConnectionError("registry down")
    with TestClient(create_app(planner_settings(tmp_path), source=source)) as client:
        response = client.post(SCENARIOS, json={}, headers=AUTH)
    assert response.status_code == 503
    assert response.json()["message"].startswith("no model is loaded")


# --- scenarios ---------------------------------------------------------------------------------


def test_a_scenario_answers_weekly_rows_for_both_variants(
    planner: TestClient, planning: PlanningBaseline, table: EstimateTable
) -> None:
    response = planner.post(SCENARIOS, json=scenario(planning), headers=AUTH)
    assert response.status_code == 200, response.text
    body = ScenarioOut.model_validate(response.json())
    assert (body.as_of, body.model_version) == (table.as_of, table.model_version)
    rows = response.json()["weekly"]
    assert set(rows[0]) == WEEKLY_COLUMNS
    segments = {(r["service"], r["channel"], r["region"]) for r in rows}
    assert segments == {*planning.segments, ("all", "all", "all")}
    for segment in segments:
        for variant in ("baseline", "scenario"):
            weeks = [
                r["week_start"]
                for r in rows
                if (r["service"], r["channel"], r["region"]) == segment and r["variant"] == variant
            ]
            assert len(weeks) == 12 == len(set(weeks)), (segment, variant)
    totals = {
        r["variant"]: r
        for r in rows
        if r["service"] == "all" and r["week_start"] == rows[-1]["week_start"]
    }
    # Half as much capacity again must leave a smaller backlog than no change.
    assert totals["scenario"]["backlog"] < totals["baseline"]["backlog"]
    recovery = {(r["service"], r["variant"]) for r in response.json()["recovery"]}
    assert {("all", "baseline"), ("all", "scenario")} <= recovery


def test_a_horizon_over_the_limit_names_the_field(
    planner: TestClient, planning: PlanningBaseline
) -> None:
    response = planner.post(
        SCENARIOS, json=scenario(planning, horizon_weeks=MAX_HORIZON_WEEKS + 1), headers=AUTH
    )
    assert response.status_code == 422
    (problem,) = problems(response)
    assert (problem.field, problem.got) == ("horizon_weeks", str(MAX_HORIZON_WEEKS + 1))
    assert problem.expected == f"less than or equal to {MAX_HORIZON_WEEKS}"


def test_too_many_changes_name_the_field_and_the_limit(
    planner: TestClient, planning: PlanningBaseline
) -> None:
    change = scenario(planning)["changes"][0]
    response = planner.post(
        SCENARIOS, json=scenario(planning, changes=[change] * (MAX_CHANGES + 1)), headers=AUTH
    )
    assert response.status_code == 422
    (problem,) = problems(response)
    assert (problem.field, problem.expected) == ("changes", f"at most {MAX_CHANGES} items")
    assert problem.got == f"{MAX_CHANGES + 1} items"


def test_a_change_s_own_check_keeps_its_words(
    planner: TestClient, planning: PlanningBaseline
) -> None:
    start = planning.as_of + timedelta(days=8)
    backwards = {"kind": "outage", "start": start.isoformat(), "end": start.isoformat(),
                 "capacity_percent": 50}  # fmt: skip
    response = planner.post(SCENARIOS, json=scenario(planning, changes=[backwards]), headers=AUTH)
    (problem,) = problems(response)
    assert problem.field == "changes[0].end"
    assert problem.expected == f"a date after `start` ({start})"
    assert problem.got == start.isoformat()


def test_an_unknown_service_lists_the_known_ones(
    planner: TestClient, planning: PlanningBaseline
) -> None:
    response = planner.post(
        SCENARIOS, json=scenario(planning, segments=[{"service": "visa"}]), headers=AUTH
    )
    assert response.status_code == 422
    (problem,) = problems(response)
    assert problem.field == "segments[0].service" and problem.got == "'visa'"
    services = sorted({s for s, _, _ in planning.segments})
    assert problem.expected == f"one of {', '.join(services)}"


def test_staff_without_staffing_data_asks_for_percent(
    planner: TestClient, planning: PlanningBaseline
) -> None:
    assert not planning.has_staff  # the small world is trained without a capacity table
    change = {**scenario(planning)["changes"][0], "staff": 10}
    del change["percent"]
    response = planner.post(SCENARIOS, json=scenario(planning, changes=[change]), headers=AUTH)
    assert response.status_code == 422
    (problem,) = problems(response)
    assert problem.field == "changes[0].percent"
    assert "no staffing figures" in problem.expected


def test_a_body_over_the_scenario_limit_is_413(
    planner: TestClient, planning: PlanningBaseline
) -> None:
    limit = Settings().scenario_max_body_bytes
    padded = json.dumps(scenario(planning, name="x" * (limit + 1)))
    response = planner.post(
        SCENARIOS, content=padded, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["message"].startswith(f"the request body must be at most {limit:,}")


def test_the_routes_are_counted_in_the_metrics(
    planner: TestClient, planning: PlanningBaseline
) -> None:
    planner.post(SCENARIOS, json=scenario(planning, horizon_weeks=0), headers=AUTH)
    metrics = planner.get("/metrics").text
    assert 'route="/v1/scenarios",status="422"' in metrics


def test_the_openapi_shows_example_bodies(planner: TestClient) -> None:
    paths = planner.get("/openapi.json").json()["paths"]
    for path in (SCENARIOS, GOAL_SEEK):
        operation = paths[path]["post"]
        examples = operation["requestBody"]["content"]["application/json"]["examples"]
        assert examples and {"401", "404", "409", "413", "422", "503"} <= set(
            operation["responses"]
        )


# --- goal-seek ---------------------------------------------------------------------------------


def goal(planning: PlanningBaseline, **fields: Any) -> dict[str, Any]:
    base = scenario(planning, horizon_weeks=20, changes=[])
    start = planning.as_of + timedelta(days=1)
    return {
        "scenario": base,
        "from_date": (start + timedelta(weeks=1)).isoformat(),
        "target_date": (start + timedelta(weeks=12)).isoformat(),
        **fields,
    }


def test_goal_seek_finds_the_smallest_change(
    planner: TestClient, planning: PlanningBaseline
) -> None:
    response = planner.post(GOAL_SEEK, json=goal(planning), headers=AUTH)
    assert response.status_code == 200, response.text
    found = GoalSeekOut.model_validate(response.json())
    assert found.reachable and found.unit == "percent"
    assert found.staff is not None and found.staff > 0
    assert found.result is not None and found.result.model_version == found.model_version
    assert "more capacity" in found.message


def test_goal_seek_says_when_the_standard_is_out_of_reach(
    planner: TestClient, planning: PlanningBaseline
) -> None:
    request = goal(planning, max_staff=5)
    request["scenario"]["standard"] = {"business_days": 1, "share": 0.99}
    response = planner.post(GOAL_SEEK, json=request, headers=AUTH)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["reachable"], body["staff"], body["result"]) == (False, None, None)
    assert body["message"].startswith("not reachable within 5 % more capacity")


def test_goal_seek_without_a_standard_names_it(
    planner: TestClient, planning: PlanningBaseline
) -> None:
    request = goal(planning)
    request["scenario"]["standard"] = None
    (problem,) = problems(planner.post(GOAL_SEEK, json=request, headers=AUTH))
    assert problem.field == "scenario.standard" and problem.got == "nothing"


def test_the_model_s_own_baseline_is_served_after_a_load(
    forecaster: Forecaster, planning: PlanningBaseline, tmp_path: Path
) -> None:
    """Loaded through the registry path, the served snapshot carries the forecaster's baseline."""
    with TestClient(
        create_app(planner_settings(tmp_path), source=FakeSource(forecaster))
    ) as client:
        response = client.post(SCENARIOS, json=scenario(planning, horizon_weeks=2), headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.json()["model_version"] == "1"


def test_detail_total_sends_the_totals_only(
    planner: TestClient, planning: PlanningBaseline
) -> None:
    full = planner.post(SCENARIOS, json=scenario(planning), headers=AUTH)
    total = planner.post(f"{SCENARIOS}?detail=total", json=scenario(planning), headers=AUTH)
    assert total.status_code == 200, total.text
    ScenarioOut.model_validate(total.json())
    for part in ("weekly", "recovery"):
        expected = [r for r in full.json()[part] if r["service"] == "all"]
        assert expected and total.json()[part] == expected
    assert len(total.content) < len(full.content) / 2


def test_goal_seek_detail_total_cuts_its_result_to_the_totals(
    planner: TestClient, planning: PlanningBaseline
) -> None:
    response = planner.post(f"{GOAL_SEEK}?detail=total", json=goal(planning), headers=AUTH)
    assert response.status_code == 200, response.text
    rows = response.json()["result"]["weekly"]
    assert rows and {r["service"] for r in rows} == {"all"}


def test_an_unknown_detail_names_the_parameter_and_the_choices(
    planner: TestClient, planning: PlanningBaseline
) -> None:
    (problem,) = problems(
        planner.post(f"{SCENARIOS}?detail=everything", json=scenario(planning), headers=AUTH)
    )
    assert problem.field == "detail" and problem.got == "'everything'"
    assert "segments" in problem.expected and "total" in problem.expected
