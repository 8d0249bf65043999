"""Fixtures for the training door: a tiny simulated operation and throwaway MLflow stores.

Creating an MLflow sqlite store runs its schema migrations (seconds), so one empty store is
made per session and copied for each test that needs a fresh one.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from forecasting.schema import (
    APPLICATION_ID,
    CLOSED_AT,
    COMPLETED_AT,
    DATE_COLUMNS,
    SUBMITTED_AT,
)
from forecasting.simulate import simulate

# Set when pytest loads this file, before any test imports MLflow: tests never phone home.
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"

# The simulator's identifiers; the privacy test relies on every id having this shape.
ID_SHAPE = re.compile(rb"A\d{9}")


@dataclass(frozen=True)
class TinyData:
    applications: Path
    capacity: Path
    ids: frozenset[str]
    quarantined: int


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> TinyData:
    """15 months of a 3 %-scale operation, plus three rows the contract refuses."""
    result = simulate(start=date(2024, 1, 1), end=date(2025, 3, 31), seed=3, scale=0.03)
    # Every fifth file still open three weeks before the end was withdrawn a week after
    # submission: the simulator has no withdrawals, and `closed_at` must go all the way through.
    waiting = pl.col(COMPLETED_AT).is_null() & (pl.col(SUBMITTED_AT) < date(2025, 3, 10))
    withdrawn = waiting & (pl.int_range(pl.len()) % 5 == 0)
    simulated = result.applications.with_columns(
        pl.when(withdrawn).then(pl.col(SUBMITTED_AT) + timedelta(days=7)).alias(CLOSED_AT)
    )
    raw = simulated.with_columns(pl.col(c).cast(pl.String) for c in DATE_COLUMNS)
    first = raw.head(1)
    refused = pl.concat(
        [
            first,  # a second row with the first row's id: both are quarantined
            raw.slice(1, 1).with_columns(pl.lit("A999999999").alias(APPLICATION_ID)),
        ]
    ).with_columns(
        pl.when(pl.col(APPLICATION_ID) == "A999999999")
        .then(pl.lit("not-a-date"))
        .otherwise(pl.col(SUBMITTED_AT))
        .alias(SUBMITTED_AT)
    )
    applications = pl.concat([raw, refused])
    folder = tmp_path_factory.mktemp("tiny")
    applications.write_parquet(folder / "applications.parquet")
    result.capacity.write_parquet(folder / "capacity.parquet")
    ids = frozenset(applications.get_column(APPLICATION_ID).to_list())
    assert all(ID_SHAPE.fullmatch(i.encode()) for i in ids)
    return TinyData(folder / "applications.parquet", folder / "capacity.parquet", ids, 3)


def ids_in(path: Path) -> set[str]:
    """Every id-shaped token in a file; Parquet is decoded first (its pages are compressed)."""
    if path.suffix == ".parquet":
        content = pl.read_parquet(path).cast(pl.String).write_csv().encode()
    else:
        content = path.read_bytes()
    return {match.decode() for match in ID_SHAPE.findall(content)}


@pytest.fixture(scope="session")
def find_ids() -> Callable[[Path], set[str]]:
    """`ids_in`, for tests: the simulator's ids found in a file."""
    return ids_in


@pytest.fixture(scope="session")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mlflow.tracking import MlflowClient

    path = tmp_path_factory.mktemp("empty-store") / "mlflow.db"
    MlflowClient(f"sqlite:///{path}").search_experiments()
    return path


def use_store(folder: Path, empty_store: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make `folder` the working directory with its own tracking store and artifact root."""
    shutil.copy(empty_store, folder / "mlflow.db")
    monkeypatch.chdir(folder)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{folder}/mlflow.db")
    monkeypatch.setenv("DELAI_ARTIFACT_ROOT", str(folder / "mlartifacts"))
    return folder


@pytest.fixture
def tracking(tmp_path: Path, empty_store: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty tracking store in `tmp_path`, which is also the working directory."""
    return use_store(tmp_path, empty_store, monkeypatch)


@pytest.fixture(scope="module")
def module_tracking(tmp_path_factory: pytest.TempPathFactory, empty_store: Path) -> Iterator[Path]:
    """Like `tracking`, shared by a module's tests so one training serves several checks."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield use_store(tmp_path_factory.mktemp("store"), empty_store, monkeypatch)
