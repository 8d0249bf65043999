"""Model loading and hot reload: readiness states, the local copy, the admin token, the swap."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta

import httpx
import pytest
from api_fixtures import DAY, ESTIMATE, FakeSource, register
from fastapi.testclient import TestClient
from pydantic import SecretStr
from server_process import in_thread

from forecasting.forecaster import Forecaster
from forecasting.settings import Settings
from serving import api
from serving.app import create_app
from serving.loading import LoadedModel, ModelCache, ModelInfo
from serving.lookup import EstimateTable

TOKEN = "t0ken-" + "x" * 40


def wait_for(check: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def keep(settings: Settings, forecaster: Forecaster, version: str = "5") -> ModelCache:
    cache = ModelCache(settings.model_cache_dir, settings.model_name)
    info = ModelInfo("models:/processing-time@champion", version, forecaster.as_of_, "run-5")
    cache.save(LoadedModel(forecaster, info))
    return cache


def test_the_first_load_takes_the_champion_and_keeps_a_copy(
    settings: Settings, source: FakeSource
) -> None:
    with TestClient(create_app(settings, source=source)) as client:
        ready = client.get("/readyz").json()
    assert (ready["status"], ready["source"], ready["model_version"]) == ("ready", "registry", "1")
    assert ready["reason"] is None
    copy = ModelCache(settings.model_cache_dir, settings.model_name).load()
    assert copy is not None and copy.info.model_version == "1"


def test_without_registry_or_copy_it_starts_but_is_not_ready(
    settings: Settings, source: FakeSource
) -> None:
    source.failure = ConnectionError("registry.internal refused the connection")
    with TestClient(create_app(settings, source=source)) as client:
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert "refused the connection" in ready.json()["reason"]
        assert "no cached model" in ready.json()["reason"]
        estimate = client.get(f"{ESTIMATE}&submitted_on={DAY}")
        assert estimate.status_code == 503 and estimate.headers["retry-after"]
        assert client.get("/status").status_code == 503


def test_a_failing_registry_falls_back_to_the_copy_and_says_so(
    settings: Settings, source: FakeSource, forecaster: Forecaster
) -> None:
    keep(settings, forecaster, version="5")
    source.failure = ConnectionError("registry down")
    with TestClient(create_app(settings, source=source)) as client:
        ready = client.get("/readyz").json()
        assert (ready["source"], ready["model_version"]) == ("cache", "5")
        assert "registry down" in ready["reason"] and "cached copy" in ready["reason"]
        assert client.get(f"{ESTIMATE}&submitted_on={DAY}").json()["model_version"] == "5"


def test_an_unreadable_copy_is_no_copy(settings: Settings, source: FakeSource) -> None:
    settings.model_cache_dir.mkdir(parents=True)
    (settings.model_cache_dir / f"{settings.model_name}.pkl").write_bytes(b"not a pickle")
    source.failure = ConnectionError("registry down")
    with TestClient(create_app(settings, source=source)) as client:
        assert client.get("/readyz").status_code == 503


def test_a_registry_that_hangs_does_not_hold_up_startup(
    settings: Settings, source: FakeSource, forecaster: Forecaster
) -> None:
    keep(settings, forecaster, version="5")
    source.gate = threading.Event()
    slow = settings.model_copy(update={"registry_timeout_seconds": 0.3})
    with TestClient(create_app(slow, source=source)) as client:
        ready = client.get("/readyz").json()
        assert (ready["source"], ready["model_version"]) == ("cache", "5")
        assert "did not answer within 0.3 s" in ready["reason"]
        source.gate.set()  # the registry answers at last: its champion replaces the copy
        wait_for(lambda: client.get("/readyz").json()["source"] == "registry")
        assert client.get("/readyz").json()["model_version"] == "1"


def test_reload_is_absent_without_a_token(client: TestClient) -> None:
    assert client.post("/admin/reload").status_code == 404
    assert client.post("/admin/reload", headers={"Authorization": "Bearer x"}).status_code == 404


@pytest.fixture
def admin_client(
    settings: Settings, table: EstimateTable, source: FakeSource
) -> Iterator[TestClient]:
    secured = settings.model_copy(update={"admin_token": SecretStr(TOKEN)})
    with TestClient(create_app(secured, table=table, source=source)) as client:
        yield client


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer "]
)
def test_reload_refuses_a_missing_or_wrong_token(
    admin_client: TestClient, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = admin_client.post("/admin/reload", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert admin_client.get("/readyz").json()["model_version"] == "7"


def test_the_token_is_compared_in_constant_time(
    admin_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = api.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(api.hmac, "compare_digest", spy)
    admin_client.post("/admin/reload", headers={"Authorization": "Bearer guess"})
    assert compared == [(b"guess", TOKEN.encode())]


def test_reload_swaps_in_the_new_champion(admin_client: TestClient, source: FakeSource) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    source.version = "8"
    swapped = admin_client.post("/admin/reload", headers=auth)
    assert swapped.status_code == 200
    assert swapped.json() | {"seconds": 0} == {
        "outcome": "swapped",
        "model_version": "8",
        "previous_version": "7",
        "seconds": 0,
    }
    assert swapped.headers["cache-control"] == "no-store"
    assert admin_client.get(f"{ESTIMATE}&submitted_on={DAY}").json()["model_version"] == "8"
    again = admin_client.post("/admin/reload", headers=auth).json()
    assert again["outcome"] == "unchanged" and source.loads == 1
    forced = admin_client.post("/admin/reload?force=true", headers=auth).json()
    assert forced["outcome"] == "swapped" and source.loads == 2


def test_a_failed_reload_keeps_the_model_serving(
    admin_client: TestClient, source: FakeSource
) -> None:
    source.failure = ConnectionError("registry down")
    response = admin_client.post("/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 502 and "registry down" in response.json()["message"]
    ready = admin_client.get("/readyz").json()
    assert (ready["status"], ready["model_version"]) == ("ready", "7")
    assert "last reload failed" in ready["reason"]
    metrics = admin_client.get("/metrics").text
    assert 'delai_model_reloads_total{outcome="failed"} 1.0' in metrics


def test_the_poller_picks_up_a_new_champion(
    settings: Settings, table: EstimateTable, source: FakeSource
) -> None:
    polling = settings.model_copy(update={"reload_interval_seconds": 0.1})
    with TestClient(create_app(polling, table=table, source=source)) as client:
        wait_for(lambda: client.get("/readyz").json()["model_version"] == "1")
        source.version = "2"
        wait_for(lambda: client.get("/readyz").json()["model_version"] == "2")


def test_no_request_fails_while_models_are_swapped(
    settings: Settings, table: EstimateTable, source: FakeSource
) -> None:
    secured = settings.model_copy(update={"admin_token": SecretStr(TOKEN)})
    days = [table.as_of - timedelta(days=d) for d in range(0, 300, 7)]
    urls = [f"{ESTIMATE}&submitted_on={d}&lang={'en' if d.day % 2 else 'fr'}" for d in days]
    seen: list[tuple[int, str, float]] = []
    stop = threading.Event()

    def hammer(base: str) -> None:
        with httpx.Client(base_url=base, timeout=30) as http:
            i = 0
            while not stop.is_set():
                started = time.monotonic()
                response = http.get(urls[i % len(urls)])
                body = response.json() if response.status_code == 200 else {}
                seen.append((response.status_code, body.get("model_version", ""), started))
                i += 1

    with in_thread(create_app(secured, table=table, source=source)) as base:
        threads = [threading.Thread(target=hammer, args=(base,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        windows = []
        with httpx.Client(base_url=base, timeout=60) as admin:
            for version in ("8", "9", "10"):
                time.sleep(0.2)
                source.version = version
                started = time.monotonic()
                reload = admin.post("/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"})
                windows.append((started, time.monotonic()))
                assert reload.json()["outcome"] == "swapped"
            time.sleep(0.2)
        stop.set()
        for thread in threads:
            thread.join()
    assert seen and all(status == 200 for status, _, _ in seen)
    assert {version for _, version, _ in seen} <= {"7", "8", "9", "10"}
    assert seen[-1][1] == "10"
    during = [s for s in seen if any(a <= s[2] <= b for a, b in windows)]
    assert during, "requests were answered while a new model was being loaded"


def test_with_a_real_registry_lacking_a_champion_the_copy_serves(
    registry_settings: Settings, forecaster: Forecaster
) -> None:
    with TestClient(create_app(registry_settings)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert "has the alias 'champion'" in ready.json()["reason"]
    keep(registry_settings, forecaster, version="5")
    with TestClient(create_app(registry_settings)) as client:
        ready = client.get("/readyz").json()
        assert (ready["source"], ready["model_version"]) == ("cache", "5")
        assert "has the alias 'champion'" in ready["reason"]
        estimate = client.get(f"{ESTIMATE}&submitted_on={DAY}")
        assert estimate.status_code == 200
        assert estimate.json()["as_of"] == date(2025, 3, 31).isoformat()


def test_with_a_real_registry_the_champion_serves_and_is_kept(
    registry_settings: Settings, forecaster: Forecaster
) -> None:
    version = register(registry_settings, forecaster, champion=True)
    with TestClient(create_app(registry_settings)) as client:
        ready = client.get("/readyz").json()
        assert (ready["source"], ready["model_version"]) == ("registry", version)
        assert ready["model_uri"] == "models:/processing-time@champion"
        assert client.get(f"{ESTIMATE}&submitted_on={DAY}").json()["model_version"] == version
    kept = ModelCache(registry_settings.model_cache_dir, registry_settings.model_name).load()
    assert kept is not None and kept.info.model_version == version
