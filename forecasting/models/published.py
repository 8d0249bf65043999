"""The method governments publish: percentiles of files completed in the trailing months.

"80 % of applications were processed within N days", from files completed in the last 180 days.
It is the baseline every other model must beat, so it is implemented faithfully, lag and all:
it ignores the queue and time already waited.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
import polars as pl

from forecasting.models.base import ProcessingTimeModel, Segment, segment_groups
from forecasting.schema import COMPLETED_ON, QUANTILES, SEGMENT, SERVICE, SUBMITTED_ON


class PublishedPercentile(ProcessingTimeModel):
    """P50/P80/P90 of processing days of files completed in the trailing `window_days`."""

    name = "published_percentile"

    def __init__(self, *, window_days: int = 180) -> None:
        self.window_days = window_days

    def _fit(
        self, applications: pl.DataFrame, *, as_of: date, capacity: pl.DataFrame | None
    ) -> None:
        recent = applications.filter(
            pl.col(COMPLETED_ON).is_between(as_of - timedelta(days=self.window_days - 1), as_of)
        ).with_columns((pl.col(COMPLETED_ON) - pl.col(SUBMITTED_ON)).dt.total_days().alias("d"))
        self.table_: dict[Segment, npt.NDArray[np.float64]] = {
            key: _percentiles(group.get_column("d").to_numpy())
            for key, group in segment_groups(recent)
        }
        # A segment with no recent completion borrows its service's figure, as a page would.
        self.by_service_: dict[str, npt.NDArray[np.float64]] = {
            str(key[0]): _percentiles(group.get_column("d").to_numpy())
            for key, group in recent.group_by(SERVICE)
        }

    def _predict(self, requests: pl.DataFrame) -> npt.NDArray[np.float64]:
        missing = np.full(len(QUANTILES), np.nan)
        rows = [
            self.table_.get(seg, self.by_service_.get(seg[0], missing))
            for seg in requests.select(SEGMENT).iter_rows()
        ]
        return np.vstack(rows) if rows else np.zeros((0, len(QUANTILES)))


def _percentiles(days: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    return np.quantile(days.astype(np.float64), QUANTILES, method="higher")
