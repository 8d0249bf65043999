"""`delai whatif`: a scenario or a goal seek against the registered model's planning baseline.

The file is read and checked (`read_request`) before MLflow and matplotlib are even imported, so
a typo costs neither a model load nor those imports. The result is written as CSV tables, JSON
and a PNG chart, and optionally logged to MLflow for audit.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from forecasting.errors import DelaiError
from forecasting.settings import Settings
from forecasting.whatif.files import read_goal_seek, read_scenario
from forecasting.whatif.scenario import GoalSeekRequest, Scenario

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from forecasting.local_registry import ForecasterInfo
    from forecasting.whatif.result import GoalSeekResult, ScenarioResult

WEEKLY_FILE = "whatif-weekly.csv"
RECOVERY_FILE = "whatif-recovery.csv"
CHART_FILE = "whatif.png"
ANSWER_FILE = "whatif.json"


@dataclass(frozen=True)
class WhatIfOutcome:
    result: ScenarioResult | None
    goal_seek: GoalSeekResult | None
    model: ForecasterInfo
    written: dict[str, Path]
    run_id: str | None


def read_request(
    scenario_file: Path | None, goal_seek_file: Path | None, start: date | None
) -> Scenario | GoalSeekRequest:
    """The scenario or goal seek of the one file given, moved to `start` when given."""
    if (scenario_file is None) == (goal_seek_file is None):
        given = "both" if scenario_file else "neither"
        raise DelaiError(f"`--scenario` or `--goal-seek` must be given (one of them), got {given}")
    if scenario_file is not None:
        scenario = read_scenario(scenario_file)
        return scenario.shifted(start) if start else scenario
    assert goal_seek_file is not None
    request = read_goal_seek(goal_seek_file)
    return request.shifted(start) if start else request


def run_whatif(
    asked: Scenario | GoalSeekRequest,
    *,
    settings: Settings,
    model_uri: str | None = None,
    n_paths: int = 200,
    out: Path | None = None,
    log: bool = False,
) -> WhatIfOutcome:
    """Load the model, run, write and log; every failure a `DelaiError`."""
    from forecasting import local_registry, registry, tracking
    from forecasting.whatif import goal_seek, run_scenario
    from training import whatif_runs

    scenario = asked if isinstance(asked, Scenario) else None
    request = asked if isinstance(asked, GoalSeekRequest) else None
    result: ScenarioResult | None = None
    tracking.configure_tracking(settings, experiment=None)
    uri = model_uri or local_registry.champion_uri(settings.model_name)
    forecaster, info = registry.load_forecaster(uri)
    baseline = getattr(forecaster, "planning_", None)
    if baseline is None:
        raise DelaiError(
            f"`--model-uri` must name a model with a planning baseline, got '{uri}' (version "
            f"{info.model_version}, trained without one); train again with `delai train`"
        )
    answer: GoalSeekResult | None = None
    if request is not None:
        answer = goal_seek(baseline, request, n_paths=n_paths)
        result = answer.result
    elif scenario is not None:
        result = run_scenario(baseline, scenario, n_paths=n_paths)
    if result is not None:
        result = _with_version(result, info.model_version)
    figure = _chart(result) if result is not None else None
    written = _write(out, result, answer, figure) if out else {}
    run_id = None
    if log and result is not None and figure is not None:
        tracking.configure_tracking(settings, whatif_runs.WHATIF_EXPERIMENT)
        run_id = whatif_runs.log_scenario_run(
            result, figure=figure, model_uri=uri, model_version=info.model_version, goal_seek=answer
        )
    return WhatIfOutcome(result, answer, info, written, run_id)


def _with_version(result: ScenarioResult, version: str) -> ScenarioResult:
    return dataclasses.replace(result, model_version=version)


def _chart(result: ScenarioResult) -> Figure:
    from training.plots import whatif_chart

    starts = [change.start for change in result.scenario.changes]
    return whatif_chart(result.weekly, title=result.scenario.name, change=min(starts, default=None))


def _write(
    out: Path,
    result: ScenarioResult | None,
    answer: GoalSeekResult | None,
    figure: Figure | None,
) -> dict[str, Path]:
    try:
        out.mkdir(parents=True, exist_ok=True)
        written: dict[str, Path] = {}
        if result is not None and figure is not None:
            written["weekly"] = out / WEEKLY_FILE
            result.weekly.write_csv(written["weekly"])
            written["recovery"] = out / RECOVERY_FILE
            result.recovery.write_csv(written["recovery"])
            written["chart"] = out / CHART_FILE
            figure.savefig(written["chart"], dpi=120)
        summary = answer.to_dict() if answer else result.to_dict() if result else {}
        summary.pop("weekly", None)
        if isinstance(summary.get("result"), dict):
            summary["result"].pop("weekly", None)
        written["answer"] = out / ANSWER_FILE
        written["answer"].write_text(json.dumps(summary, indent=2) + "\n")
    except OSError as exc:
        raise DelaiError(
            f"`--out` must be a folder that can be written, got '{out}' ({exc.strerror})"
        ) from None
    return written
