"""Scenario and goal-seek documents: what is accepted, and errors that name the field."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from forecasting.whatif import (
    MAX_CHANGES,
    MAX_HORIZON_WEEKS,
    GoalSeekRequest,
    Scenario,
    ScenarioError,
    explain,
)
from forecasting.whatif.files import read_goal_seek, read_scenario

EXAMPLES = Path(__file__).resolve().parents[2] / "experiments" / "scenarios"
BASE: dict[str, Any] = {"name": "test", "start": "2026-03-02", "horizon_weeks": 10}


def _with(**changes: Any) -> dict[str, Any]:
    return BASE | changes


def _staffing(**fields: Any) -> dict[str, Any]:
    return {"kind": "staffing", "start": "2026-03-09", **fields}


def test_the_examples_are_valid_and_shift_as_a_whole() -> None:
    surge = read_scenario(EXAMPLES / "passport-surge.yaml")
    assert [c.kind for c in surge.changes] == ["demand", "channel_shift", "outage"]
    moved = surge.shifted(date(2027, 5, 3))  # four weeks later
    assert moved.changes[0].start == date(2027, 5, 31)
    assert moved.changes[2].end == date(2027, 8, 13)
    assert read_scenario(EXAMPLES / "add-staff-march.yaml").changes[0].kind == "staffing"
    seek = read_goal_seek(EXAMPLES / "goal-seek-september.yaml").shifted(date(2027, 5, 3))
    assert (seek.from_date, seek.target_date) == (date(2027, 5, 31), date(2027, 10, 4))


@pytest.mark.parametrize(
    ("document", "field", "got"),
    [
        (_with(horizon_weeks=MAX_HORIZON_WEEKS + 1), "horizon_weeks", "105"),
        (_with(horizon_weeks=0), "horizon_weeks", "0"),
        (_with(name="x" * 101), "name", "'xxx"),
        (_with(changes=[_staffing(staff=3)] * (MAX_CHANGES + 1)), "changes", "21"),
        (_with(changes=[_staffing(staff=4, percent=10)]), "changes[0].percent", "staff 4"),
        (_with(changes=[_staffing()]), "changes[0].staff", "neither"),
        (
            _with(changes=[_staffing(staff=4, end="2026-03-01")]),
            "changes[0].end",
            "2026-03-01",
        ),
        (
            _with(changes=[{"kind": "outage", "start": "2026-03-09", "capacity_percent": 0}]),
            "changes[0].end",
            "nothing",
        ),
        (
            _with(changes=[{"kind": "demand", "start": "2026-01-05", "percent": 60}]),
            "changes[0].start",
            "2026-01-05",
        ),
        (
            _with(changes=[_staffing(staff=2, end="2027-01-04")]),
            "changes[0].end",
            "2027-01-04",
        ),
        (
            _with(changes=[{"kind": "demand", "start": "2026-03-09", "percent": -100}]),
            "changes[0].percent",
            "-100",
        ),
        (
            _with(changes=[{"kind": "layoffs", "start": "2026-03-09"}]),
            "changes[0].kind",
            "'layoffs'",
        ),
        (
            _with(
                changes=[
                    {
                        "kind": "channel_shift",
                        "start": "2026-03-09",
                        "from_channel": "mail",
                        "to_channel": "mail",
                        "share": 0.5,
                    }
                ]
            ),
            "changes[0].to_channel",
            "'mail'",
        ),
        (
            _with(
                changes=[
                    {
                        "kind": "channel_shift",
                        "start": "2026-03-09",
                        "from_channel": "mail",
                        "to_channel": "online",
                        "share": 0.5,
                        "segments": [{"service": "p", "channel": "mail"}],
                    }
                ]
            ),
            "changes[0].segments[0].channel",
            "'mail'",
        ),
        (_with(standard={"business_days": 20, "share": 0.3}), "standard.share", "0.3"),
        (_with(surprise=1), "surprise", "a value"),
    ],
)
def test_errors_name_the_field_what_was_expected_and_what_was_got(
    document: dict[str, Any], field: str, got: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        Scenario.model_validate(document)
    message = explain(caught.value)
    assert message.startswith(f"`{field}` must be "), message
    assert f", got {got}" in message, message


def test_goal_seek_needs_a_standard_and_dates_in_order() -> None:
    scenario = _with(standard={"business_days": 20, "share": 0.9})
    ok = GoalSeekRequest.model_validate(
        {"scenario": scenario, "from_date": "2026-03-09", "target_date": "2026-04-06"}
    )
    assert ok.max_staff == 500
    cases = [
        ({"scenario": BASE, "from_date": "2026-03-09", "target_date": "2026-04-06"},
         "`scenario.standard` must be given"),
        ({"scenario": scenario, "from_date": "2026-03-09", "target_date": "2026-03-02"},
         "`target_date` must be a date from `from_date` 2026-03-09"),
        ({"scenario": scenario, "from_date": "2026-02-09", "target_date": "2026-04-06"},
         "`from_date` must be a date from the scenario's start 2026-03-02"),
    ]  # fmt: skip
    for document, expected in cases:
        with pytest.raises(ValidationError) as caught:
            GoalSeekRequest.model_validate(document)
        assert explain(caught.value).startswith(expected), explain(caught.value)


def test_files_are_refused_with_the_option_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_with(horizon_weeks=200)))
    with pytest.raises(ScenarioError, match=r"bad\.json: `horizon_weeks` must be less than"):
        read_scenario(bad)
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    with pytest.raises(ScenarioError, match=r"`--scenario` must be valid YAML, got an error at"):
        read_scenario(broken)
    with pytest.raises(ScenarioError, match=r"`--scenario` must be a \.json, \.yaml or \.yml"):
        read_scenario(tmp_path / "plan.txt")
    with pytest.raises(ScenarioError, match=r"`--goal-seek` must be a readable file"):
        read_goal_seek(tmp_path / "missing.yaml")
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n")
    with pytest.raises(ScenarioError, match=r"must hold one object"):
        read_scenario(listed)
