"""Fixtures shared by every test package."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

# The published logs live beside the repository, never inside it.
_DEFAULT_SHARED_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real-data folder (DELAI_SHARED_DATA overrides ../shared/data); skips when absent."""
    root = Path(os.environ.get("DELAI_SHARED_DATA", _DEFAULT_SHARED_DATA)).resolve()
    if not root.is_dir():
        pytest.skip(f"../shared/data is absent: {root} is not a folder (set DELAI_SHARED_DATA)")
    return root


@pytest.fixture(scope="session")
def small_world() -> tuple[object, object]:
    """A small simulated operation (~15 months, a few % of full scale), validated once per run.

    Returns (applications, as_of): validated applications and the last simulated day.
    """
    from datetime import date

    from forecasting.contract import validate_applications
    from forecasting.simulate import simulate

    end = date(2025, 3, 31)
    simulated = simulate(start=date(2024, 1, 1), end=end, seed=11, scale=0.05, regions=("ON", "QC"))
    validated = validate_applications(simulated.applications.lazy(), as_of=end)
    return validated.applications, end


# --- measured figures ----------------------------------------------------------------------------
_FIGURES = pytest.StashKey[list[str]]()


@pytest.fixture
def report_figure(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Record a measured figure (fuzz counts, load p99, RSS growth); printed after the run, so
    `make test-all` shows what the reliability section of the README quotes."""
    lines = request.config.stash.setdefault(_FIGURES, [])
    return lambda line: lines.append(f"{request.node.name}: {line}")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = terminalreporter.config.stash.get(_FIGURES, [])
    if lines:
        terminalreporter.section("measured figures")
        for line in lines:
            terminalreporter.write_line(line)
