"""Rolling-origin backtests: fit on what was known at each as-of day, score on what then happened.

Two request sets per origin T: "new" files submitted in the days after T, and "open" files
submitted by T and still open at T. A file whose outcome the data does not yet hold is counted
(`n_censored`) and kept for what is known of it: it took longer than it has been open
(`open_days`: up to its segment's last day in the data, or up to its closure when it left the
queue without completion). Its error is unknown, so MAE and pinball loss leave it out; but once
it is open past a promised date, that date was missed, and coverage counts it so. Leaving such
files out would flatter every model whose dates pass while files are still waiting.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
import polars as pl

from forecasting.asof import as_known_at, is_open_at
from forecasting.capacity import capacity_known_at
from forecasting.errors import DelaiError
from forecasting.models.base import ProcessingTimeModel
from forecasting.schema import (
    AS_OF,
    CLOSED_ON,
    COMPLETED_ON,
    DEFAULT_PRIORITY,
    PRIORITY,
    QUANTILE_DAYS,
    QUANTILES,
    SEGMENT,
    SUBMITTED_ON,
)

KIND = "kind"
MODEL = "model"
ACTUAL_DAYS = "actual_days"
# For a file not completed by the data's last day: the days it had been open by then.
OPEN_DAYS = "open_days"
# Per quantile, the files coverage could judge: completed, or still open past the promised day.
JUDGED = {
    c: f"judged_{c.removeprefix('coverage_')}"
    for c in ("coverage_p50", "coverage_p80", "coverage_p90")
}
METRICS = (
    "mae_p50",
    "pinball",
    "coverage_p50",
    "coverage_p80",
    "coverage_p90",
    "width_p50_p90",
)
BASELINE = "published_percentile"
# The figures `origin_intervals` bounds, and the columns of their bounds.
BOUNDED = ("mae_ratio", "coverage_p80")
INTERVAL_COLUMNS = tuple(f"{m}_{end}" for m in BOUNDED for end in ("lo", "hi"))
_END = "__known_until"
_DAYS_RECORDED = (pl.col(SUBMITTED_ON), pl.col(COMPLETED_ON), pl.col(CLOSED_ON))
logger = logging.getLogger(__name__)

ModelFactory = Callable[[], ProcessingTimeModel]


def request_sets(
    applications: pl.DataFrame, as_of: date, *, new_days: int = 7, data_end: date | None = None
) -> pl.DataFrame:
    """The open and new regular files at `as_of`, with their true days (null if not yet known)
    and, for those, the days they were known to be open: up to their closure when they left the
    queue without completion, else up to `data_end` (default: their segment's last day)."""
    regular = applications.filter(pl.col(PRIORITY) == DEFAULT_PRIORITY)
    end = pl.lit(data_end) if data_end is not None else _segment_last_day(regular)
    is_new = pl.col(SUBMITTED_ON).is_between(
        as_of + timedelta(days=1), as_of + timedelta(days=new_days)
    )
    return (
        regular.with_columns(end.alias(_END))
        .filter(is_open_at(as_of) | is_new)
        .select(
            *SEGMENT,
            SUBMITTED_ON,
            pl.when(is_new).then(pl.lit("new")).otherwise(pl.lit("open")).alias(KIND),
            (pl.col(COMPLETED_ON) - pl.col(SUBMITTED_ON)).dt.total_days().alias(ACTUAL_DAYS),
            pl.when(pl.col(COMPLETED_ON).is_null())
            .then((pl.coalesce(CLOSED_ON, _END) - pl.col(SUBMITTED_ON)).dt.total_days())
            .alias(OPEN_DAYS),
        )
    )


def _segment_last_day(applications: pl.DataFrame) -> pl.Expr:
    """Per row, the last day its segment's data holds: logs put together from several offices
    can end on different days (one of the permit logs runs five months past the others), and a
    file is only known to be open up to its own office's last record."""
    if applications.is_empty():
        return pl.lit(None, dtype=pl.Date)
    return pl.max_horizontal(_DAYS_RECORDED).max().over(SEGMENT)


def open_days_by(rows: pl.DataFrame, day: date) -> pl.Expr:
    """Days a file not done by `day` is known to have been open then: since submission, or up to
    its closure without completion if that came first (`OPEN_DAYS`, where `rows` has it)."""
    since = (pl.lit(day) - pl.col(SUBMITTED_ON)).dt.total_days()
    return pl.min_horizontal(since, OPEN_DAYS) if OPEN_DAYS in rows.columns else since


def last_day(applications: pl.DataFrame) -> date:
    """The latest submission, completion or closure day in the data: where what is known ends."""
    days = applications.select(pl.max_horizontal(c.max() for c in _DAYS_RECORDED)).item()
    if days is None:
        raise DelaiError("the backtest needs at least one application, got none")
    return days


def score_rows(scored: pl.DataFrame) -> pl.DataFrame:
    """Per-row losses for frames holding ACTUAL_DAYS and the quantile-day columns.

    Rows without ACTUAL_DAYS get null losses; their coverage is 0 where OPEN_DAYS (when the
    frame has it) shows the file still open past the date, null where that is not known.
    """
    actual = pl.col(ACTUAL_DAYS)
    pinball = [
        pl.max_horizontal(q * (actual - pl.col(c)), (q - 1) * (actual - pl.col(c)))
        for q, c in zip(QUANTILES, QUANTILE_DAYS, strict=True)
    ]
    p50, p90 = pl.col(QUANTILE_DAYS[0]), pl.col(QUANTILE_DAYS[-1])
    open_days = pl.col(OPEN_DAYS) if OPEN_DAYS in scored.columns else pl.lit(None)
    coverage = [
        pl.when(actual.is_not_null())
        .then((actual <= pl.col(days)).cast(pl.Float64))
        .when(open_days > pl.col(days))
        .then(pl.lit(0.0))
        .alias(column)
        for days, column in zip(QUANTILE_DAYS, JUDGED, strict=True)
    ]
    return scored.with_columns(
        (actual - p50).abs().alias("mae_p50"),
        pl.when(actual.is_not_null())
        .then(pl.sum_horizontal(pinball) / len(QUANTILES))
        .alias("pinball"),
        *coverage,
        (p90 - p50).alias("width_p50_p90"),
    )


def backtest(
    applications: pl.DataFrame,
    models: Mapping[str, ModelFactory],
    origins: Sequence[date],
    *,
    capacity: pl.DataFrame | None = None,
    new_days: int = 7,
    progress: Callable[[int, int], None] | None = None,
) -> pl.DataFrame:
    """A long frame: one row per as-of, model, segment and request kind, with the metrics."""
    predicted = backtest_predictions(
        applications, models, origins, capacity=capacity, new_days=new_days, progress=progress
    )
    return aggregate(predicted)


def backtest_predictions(
    applications: pl.DataFrame,
    models: Mapping[str, ModelFactory],
    origins: Sequence[date],
    *,
    capacity: pl.DataFrame | None = None,
    new_days: int = 7,
    progress: Callable[[int, int], None] | None = None,
) -> pl.DataFrame:
    """One row per as-of, model and request: the quantile days answered (null where the model
    refused) and the true days (null while unknown), for callers that rescore them."""
    parts: list[pl.DataFrame] = []
    total = len(origins) * len(models)
    for i, as_of in enumerate(origins):
        known = as_known_at(applications.lazy(), as_of).collect()
        # Every version known then, not only the latest: a model looking back from an earlier
        # day (the queue model's calibration origins) needs the plan as it stood on that day.
        known_capacity = capacity_known_at(capacity, as_of, latest=False)
        requests = request_sets(applications, as_of, new_days=new_days)
        for j, (name, factory) in enumerate(models.items()):
            try:
                model = factory().fit(known, as_of=as_of, capacity=known_capacity)
            except DelaiError as error:
                # As the Forecaster leaves such a candidate out: it answers nothing here.
                logger.warning("%s could not be fitted as of %s: %s", name, as_of, error)
                answers = pl.DataFrame(
                    {
                        c: pl.Series([None] * requests.height, dtype=pl.Float64)
                        for c in QUANTILE_DAYS
                    }
                )
            else:
                answers = model.predict(requests.select(*SEGMENT, SUBMITTED_ON))
            parts.append(
                requests.with_columns(answers.select(QUANTILE_DAYS)).select(
                    pl.lit(as_of).alias(AS_OF), pl.lit(name).alias(MODEL), pl.all()
                )
            )
            if progress:
                progress(i * len(models) + j + 1, total)
    return pl.concat(parts, how="vertical_relaxed") if parts else pl.DataFrame()


def aggregate(predictions: pl.DataFrame) -> pl.DataFrame:
    """`backtest_predictions` rows scored and summed up per as-of, model, segment and kind;
    files whose true days are null are counted in `n_censored`, not scored."""
    if predictions.is_empty():
        return pl.DataFrame()
    keys = [AS_OF, MODEL, *SEGMENT, KIND]
    censored = predictions.filter(pl.col(ACTUAL_DAYS).is_null()).group_by(keys).len("n_censored")
    scored = score_rows(predictions.filter(pl.col(QUANTILE_DAYS[0]).is_not_null()))
    metrics = scored.group_by(keys).agg(
        pl.col(ACTUAL_DAYS).is_not_null().sum().alias("n"),
        *(pl.col(c).is_not_null().sum().alias(n) for c, n in JUDGED.items()),
        *(pl.col(m).mean() for m in METRICS),
    )
    counts = ["n", "n_censored", *JUDGED.values()]
    return (
        metrics.join(censored, on=keys, how="full", coalesce=True)
        .with_columns(pl.col(c).fill_null(0).cast(pl.UInt32) for c in counts)
        .select(*keys, *counts, *METRICS)
        .sort(AS_OF, MODEL, *SEGMENT, KIND)
    )


def with_judged(results: pl.DataFrame) -> pl.DataFrame:
    """`results` with the judged counts `weighted` needs; frames scored before coverage counted
    overdue open files judged only the completed ones (`n`)."""
    missing = [n for n in JUDGED.values() if n not in results.columns]
    return results.with_columns(pl.col("n").alias(n) for n in missing) if missing else results


def measured(results: pl.DataFrame) -> pl.DataFrame:
    """The `aggregate` rows any metric was measured on: completed files, or overdue open ones."""
    return with_judged(results).filter((pl.col("n") > 0) | (pl.col(JUDGED["coverage_p80"]) > 0))


def weighted(metric: str) -> pl.Expr:
    """`metric` averaged over `aggregate` rows, weighted by the files it was measured on: the
    judged files for a coverage, the completed ones for the rest."""
    weight = pl.col(JUDGED.get(metric, "n"))
    value = pl.col(metric)
    return ((value * weight).sum() / weight.filter(value.is_not_null()).sum()).alias(metric)


def summarise(results: pl.DataFrame, by: Sequence[str] = (MODEL, KIND)) -> pl.DataFrame:
    """Metrics weighted by the files each was measured on, and MAE relative to the baseline."""
    table = (
        measured(results)
        .group_by(list(by))
        .agg(pl.col("n").sum(), pl.col("n_censored").sum(), *(weighted(m) for m in METRICS))
    )
    others = [c for c in by if c != MODEL]
    if BASELINE in table.get_column(MODEL).to_list():
        base = table.filter(pl.col(MODEL) == BASELINE).select(
            *others, pl.col("mae_p50").alias("_base")
        )
        table = (
            (table.join(base, on=others, how="left") if others else table.join(base, how="cross"))
            .with_columns((pl.col("mae_p50") / pl.col("_base")).alias("mae_ratio"))
            .drop("_base")
        )
    return table.sort(list(by))


def origin_intervals(
    results: pl.DataFrame, *, level: float = 0.9, draws: int = 2000, seed: int = 0
) -> pl.DataFrame:
    """Per model and request kind, how far `summarise`'s MAE ratio and P80 coverage could move
    with other origins: a percentile bootstrap over the origins of `aggregate` rows (columns
    `mae_ratio_lo/hi`, `coverage_p80_lo/hi`, the central `level` of `draws` resamples).

    Origins are drawn with replacement, each with all its files: the files of one origin share
    its queue and its staffing, so they err together, and a count of files would overstate what
    is known. The ratio divides each model's MAE by the baseline's on the same resampled origins.
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"`level` must be within (0, 1), got {level}")
    schema = pl.Schema(
        {MODEL: pl.String, KIND: pl.String, **dict.fromkeys(INTERVAL_COLUMNS, pl.Float64)}
    )
    if results.is_empty():
        return pl.DataFrame(schema=schema)
    judged = JUDGED["coverage_p80"]
    per_origin = (
        measured(results)
        .group_by(AS_OF, MODEL, KIND)
        .agg(
            (pl.col("mae_p50").fill_null(0.0) * pl.col("n")).sum().alias("_error"),
            pl.col("n").sum().cast(pl.Float64),
            (pl.col("coverage_p80").fill_null(0.0) * pl.col(judged)).sum().alias("_hits"),
            pl.col(judged).sum().cast(pl.Float64),
        )
    )
    origins = per_origin.get_column(AS_OF).unique().sort()
    at = {day: i for i, day in enumerate(origins.to_list())}
    counts = (
        np.random.default_rng(seed)
        .multinomial(len(at), np.full(len(at), 1.0 / max(len(at), 1)), size=draws)
        .astype(np.float64)
    )

    def resampled(part: pl.DataFrame, column: str) -> npt.NDArray[np.float64]:
        """`column`'s sum over each resample's origins (one value per draw)."""
        by_origin = np.zeros(len(at))
        for day, value in part.select(AS_OF, column).iter_rows():
            by_origin[at[day]] += value
        return counts @ by_origin

    def ratio(
        top: npt.NDArray[np.float64], bottom: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.float64]:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(bottom > 0, top / bottom, np.nan)

    def mae(part: pl.DataFrame) -> npt.NDArray[np.float64]:
        return ratio(resampled(part, "_error"), resampled(part, "n"))

    # A kind without baseline rows has no ratio: NaN in every draw.
    base_mae = {
        kind: mae(part)
        for (kind,), part in per_origin.filter(pl.col(MODEL) == BASELINE).group_by(KIND)
    }
    tail = (1.0 - level) / 2.0
    rows = []
    for (model, kind), part in per_origin.group_by(MODEL, KIND):
        bounds = {
            "mae_ratio": ratio(mae(part), base_mae.get(kind, np.full(draws, np.nan))),
            "coverage_p80": ratio(resampled(part, "_hits"), resampled(part, judged)),
        }
        row: dict[str, object] = {MODEL: model, KIND: kind}
        for name, values in bounds.items():
            finite = values[np.isfinite(values)]
            if finite.size:
                low, high = np.quantile(finite, [tail, 1.0 - tail])
                row[f"{name}_lo"], row[f"{name}_hi"] = float(low), float(high)
        rows.append(row)
    return pl.DataFrame(rows, schema=schema).sort(MODEL, KIND)


def summarise_with_intervals(results: pl.DataFrame) -> pl.DataFrame:
    """`summarise` per model and request kind, with `origin_intervals`' bounds beside each."""
    return summarise(results).join(origin_intervals(results), on=[MODEL, KIND], how="left")


def weekly_origins(start: date, end: date, step_days: int = 7) -> list[date]:
    """As-of days from `start` to `end` every `step_days`."""
    count = (end - start).days // step_days + 1
    return [start + timedelta(days=step_days * i) for i in range(max(count, 0))]
