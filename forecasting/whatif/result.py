"""What a what-if answers: weekly figures per segment and in total, baseline beside scenario.

The weekly frame is long: one row per week, segment (or "all" for the totals) and variant, so
planners, the API and charts read it alike. Recovery is the first week whose end finds no more
files open than the day before the first change did.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from forecasting.models.base import Segment
from forecasting.schema import (
    BACKLOG,
    BACKLOG_HI,
    BACKLOG_LO,
    CHANNEL,
    P80_BUSINESS_DAYS,
    P80_DAYS_HI,
    P80_DAYS_LO,
    PRE_CHANGE_BACKLOG,
    QUANTILE_DAYS,
    RECOVERY_WEEK,
    REGION,
    SERVICE,
    SHARE_WITHIN_STANDARD,
    TOTAL,
    VARIANT,
    VARIANTS,
    WEEK_ARRIVALS,
    WEEK_COMPLETIONS,
    WEEK_START,
)
from forecasting.whatif.bands import Bands
from forecasting.whatif.cohorts import Cohorts
from forecasting.whatif.flows import Flow
from forecasting.whatif.plan import Plan
from forecasting.whatif.scenario import GoalSeekRequest, Scenario

_F = npt.NDArray[np.float64]
P50_DAYS, P80_DAYS = QUANTILE_DAYS[0], QUANTILE_DAYS[1]
WEEKLY_COLUMNS = (
    WEEK_START, SERVICE, CHANNEL, REGION, VARIANT, WEEK_ARRIVALS, WEEK_COMPLETIONS, BACKLOG,
    BACKLOG_LO, BACKLOG_HI, P50_DAYS, P80_DAYS, P80_DAYS_LO, P80_DAYS_HI, P80_BUSINESS_DAYS,
    SHARE_WITHIN_STANDARD,
)  # fmt: skip
# A fluid backlog is fractional: within half a file of the old level counts as back to it.
_RECOVERY_TOLERANCE = 0.5


@dataclass(frozen=True)
class ScenarioResult:
    """The weekly figures and recovery of one scenario run; `as_of` and `model_version` say
    what answered (the caller may fill the version in)."""

    scenario: Scenario
    weekly: pl.DataFrame
    recovery: pl.DataFrame
    n_paths: int
    as_of: date | None = None
    model_version: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: dates as ISO strings, missing numbers as None."""
        return {
            "name": self.scenario.name,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "model_version": self.model_version,
            "n_paths": self.n_paths,
            "scenario": self.scenario.model_dump(mode="json"),
            "weekly": _records(self.weekly),
            "recovery": _records(self.recovery),
        }


@dataclass(frozen=True)
class GoalSeekResult:
    """The least staffing change meeting the standard, or why there is none."""

    request: GoalSeekRequest
    reachable: bool
    staff: float | None
    unit: Literal["staff", "percent"]
    message: str
    result: ScenarioResult | None
    evaluations: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "reachable": self.reachable,
            "staff": self.staff,
            "unit": self.unit,
            "message": self.message,
            "evaluations": self.evaluations,
            "request": self.request.model_dump(mode="json"),
            "result": self.result.to_dict() if self.result else None,
        }


def weekly_frame(
    scenario: Scenario, plan: Plan, flow: Flow, cohorts: Cohorts, bands: Bands
) -> pl.DataFrame:
    """The long weekly frame: every segment, then the totals, for both variants."""
    n_variants, n_segments, _ = flow.arrivals.shape
    weeks = plan.n_weeks
    days = slice(plan.first_day, plan.n_days)
    shape = (n_variants, n_segments, weeks, 7)
    arrivals = flow.arrivals[..., days].reshape(shape).sum(-1)
    completions = flow.completions[..., days].reshape(shape).sum(-1)
    backlog = flow.backlog[..., plan.first_day + 7 * np.arange(weeks) + 6]
    segments = _segment_part(
        plan.segments,
        {
            WEEK_ARRIVALS: arrivals,
            WEEK_COMPLETIONS: completions,
            BACKLOG: backlog,
            BACKLOG_LO: np.maximum(backlog + bands.backlog[..., 0], 0.0),
            BACKLOG_HI: np.maximum(backlog + bands.backlog[..., 1], 0.0),
            P50_DAYS: cohorts.p50,
            P80_DAYS: cohorts.p80,
            P80_DAYS_LO: np.maximum(cohorts.p80 + bands.p80[..., 0], 0.0),
            P80_DAYS_HI: np.maximum(cohorts.p80 + bands.p80[..., 1], 0.0),
            P80_BUSINESS_DAYS: cohorts.p80_business,
            SHARE_WITHIN_STANDARD: cohorts.share,
        },
    )
    total_backlog = backlog.sum(1)
    totals = _segment_part(
        [(TOTAL, TOTAL, TOTAL)],
        {
            WEEK_ARRIVALS: arrivals.sum(1)[:, None],
            WEEK_COMPLETIONS: completions.sum(1)[:, None],
            BACKLOG: total_backlog[:, None],
            BACKLOG_LO: np.maximum(total_backlog + bands.total_backlog[..., 0], 0.0)[:, None],
            BACKLOG_HI: np.maximum(total_backlog + bands.total_backlog[..., 1], 0.0)[:, None],
            P50_DAYS: cohorts.total_p50[:, None],
            P80_DAYS: cohorts.total_p80[:, None],
            P80_DAYS_LO: np.maximum(cohorts.total_p80 + bands.total_p80[..., 0], 0.0)[:, None],
            P80_DAYS_HI: np.maximum(cohorts.total_p80 + bands.total_p80[..., 1], 0.0)[:, None],
            P80_BUSINESS_DAYS: cohorts.total_p80_business[:, None],
            SHARE_WITHIN_STANDARD: None
            if cohorts.total_share is None
            else cohorts.total_share[:, None],
        },
    )
    week_start = pl.Series(
        WEEK_START,
        [scenario.start + timedelta(weeks=w) for w in range(weeks)],
        dtype=pl.Date,
    )
    frame = pl.concat([segments, totals]).with_columns(
        pl.lit(week_start).gather(pl.col("_week")).alias(WEEK_START)
    )
    return frame.select(WEEKLY_COLUMNS).sort([SERVICE, CHANNEL, REGION, VARIANT, WEEK_START])


def recovery_frame(scenario: Scenario, plan: Plan, flow: Flow) -> pl.DataFrame:
    """Per segment, totals and variant: the open files before the first change and the first
    week (from that change's week) ending with no more open than that."""
    change = plan.change_day
    before = flow.backlog[..., change - 1] if change > 0 else flow.opening
    ends = plan.first_day + 7 * np.arange(plan.n_weeks) + 6
    weekly = flow.backlog[..., ends]
    first_week = max((change - plan.first_day) // 7, 0)
    rows = []
    keys: list[Segment] = [*plan.segments, (TOTAL, TOTAL, TOTAL)]
    levels = np.concatenate([before, before.sum(1, keepdims=True)], axis=1)
    series = np.concatenate([weekly, weekly.sum(1, keepdims=True)], axis=1)
    for v, variant in enumerate(VARIANTS):
        for s, key in enumerate(keys):
            back = np.flatnonzero(series[v, s, first_week:] <= levels[v, s] + _RECOVERY_TOLERANCE)
            week = (
                scenario.start + timedelta(weeks=first_week + int(back[0])) if back.size else None
            )
            rows.append((*key, variant, float(levels[v, s]), week))
    return pl.DataFrame(
        rows,
        schema={
            SERVICE: pl.String,
            CHANNEL: pl.String,
            REGION: pl.String,
            VARIANT: pl.String,
            PRE_CHANGE_BACKLOG: pl.Float64,
            RECOVERY_WEEK: pl.Date,
        },
        orient="row",
    )


def _segment_part(segments: list[Segment], values: dict[str, _F | None]) -> pl.DataFrame:
    """Long rows (segment, variant, week) from arrays shaped (variants, segments, weeks)."""
    first = next(v for v in values.values() if v is not None)
    n_variants, n_segments, weeks = first.shape
    n = n_variants * n_segments * weeks
    variant = np.repeat(np.arange(n_variants), n_segments * weeks)
    segment = np.tile(np.repeat(np.arange(n_segments), weeks), n_variants)
    frame = pl.DataFrame(
        [
            pl.Series("_week", np.tile(np.arange(weeks), n_variants * n_segments)),
            *(
                pl.Series(name, [key[i] for key in segments]).gather(segment)
                for i, name in enumerate((SERVICE, CHANNEL, REGION))
            ),
            pl.Series(VARIANT, list(VARIANTS)).gather(variant),
        ]
    )
    return frame.with_columns(
        pl.Series(name, np.full(n, np.nan) if array is None else array.ravel(), nan_to_null=True)
        .cast(pl.Float64)
        .alias(name)
        for name, array in values.items()
    )


def _records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in frame.iter_rows(named=True):
        out.append({k: _plain(v) for k, v in row.items()})
    return out


def _plain(value: object) -> object:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
