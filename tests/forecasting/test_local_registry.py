"""Reading a model without MLflow: what it declines (MLflow's to answer) and the pickle's checks.

That it reads a store MLflow wrote as MLflow does is checked in tests/training/test_train.py.
"""

from __future__ import annotations

import logging
import pickle
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from forecasting import local_registry
from forecasting.asof import as_known_at
from forecasting.errors import DataContractError
from forecasting.forecaster import Forecaster
from forecasting.local_registry import load_forecaster, read_payload, write_payload

CHAMPION = "models:/processing-time@champion"


@pytest.fixture(scope="module")
def forecaster(small_world) -> Forecaster:
    applications, end = small_world
    as_of = end - timedelta(days=30)
    known = as_known_at(applications.lazy(), as_of).collect()
    return Forecaster(candidates=("kaplan_meier",)).fit(known, as_of=as_of)


@pytest.mark.parametrize(
    "tracking_uri",
    [
        "http://mlflow.internal:5000",
        "postgresql://delai@db:5432/mlflow",
        "sqlite://",
        "sqlite:///:memory:",
        "sqlite:///no-such-store.db",
    ],
)
def test_stores_other_than_an_embedded_file_are_left_to_mlflow(
    tracking_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_forecaster(CHAMPION, tracking_uri) is None


def test_uris_other_than_a_registered_version_are_left_to_mlflow(tmp_path: Path) -> None:
    store = _store(tmp_path)
    for uri in ("runs:/abc/model", str(tmp_path), "models:/processing-time"):
        assert load_forecaster(uri, f"sqlite:///{store}") is None


def test_a_store_without_the_expected_tables_is_left_to_mlflow(tmp_path: Path) -> None:
    store = tmp_path / "other.db"
    with sqlite3.connect(store) as connection:
        connection.execute("CREATE TABLE unrelated (x INTEGER)")
    assert load_forecaster(CHAMPION, f"sqlite:///{store}") is None
    assert [p.name for p in tmp_path.iterdir()] == ["other.db"]


def test_a_relative_store_is_found_from_the_working_directory(
    forecaster: Forecaster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _store(tmp_path, forecaster=forecaster)
    monkeypatch.chdir(tmp_path)
    loaded = load_forecaster(CHAMPION, "sqlite:///mlflow.db")
    assert loaded is not None
    answered, info = loaded
    assert (info.model_version, info.run_id, info.as_of) == ("3", "run-a", forecaster.as_of_)
    assert answered.choice_ == forecaster.choice_
    # Options in the URI are for MLflow's engine: its job, not this reader's.
    assert load_forecaster(CHAMPION, "sqlite:///mlflow.db?timeout=5") is None


def test_an_alias_no_version_holds_or_a_version_not_ready_is_left_to_mlflow(
    forecaster: Forecaster, tmp_path: Path
) -> None:
    store = _store(tmp_path, forecaster=forecaster)
    assert load_forecaster("models:/processing-time@challenger", f"sqlite:///{store}") is None
    assert load_forecaster("models:/processing-time/4", f"sqlite:///{store}") is None
    with sqlite3.connect(store) as connection:
        connection.execute("UPDATE model_versions SET status = 'PENDING_REGISTRATION'")
    assert load_forecaster(CHAMPION, f"sqlite:///{store}") is None


def test_a_pickle_of_something_else_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "forecaster.pkl"
    path.write_bytes(pickle.dumps({"forecaster": "not one"}))
    with pytest.raises(DataContractError, match="holds no Forecaster"):
        read_payload(path)
    path.write_bytes(b"\x80\x05cut short")
    with pytest.raises(DataContractError, match="an unreadable file"):
        read_payload(path)


def test_a_model_trained_with_other_code_says_so(
    forecaster: Forecaster, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "forecaster.pkl"
    write_payload(path, forecaster, run_id="run-a")
    with caplog.at_level(logging.WARNING, logger=local_registry.__name__):
        local_registry.warn_if_code_changed(read_payload(path))
    assert not caplog.records
    payload = read_payload(path) | {"code": "0000000000000000"}
    with caplog.at_level(logging.WARNING, logger=local_registry.__name__):
        local_registry.warn_if_code_changed(payload)
    assert "trained with forecasting code 0000000000000000" in caplog.text


def test_answering_imports_none_of_the_fitting_libraries(
    forecaster: Forecaster, tmp_path: Path
) -> None:
    """The start of `delai predict`: MLflow, scikit-learn, statsmodels and scipy take seconds
    to import and a Kaplan-Meier or queue model answers without them."""
    store = _store(tmp_path, forecaster=forecaster)
    script = (
        "import sys\n"
        "from datetime import date\n"
        "import polars as pl\n"
        "from forecasting.local_registry import load_forecaster\n"
        f"loaded, _ = load_forecaster({CHAMPION!r}, {f'sqlite:///{store}'!r})\n"
        "key = loaded.segments[0]\n"
        "requests = pl.DataFrame({'service': [key[0]], 'channel': [key[1]], "
        "'region': [key[2]], 'submitted_on': [date.today()]})\n"
        "assert loaded.estimate(requests).height == 1\n"
        "heavy = {'mlflow', 'sklearn', 'statsmodels', 'scipy', 'pandas'}\n"
        "print(sorted(heavy & {name.split('.')[0] for name in sys.modules}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def _store(folder: Path, *, forecaster: Forecaster | None = None) -> Path:
    """A store shaped like the two tables of MLflow's that are read: version 3 is champion."""
    model = folder / "models" / "m-1" / "artifacts"
    if forecaster is not None:
        (model / "artifacts").mkdir(parents=True)
        write_payload(model / local_registry.PAYLOAD_PATH, forecaster, run_id="run-a")
    store = folder / "mlflow.db"
    with sqlite3.connect(store) as connection:
        connection.execute(
            "CREATE TABLE registered_model_aliases (alias TEXT, version INTEGER, name TEXT)"
        )
        connection.execute(
            "CREATE TABLE model_versions (name TEXT, version INTEGER, storage_location TEXT, "
            "status TEXT)"
        )
        connection.execute(
            "INSERT INTO registered_model_aliases VALUES ('champion', 3, 'processing-time')"
        )
        connection.execute(
            "INSERT INTO model_versions VALUES ('processing-time', 3, ?, 'READY')",
            (model.as_uri(),),
        )
    return store
