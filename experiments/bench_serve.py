"""Benchmark: delai's /v1/estimate against a bare FastAPI route and against `mlflow models serve`.

Run with `make bench-serve`. In one run, on loopback, with wrk (Debian's package, installed when
missing) at 32 connections, 10 s per measurement:
  (a) GET /v1/estimate, cycling through 2,000 real segment/day/language combinations;
  (b) GET /v1/_bench/constant on the same server: an `async def` returning a constant dict,
      the cheapest idiomatic FastAPI route (target: (a) >= (b));
  (c) the same model version behind `mlflow models serve --env-manager local -w 1`, asked the
      same combinations one row per request (target: (a) / (c) >= 20).
(a') repeats (a) with an If-None-Match that never matches, which the estimate fast path leaves
to the FastAPI route: the route's own throughput, for reference. (a), (b) and (a') alternate
twice so that a noisy neighbour hurts them alike. Both servers are uvicorn
with one worker (delai: uvloop, httptools, no access log). The model is the champion of
`--workdir`'s tracking store; one is simulated and trained there first if there is none.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"  # loopback only: this script never targets another machine
CONNECTIONS = 32
COMBINATIONS = 2_000
CONSTANT_TARGET = 1.0
MLFLOW_TARGET = 20.0
BIN = Path(sys.executable).parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path(".bench-serve"))
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--skip-mlflow", action="store_true")
    args = parser.parse_args()
    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        # `mlflow models serve` runs `uvicorn` from PATH: this environment's.
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "MLFLOW_TRACKING_URI": f"sqlite:///{workdir / 'mlflow.db'}",
        "DELAI_ARTIFACT_ROOT": str(workdir / "mlartifacts"),
        "DELAI_MODEL_CACHE_DIR": str(workdir / ".delai-cache"),
    }
    wrk = ensure_wrk()
    ensure_champion(workdir, env)
    results: dict[str, Any] = {"connections": CONNECTIONS, "seconds": args.seconds}
    delai_env = {**env, "DELAI_BENCH_ROUTES": "true", "DELAI_RELOAD_INTERVAL_SECONDS": "0"}
    port = free_port()
    with server(delai_command(port), delai_env, f"http://{HOST}:{port}/readyz", "delai"):
        base = f"http://{HOST}:{port}"
        ready = get_json(f"{base}/readyz")
        combos = combinations(get_json(f"{base}/v1/services"))
        print(f"delai: model version {ready['model_version']} as of {ready['as_of']}")
        with tempfile.TemporaryDirectory() as folder:
            scripts = write_scripts(Path(folder), combos)
            for name in ("estimate", "constant"):  # warm-up: lazily serialised answers, caches
                run_wrk(wrk, base, scripts[name], 3)
            runs: dict[str, list[dict[str, float]]] = {"estimate": [], "constant": [], "route": []}
            for _ in range(2):
                for name in runs:
                    runs[name].append(run_wrk(wrk, base, scripts[name], args.seconds))
            results["delai_estimate"] = runs["estimate"]
            results["delai_constant"] = runs["constant"]
            results["delai_route"] = runs["route"]
            if not args.skip_mlflow:
                version = ready["model_version"]
                results["mlflow"] = bench_mlflow(wrk, env, version, combos, base, scripts, args)
    report(results)
    (workdir / "bench-serve.json").write_text(json.dumps(results, indent=2))
    print(f"\nraw figures: {workdir / 'bench-serve.json'}")


# --- the model -----------------------------------------------------------------------------------
def ensure_champion(workdir: Path, env: dict[str, str]) -> None:
    """Simulate and train in `workdir` unless its store already has a champion."""
    check = (
        "from mlflow.tracking import MlflowClient;"
        "MlflowClient().get_model_version_by_alias('processing-time', 'champion')"
    )
    found = subprocess.run(
        [sys.executable, "-c", check], env=env, cwd=workdir, capture_output=True, check=False
    )
    if found.returncode == 0:
        return
    print(f"no champion in {workdir}: simulating 18 months at 5% scale and training (a minute)")
    data = workdir / "data"
    end = date.today()
    start = end - timedelta(days=548)
    delai = str(BIN / "delai")
    simulate = [delai, "simulate", "--out", str(data), "--scale", "0.05"]
    subprocess.run(
        [*simulate, "--start", start.isoformat(), "--end", end.isoformat()],
        env=env,
        cwd=workdir,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    train = [delai, "train", "--data", str(data / "applications.parquet")]
    subprocess.run(train, env=env, cwd=workdir, check=True, stdout=subprocess.DEVNULL)


def combinations(services: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """Real segment x day x language combinations, the same for every server."""
    first = date.fromisoformat(services["first_submitted_on"])
    last = date.fromisoformat(services["last_submitted_on"])
    segments = [
        (s["service"]["code"], s["channel"]["code"], s["region"]["code"])
        for s in services["segments"]
    ]
    rng = random.Random(20261128)
    span = (last - first).days + 1
    out = []
    for _ in range(COMBINATIONS):
        day = first + timedelta(days=rng.randrange(span))
        out.append((*rng.choice(segments), day.isoformat(), rng.choice(("en", "fr"))))
    return out


# --- servers -------------------------------------------------------------------------------------
def delai_command(port: int) -> list[str]:
    return [
        sys.executable, "-m", "uvicorn", "serving.app:create_app", "--factory",
        "--host", HOST, "--port", str(port), "--workers", "1",
        "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip


def bench_mlflow(
    wrk: str,
    env: dict[str, str],
    version: str,
    combos: list[tuple[str, str, str, str, str]],
    delai_base: str,
    scripts: dict[str, Path],
    args: argparse.Namespace,
) -> list[dict[str, float]]:
    port = free_port()
    command = [
        str(BIN / "mlflow"), "models", "serve", "-m", f"models:/processing-time/{version}",
        "--env-manager", "local", "-h", HOST, "-p", str(port), "-w", "1",
    ]  # fmt: skip
    with server(command, env, f"http://{HOST}:{port}/ping", "mlflow models serve"):
        base = f"http://{HOST}:{port}"
        same = compare_answers(delai_base, base, combos[:25])
        print(f"mlflow models serve: {same}/25 sampled answers identical to delai's")
        run_wrk(wrk, base, scripts["mlflow"], 3)
        return [run_wrk(wrk, base, scripts["mlflow"], args.seconds)]


def compare_answers(delai: str, mlflow: str, combos: list[tuple[str, str, str, str, str]]) -> int:
    same = 0
    for service, channel, region, day, lang in combos:
        ours = get_json(
            f"{delai}/v1/estimate?service={service}&channel={channel}&region={region}"
            f"&submitted_on={day}&lang={lang}"
        )
        theirs = post_json(f"{mlflow}/invocations", mlflow_body(service, channel, region, day))
        row = theirs["predictions"][0]
        same += all(row[q] == ours[q]["completed_by"] for q in ("p50", "p80", "p90"))
    return same


def mlflow_body(service: str, channel: str, region: str, day: str) -> dict[str, Any]:
    columns = ["service", "channel", "region", "submitted_on"]
    return {"dataframe_split": {"columns": columns, "data": [[service, channel, region, day]]}}


@contextmanager
def server(
    command: list[str], env: dict[str, str], ready_url: str, name: str
) -> Iterator[subprocess.Popen[bytes]]:
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        started = time.monotonic()
        while not ok(ready_url):
            if process.poll() is not None or time.monotonic() - started > 600:
                log.seek(0)
                sys.stderr.write(log.read().decode(errors="replace")[-3000:])
                raise SystemExit(f"{name} did not become ready")
            time.sleep(0.5)
        print(f"{name}: ready in {time.monotonic() - started:.1f} s")
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (OSError, urllib.error.URLError):
        return False


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


def post_json(url: str, body: Any) -> Any:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


# --- wrk -----------------------------------------------------------------------------------------
def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk is missing: installing Debian's package")
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "wrk"], check=True)
    return shutil.which("wrk") or "wrk"


def write_scripts(folder: Path, combos: list[tuple[str, str, str, str, str]]) -> dict[str, Path]:
    estimate = [
        f"/v1/estimate?service={s}&channel={c}&region={r}&submitted_on={d}&lang={lang}"
        for s, c, r, d, lang in combos
    ]
    bodies = [json.dumps(mlflow_body(s, c, r, d)) for s, c, r, d, _ in combos]
    scripts = {
        "estimate": _lua_get(estimate),
        # An If-None-Match that never matches: the fast path leaves these to the FastAPI route.
        "route": _lua_get(estimate, '{["If-None-Match"] = \'"none"\'}'),
        # The same Lua machinery for one path, so the client's cost is the same in (a) and (b).
        "constant": _lua_get(["/v1/_bench/constant"]),
        "mlflow": _lua_post("/invocations", bodies),
    }
    paths = {}
    for name, text in scripts.items():
        paths[name] = folder / f"{name}.lua"
        paths[name].write_text(text)
    return paths


def _lua_list(items: list[str]) -> str:
    return (
        "local items = {\n"
        + ",\n".join(json.dumps(i) for i in items)
        + "\n}\nlocal n, i = #items, 0\n"
    )


def _lua_get(paths: list[str], headers: str = "{}") -> str:
    return _lua_list(paths) + (
        f"local headers = {headers}\n"
        "request = function()\n  i = i % n + 1\n"
        '  return wrk.format("GET", items[i], headers)\nend\n'
    )


def _lua_post(path: str, bodies: list[str]) -> str:
    return _lua_list(bodies) + (
        'local headers = {["Content-Type"] = "application/json"}\n'
        "request = function()\n  i = i % n + 1\n"
        f'  return wrk.format("POST", "{path}", headers, items[i])\nend\n'
    )


def run_wrk(wrk: str, base: str, script: Path, seconds: int) -> dict[str, float]:
    assert base.startswith(f"http://{HOST}:")
    command = [
        wrk, "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "--timeout", "10s",
        "-s", str(script), base,
    ]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    p99 = _millis(re.search(r"99%\s+([\d.]+\w+)", out)[1])  # type: ignore[index]
    p50 = _millis(re.search(r"50%\s+([\d.]+\w+)", out)[1])  # type: ignore[index]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {
        "requests_per_second": rps,
        "p50_ms": p50,
        "p99_ms": p99,
        "non_2xx": float(bad[1]) if bad else 0.0,
        "socket_errors": 1.0 if errors else 0.0,
    }


def _millis(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


# --- report --------------------------------------------------------------------------------------
def report(results: dict[str, Any]) -> None:
    print(f"\nwrk, 1 thread, {CONNECTIONS} connections, {results['seconds']} s per run, loopback")
    print(f"{'target':<34}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}")
    summary = {}
    for key, label in (
        ("delai_estimate", "(a) delai GET /v1/estimate"),
        ("delai_constant", "(b) same server, constant route"),
        ("delai_route", "(a') (a) past the fast path"),
        ("mlflow", "(c) mlflow models serve"),
    ):
        for run in results.get(key, []):
            print(
                f"{label:<34}{run['requests_per_second']:>10,.0f}{run['p50_ms']:>9.2f}"
                f"{run['p99_ms']:>9.2f}{run['non_2xx']:>9.0f}"
            )
        if key in results:
            summary[key] = (
                statistics.mean(r["requests_per_second"] for r in results[key]),
                statistics.mean(r["p99_ms"] for r in results[key]),
            )
    (a, a99), (b, b99) = summary["delai_estimate"], summary["delai_constant"]
    route, route99 = summary["delai_route"]
    print(f"\n(a)/(b) throughput: {a / b:.2f}  (target >= {CONSTANT_TARGET:.0f})  "
          f"p99 {a99:.2f} ms vs {b99:.2f} ms")  # fmt: skip
    print(f"(a')/(b) throughput: {route / b:.2f}  (the route alone, for reference)  "
          f"p99 {route99:.2f} ms")  # fmt: skip
    if "mlflow" in summary:
        c, c99 = summary["mlflow"]
        print(f"(a)/(c) throughput: {a / c:.1f}  (target >= {MLFLOW_TARGET:.0f})  "
              f"p99 {a99:.2f} ms vs {c99:.2f} ms")  # fmt: skip
    results["ratios"] = {
        "estimate_over_constant": a / b,
        "route_over_constant": route / b,
        **({"estimate_over_mlflow": a / summary["mlflow"][0]} if "mlflow" in summary else {}),
    }


if __name__ == "__main__":
    main()
