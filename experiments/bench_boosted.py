"""Benchmark: BoostedQuantiles and QueueProjection fit and predict at simulator scale 1.0.

Run with `.venv/bin/python -m experiments.bench_boosted`. Simulates three years at scale 1.0
(about 1.1M applications), then at three as-of days fits each model on what was known and
predicts the backtest's requests (open files and the next week's). Prints wall and CPU seconds
measured in this run, and the budget they share: `delai train` fits every model at 13 as-of
days (12 backtest origins and the final fit) within 5 minutes. The first calendar build (the
`holidays` import) is paid beforehand, as any long-running process pays it once.
"""

from __future__ import annotations

import time
from datetime import date

from forecasting.asof import as_known_at
from forecasting.backtest import request_sets
from forecasting.calendar import business_calendar
from forecasting.contract import validate_applications
from forecasting.models import BoostedQuantiles, QueueProjection
from forecasting.schema import SEGMENT, SUBMITTED_ON
from forecasting.simulate import simulate

# `delai train` on a million applications: 5 minutes for 12 backtest origins and the final fit.
TRAIN_BUDGET_S, FITS = 300.0, 13
AS_OF = (date(2024, 6, 1), date(2025, 1, 1), date(2025, 6, 1))


def main() -> None:
    end = date(2025, 12, 31)
    simulated = simulate(start=date(2023, 1, 1), end=end, seed=3, scale=1.0)
    data = validate_applications(simulated.applications.lazy(), as_of=end).applications
    business_calendar("ON", date(2024, 1, 1), date(2024, 1, 31))
    print(f"scale 1.0: {data.height:,} applications")
    for as_of in AS_OF:
        known = as_known_at(data.lazy(), as_of).collect()
        requests = request_sets(data, as_of).select(*SEGMENT, SUBMITTED_ON)
        for cls in (BoostedQuantiles, QueueProjection):
            wall, cpu = time.perf_counter(), time.process_time()
            model = cls().fit(known, as_of=as_of)
            fit_wall, fit_cpu = time.perf_counter() - wall, time.process_time() - cpu
            wall, cpu = time.perf_counter(), time.process_time()
            model.predict(requests)
            predict_wall, predict_cpu = time.perf_counter() - wall, time.process_time() - cpu
            print(
                f"  {as_of} {cls.name:18s} fit {fit_wall:5.2f} s (cpu {fit_cpu:5.2f}) "
                f"| predict {requests.height:,} requests {predict_wall:5.3f} s "
                f"(cpu {predict_cpu:5.3f})"
            )
    print(
        f"budget: {TRAIN_BUDGET_S / FITS:.0f} s per as-of day for every model's fit and predict "
        f"({TRAIN_BUDGET_S:.0f} s / {FITS} fits)"
    )


if __name__ == "__main__":
    main()
