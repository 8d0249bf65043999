"""Helpers of the planner's tests (API, page, browser): the token, an app, and filled-in forms.

A module of its own because test modules must not import conftest; the baseline is the one the
real Forecaster built while training on the small world (the session's `forecaster` fixture).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from pydantic import SecretStr

from forecasting.forecaster import Forecaster
from forecasting.settings import Settings
from forecasting.whatif import PlanningBaseline
from serving.app import create_app
from serving.lookup import EstimateTable

TOKEN = "planner-" + "p" * 40
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def baseline_of(forecaster: Forecaster) -> PlanningBaseline:
    baseline = forecaster.planning_
    assert baseline is not None, "the fitted Forecaster carries no planning baseline"
    return baseline


def planner_settings(folder: Path, **overrides: Any) -> Settings:
    values = {"planner_token": SecretStr(TOKEN), **overrides}
    return Settings(model_cache_dir=folder, reload_interval_seconds=0, **values)


def planner_app(
    table: EstimateTable, planning: PlanningBaseline | None, folder: Path, **overrides: Any
) -> FastAPI:
    return create_app(planner_settings(folder, **overrides), table=table, planning=planning)


def page_form(planning: PlanningBaseline, **fields: str) -> dict[str, str]:
    """A valid planner form: 12 weeks, capacity +50 % from week 2, a 20-day 80 % standard."""
    start = planning.as_of + timedelta(days=1)
    return {
        "token": TOKEN,
        "action": "run",
        "service": "all",
        "channel": "all",
        "region": "all",
        "horizon": "12",
        "standard_days": "20",
        "standard_share": "80",
        "staff_change": "50",
        "staff_unit": "percent",
        "staff_from": (start + timedelta(weeks=1)).isoformat(),
        "staff_ramp": "2",
        **fields,
    }


def goal_form(planning: PlanningBaseline, **fields: str) -> dict[str, str]:
    """The same form asking for the least capacity that meets the standard from week 10."""
    start = planning.as_of + timedelta(days=1)
    asked = {
        "action": "seek",
        "staff_change": "",
        "goal_from": (start + timedelta(weeks=1)).isoformat(),
        "goal_target": (start + timedelta(weeks=9)).isoformat(),
    }
    return page_form(planning, **{**asked, **fields})
