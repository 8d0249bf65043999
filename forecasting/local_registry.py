"""A registered model read without MLflow: the embedded SQLite store, the local artifact folder.

`delai predict` is a batch command, started once per file. Importing MLflow and opening its
store took longer than answering 100,000 requests (`make bench-predict` prints the floor), so
when the tracking URI is the embedded SQLite store, the two rows that say which files a version
is (its alias, its storage location) are read straight from MLflow's tables, read-only, and the
forecaster pickle from its folder. Anything else (a tracking server, another database, a missing
row or file, a table a later MLflow renamed) gives None, and the caller goes through MLflow
(`registry`), which also words every error. The pickle's format lives here, so both read alike.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from forecasting.errors import DataContractError
from forecasting.forecaster import Forecaster

logger = logging.getLogger(__name__)

CHAMPION = "champion"
FORECASTER_ARTIFACT = "forecaster"
# Where `registry.log_forecaster` puts the pickle inside a model's folder.
PAYLOAD_PATH = Path("artifacts") / f"{FORECASTER_ARTIFACT}.pkl"
MODEL_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/]+)|/(?P<version>\d+))$")
_SQLITE = "sqlite:///"


@dataclass(frozen=True)
class ForecasterInfo:
    """Where a loaded Forecaster came from."""

    model_uri: str
    model_version: str
    as_of: date
    run_id: str


def champion_uri(model_name: str, alias: str = CHAMPION) -> str:
    return f"models:/{model_name}@{alias}"


def load_forecaster(model_uri: str, tracking_uri: str) -> tuple[Forecaster, ForecasterInfo] | None:
    """The Forecaster a `models:/` URI names in an embedded SQLite store, or None when this
    store or URI needs MLflow (the caller then asks `registry.load_forecaster`)."""
    found = _find(model_uri, tracking_uri)
    if found is None:
        return None
    version, folder = found
    payload = read_payload(folder / PAYLOAD_PATH)
    warn_if_code_changed(payload)
    forecaster: Forecaster = payload["forecaster"]
    info = ForecasterInfo(model_uri, version, forecaster.as_of_, str(payload["run_id"]))
    return forecaster, info


def _find(model_uri: str, tracking_uri: str) -> tuple[str, Path] | None:
    """The version a URI names and its local folder, when the store alone can say."""
    match = MODEL_URI.match(model_uri)
    database = _database(tracking_uri)
    if match is None or database is None:
        return None
    try:
        # Read-only and never created: a store that is not there is MLflow's to report.
        with closing(sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)) as store:
            version = match["version"] or _aliased(store, match["name"], match["alias"])
            if version is None:
                return None
            rows = store.execute(
                "SELECT storage_location, status FROM model_versions "
                "WHERE name = ? AND version = ?",
                (match["name"], int(version)),
            ).fetchall()
    except sqlite3.Error as exc:
        logger.debug("reading %s directly failed (%s); asking MLflow", database.name, exc)
        return None
    if len(rows) != 1 or rows[0][1] != "READY":
        return None
    folder = _local_folder(rows[0][0])
    if folder is None or not (folder / PAYLOAD_PATH).is_file():
        return None
    return str(version), folder


def _aliased(store: sqlite3.Connection, name: str, alias: str) -> str | None:
    rows = store.execute(
        "SELECT version FROM registered_model_aliases WHERE name = ? AND alias = ?",
        (name, alias),
    ).fetchall()
    return str(rows[0][0]) if len(rows) == 1 else None


def _database(tracking_uri: str) -> Path | None:
    """The file of a `sqlite:///path` URI (relative to the working directory, as MLflow reads
    it), or None for any other store, an in-memory one, or a URI with options."""
    if not tracking_uri.startswith(_SQLITE) or "?" in tracking_uri:
        return None
    path = tracking_uri[len(_SQLITE) :]
    if not path or path == ":memory:":
        return None
    database = Path(path).resolve()
    return database if database.is_file() else None


def _local_folder(location: str | None) -> Path | None:
    parsed = urlparse(location or "")
    if parsed.scheme != "file" or parsed.netloc not in ("", "localhost"):
        return None
    return Path(unquote(parsed.path))


# --- the pickle inside every delai model -------------------------------------------------------
def code_fingerprint() -> str:
    """A hash of the forecasting code a pickled Forecaster answers with (the simulator aside)."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if relative.parts[0] != "simulate":
            digest.update(str(relative).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def write_payload(path: Path, forecaster: Forecaster, *, run_id: str) -> None:
    payload = {"forecaster": forecaster, "run_id": run_id, "code": code_fingerprint()}
    with path.open("wb") as handle:
        pickle.dump(payload, handle, protocol=5)


def read_payload(path: Path) -> dict[str, Any]:
    """The pickled payload, or a DataContractError saying the artifact is not one (cut short,
    say). A pickle runs code when loaded: read models only from a registry you trust."""
    expected = "a delai forecaster pickle"
    try:
        with path.open("rb") as handle:
            payload: Any = pickle.load(handle)
    except Exception as exc:  # a corrupt pickle can raise almost anything
        got = f"an unreadable file ({first_line(exc)})"
        raise DataContractError(f"{FORECASTER_ARTIFACT} artifact", expected, got) from None
    if not isinstance(payload, dict) or not isinstance(payload.get("forecaster"), Forecaster):
        got = f"a pickled {type(payload).__name__} that holds no Forecaster"
        raise DataContractError(f"{FORECASTER_ARTIFACT} artifact", expected, got)
    return payload


def warn_if_code_changed(payload: dict[str, Any]) -> None:
    """The pickle holds fitted state; the code that answers from it is today's."""
    trained_with, today = payload.get("code", ""), code_fingerprint()
    if trained_with != today:
        logger.warning(
            "model from run %s was trained with forecasting code %s, loaded with %s: "
            "its answers may differ from its backtest",
            payload.get("run_id"),
            trained_with or "unknown",
            today,
        )


def first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
