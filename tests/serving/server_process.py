"""A delai server on loopback and a free port, under uvicorn: in a process of its own, for the
tests that must see what a fresh process does (a store lost at start) or must measure the server
alone (its memory under load); or in a thread of the test's process, for tests that drive a real
server with concurrent clients or a browser. A module, not a fixture file: test modules import it
by name.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import uvicorn
from starlette.types import ASGIApp

HOST = "127.0.0.1"  # loopback only: these tests never send traffic anywhere else


@dataclass(frozen=True)
class Server:
    base: str
    pid: int
    log: Path

    def rss_kib(self) -> int:
        """The server's resident memory now, from /proc (Linux)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError(f"no VmRSS for process {self.pid}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def status_of(url: str) -> int | None:
    """The HTTP status `url` answers with, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


@contextmanager
def serving(env: Mapping[str, str], folder: Path, *, timeout: float = 180.0) -> Iterator[Server]:
    """`delai`'s app under uvicorn (uvloop, httptools, one worker, no access log), as
    `delai serve` runs it; `env` adds DELAI_* settings. Stopped (and waited for) on exit."""
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", "serving.app:create_app", "--factory",
        "--host", HOST, "--port", str(port), "--workers", "1", "--loop", "uvloop",
        "--http", "httptools", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    log = folder / f"server-{port}.log"
    environment = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", **env}
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, env=environment, cwd=folder, stdout=output, stderr=subprocess.STDOUT
        )
    base = f"http://{HOST}:{port}"
    try:
        started = time.monotonic()
        # Uvicorn answers only once the lifespan (the first model load) has finished.
        while status_of(f"{base}/healthz") != 200:
            if process.poll() is not None or time.monotonic() - started > timeout:
                raise AssertionError(f"the server did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield Server(base, process.pid, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


@contextmanager
def in_thread(
    app: ASGIApp, *, lifespan: Literal["auto", "on", "off"] = "auto", timeout: float = 30.0
) -> Iterator[str]:
    """`app` under uvicorn in a thread of this process; yields its base URL. Uvicorn reports
    itself started once the lifespan (a model load, say) has run."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((HOST, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan=lifespan, access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise AssertionError(f"uvicorn did not start within {timeout:g} s")
        time.sleep(0.02)
    try:
        yield f"http://{HOST}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
