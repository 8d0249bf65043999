"""Files closed without completion: leave them out of the fit, or censor them at their closure?

Run with `.venv/bin/python -m experiments.compare_closure`. On the real logs that have closures
(traffic fines and domestic travel declarations, under the shared data folder; skipped, and
said so, when it is absent), at `experiments.bench_accuracy`'s scored origins, it fits
Kaplan-Meier twice: `kaplan_meier` on what every model is fitted on (`as_known_at`: a file closed
by the origin has left the office's list and is absent), and `kaplan_meier_censored` on the
record with those files kept and censored at their closure, the textbook treatment of a subject
lost to follow-up. Both are scored on the same request sets; the published method is printed as
the reference of every ratio. Nothing is hard-coded: every figure is measured in the run.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from experiments.bench_accuracy import real, shared_data_root, with_completed_coverage
from forecasting.asof import as_known_at, history_at
from forecasting.backtest import AS_OF, BASELINE, MODEL, aggregate, request_sets, summarise
from forecasting.models import KaplanMeier, PublishedPercentile
from forecasting.models.base import segment_groups
from forecasting.schema import CLOSED_ON, COMPLETED_ON, SEGMENT, SERVICE, SUBMITTED_ON
from forecasting.survival_curve import kaplan_meier

LOGS = ("road_traffic_fines", "bpic2020_domestic")
CENSORED = f"{KaplanMeier.name}_censored"


class CensoredAtClosure(KaplanMeier):
    """Kaplan-Meier on the record as of the day: a closed file counts as waiting until it was
    closed, then censored, instead of being absent."""

    name = CENSORED

    def _fit(
        self, applications: pl.DataFrame, *, as_of: date, capacity: pl.DataFrame | None
    ) -> None:
        ended = pl.coalesce(COMPLETED_ON, CLOSED_ON, pl.lit(as_of))
        cohort = applications.filter(
            pl.col(SUBMITTED_ON) > as_of - timedelta(days=self.window_days)
        ).with_columns(
            (ended - pl.col(SUBMITTED_ON)).dt.total_days().alias("t"),
            pl.col(COMPLETED_ON).is_not_null().cast(pl.Int8).alias("event"),
        )
        self.curves_ = {
            key: kaplan_meier(group.get_column("t"), group.get_column("event"))
            for key, group in segment_groups(cohort)
            if group.get_column("event").sum() >= self.min_events
        }
        self.by_service_ = {
            str(key[0]): kaplan_meier(group.get_column("t"), group.get_column("event"))
            for key, group in cohort.group_by(SERVICE)
            if group.get_column("event").sum() > 0
        }


def predictions(applications: pl.DataFrame, origins: list[date]) -> pl.DataFrame:
    parts = []
    for as_of in origins:
        requests = request_sets(applications, as_of)
        asked = requests.select(*SEGMENT, SUBMITTED_ON)
        history = history_at(applications.lazy(), as_of).collect()
        known = as_known_at(applications.lazy(), as_of).collect()
        fitted = {
            BASELINE: PublishedPercentile().fit(known, as_of=as_of),
            KaplanMeier.name: KaplanMeier().fit(known, as_of=as_of),
            CENSORED: CensoredAtClosure().fit(history, as_of=as_of),
        }
        for name, model in fitted.items():
            parts.append(
                requests.with_columns(model.predict(asked)).select(
                    pl.lit(as_of).alias(AS_OF), pl.lit(name).alias(MODEL), pl.all()
                )
            )
    return pl.concat(parts, how="vertical_relaxed")


def main() -> None:
    root = shared_data_root()
    if not root.is_dir():
        print(f"real logs skipped: {root} is absent (set DELAI_SHARED_DATA)")
        return
    with pl.Config(tbl_rows=20, tbl_cols=12, tbl_width_chars=160, float_precision=2):
        for name in LOGS:
            data = real(name, root)
            closed = data.applications.get_column(CLOSED_ON).is_not_null().sum()
            print(
                f"{name}: {data.applications.height:,} files, {closed:,} closed without completion"
            )
            scored = predictions(data.applications, data.origins)
            table = with_completed_coverage(lambda p: summarise(aggregate(p)), scored)
            print(
                table.sort("kind", MODEL).select(
                    "kind",
                    MODEL,
                    "n",
                    "mae_p50",
                    "mae_ratio",
                    "coverage_p80",
                    "cov80_done",
                    "width_p50_p90",
                )  # fmt: skip
            )


if __name__ == "__main__":
    main()
