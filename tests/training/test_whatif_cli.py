"""`delai whatif`: a scenario and a goal seek against the champion, outputs, audit, errors."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from forecasting import registry
from forecasting import tracking as mlflow_runs
from forecasting.capacity import validate_capacity
from forecasting.errors import DelaiError
from forecasting.forecaster import Forecaster
from forecasting.settings import Settings
from forecasting.tables import scan_table
from training import whatif_runs
from training.cli import app
from training.data import load_data
from training.train import input_example

if TYPE_CHECKING:
    from conftest import TinyData

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[2] / "experiments" / "scenarios"


@dataclass(frozen=True)
class Champion:
    folder: Path
    as_of: date

    @property
    def start(self) -> str:
        return (self.as_of + timedelta(days=3)).isoformat()


@pytest.fixture(scope="module")
def champion(module_tracking: Path, tiny_data: TinyData) -> Champion:
    """A Forecaster fitted on the tiny operation, registered and given the champion alias."""
    settings = Settings()
    loaded = load_data(tiny_data.applications, capacity=None, as_of=None, settings=settings)
    capacity = validate_capacity(scan_table(tiny_data.capacity)).capacity
    forecaster = Forecaster(candidates=("queue_projection",)).fit(
        loaded.applications, as_of=loaded.as_of, capacity=capacity
    )
    assert forecaster.planning_ is not None and forecaster.planning_.has_staff
    mlflow_runs.configure_tracking(settings)
    with mlflow_runs.tracked_run("train"):
        info = registry.log_forecaster(
            forecaster,
            name="forecaster",
            input_example=input_example(forecaster),
            registered_model_name=settings.model_name,
        )
    MlflowClient().set_registered_model_alias(
        settings.model_name, registry.CHAMPION, str(info.registered_model_version)
    )
    return Champion(module_tracking, loaded.as_of)


def test_a_scenario_prints_writes_and_logs(champion: Champion, tmp_path: Path) -> None:
    out = tmp_path / "whatif"
    args = ["whatif", "--scenario", str(EXAMPLES / "add-staff-march.yaml"), "--start",
            champion.start, "--out", str(out), "--paths", "20", "--log"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    assert "40 more passport staff from March" in result.output
    assert "files open before the first change" in result.output
    weekly = pl.read_csv(out / "whatif-weekly.csv")
    assert weekly.height > 0 and {"baseline", "scenario"} == set(weekly["variant"])
    assert (out / "whatif.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert '"model_version": "1"' in (out / "whatif.json").read_text()
    experiment = MlflowClient().get_experiment_by_name(whatif_runs.WHATIF_EXPERIMENT)
    assert experiment is not None
    (run,) = MlflowClient().search_runs([experiment.experiment_id])
    assert run.data.params["scenario"] == "40 more passport staff from March"
    assert run.data.params["model_version"] == "1"
    logged = {f.path for f in MlflowClient().list_artifacts(run.info.run_id, "whatif")}
    assert {"whatif/weekly.csv", "whatif/chart.png", "whatif/scenario.json"} <= logged


def test_a_goal_seek_says_how_many_staff(champion: Champion, tmp_path: Path) -> None:
    args = ["whatif", "--goal-seek", str(EXAMPLES / "goal-seek-september.yaml"), "--start",
            champion.start, "--out", str(tmp_path), "--paths", "10"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    assert "goal seek:" in result.output
    assert "more staff from" in result.output or "not reachable within" in result.output
    assert (tmp_path / "whatif.json").exists()


def test_bad_files_fail_in_one_line_with_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "too-long.yaml"
    text = (EXAMPLES / "add-staff-march.yaml").read_text()
    bad.write_text(text.replace("horizon_weeks: 52", "horizon_weeks: 105"))
    failed = subprocess.run(
        [sys.executable, "-c", "from training.cli import main; main()", "whatif", "--scenario",
         str(bad)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert failed.returncode == 2
    assert "`horizon_weeks` must be less than or equal to 104, got 105" in failed.stderr
    assert "Traceback" not in failed.stderr + failed.stdout
    neither = runner.invoke(app, ["whatif"])
    assert isinstance(neither.exception, DelaiError)
    assert "`--scenario` or `--goal-seek` must be given (one of them), got neither" in str(
        neither.exception
    )
