"""Load, and a reload under load, against a server in its own process on loopback (slow).

wrk (Debian's package) drives GET /v1/estimate over 2,000 real segment/day/language
combinations; a Lua hook tallies every answer's status and `model_version`. The server's
resident memory is read from /proc before (after a warm-up) and after the run.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from server_process import HOST, Server, serving

from forecasting.forecaster import Forecaster
from forecasting.settings import Settings

pytestmark = pytest.mark.slow

TOKEN = "load-" + "w" * 40
CONNECTIONS = 64
LOAD_SECONDS = 60
RELOAD_SECONDS = 20
WARM_UP_SECONDS = 10
MAX_RSS_GROWTH = 0.05
COMBINATIONS = 2_000

# Each wrk thread counts statuses and model versions; `done` adds the threads' counts up.
TALLY = r"""
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {}; versions = {} end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  local version = body and body:match('"model_version":"([^"]*)"') or "none"
  versions[version] = (versions[version] or 0) + 1
end
function done(summary, latency, requests)
  local s, v = {}, {}
  for _, thread in ipairs(threads) do
    for key, n in pairs(thread:get("statuses")) do s[key] = (s[key] or 0) + n end
    for key, n in pairs(thread:get("versions")) do v[key] = (v[key] or 0) + n end
  end
  for key, n in pairs(s) do io.write(string.format("TALLY status %s %d\n", key, n)) end
  for key, n in pairs(v) do io.write(string.format("TALLY version %s %d\n", key, n)) end
  io.write(string.format("TALLY p99_us %d\n", latency:percentile(99)))
  io.write(string.format("TALLY p50_us %d\n", latency:percentile(50)))
  io.write(string.format("TALLY requests %d\n", summary.requests))
  local e = summary.errors
  io.write(string.format("TALLY errors %d\n", e.connect + e.read + e.write + e.status + e.timeout))
end
"""


@dataclass(frozen=True)
class Run:
    """What one wrk run saw."""

    requests: int
    errors: int
    statuses: dict[str, int]
    versions: dict[str, int]
    p50_ms: float
    p99_ms: float
    seconds: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


@pytest.fixture(scope="module")
def wrk() -> str:
    found = shutil.which("wrk")
    if found is None:
        pytest.skip("wrk is not installed: `apt-get install wrk` (Debian's package) to run these")
    return found


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, forecaster: Forecaster) -> dict[str, str]:
    """A registry with two versions of the model, version 1 the champion; the server's env."""
    from mlflow.tracking import MlflowClient

    from forecasting import registry, tracking
    from training.train import input_example

    folder = tmp_path_factory.mktemp("load-store")
    env = {
        "MLFLOW_TRACKING_URI": f"sqlite:///{folder / 'mlflow.db'}",
        "DELAI_ARTIFACT_ROOT": str(folder / "mlartifacts"),
        "DELAI_MODEL_CACHE_DIR": str(folder / "cache"),
        "DELAI_RELOAD_INTERVAL_SECONDS": "0",
        "DELAI_ADMIN_TOKEN": TOKEN,
    }
    with pytest.MonkeyPatch.context() as patch:
        for name in ("MLFLOW_TRACKING_URI", "DELAI_ARTIFACT_ROOT"):
            patch.setenv(name, env[name])
        settings = Settings()
        tracking.configure_tracking(settings, "load-test")
        for _ in range(2):
            with tracking.tracked_run("load-test"):
                registry.log_forecaster(
                    forecaster,
                    name="forecaster",
                    input_example=input_example(forecaster),
                    registered_model_name=settings.model_name,
                )
    MlflowClient(env["MLFLOW_TRACKING_URI"]).set_registered_model_alias(
        settings.model_name, "champion", "1"
    )
    return env


@pytest.fixture
def server(store: dict[str, str], tmp_path: Path) -> Iterator[Server]:
    from mlflow.tracking import MlflowClient

    MlflowClient(store["MLFLOW_TRACKING_URI"]).set_registered_model_alias(
        "processing-time", "champion", "1"
    )
    with serving(store, tmp_path) as running:
        yield running


def _script(server: Server, folder: Path) -> Path:
    """A Lua script cycling through real combinations, with the tallying hooks."""
    services = httpx.get(f"{server.base}/v1/services").json()
    first = date.fromisoformat(services["first_submitted_on"])
    span = (date.fromisoformat(services["last_submitted_on"]) - first).days + 1
    segments = [
        (s["service"]["code"], s["channel"]["code"], s["region"]["code"])
        for s in services["segments"]
    ]
    rng = random.Random(6)
    paths = []
    for _ in range(COMBINATIONS):
        service, channel, region = rng.choice(segments)
        day = first + timedelta(days=rng.randrange(span))
        paths.append(
            f"/v1/estimate?service={service}&channel={channel}&region={region}"
            f"&submitted_on={day}&lang={rng.choice(('en', 'fr'))}"
        )
    listed = ",\n".join(json.dumps(p) for p in paths)
    request = (
        f"local paths = {{\n{listed}\n}}\nlocal n, i = #paths, 0\n"
        "request = function()\n  i = i % n + 1\n  return wrk.format('GET', paths[i])\nend\n"
    )
    script = folder / "estimates.lua"
    script.write_text(request + TALLY)
    return script


def _wrk(wrk: str, server: Server, script: Path, seconds: int) -> Run:
    assert server.base.startswith(f"http://{HOST}:")
    command = [
        wrk, "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "10s",
        "-s", str(script), server.base,
    ]  # fmt: skip
    started = time.monotonic()
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    elapsed = time.monotonic() - started
    tally: dict[str, dict[str, int]] = {"status": {}, "version": {}}
    figures: dict[str, int] = {}
    for kind, *rest in (line.split()[1:] for line in out.splitlines() if line.startswith("TALLY")):
        if kind in tally:
            tally[kind][rest[0]] = int(rest[1])
        else:
            figures[kind] = int(rest[0])
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert rate, out
    return Run(
        requests=figures["requests"],
        errors=figures["errors"],
        statuses=tally["status"],
        versions=tally["version"],
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        seconds=figures["requests"] / float(rate[1]) if float(rate[1]) else elapsed,
    )


def test_a_minute_at_64_connections_fails_nothing_and_holds_memory(
    wrk: str, server: Server, tmp_path: Path, report_figure: Callable[[str], None]
) -> None:
    script = _script(server, tmp_path)
    _wrk(wrk, server, script, WARM_UP_SECONDS)  # every answer serialised once, caches filled
    before = server.rss_kib()
    run = _wrk(wrk, server, script, LOAD_SECONDS)
    after = server.rss_kib()
    growth = (after - before) / before
    report_figure(
        f"{run.requests:,} requests in {LOAD_SECONDS} s at {CONNECTIONS} connections "
        f"({run.rate:,.0f}/s), errors {run.errors}, statuses {run.statuses}, "
        f"p50 {run.p50_ms:.1f} ms, p99 {run.p99_ms:.1f} ms; server RSS {before / 1024:.1f} MiB "
        f"-> {after / 1024:.1f} MiB ({growth:+.2%}); load average {os.getloadavg()[0]:.1f}"
    )
    assert run.requests > 0 and run.errors == 0
    assert run.statuses == {"200": run.requests}
    assert run.versions == {"1": run.requests}
    assert growth < MAX_RSS_GROWTH


def test_a_reload_under_load_fails_nothing_and_shows_in_metrics(
    wrk: str,
    server: Server,
    store: dict[str, str],
    tmp_path: Path,
    report_figure: Callable[[str], None],
) -> None:
    from mlflow.tracking import MlflowClient

    script = _script(server, tmp_path)
    outcome: dict[str, Run] = {}
    load = threading.Thread(
        target=lambda: outcome.setdefault("run", _wrk(wrk, server, script, RELOAD_SECONDS))
    )
    load.start()
    time.sleep(RELOAD_SECONDS / 3)
    # A new champion is promoted and the server told to load it, while wrk runs.
    MlflowClient(store["MLFLOW_TRACKING_URI"]).set_registered_model_alias(
        "processing-time", "champion", "2"
    )
    with httpx.Client(base_url=server.base, timeout=120) as admin:
        started = time.monotonic()
        reload = admin.post("/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"})
        swap_seconds = time.monotonic() - started
        assert reload.status_code == 200, reload.text
        assert reload.json()["outcome"] == "swapped"
        metrics = admin.get("/metrics").text
    load.join()
    run = outcome["run"]
    report_figure(
        f"{run.requests:,} requests in {RELOAD_SECONDS} s with a reload "
        f"({swap_seconds:.2f} s to load and swap) in the middle: errors {run.errors}, "
        f"statuses {run.statuses}, versions {run.versions}, p99 {run.p99_ms:.1f} ms; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    assert run.errors == 0 and run.statuses == {"200": run.requests}
    assert set(run.versions) == {"1", "2"} and sum(run.versions.values()) == run.requests
    assert re.search(r'delai_model_info\{[^}]*model_version="2"[^}]*\} 1\.0', metrics), metrics
    assert 'delai_model_reloads_total{outcome="swapped"} 1.0' in metrics
