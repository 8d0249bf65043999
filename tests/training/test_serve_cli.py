"""`delai serve`: one uvicorn worker without an access log, and the URLs to open."""

from __future__ import annotations

from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from typer.testing import CliRunner

from training.cli import app

runner = CliRunner()


def test_serve_prints_the_urls_and_runs_one_quiet_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda target, **options: calls.append((target, options)))
    result = runner.invoke(app, ["serve", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert "http://localhost:8123/status" in result.output
    assert "http://localhost:8123/docs" in result.output
    ((target, options),) = calls
    assert isinstance(target, FastAPI)
    assert options | {"log_config": None} == {
        "host": "127.0.0.1",
        "port": 8123,
        "workers": 1,
        "access_log": False,
        "log_config": None,
        "server_header": False,
    }
