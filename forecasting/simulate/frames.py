"""Turn a simulation run into the raw-contract tables, plus a truth table of queue state."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from forecasting.dates import epoch_day
from forecasting.schema import (
    APPLICATION_ID,
    CHANNEL,
    COMPLETED_AT,
    COMPLETIONS_CAPACITY,
    DATE,
    DELIVERED_AT,
    PLANNED_ON,
    PRIORITIES,
    PRIORITY,
    REGION,
    SERVICE,
    STAFF,
    STAFF_HOURS,
    SUBMITTED_AT,
)
from forecasting.simulate.engine import Run
from forecasting.simulate.fifo import count_by_day
from forecasting.simulate.scenarios import ScenarioSpec, StaffingChange
from forecasting.simulate.segments import CHANNELS, SERVICES, Segments

# Truth-table columns; not part of the data contract, so they live here rather than in schema.
SUBMITTED: Final = "submitted"
QUEUE_ARRIVALS: Final = "queue_arrivals"
PROCESSED: Final = "processed"
BACKLOG: Final = "backlog"
COMPLETED: Final = "completed"
IN_SYSTEM: Final = "in_system"

APPLICATION_COLUMNS: Final = (
    APPLICATION_ID, SERVICE, CHANNEL, REGION, SUBMITTED_AT, COMPLETED_AT, DELIVERED_AT, PRIORITY
)  # fmt: skip
CAPACITY_COLUMNS: Final = (
    DATE, SERVICE, CHANNEL, REGION, STAFF, STAFF_HOURS, COMPLETIONS_CAPACITY, PLANNED_ON
)  # fmt: skip
QUEUE_COLUMNS: Final = (
    DATE, SERVICE, CHANNEL, REGION, SUBMITTED, QUEUE_ARRIVALS, PROCESSED, BACKLOG, COMPLETED,
    IN_SYSTEM,
)  # fmt: skip
_ID_DIGITS = 9


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """The raw tables a service would supply, and the truth behind them.

    `queue` has one row per segment and day: files submitted, files joining the queue (all
    priorities; mail after transit), regular files picked up from the FIFO queue and left waiting
    in it (fractional: capacity is a rate), files completed and files in the system at the end
    of the day. Its counts include files submitted before `start`, which the warm-up created.
    """

    applications: pl.DataFrame
    capacity: pl.DataFrame
    queue: pl.DataFrame
    spec: ScenarioSpec


def to_result(run: Run) -> SimulationResult:
    return SimulationResult(
        applications=_applications(run),
        capacity=_capacity(run),
        queue=_queue(run),
        spec=run.spec,
    )


def write_simulation(result: SimulationResult, out_dir: Path) -> dict[str, Path]:
    """Write the tables as Parquet and the scenario as JSON; returns the path of each."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: out_dir / f"{name}.parquet" for name in ("applications", "capacity", "queue")}
    result.applications.write_parquet(paths["applications"])
    result.capacity.write_parquet(paths["capacity"])
    result.queue.write_parquet(paths["queue"])
    paths["scenario"] = out_dir / "scenario.json"
    paths["scenario"].write_text(json.dumps(result.spec.to_dict(), indent=2) + "\n")
    return paths


def _applications(run: Run) -> pl.DataFrame:
    files = run.files
    keep = files.submitted >= run.first
    segment = files.segment[keep]
    offset = run.calendar.epoch_offset
    frame = pl.DataFrame(
        {
            SUBMITTED_AT: files.submitted[keep] + offset,
            COMPLETED_AT: files.completed[keep] + offset,
            DELIVERED_AT: files.delivered[keep] + offset,
        },
        schema={SUBMITTED_AT: pl.Int32, COMPLETED_AT: pl.Int32, DELIVERED_AT: pl.Int32},
    )
    last = run.last + offset
    return frame.select(
        pl.concat_str(
            pl.lit("A"), pl.int_range(1, pl.len() + 1).cast(pl.String).str.zfill(_ID_DIGITS)
        ).alias(APPLICATION_ID),
        *_segment_columns(run.segments, segment),
        pl.col(SUBMITTED_AT).cast(pl.Date),
        *(
            pl.when(pl.col(c) <= last).then(pl.col(c)).cast(pl.Date).alias(c)
            for c in (COMPLETED_AT, DELIVERED_AT)
        ),
        pl.Series(PRIORITY, PRIORITIES).gather(files.priority[keep]),
    )


def _capacity(run: Run) -> pl.DataFrame:
    """The record of every segment and day (`planned_on` null: known that day), then the plan
    rows: for each announced staffing change, the figures it was planned to give on the days
    it covers, known from its announcement. Outages and overtime are not planned."""
    segment, day = _segment_days(run)
    cap = run.capacity
    record = pl.DataFrame(
        [
            _dates(run, day),
            *_segment_columns(run.segments, segment),
            pl.Series(STAFF, cap.staff[segment, day]),
            pl.Series(STAFF_HOURS, cap.staff_hours[segment, day]),
            pl.Series(COMPLETIONS_CAPACITY, cap.completions[segment, day]),
            pl.Series(PLANNED_ON, [None] * day.size, dtype=pl.Date),
        ]
    )
    plans = [_plan_rows(run, change) for change in run.spec.staffing_changes]
    table = pl.concat([record, *plans])
    if len(plans) < 2:
        return table
    # A plan row carries the figure of every staffing change together (a simplification: a plan
    # made earlier would not know of a change announced later), so two changes announced the
    # same day give the same row where they overlap.
    return table.unique(
        [DATE, SERVICE, CHANNEL, REGION, PLANNED_ON], keep="first", maintain_order=True
    )


def _plan_rows(run: Run, change: StaffingChange) -> pl.DataFrame:
    cal = run.calendar
    first = max(cal.index(change.start), run.first)
    last = run.last if change.end is None else min(cal.index(change.end) - 1, run.last)
    rows = np.flatnonzero(run.segments.service_mask(change.services))
    # Unannounced, a change is only in the record: no rows (typed like the record's).
    days = np.arange(first, last + 1) if change.announced_days > 0 else np.arange(0)
    segment, day = np.tile(rows, days.size), np.repeat(days, rows.size)
    cap = run.capacity
    announced = epoch_day(change.start) - change.announced_days
    return pl.DataFrame(
        [
            _dates(run, day),
            *_segment_columns(run.segments, segment),
            pl.Series(STAFF, cap.staff[segment, day]),
            pl.Series(STAFF_HOURS, cap.planned_hours[segment, day]),
            pl.Series(COMPLETIONS_CAPACITY, cap.planned_completions[segment, day]),
            pl.Series(PLANNED_ON, np.full(day.size, announced), dtype=pl.Int32).cast(pl.Date),
        ]
    )


def _queue(run: Run) -> pl.DataFrame:
    segment, day = _segment_days(run)
    files = run.files
    shape = run.queue.backlog.shape
    submitted = count_by_day(files.segment, files.submitted, shape)
    done = files.completed <= run.last
    completed = count_by_day(files.segment[done], files.completed[done], shape)
    in_system = np.cumsum(submitted, axis=1) - np.cumsum(completed, axis=1)
    joined = count_by_day(files.segment, files.joined, shape)
    counts = {
        SUBMITTED: submitted,
        QUEUE_ARRIVALS: joined,
        COMPLETED: completed,
        IN_SYSTEM: in_system,
    }
    return pl.DataFrame(
        [
            _dates(run, day),
            *_segment_columns(run.segments, segment),
            *(pl.Series(name, m[segment, day].astype(np.int64)) for name, m in counts.items()),
            pl.Series(PROCESSED, run.queue.processed[segment, day]),
            pl.Series(BACKLOG, run.queue.backlog[segment, day]),
        ]
    ).select(QUEUE_COLUMNS)


def _segment_days(run: Run) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Row keys day-major: every segment for the first day, then the next day, ..."""
    days = np.arange(run.first, run.last + 1)
    n_segments = run.segments.size
    return np.tile(np.arange(n_segments), days.size), np.repeat(days, n_segments)


def _dates(run: Run, day: npt.NDArray[np.int64]) -> pl.Series:
    return pl.Series(DATE, day + run.calendar.epoch_offset, dtype=pl.Int32).cast(pl.Date)


def _segment_columns(segments: Segments, segment: npt.NDArray[np.int64]) -> list[pl.Series]:
    return [
        pl.Series(SERVICE, SERVICES).gather(segments.service[segment]),
        pl.Series(CHANNEL, CHANNELS).gather(segments.channel[segment]),
        pl.Series(REGION, segments.regions).gather(segments.region[segment]),
    ]
