"""Capacity per future day for a planning baseline: the capacity table's plan, its recent level
shaped like last year, or else the measured throughput.

Capacity is a plan as much as a record: rows dated after the as-of day are used as given. Where
the table has no plan, its recent level per business day follows the shape of the same weeks a
year earlier (leave, planning years), read in 7-day means with a rolling median over SHAPE_WEEKS
weeks, so a one-off event (an outage) is not taken for a season.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from forecasting.schema import COMPLETIONS_CAPACITY, DATE, SEGMENT, STAFF, STAFF_HOURS
from forecasting.whatif.horizon import (
    HISTORY_DAYS,
    N_DAYS,
    RECENT_DAYS,
    SHAPE_WEEKS,
    TAIL_DAYS,
    YEAR_DAYS,
    Segment,
)

_F = npt.NDArray[np.float64]
# The shape stays within these bounds of the level a year earlier, and needs the table to cover
# this share of last year's business days.
SHAPE_BOUNDS: Final = (0.5, 1.5)
SHAPE_COVERAGE: Final = 0.9


@dataclass(frozen=True)
class Capacity:
    per_day: _F
    staff: float
    source: str


def capacity_levels(
    capacity: pl.DataFrame | None,
    segments: list[Segment],
    as_of: date,
    calendars: dict[str, npt.NDArray[np.bool_]],
    throughputs: list[float],
) -> list[Capacity]:
    """Capacity per future day: the table's plan where it has one, else its recent level per
    business day shaped like last year; without table rows, the measured throughput."""
    tables = _capacity_tables(capacity, as_of - timedelta(days=HISTORY_DAYS - 1))
    out = []
    for key, throughput in zip(segments, throughputs, strict=True):
        business = calendars[key[2]]
        future = business[HISTORY_DAYS:].astype(np.float64)
        rows = tables.get(key)
        level, staff = (None, np.nan) if rows is None else _table_level(rows, business, throughput)
        if level is None or rows is None:
            out.append(Capacity(throughput * future, staff, "throughput"))
            continue
        shape = _last_year_shape(rows[0, :HISTORY_DAYS], business[:HISTORY_DAYS], future.size)
        # Rows dated after the as-of day are the plan: they replace the level where given.
        planned = rows[0, HISTORY_DAYS:]
        per_day = np.where(np.isfinite(planned), planned, level * shape * future)
        out.append(Capacity(per_day, staff, "capacity table"))
    return out


def _capacity_tables(capacity: pl.DataFrame | None, first: date) -> dict[Segment, _F]:
    """Per segment, capacity per day from `first` (files; nan where the table has no figure),
    with staff and staff hours in a second and third row."""
    if capacity is None or capacity.is_empty():
        return {}
    n_days = HISTORY_DAYS + N_DAYS + TAIL_DAYS
    frame = capacity.filter(pl.col(DATE) >= first).with_columns(
        (pl.col(DATE) - pl.lit(first)).dt.total_days().alias("_day")
    )
    frame = frame.filter(pl.col("_day") < n_days)
    out = {}
    for key, group in frame.partition_by(SEGMENT, as_dict=True).items():
        day = group.get_column("_day").to_numpy()
        block = np.full((3, n_days), np.nan)
        for i, column in enumerate((COMPLETIONS_CAPACITY, STAFF, STAFF_HOURS)):
            if column in group.columns:
                block[i, day] = group.get_column(column).cast(pl.Float64).to_numpy()
        out[(str(key[0]), str(key[1]), str(key[2]))] = block
    return out


def _table_level(
    rows: _F, business: npt.NDArray[np.bool_], throughput: float
) -> tuple[float | None, float]:
    """Recent capacity per business day and staff on strength, from the table's last weeks.

    Rows with staff hours but no completions capacity are converted at the files per staff
    hour the segment completed recently.
    """
    recent = slice(HISTORY_DAYS - RECENT_DAYS, HISTORY_DAYS)
    worked = business[recent]
    files, staff, hours = rows[0, recent], rows[1, recent], rows[2, recent]
    if not np.isfinite(files[worked]).any() and np.isfinite(hours[worked]).any():
        per_hour = throughput / max(float(np.nanmean(hours[worked])), 1e-9)
        files = hours * per_hour
        rows[0] = rows[2] * per_hour
    known = worked & np.isfinite(files)
    level = float(files[known].mean()) if known.any() else None
    staffed = worked & np.isfinite(staff)
    return level, float(staff[staffed].mean()) if staffed.any() else np.nan


def _last_year_shape(files: _F, business: npt.NDArray[np.bool_], n_days: int) -> _F:
    """Capacity per business day on each future day, relative to the recent level, as it was
    the same weeks last year relative to the same window then; 1.0 without a year of table.

    Day i after the as-of day reads 52 weeks earlier (same weekday), in 7-day means with a
    rolling median over SHAPE_WEEKS weeks; beyond a year the shape repeats.
    """
    known = business & np.isfinite(files)
    covered = slice(HISTORY_DAYS - YEAR_DAYS - RECENT_DAYS, HISTORY_DAYS)
    if known[covered].sum() < SHAPE_COVERAGE * max(int(business[covered].sum()), 1):
        return np.ones(n_days)
    window = np.ones(7)
    total = np.convolve(np.where(known, files, 0.0), window, mode="same")
    count = np.convolve(known.astype(np.float64), window, mode="same")
    weekly = np.where(count > 0, total / np.maximum(count, 1.0), np.nan)
    then = slice(HISTORY_DAYS - YEAR_DAYS - RECENT_DAYS, HISTORY_DAYS - YEAR_DAYS)
    level = float(files[then][known[then]].mean()) if known[then].any() else np.nan
    if not np.isfinite(level) or level <= 0:
        return np.ones(n_days)
    reference = HISTORY_DAYS - YEAR_DAYS + np.arange(YEAR_DAYS)
    half = SHAPE_WEEKS // 2
    spread = reference[:, None] + 7 * np.arange(-half, half + 1)[None, :]
    around = weekly[np.clip(spread, 0, HISTORY_DAYS - 4)]
    shape = np.nanmedian(around, axis=1) / level
    shape = np.clip(np.where(np.isfinite(shape), shape, 1.0), *SHAPE_BOUNDS)
    return np.resize(shape, n_days)
