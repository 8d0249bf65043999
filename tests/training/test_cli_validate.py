"""`delai validate`: the report, the quarantine file, and one-line errors with exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from training.cli import app

runner = CliRunner()

CSV = """application_id,service,channel,region,submitted_at,completed_at
APP-0001,passport_adult,online,ON,2026-01-05,2026-01-19
APP-0002,passport_adult,online,ON,2026-01-06,
APP-0003,passport_adult,online,ON,not-a-date,
APP-0004,passport_adult,mail,QC,2026-01-07,2026-01-02
APP-0004,passport_adult,mail,QC,2026-01-07,2026-01-30
"""


def test_validate_prints_counts_and_writes_quarantine_next_to_data(tmp_path: Path) -> None:
    data = tmp_path / "applications.csv"
    data.write_text(CSV)
    result = runner.invoke(app, ["validate", "--data", str(data), "--as-of", "2026-02-01"])
    assert result.exit_code == 0, result.output
    assert "accepted" in result.output and "quarantined" in result.output
    assert "reconciles" in result.output and "DOES NOT" not in result.output
    quarantine = pl.read_csv(tmp_path / "applications.quarantine.csv")
    assert quarantine.height == 3
    assert sorted(quarantine.get_column("reason").to_list()) == [
        "duplicate_application_id",
        "duplicate_application_id",
        "unparseable_submitted_at",
    ]
    assert "APP-0004" not in (tmp_path / "applications.quarantine.csv").read_text()


def _delai(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from training.cli import main; main()", *args],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: p / "missing.csv", "must be an existing file or folder"),
        (lambda p: _touch(p / "data.json"), "unknown format '.json'"),
        (lambda p: _write(p / "data.csv", "application_id,service\nx,y\n"), "`channel` must be"),
    ],
)
def test_bad_input_is_a_one_line_error_with_exit_code_2(tmp_path: Path, setup, message) -> None:
    path = setup(tmp_path)
    done = _delai("validate", "--data", str(path))
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_bad_as_of_is_a_clear_error(tmp_path: Path) -> None:
    data = _write(tmp_path / "data.csv", CSV)
    done = _delai("validate", "--data", str(data), "--as-of", "yesterday")
    assert done.returncode == 2
    assert "`--as-of` must be an ISO date" in done.stderr


def _touch(path: Path) -> Path:
    path.write_text("{}")
    return path


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
