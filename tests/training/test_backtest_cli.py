"""`delai backtest`: the summary table, the long frame written and logged, clear option errors."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from forecasting.errors import DelaiError
from training.cli import app

if TYPE_CHECKING:
    from conftest import TinyData

runner = CliRunner()


def test_backtest_prints_the_summary_and_logs_the_run(tracking: Path, tiny_data: TinyData) -> None:
    out = tracking / "long.csv"
    args = ["backtest", "--data", str(tiny_data.applications), "--start", "2024-11-04"]
    result = runner.invoke(app, [*args, "--end", "2024-11-11", "--step", "1w", "--out", str(out)])
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    long = pl.read_csv(out, try_parse_dates=True)
    assert sorted(long.get_column("as_of").unique().cast(pl.String)) == ["2024-11-04", "2024-11-11"]
    assert set(long.get_column("model")) == {
        "published_percentile",
        "kaplan_meier",
        "queue_projection",
    }
    assert "published_percentile" in result.output and "open files" in result.output
    client = MlflowClient()
    (run,) = client.search_runs([client.get_experiment_by_name("delai").experiment_id])
    assert run.data.params["origins"] == "2"
    assert run.data.metrics["published_percentile.open.mae_ratio"] == pytest.approx(1.0)
    logged = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert "plots/calibration.png" in logged


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--step", "weekly"], "`--step` must be a positive number of days or weeks"),
        (["--end", "2024-10-01"], "`--end` must be on or after `--start`"),
        (["--out", "long.json"], "`--out` must end in .csv or .parquet"),
    ],
)
def test_bad_options_are_refused_before_any_work(
    tracking: Path, tiny_data: TinyData, options: list[str], message: str
) -> None:
    base = {"--start": "2024-11-04", "--end": "2024-11-11"}
    for flag, value in zip(options[::2], options[1::2], strict=True):
        base[flag] = value
    args = ["backtest", "--data", str(tiny_data.applications)]
    result = runner.invoke(app, [*args, *(x for kv in base.items() for x in kv)])
    assert isinstance(result.exception, DelaiError)
    assert message in str(result.exception)
