"""Benchmark: simulate about a million applications and compare the time with the 30 s target.

Run with `make bench-simulate`. Prints the measured time, rows per second and the ratio to the
target, measured in this run on this machine.
"""

from __future__ import annotations

import time
from datetime import date

from forecasting.simulate import simulate

TARGET_SECONDS = 30.0


def main() -> None:
    runs = []
    for seed in (1, 2, 3):
        started = time.perf_counter()
        result = simulate(start=date(2023, 1, 1), end=date(2025, 12, 31), seed=seed, scale=1.0)
        runs.append((time.perf_counter() - started, result.applications.height))
    best, rows = min(runs)
    print(f"simulate, 3 years, scale 1.0: {rows:,} applications")
    for seconds, n in runs:
        print(f"  run: {seconds:6.2f} s  ({n / seconds:,.0f} applications/s)")
    print(f"best {best:.2f} s vs target {TARGET_SECONDS:.0f} s: ratio {best / TARGET_SECONDS:.3f}")


if __name__ == "__main__":
    main()
