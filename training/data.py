"""Load training data and choose backtest origins a horizon before the as-of date.

Origins end one horizon before the as-of date (the P90 of recent processing days, plus a week),
so the files they score have mostly finished and the scores are not biased towards quick ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from forecasting.asof import history_at
from forecasting.backtest import last_day
from forecasting.capacity import validate_capacity
from forecasting.contract import validate_applications
from forecasting.errors import DelaiError
from forecasting.quarantine import QuarantineReport
from forecasting.schema import COMPLETED_ON, DEFAULT_PRIORITY, PRIORITY, SUBMITTED_ON
from forecasting.settings import Settings
from forecasting.tables import scan_table

HORIZON_WINDOW_DAYS = 180
HORIZON_MARGIN_DAYS = 7


@dataclass(frozen=True)
class TrainingData:
    """Validated applications as known at `as_of`, capacity, and the validation reports."""

    applications: pl.DataFrame
    capacity: pl.DataFrame | None
    reports: dict[str, QuarantineReport]
    as_of: date


@dataclass(frozen=True)
class Origins:
    """Backtest as-of dates and the horizon kept between the last one and the data's as-of."""

    origins: list[date]
    horizon_days: int


def load_data(
    data: Path, *, capacity: Path | None, as_of: date | None, settings: Settings
) -> TrainingData:
    """Validate (nothing may be dated after today) and cut the data at `as_of`.

    Without `as_of`, the data is as of its latest submission, completion or closure date.
    """
    today = date.today()
    checked_as_of = max(today, as_of) if as_of else today
    validated = validate_applications(
        scan_table(data), as_of=checked_as_of, salt=settings.id_salt.get_secret_value()
    )
    reports = {"applications": validated.report}
    if validated.applications.is_empty():
        raise DelaiError(f"`--data` must hold at least one valid application, got none in {data}")
    day = as_of or last_day(validated.applications)
    # The record as of that day, closures included: backtests need to know when open files left.
    applications = history_at(validated.applications.lazy(), day).collect()
    capacity_table = None
    if capacity is not None:
        checked = validate_capacity(scan_table(capacity, field="capacity"))
        reports["capacity"] = checked.report
        capacity_table = checked.capacity
    return TrainingData(applications, capacity_table, reports, day)


def horizon_days(applications: pl.DataFrame, as_of: date) -> int:
    """P90 of processing days of regular files completed in the last 180 days, plus a week."""
    recent = applications.filter(
        (pl.col(PRIORITY) == DEFAULT_PRIORITY)
        & pl.col(COMPLETED_ON).is_between(as_of - timedelta(days=HORIZON_WINDOW_DAYS - 1), as_of)
    )
    if recent.is_empty():
        raise DelaiError(
            f"the data must hold regular files completed in the {HORIZON_WINDOW_DAYS} days before "
            f"{as_of} to set the backtest horizon, got none"
        )
    days = (pl.col(COMPLETED_ON) - pl.col(SUBMITTED_ON)).dt.total_days()
    p90 = recent.select(days.quantile(0.9, interpolation="higher")).item()
    return int(p90) + HORIZON_MARGIN_DAYS


def choose_origins(
    applications: pl.DataFrame, as_of: date, *, count: int, step_days: int
) -> Origins:
    """`count` origins every `step_days`, the last one a horizon before `as_of`."""
    if count < 1:
        raise DelaiError(f"`--origins` must be at least 1, got {count}")
    horizon = horizon_days(applications, as_of)
    last = as_of - timedelta(days=horizon)
    origins = [last - timedelta(days=step_days * i) for i in reversed(range(count))]
    first_submitted = applications.get_column(SUBMITTED_ON).min()
    if not isinstance(first_submitted, date) or origins[0] <= first_submitted:
        raise DelaiError(
            f"`--origins` {count} every {step_days} days ending {last} (as-of {as_of} minus a "
            f"{horizon}-day horizon) must start after the first submission {first_submitted}, "
            f"got {origins[0]}; use fewer origins or a shorter step"
        )
    return Origins(origins, horizon)
