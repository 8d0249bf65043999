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

The last rows add what the contract does not carry but a "where is my file" page could: the
file's current step, the activity of its last event by the origin in the log (`--steps`). They
show what such a field would be worth to waiting files, and are not a bound on today's models.

A waiting file's answer is never earlier than the day after the origin, as delai's. Files with no
completion in the data are left out, as they are from the MAE in `make bench-accuracy`. Ratios are
to the published method's MAE on the same files. Nothing is hard-coded: every figure is measured
in the run, from the logs under the shared data folder (`DELAI_SHARED_DATA`; skipped, and said so,
when absent).
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from experiments.bench_accuracy import REAL, factories, real, shared_data_root
from forecasting.backtest import ACTUAL_DAYS, BASELINE, KIND, MODEL, backtest_predictions
from forecasting.eventlog import SCOPE_SEPARATOR, read_events
from forecasting.real_logs import REAL_LOGS
from forecasting.schema import (
    APPLICATION_ID,
    AS_OF,
    CLOSED_AT,
    COMPLETED_AT,
    QUANTILE_DAYS,
    SEGMENT,
    SUBMITTED_AT,
    SUBMITTED_ON,
)

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
        values = np.full(files.height, np.nan)
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
    parts = [
        _ratios(files.filter(pl.col(KIND) == kind), kind, groups)
        for kind, groups in (("new", NEW_GROUPS), ("open", OPEN_GROUPS))
    ]
    return pl.concat([p for p in parts if not p.is_empty()])


def _ratios(files: pl.DataFrame, kind: str, groups: dict[str, list[str | pl.Expr]]) -> pl.DataFrame:
    """Per grouping, the published MAE on `files` and the hindsight answers' ratios to it."""
    if files.is_empty():
        return pl.DataFrame()
    actual = files.get_column(ACTUAL_DAYS)
    published_error = (files.get_column(P50) - actual).abs()
    rows = []
    for label, keys in groups.items():
        ratios = {}
        for name, own in (("best", True), ("peers", False)):
            answer = hindsight(files, keys, own=own)
            # A lone file has no peers: it is left out of both sides of the ratio.
            known = answer.is_not_nan()
            ratios[name] = float((answer - actual).abs().filter(known).sum()) / float(
                published_error.filter(known).sum()
            )
        rows.append(
            {
                KIND: kind,
                "grouped by": label,
                "files": files.height,
                "published_mae": float(published_error.mean()),  # type: ignore[arg-type]
                "best_ratio": ratios["best"],
                "peers_ratio": ratios["peers"],
            }
        )
    return pl.DataFrame(rows)


STEP = "step"


def open_files_with_steps(name: str, root: Path, origins: list[date]) -> pl.DataFrame:
    """Files open at each origin with their outcome, age and current step (the activity of the
    case's last event by the origin), from the log itself."""
    log = REAL_LOGS[name]
    mapping = log.mapping
    key = pl.concat_str(
        [pl.col(c).cast(pl.String) for c in (*mapping.case_scope, mapping.case_id)],
        separator=SCOPE_SEPARATOR,
    )
    events = (
        read_events(root / log.path, mapping)
        .select(
            key.alias(APPLICATION_ID),
            pl.col(mapping.activity).cast(pl.String).alias(STEP),
            pl.col(mapping.timestamp).dt.convert_time_zone(mapping.timezone).dt.date().alias("day"),
        )
        .collect()
        .sort("day", maintain_order=True)
    )
    apps = log.applications(root).collect()
    local_day = {c: pl.col(c).dt.date() for c in (SUBMITTED_AT, COMPLETED_AT, CLOSED_AT)}
    apps = apps.select(APPLICATION_ID, *SEGMENT, **local_day)
    parts = []
    for origin in origins:
        open_then = apps.filter(
            pl.col(SUBMITTED_AT) <= origin,
            pl.col(COMPLETED_AT).is_null() | (pl.col(COMPLETED_AT) > origin),
            pl.col(CLOSED_AT).is_null() | (pl.col(CLOSED_AT) > origin),
            pl.col(COMPLETED_AT).is_not_null(),
        )
        steps = (
            events.filter(pl.col("day") <= origin).group_by(APPLICATION_ID).agg(pl.col(STEP).last())
        )
        parts.append(
            open_then.join(steps, on=APPLICATION_ID, how="left").with_columns(
                pl.lit(origin).alias(AS_OF)
            )
        )
    return (
        pl.concat(parts)
        .with_columns(
            (pl.col(COMPLETED_AT) - pl.col(SUBMITTED_AT)).dt.total_days().alias(ACTUAL_DAYS),
            (pl.col(AS_OF) - pl.col(SUBMITTED_AT)).dt.total_days().alias(AGE),
            pl.col(SUBMITTED_AT).alias(SUBMITTED_ON),
            pl.lit("open").alias(KIND),
        )
        .drop(APPLICATION_ID)
    )


def step_bounds(files: pl.DataFrame, predictions: pl.DataFrame) -> pl.DataFrame:
    """`bounds` for waiting files grouped with their current step, on the published method's
    answers to the same files (matched by origin, segment and submission day)."""
    published = (
        predictions.filter(pl.col(MODEL) == BASELINE, pl.col(KIND) == "open")
        .select(AS_OF, *SEGMENT, SUBMITTED_ON, P50)
        .unique(subset=[AS_OF, *SEGMENT, SUBMITTED_ON])
    )
    answered = files.join(published, on=[AS_OF, *SEGMENT, SUBMITTED_ON], how="inner")
    groups: dict[str, list[str | pl.Expr]] = {
        "origin, segment, step": [AS_OF, *SEGMENT, STEP],
        "origin, segment, step, age in weeks": [
            AS_OF,
            *SEGMENT,
            STEP,
            (pl.col(AGE) // 7).alias("age_weeks"),
        ],
    }
    return _ratios(answered.with_columns(pl.col(ACTUAL_DAYS).cast(pl.Float64)), "open", groups)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated log names")
    parser.add_argument(
        "--steps", action="store_true", help="also group waiting files by their current step"
    )
    args = parser.parse_args()
    root = shared_data_root()
    if not root.is_dir():
        print(f"real logs skipped: {root} is absent (set DELAI_SHARED_DATA)")
        return
    wanted = [s for s in args.only.split(",") if s] or list(REAL)
    for name in wanted:
        data = real(name, root)
        predictions = backtest_predictions(
            data.applications, factories(data.country, [BASELINE]), data.origins
        )
        table = bounds(predictions, data.origins)
        if args.steps:
            files = open_files_with_steps(name, root, data.origins)
            table = pl.concat([table, step_bounds(files, predictions)])
        table = table.with_columns(pl.lit(name).alias("log"))
        with pl.Config(
            tbl_rows=50, tbl_width_chars=160, float_precision=2, tbl_hide_column_data_types=True
        ):
            print(table.select("log", *[c for c in table.columns if c != "log"]), flush=True)


if __name__ == "__main__":
    main()
