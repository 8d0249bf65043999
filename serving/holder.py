"""The served model: an immutable snapshot, replaced whole so no request sees half of two models.

A new version is loaded and precomputed beside the one serving (in a worker thread); the swap is
one attribute assignment, atomic under the GIL, so requests neither fail nor wait during it.
Routes reach the snapshot through the `CurrentModel` dependency, never through a global.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from time import perf_counter
from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import Depends, HTTPException, Request

from serving.answers import Prepared, prepare
from serving.loading import LoadedModel, ModelCache, ModelSource
from serving.lookup import EstimateTable, build_table

if TYPE_CHECKING:
    from forecasting.whatif import PlanningBaseline

logger = logging.getLogger(__name__)

Source = Literal["registry", "cache", "provided"]
_CREDENTIALS = re.compile(r"://[^/@\s]+@")


@dataclass(frozen=True)
class Served:
    prepared: Prepared
    source: Source
    model_uri: str | None
    loaded_at: datetime
    # What the planners' what-ifs start from; None for a model trained without one.
    planning: PlanningBaseline | None = None

    @property
    def model_version(self) -> str:
        return self.prepared.table.model_version


@dataclass(frozen=True)
class State:
    """What is served, and why not the registry's champion (or nothing) when that is the case."""

    served: Served | None
    reason: str | None


@dataclass(frozen=True)
class ReloadResult:
    outcome: Literal["swapped", "unchanged"]
    model_version: str
    previous_version: str | None
    seconds: float


class ReloadError(Exception):
    """The registry could not give a new model; the one serving goes on serving."""


class ReloadBusy(ReloadError):
    """Another load is running; this one was not started."""


class ModelHolder:
    """Holds the current `State`; loads from the registry, falls back to the local copy."""

    def __init__(self, source: ModelSource | None, cache: ModelCache | None) -> None:
        self.source = source
        self.cache = cache
        self.state = State(None, "no model loaded yet")
        self.reloads: Counter[str] = Counter()
        # One load at a time (first load, admin, poll); requests never take either lock.
        self._loading = threading.Lock()
        # Serialises the read-then-write transitions, so a late fallback never hides a champion.
        self._swapping = threading.Lock()

    @property
    def table(self) -> EstimateTable | None:
        """The estimate table serving now, or None while no model is loaded."""
        served = self.state.served
        return served.prepared.table if served else None

    def provide(self, table: EstimateTable, planning: PlanningBaseline | None = None) -> None:
        """Serve a table built elsewhere (tests, benchmarks); no registry is involved."""
        self.state = State(_served(table, "provided", None, planning), None)

    def start(self) -> None:
        """The first load: the registry's champion, else the local copy, else nothing (said why)."""
        if self.source is None:
            self.state = State(None, "no model source is configured")
            return
        with self._loading:
            try:
                loaded = self.source.load(self.source.champion_version())
                served = _from_loaded(loaded, "registry")
            except Exception as exc:  # any registry failure falls back to the local copy
                self.fall_back(describe(exc))
                return
            with self._swapping:
                self.state = State(served, None)
            self._keep(loaded)

    def fall_back(self, reason: str) -> None:
        """Serve the local copy, saying why, unless a model from the registry is served already."""
        where = self.cache.path if self.cache else "nowhere"
        logger.warning(
            "could not load the champion from the registry: %s (copy: %s)", reason, where
        )
        current = self.state.served
        if current is not None and current.source == "cache":
            served: Served | None = current
        else:
            cached = self.cache.load() if self.cache else None
            served = None
            if cached is None:
                reason = f"{reason}; and no cached model to fall back on"
            else:
                try:
                    served = _from_loaded(cached, "cache")
                except Exception as exc:  # a copy the current code cannot use is no copy
                    reason = f"{reason}; the cached model failed: {describe(exc)}"
        with self._swapping:
            now = self.state.served
            if now is not None and now.source == "registry":
                return
            if served is None:
                self.state = State(None, f"no model to serve: {reason}")
            else:
                because = f"serving the cached copy of version {served.model_version}"
                self.state = State(served, f"{because}: {reason}")

    def reload(self, *, force: bool = False) -> ReloadResult:
        """Load the champion if it moved (or `force`), precompute it, then swap; else keep."""
        if self.source is None:
            raise ReloadError("this server was given its model and has no registry to reload from")
        if not self._loading.acquire(blocking=False):
            raise ReloadBusy("another load is in progress; try again when it has finished")
        try:
            return self._reload(self.source, force)
        finally:
            self._loading.release()

    def _reload(self, source: ModelSource, force: bool) -> ReloadResult:
        started = perf_counter()
        previous = self.state.served
        try:
            version = source.champion_version()
            if (
                not force
                and previous is not None
                and previous.source == "registry"
                and previous.model_version == version
            ):
                self.reloads["unchanged"] += 1
                return ReloadResult("unchanged", version, version, perf_counter() - started)
            loaded = source.load(version)
            served = _from_loaded(loaded, "registry")
        except Exception as exc:  # the serving model stays; the failure is reported
            reason = describe(exc)
            with self._swapping:
                self.state = State(self.state.served, f"the last reload failed: {reason}")
            self.reloads["failed"] += 1
            raise ReloadError(reason) from None
        with self._swapping:
            self.state = State(served, None)  # the swap
        self.reloads["swapped"] += 1
        self._keep(loaded)
        previous_version = previous.model_version if previous else None
        logger.info("now serving model version %s (was %s)", version, previous_version)
        return ReloadResult("swapped", version, previous_version, perf_counter() - started)

    def poll(self) -> None:
        """A reload whose failure is logged, for the background poller."""
        try:
            self.reload()
        except ReloadBusy:
            logger.debug("poll skipped: a load is in progress")
        except ReloadError as exc:
            logger.warning("model reload failed, still serving the previous model: %s", exc)

    def _keep(self, loaded: LoadedModel) -> None:
        if self.cache is None:
            return
        try:
            self.cache.save(loaded)
        except OSError as exc:
            logger.warning(
                "could not keep a local copy of the model at %s: %s", self.cache.path, exc
            )


def _from_loaded(loaded: LoadedModel, source: Source) -> Served:
    table = build_table(loaded.forecaster, model_version=loaded.info.model_version)
    # getattr: models trained before what-ifs existed (or kept in the cache) have no baseline.
    planning = getattr(loaded.forecaster, "planning_", None)
    return _served(table, source, loaded.info.model_uri, planning)


def _served(
    table: EstimateTable,
    source: Source,
    model_uri: str | None,
    planning: PlanningBaseline | None = None,
) -> Served:
    return Served(prepare(table), source, model_uri, datetime.now(UTC), planning)


def describe(exc: BaseException) -> str:
    """An exception as one line fit for a public status answer: no credentials, no traceback."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    return _CREDENTIALS.sub("://***@", text)[:300]


# --- dependencies ------------------------------------------------------------------------------
async def holder(request: Request) -> ModelHolder:
    found: ModelHolder = request.app.state.holder
    return found


async def current_model(request: Request) -> Prepared:
    """The snapshot serving now; 503 with the reason when there is none."""
    state: State = request.app.state.holder.state
    if state.served is None:
        raise HTTPException(503, f"no model is loaded: {state.reason}", {"Retry-After": "30"})
    return state.served.prepared


Holder = Annotated[ModelHolder, Depends(holder)]
CurrentModel = Annotated[Prepared, Depends(current_model)]
