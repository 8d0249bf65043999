"""Fixtures shared by every test package."""

from __future__ import annotations

import os
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
