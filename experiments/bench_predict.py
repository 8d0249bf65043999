"""Benchmark: `delai predict` on 100,000 requests, the whole command and its stages, against 5 s.

Run with `make bench-predict`. The model is the champion of `--workdir`'s tracking store (the
one `make bench-serve` uses; simulated and trained there first if there is none, small). After
`make run`, `--workdir .` measures its full-size champion, whose models may differ. The requests
are random segments of that model and submission days from a year before its data ends to 90
days after, with 1 % of rows deliberately wrong (an unknown service, a day too far ahead) so the
per-row error path is timed too. Each run is a fresh process, as a batch job would start:
the wall time includes starting Python and the imports. On this embedded store the command
reads the champion without MLflow (forecasting/local_registry.py); `import mlflow` alone is
timed beside it, since any other store pays it. Every figure is measured here; nothing is
hard-coded.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl

from experiments.bench_serve import BIN, ensure_champion

ROWS = 100_000
TARGET_SECONDS = 5.0
STAGES = re.compile(r"(\w+) ([0-9.]+)s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path(".bench-serve"))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "MLFLOW_TRACKING_URI": f"sqlite:///{workdir / 'mlflow.db'}",
        "DELAI_ARTIFACT_ROOT": str(workdir / "mlartifacts"),
    }
    ensure_champion(workdir, env)
    requests = workdir / "predict-requests.csv"
    output = workdir / "predict-answers.csv"
    write_requests(workdir / "data" / "applications.parquet", requests)

    floors = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import mlflow'": [sys.executable, "-c", "import mlflow"],
    }
    floor_seconds = {name: wall(command, env) for name, command in floors.items()}

    command = [str(BIN / "delai"), "predict", "--input", str(requests), "--output", str(output)]
    runs = []
    for _ in range(args.runs):
        started = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"delai predict failed:\n{done.stderr[-2000:]}")
        stages = {name: float(s) for name, s in STAGES.findall(done.stdout)}
        runs.append({"wall": seconds, **stages})
    answers = pl.read_csv(output, infer_schema_length=0)
    errors = answers.filter(pl.col("error").is_not_null() & (pl.col("error") != "")).height

    print(f"delai predict, {ROWS:,} requests ({errors:,} answered with a per-row error)")
    print(f"{'run':<5}{'wall s':>9}" + "".join(f"{k + ' s':>14}" for k in runs[0] if k != "wall"))
    for i, run in enumerate(runs, 1):
        stage_cells = "".join(f"{v:>14.2f}" for k, v in run.items() if k != "wall")
        print(f"{i:<5}{run['wall']:>9.2f}{stage_cells}")
    median_wall = statistics.median(r["wall"] for r in runs)
    median_predict = statistics.median(r.get("predict", float("nan")) for r in runs)
    for name, seconds in floor_seconds.items():
        print(f"beside it: {name:<28} {seconds:.2f} s")
    print(
        f"whole command: median {median_wall:.2f} s, ratio {median_wall / TARGET_SECONDS:.2f} "
        f"of the {TARGET_SECONDS:.0f} s target -> {verdict(median_wall)}"
    )
    print(
        f"prediction alone: median {median_predict:.2f} s, ratio "
        f"{median_predict / TARGET_SECONDS:.2f} -> {verdict(median_predict)}"
    )


def write_requests(applications: Path, target: Path) -> None:
    """ROWS random requests over the model's segments; 1 % of them wrong on purpose."""
    data = pl.read_parquet(applications)
    segments = data.select("service", "channel", "region").unique().sort(pl.all())
    last = data.select(pl.col("submitted_at").cast(pl.Date).max()).item()
    rng = np.random.default_rng(20261129)
    picked = segments[rng.integers(0, segments.height, ROWS).tolist()]
    offsets = rng.integers(-365, 91, ROWS)
    days = [last + timedelta(days=int(d)) for d in offsets]
    frame = picked.with_columns(pl.Series("submitted_on", days, dtype=pl.Date))
    wrong = rng.random(ROWS) < 0.01
    half = rng.random(ROWS) < 0.5
    frame = frame.with_columns(
        pl.when(pl.Series(wrong & half))
        .then(pl.lit("no_such_service"))
        .otherwise(pl.col("service"))
        .alias("service"),
        pl.when(pl.Series(wrong & ~half))
        .then(pl.lit(last + timedelta(days=400)))
        .otherwise(pl.col("submitted_on"))
        .alias("submitted_on"),
    )
    frame.write_csv(target)


def wall(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def verdict(seconds: float) -> str:
    return "met" if seconds <= TARGET_SECONDS else "NOT met"


if __name__ == "__main__":
    main()
