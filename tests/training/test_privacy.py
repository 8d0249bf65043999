"""No application id, name or free text from the data reaches a log, MLflow or the served model.

A full run on data that carries ids, applicants' names and free-text notes: `delai validate`,
`delai train`, then the server loading the champion and answering (including requests that
carry an id), with every logger at DEBUG. The captured logs, the command output, the tracking
store, its artifact folder, the server's model copy and the quarantine file are searched for
every id, name and note of the input; the same search finds them in the input (a control).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from typer.testing import CliRunner

from forecasting.schema import APPLICATION_ID
from forecasting.settings import Settings
from serving.app import create_app
from training.cli import app

if TYPE_CHECKING:
    from conftest import TinyData

TOKEN = "privacy-" + "p" * 40
# Distinctive shapes: the simulator's ids (A + 9 digits), and names and notes made up here.
SECRETS = re.compile(rb"A\d{9}|Quixandre [A-Z][a-z]+|callback note #\d+")
SURNAMES = ("Beaulieu", "Okonkwo", "Tremblay", "Nakamura", "Fitzgerald")


def secrets_in(path: Path) -> set[str]:
    """Every id, name and note found in a file; Parquet is decoded first (its pages are
    compressed), anything else is searched as bytes (sqlite pages, pickles, JSON, images)."""
    if path.suffix == ".parquet":
        content = pl.read_parquet(path).cast(pl.String).write_csv().encode()
    else:
        content = path.read_bytes()
    return {match.decode() for match in SECRETS.findall(content)}


@pytest.fixture
def personal_data(tiny_data: TinyData, tracking: Path) -> Path:
    """The tiny operation plus each applicant's name and a free-text note."""
    frame = pl.read_parquet(tiny_data.applications)
    row = pl.int_range(pl.len())
    frame = frame.with_columns(
        pl.format("Quixandre {}", pl.lit(pl.Series(SURNAMES)).get(row % len(SURNAMES))).alias(
            "applicant_name"
        ),
        pl.format("callback note #{}", row).alias("notes"),
    )
    path = tracking / "input" / "applications.parquet"
    path.parent.mkdir()
    frame.write_parquet(path)
    return path


@pytest.mark.slow
def test_a_full_run_leaks_no_id_name_or_note(
    personal_data: Path, tracking: Path, caplog: pytest.LogCaptureFixture
) -> None:
    expected = secrets_in(personal_data)
    ids = set(pl.read_parquet(personal_data).get_column(APPLICATION_ID).to_list())
    assert ids <= expected and any(s.startswith("Quixandre") for s in expected)
    assert any(s.startswith("callback note") for s in expected)  # the detector sees them

    caplog.set_level(logging.DEBUG)
    runner = CliRunner()
    outputs = []
    for command in (
        ["validate", "--data", str(personal_data)],
        ["train", "--data", str(personal_data), "--origins", "2"],
    ):
        result = runner.invoke(app, command)
        assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
        outputs.append(result.output)

    settings = Settings(
        model_cache_dir=tracking / "cache", reload_interval_seconds=0, admin_token=SecretStr(TOKEN)
    )
    an_id = sorted(ids)[0]
    with TestClient(create_app(settings)) as client:
        assert client.get("/readyz").json()["source"] == "registry"
        segment = client.get("/v1/services").json()["segments"][0]
        query = {name: segment[name]["code"] for name in ("service", "channel", "region")}
        day = client.get("/readyz").json()["as_of"]
        assert client.get("/v1/estimate", params={**query, "submitted_on": day}).status_code == 200
        # Someone pastes their file number and name where they do not belong.
        client.get("/v1/estimate", params={**query, "submitted_on": an_id, "notes": an_id})
        refused = client.post(
            "/v1/estimates",
            json={"requests": [{**query, "submitted_on": day, APPLICATION_ID: an_id}]},
        )
        assert refused.status_code == 422 and an_id not in refused.text
        reload = client.post(
            "/admin/reload?force=true", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert reload.status_code == 200
        client.get("/metrics")
        client.get("/status")

    leaks: dict[str, set[str]] = {}
    # The test's own HTTP client logs the URLs it requests; the server's records are the rest.
    records = [r for r in caplog.records if r.name.split(".")[0] != "httpx"]
    assert len(records) > 100  # DEBUG logging was on, from MLflow and ours
    shown = logging.Formatter("%(name)s %(levelname)s %(message)s")  # with any traceback
    logged = "\n".join(shown.format(record) for record in records)
    for name, text in (("logs", logged), ("command output", "\n".join(outputs))):
        found = {m.decode() for m in SECRETS.findall(text.encode())} & expected
        if found:
            leaks[name] = found
    files = [p for p in tracking.rglob("*") if p.is_file() and p != personal_data]
    names = {p.name for p in files}
    assert {"mlflow.db", "forecaster.pkl", "processing-time.pkl"} <= names
    assert "applications.quarantine.csv" in names
    for path in files:
        found = secrets_in(path) & expected
        if found:
            leaks[str(path.relative_to(tracking))] = found
    assert leaks == {}
