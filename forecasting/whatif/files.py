"""Scenario and goal-seek documents read from JSON or YAML files, refused with named errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from forecasting.whatif.scenario import GoalSeekRequest, Scenario, ScenarioError, explain

_Model = TypeVar("_Model", bound=BaseModel)
SUFFIXES = (".json", ".yaml", ".yml")


def read_scenario(path: Path, *, field: str = "--scenario") -> Scenario:
    return _read(path, Scenario, field)


def read_goal_seek(path: Path, *, field: str = "--goal-seek") -> GoalSeekRequest:
    return _read(path, GoalSeekRequest, field)


def _read(path: Path, model: type[_Model], field: str) -> _Model:
    if path.suffix.lower() not in SUFFIXES:
        raise ScenarioError(f"`{field}` must be a .json, .yaml or .yml file, got '{path.name}'")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ScenarioError(f"`{field}` must be a readable file, got '{path}' ({reason})") from None
    document = _parse(text, path, field)
    if not isinstance(document, dict):
        raise ScenarioError(
            f"`{field}` must hold one object (name: value lines), got {type(document).__name__}"
        )
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise ScenarioError(f"{path.name}: {explain(exc)}") from None


def _parse(text: str, path: Path, field: str) -> Any:
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise ScenarioError(
            f"`{field}` must be valid JSON, got an error at line {exc.lineno}: {exc.msg}"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ScenarioError(f"`{field}` must be valid YAML, got an error{where}") from None
