"""How low the MAE of P50 can go on the real logs for any model that knows only the contract.

Run with `.venv/bin/python -m experiments.bound_real`. The logs, their scored origins and the
request sets are `experiments.bench_accuracy`'s own (files submitted in the 7 days after an
origin, files open at it); the published method answers them, as there. Each file is then
answered in hindsight from the real outcomes of the scored files themselves, grouped by what a
request carries (segment, submission day) and what the origin adds (the as-of day, so the queue
and staffing then, and a waiting file's age):

- `best`: the median outcome of the file's group, its own outcome included. The median minimises
  the absolute error within a group, so for new files no function of the group's keys, that is no
  model that answers from those fields alone however it is fitted, has a lower MAE on these files.
  It is a floor, not a goal: a group of one file answers itself exactly. (A waiting file's answer
  is also held after the origin, which can only move it towards its outcome.)
- `peers`: the median outcome of the other files of its group, as if every other file's fate were
  known at the origin. No forecaster knows that; it shows what peers' outcomes would be worth.

A waiting file's answer is never earlier than the day after the origin, as delai's. Files with no
completion in the data are left out, as they are from the MAE in `make bench-accuracy`. Ratios are
to the published method's MAE on the same files. Nothing is hard-coded: every figure is measured
in the run, from the logs under the shared data folder (`DELAI_SHARED_DATA`; skipped, and said so,
when absent).
"""

from __future__ import annotations

import argparse
import os
from datetime import date
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from experiments.bench_accuracy import REAL, factories, real
from forecasting.backtest import ACTUAL_DAYS, BASELINE, KIND, MODEL, backtest_predictions
from forecasting.schema import AS_OF, QUANTILE_DAYS, SEGMENT, SUBMITTED_ON

P50 = QUANTILE_DAYS[0]
AGE = "age_days"
# Groups a new file can be answered by: the week after the origin in its segment, or its very day.
NEW_GROUPS: dict[str, list[str | pl.Expr]] = {
    "origin and segment": [AS_OF, *SEGMENT],
    "origin, segment, submission day": [AS_OF, *SEGMENT, SUBMITTED_ON],
}
# A waiting file adds its age at the origin, in weeks or in days (its submission day).
OPEN_GROUPS: dict[str, list[str | pl.Expr]] = {
    "origin and segment": [AS_OF, *SEGMENT],
    "origin, segment, age in weeks": [AS_OF, *SEGMENT, (pl.col(AGE) // 7).alias("age_weeks")],
    "origin, segment, submission day": [AS_OF, *SEGMENT, SUBMITTED_ON],
}


def _peer_medians(actual: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """For each value, the median of the others (NaN for a lone value)."""
    n = actual.size
    if n == 1:
        return np.array([np.nan])
    order = np.argsort(actual, kind="stable")
    ranked = actual[order]
    rest = n - 1
    out = np.empty(n)
    for rank in range(n):
        # The median ranks of the n - 1 others, in the full sorted order, skip the left-out one.
        lo, hi = (rest - 1) // 2, rest // 2
        lo, hi = lo + (lo >= rank), hi + (hi >= rank)
        out[order[rank]] = (ranked[lo] + ranked[hi]) / 2.0
    return out


def hindsight(files: pl.DataFrame, keys: list[str | pl.Expr], *, own: bool) -> pl.Series:
    """Per file of `files` (in its order), its group's median outcome, with (`own`) or without
    its own; a waiting file's answer is at least its age plus one day."""
    indexed = files.with_row_index("_row").with_columns(
        pl.struct(keys).rank("dense").alias("_group") if keys else pl.lit(0).alias("_group")
    )
    if own:
        answer = indexed.select(pl.col(ACTUAL_DAYS).median().over("_group")).to_series()
    else:
        answer = pl.Series(np.full(files.height, np.nan))
        values = answer.to_numpy().copy()
        for part in indexed.partition_by("_group"):
            rows = part.get_column("_row").to_numpy()
            values[rows] = _peer_medians(part.get_column(ACTUAL_DAYS).to_numpy().astype(float))
        answer = pl.Series(values)
    floor = (files.get_column(AGE) + 1).clip(lower_bound=0).cast(pl.Float64)
    return pl.DataFrame({"a": answer, "f": floor}).select(
        pl.max_horizontal("a", "f").alias("answer")
    )["answer"]


def bounds(predictions: pl.DataFrame, origins: list[date]) -> pl.DataFrame:
    """Per request kind and grouping, the published MAE and both hindsight ratios."""
    files = (
        predictions.filter(
            pl.col(MODEL) == BASELINE,
            pl.col(AS_OF).is_in(origins),
            pl.col(ACTUAL_DAYS).is_not_null(),
            pl.col(P50).is_not_null(),
        )
        .with_columns((pl.col(AS_OF) - pl.col(SUBMITTED_ON)).dt.total_days().alias(AGE))
        .with_columns(pl.col(ACTUAL_DAYS).cast(pl.Float64))
    )
    rows = []
    for kind, groups in (("new", NEW_GROUPS), ("open", OPEN_GROUPS)):
        own_kind = files.filter(pl.col(KIND) == kind)
        if own_kind.is_empty():
            continue
        actual = own_kind.get_column(ACTUAL_DAYS)
        published = float((own_kind.get_column(P50) - actual).abs().mean())  # type: ignore[arg-type]
        for label, keys in groups.items():
            ratios = {}
            for name, own in (("best", True), ("peers", False)):
                answer = hindsight(own_kind, keys, own=own)
                error = (answer - actual).abs()
                known = answer.is_not_nan()
                # A lone file has no peers: its published error stands in the ratio's both sides.
                ratios[name] = float(error.filter(known).sum()) / float(
                    (own_kind.get_column(P50) - actual).abs().filter(known).sum()
                )
            rows.append(
                {
                    KIND: kind,
                    "grouped by": label,
                    "files": own_kind.height,
                    "published_mae": published,
                    "best_ratio": ratios["best"],
                    "peers_ratio": ratios["peers"],
                }
            )
    return pl.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated log names")
    args = parser.parse_args()
    root = Path(
        os.environ.get(
            "DELAI_SHARED_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
        )
    )
    if not root.is_dir():
        print(f"real logs skipped: {root} is absent (set DELAI_SHARED_DATA)")
        return
    wanted = [s for s in args.only.split(",") if s] or list(REAL)
    for name in wanted:
        data = real(name, root)
        predictions = backtest_predictions(
            data.applications, factories(data.country, [BASELINE]), data.origins
        )
        table = bounds(predictions, data.origins).with_columns(pl.lit(name).alias("log"))
        with pl.Config(
            tbl_rows=50, tbl_width_chars=160, float_precision=2, tbl_hide_column_data_types=True
        ):
            print(table.select("log", *[c for c in table.columns if c != "log"]), flush=True)


if __name__ == "__main__":
    main()
