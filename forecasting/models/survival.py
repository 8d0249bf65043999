"""The Kaplan-Meier model: per segment, the processing days of the files of the trailing year.

The curve and its conditional quantiles are `forecasting.survival_curve`'s; a segment with too
few finished files borrows its service's curve.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
import polars as pl

from forecasting.models.base import ProcessingTimeModel, Segment, segment_groups, waited_days
from forecasting.schema import COMPLETED_ON, QUANTILES, SERVICE, SUBMITTED_ON

# SurvivalCurve is named from here too by Forecasters pickled before it moved.
from forecasting.survival_curve import SurvivalCurve, conditional_quantiles, kaplan_meier


class KaplanMeier(ProcessingTimeModel):
    """Per-segment Kaplan-Meier on files submitted in the trailing `window_days`."""

    name = "kaplan_meier"

    def __init__(self, *, window_days: int = 365, min_events: int = 30) -> None:
        self.window_days = window_days
        self.min_events = min_events

    def _fit(
        self, applications: pl.DataFrame, *, as_of: date, capacity: pl.DataFrame | None
    ) -> None:
        cohort = applications.filter(
            pl.col(SUBMITTED_ON) > as_of - timedelta(days=self.window_days)
        ).with_columns(
            (pl.col(COMPLETED_ON).fill_null(as_of) - pl.col(SUBMITTED_ON))
            .dt.total_days()
            .alias("t"),
            pl.col(COMPLETED_ON).is_not_null().cast(pl.Int8).alias("event"),
        )
        self.curves_: dict[Segment, SurvivalCurve] = {}
        for key, group in segment_groups(cohort):
            if group.get_column("event").sum() >= self.min_events:
                self.curves_[key] = kaplan_meier(group.get_column("t"), group.get_column("event"))
        self.by_service_: dict[str, SurvivalCurve] = {
            str(key[0]): kaplan_meier(group.get_column("t"), group.get_column("event"))
            for key, group in cohort.group_by(SERVICE)
            if group.get_column("event").sum() > 0
        }

    def _predict(self, requests: pl.DataFrame) -> npt.NDArray[np.float64]:
        out = np.full((requests.height, len(QUANTILES)), np.nan)
        indexed = requests.with_row_index("_i")
        for key, group in segment_groups(indexed):
            curve = self.curves_.get(key) or self.by_service_.get(key[0])
            if curve is None:
                continue
            waited = waited_days(group.get_column(SUBMITTED_ON), self.as_of_)
            rows = group.get_column("_i").to_numpy()
            out[rows] = conditional_quantiles(curve, waited.astype(np.float64), QUANTILES)
        return out
