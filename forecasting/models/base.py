"""The one model contract: fit on history as of a day, predict percentile days for requests.

Every model answers in days from submission to completion, for regular-priority files, at the
quantiles in `schema.QUANTILES`. The base class does what every model must do the same way:
reject bad request rows one by one (never the batch), condition open files on not being done by
the as-of day, and keep p50 <= p80 <= p90.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import date, timedelta
from typing import Self

import numpy as np
import numpy.typing as npt
import polars as pl

from forecasting.dates import epoch_day
from forecasting.errors import DelaiError
from forecasting.schema import (
    CHANNEL,
    DEFAULT_PRIORITY,
    ERROR,
    PRIORITY,
    QUANTILE_DAYS,
    REGION,
    SEGMENT,
    SERVICE,
    SUBMITTED_ON,
)

MAX_DAYS_AHEAD = 90
_ROW = "__row"
Segment = tuple[str, str, str]


class NotFittedError(DelaiError):
    """A model was asked to predict before it was fitted."""


class ProcessingTimeModel(ABC):
    """Fit on applications known at `as_of`; predict days to completion at each quantile."""

    def _is_fitted(self) -> bool:
        return hasattr(self, "as_of_")

    def fit(
        self,
        applications: pl.DataFrame,
        *,
        as_of: date,
        capacity: pl.DataFrame | None = None,
    ) -> Self:
        """Learn from `applications` as known at `as_of` (callers pass `as_known_at` data)."""
        regular = applications.filter(pl.col(PRIORITY) == DEFAULT_PRIORITY)
        self.as_of_ = as_of
        self.segments_: frozenset[Segment] = frozenset(regular.select(SEGMENT).unique().iter_rows())
        self._fit(regular, as_of=as_of, capacity=capacity)
        return self

    def predict(self, requests: pl.DataFrame) -> pl.DataFrame:
        """Requests (service, channel, region, submitted_on) plus quantile days and `error`."""
        if not self._is_fitted():
            raise NotFittedError(f"{type(self).__name__} must be fitted before predict")
        checked = requests.with_row_index(_ROW).with_columns(
            _request_errors(self.segments_, self.as_of_)
        )
        good = checked.filter(pl.col(ERROR).is_null())
        days = self._predict(good) if good.height else np.zeros((0, len(QUANTILE_DAYS)))
        days = enforce_invariants(days, good.get_column(SUBMITTED_ON), self.as_of_)
        answered = good.with_columns(
            pl.Series(name, days[:, i], dtype=pl.Float64, nan_to_null=True)
            for i, name in enumerate(QUANTILE_DAYS)
        ).with_columns(
            pl.when(pl.any_horizontal(pl.col(QUANTILE_DAYS).is_null()))
            .then(pl.lit("no completed files in this segment to estimate from yet"))
            .otherwise(pl.col(ERROR))
            .alias(ERROR)
        )
        refused = checked.filter(pl.col(ERROR).is_not_null()).with_columns(
            pl.lit(None, dtype=pl.Float64).alias(name) for name in QUANTILE_DAYS
        )
        return pl.concat([answered, refused]).sort(_ROW).drop(_ROW)

    @abstractmethod
    def _fit(
        self, applications: pl.DataFrame, *, as_of: date, capacity: pl.DataFrame | None
    ) -> None: ...

    @abstractmethod
    def _predict(self, requests: pl.DataFrame) -> npt.NDArray[np.float64]:
        """Days to completion, shape (rows, quantiles), for requests that passed the checks."""


def _request_errors(segments: frozenset[Segment], as_of: date) -> pl.Expr:
    latest = as_of + timedelta(days=MAX_DAYS_AHEAD)
    # A null service, channel or region makes the key null: that is an unknown segment too.
    known = (
        pl.concat_str([SERVICE, CHANNEL, REGION], separator="\x1f")
        .is_in(["\x1f".join(s) for s in segments])
        .fill_null(False)
    )
    return (
        pl.when(pl.col(SUBMITTED_ON).is_null())
        .then(pl.lit("`submitted_on` must be an ISO date, got nothing or an unparseable value"))
        .when(pl.col(SUBMITTED_ON) > latest)
        .then(
            pl.format(
                f"`submitted_on` must be no later than {latest} ({MAX_DAYS_AHEAD} days after "
                f"the data's as-of date {as_of}), got {{}}",
                pl.col(SUBMITTED_ON),
            )
        )
        .when(~known)
        .then(
            pl.format(
                "`service`, `channel`, `region` must be a known segment, got {} / {} / {}",
                # pl.format is null if any part is: name the missing part instead.
                *(pl.col(c).fill_null("(nothing)") for c in (SERVICE, CHANNEL, REGION)),
            )
        )
        .otherwise(None)
        .alias(ERROR)
    )


def enforce_invariants(
    days: npt.NDArray[np.float64], submitted: pl.Series, as_of: date
) -> npt.NDArray[np.float64]:
    """Open files finish after the as-of day; quantiles never cross."""
    if days.shape[0] == 0:
        return days
    waited = waited_days(submitted, as_of).astype(np.float64)
    floor = np.where(waited >= 0, waited + 1.0, 0.0)
    bounded = np.maximum(days, floor[:, None])
    return np.maximum.accumulate(bounded, axis=1)


def waited_days(submitted: pl.Series, as_of: date) -> npt.NDArray[np.int64]:
    """Days from submission to the as-of day (negative for submissions after it)."""
    return epoch_day(as_of) - submitted.cast(pl.Int64).to_numpy()


def segment_groups(frame: pl.DataFrame) -> list[tuple[Segment, pl.DataFrame]]:
    """The frame split by segment, keys as (service, channel, region) strings."""
    return [
        ((str(key[0]), str(key[1]), str(key[2])), group)
        for key, group in frame.group_by(list(SEGMENT))
    ]
