"""Queue-aware estimates: where a file stands in line, how fast the line moves, calibrated.

A file's projected wait is the day the FIFO fluid queue (`forecasting.queue`) reaches its position
given the open backlog ahead of it, forecast intake for files not yet submitted, and throughput
per business day. What the fluid model misses (handling, rework, non-FIFO work) is learned as the
distribution of the ratio actual / projected at recent origins inside the training history, with
files still open at the as-of day censored, so P80 means 80 %. Given a capacity table, planned
capacity (a hire announced, not yet started) scales the throughput on the days it covers, as the
plan was known at the as-of day and, in the calibration, at each origin.

Reached is not done: a file the queue reaches at once still takes its handling, so no projected
wait is shorter than the `handling_quantile` (10th percentile) of the processing times completed
in the 180 days before the day projected from, at the as-of day and at each calibration origin
alike. Without it, a planned hire that drains a queue projected waits shorter than files ever
took: in the simulated `hiring` scenario delai's P80 covered 0.768 of new files, 0.796 with it
(nested accuracy benchmark, 2026-11-29; the only quantile tried). Staff pick files up sooner;
they do not handle one faster.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
import polars as pl

from forecasting.calendar import business_calendar
from forecasting.dates import epoch_day, from_epoch_day
from forecasting.intake import MEAN, IntakeForecaster, daily_arrivals
from forecasting.models.base import MAX_DAYS_AHEAD, ProcessingTimeModel, Segment, segment_groups
from forecasting.models.capacity_plan import (
    SegmentPlan,
    plan_for,
    planned_capacity,
    segment_plans,
)
from forecasting.queue import fifo_positions, reach_offsets
from forecasting.schema import COMPLETED_ON, DATE, QUANTILES, SEGMENT, SUBMITTED_ON
from forecasting.survival_curve import SurvivalCurve, conditional_quantiles, kaplan_meier

_F = npt.NDArray[np.float64]
_I = npt.NDArray[np.int64]
OPEN, NEW = "open", "new"


@dataclass(frozen=True)
class _History:
    """One segment's files as epoch days (completed: -1 when open) and its business days."""

    submitted: _I
    completed: _I
    first_day: int
    is_business: npt.NDArray[np.bool_]
    stale_after: int  # days open after which a file is taken as stalled, not in the queue

    def business(self, start: int, stop: int) -> npt.NDArray[np.bool_]:
        return self.is_business[start - self.first_day : stop - self.first_day]


@dataclass(frozen=True)
class _State:
    """What the queue looked like at the end of one day."""

    day: int
    open_sorted: _I
    throughput: float  # files per business day
    intake: float  # files per calendar day
    scale: float  # days added before taking ratios, so near-empty queues are not divided by 0
    handling: float = 0.0  # days no file is done faster than, however short the queue


@dataclass(frozen=True)
class _Segment:
    state: _State
    capacity: _F  # work done per future day 1..H
    cumulative_intake: _F  # expected submissions on days 1..H, cumulated
    intake: _F  # expected submissions on each day 1..H


def _segment(state: _State, capacity: _F, intake: _F) -> _Segment:
    return _Segment(state, capacity, np.cumsum(intake), intake)


class QueueProjection(ProcessingTimeModel):
    """FIFO projection of the open backlog, with censoring-aware calibration of its errors.

    `plans_in_calibration=False` reads the capacity plan at the as-of day only, its calibration
    origins blind to it: kept to measure what reading it there too changes.
    """

    name = "queue_projection"

    def __init__(
        self,
        *,
        throughput_weeks: int = 4,
        norm_weeks: int = 26,
        norm_floor: float = 0.85,
        intake_days: int = 28,
        calibration_origins: int = 13,
        calibration_step_days: int = 14,
        calibration_half_life_days: float = 182.0,
        new_window_days: int = 7,
        intake_forecast: bool = True,
        horizon_days: int = 730,
        min_samples: int = 200,
        stale_factor: float = 1.5,
        min_stale_days: int = 60,
        country: str = "CA",
        plans_in_calibration: bool = True,
        handling_quantile: float | None = 0.1,
    ) -> None:
        self.throughput_weeks = throughput_weeks
        self.norm_weeks = norm_weeks
        self.norm_floor = norm_floor
        self.intake_days = intake_days
        self.calibration_origins = calibration_origins
        self.calibration_step_days = calibration_step_days
        self.calibration_half_life_days = calibration_half_life_days
        self.new_window_days = new_window_days
        self.intake_forecast = intake_forecast
        self.horizon_days = horizon_days
        self.min_samples = min_samples
        self.stale_factor = stale_factor
        self.min_stale_days = min_stale_days
        self.country = country
        self.plans_in_calibration = plans_in_calibration
        self.handling_quantile = handling_quantile

    def _fit(
        self, applications: pl.DataFrame, *, as_of: date, capacity: pl.DataFrame | None
    ) -> None:
        today = epoch_day(as_of)
        lookback = self.calibration_origins * self.calibration_step_days + 7 * (
            max(self.throughput_weeks, self.norm_weeks) + 1
        )
        self.segments_state_: dict[Segment, _Segment] = {}
        samples: dict[tuple[str, ...], list[_F]] = {}
        forecast = self._forecast_intake(applications, as_of) if self.intake_forecast else {}
        plans = segment_plans(capacity)
        for key, group in segment_groups(applications):
            history = self._history(group, key[2], today - lookback - 400, today)
            state = self._state(history, today)
            plan = plan_for(plans, key)
            self.segments_state_[key] = self._forward(
                state, key[2], as_of, forecast.get(key), plan, history
            )
            ratios, censored, ages, kinds = self._calibration(
                history, today, plan if self.plans_in_calibration else None
            )
            for kind in (OPEN, NEW):
                picked = kinds == kind
                for pool in _pools(key, kind):
                    samples.setdefault(pool, []).append(
                        np.stack([ratios[picked], censored[picked], ages[picked]])
                    )
        self.residuals_: dict[tuple[str, ...], SurvivalCurve] = {}
        for pool, parts in samples.items():
            joined = np.concatenate(parts, axis=1)
            events = int(np.count_nonzero(joined[1] == 0))
            if joined.shape[1] >= self.min_samples and events >= self.min_samples // 4:
                # Recent origins count more, so the error spread adapts after a shock fades.
                weights = 0.5 ** (joined[2] / self.calibration_half_life_days)
                self.residuals_[pool] = kaplan_meier(
                    pl.Series(joined[0]), pl.Series((joined[1] == 0).astype(np.int8)), weights
                )

    def _predict(self, requests: pl.DataFrame) -> _F:
        out = np.full((requests.height, len(QUANTILES)), np.nan)
        today = epoch_day(self.as_of_)
        for key, group in segment_groups(requests.with_row_index("_i")):
            segment = self.segments_state_[key]
            submitted = group.get_column(SUBMITTED_ON).cast(pl.Int64).to_numpy()
            projected, waited = _project(segment, submitted, today)
            rows = group.get_column("_i").to_numpy()
            for kind, mask in ((OPEN, submitted <= today), (NEW, submitted > today)):
                curve = self._residual_curve(key, kind)
                if curve is None or not mask.any():
                    continue
                scale = segment.state.scale
                elapsed = np.maximum(waited[mask], 0.0)
                base = projected[mask] - elapsed + scale
                # Open-file residuals were learned on files open at their origin, so they are
                # already conditional on waiting; conditioning again would double-count it.
                unconditional = np.full(base.size, -1.0)
                ratios = conditional_quantiles(curve, unconditional, QUANTILES)
                out[rows[mask]] = elapsed[:, None] + base[:, None] * ratios - scale
        return out

    def _residual_curve(self, key: Segment, kind: str) -> SurvivalCurve | None:
        for pool in _pools(key, kind):
            if pool in self.residuals_:
                return self.residuals_[pool]
        return None

    def _history(self, group: pl.DataFrame, region: str, first: int, today: int) -> _History:
        submitted = group.get_column(SUBMITTED_ON).cast(pl.Int64).to_numpy()
        completed = group.get_column(COMPLETED_ON).cast(pl.Int64).fill_null(-1).to_numpy()
        start = from_epoch_day(first)
        calendar = business_calendar(
            region, start, from_epoch_day(today + self.horizon_days + 1), country=self.country
        )
        return _History(
            submitted,
            completed,
            first,
            np.asarray(calendar.is_business),
            self._stale_after(submitted, completed, today),
        )

    def _stale_after(self, submitted: _I, completed: _I, today: int) -> int:
        """Files open far longer than any recent completion took are stalled or abandoned.

        Real logs keep files nobody will finish (rejected, withdrawn, never paid); counting them
        as queue ahead of everyone would project waits of years.
        """
        recent = (completed >= 0) & (completed > today - 365)
        if not recent.any():
            return 10**6
        longest = float(np.quantile(completed[recent] - submitted[recent], 0.99))
        return int(max(self.stale_factor * longest, self.min_stale_days))

    def _state(self, history: _History, day: int) -> _State:
        known = history.submitted <= day
        done_by = (history.completed >= 0) & (history.completed <= day)
        fresh = history.submitted > day - history.stale_after
        open_sorted = np.sort(history.submitted[known & ~done_by & fresh])
        throughput = self._throughput(history, day, done_by)
        arrived = np.count_nonzero(known & (history.submitted > day - self.intake_days))
        recent = done_by & (history.completed > day - 180)
        took = history.completed[recent] - history.submitted[recent]
        scale = float(np.median(took)) if took.size else 7.0
        handling = (
            float(np.quantile(took, self.handling_quantile))
            if self.handling_quantile is not None and took.size
            else 0.0
        )
        return _State(
            day=day,
            open_sorted=open_sorted,
            throughput=throughput,
            intake=arrived / self.intake_days,
            scale=max(scale, 1.0),
            handling=handling,
        )

    def _throughput(self, history: _History, day: int, done_by: npt.NDArray[np.bool_]) -> float:
        """Files completed per business day: the recent weekly median, floored by the norm.

        A median over weeks shrugs off a holiday week; the floor at a share of the half-year
        norm treats an outage as temporary instead of projecting a queue that never moves.
        """
        weeks = max(self.throughput_weeks, self.norm_weeks)
        window = day - 7 * weeks
        done_days = history.completed[done_by & (history.completed > window)]
        per_day = np.bincount(done_days - window - 1, minlength=7 * weeks)[: 7 * weeks]
        weekly_done = per_day.reshape(weeks, 7).sum(axis=1)
        weekly_business = history.business(window + 1, day + 1).reshape(weeks, 7).sum(axis=1)
        worked = weekly_business > 0
        rates = weekly_done[worked] / weekly_business[worked]
        if rates.size == 0:
            return 0.0
        norm = float(np.median(rates[-self.norm_weeks :]))
        recent = rates[-self.throughput_weeks :]
        # Weeks far below the norm are an outage, not the pace the queue will move at next.
        working = recent[recent >= 0.25 * norm]
        pace = float(np.median(working)) if working.size else 0.0
        return max(pace, self.norm_floor * norm)

    def _forward(
        self,
        state: _State,
        region: str,
        as_of: date,
        forecast: _F | None,
        plan: SegmentPlan | None,
        history: _History,
    ) -> _Segment:
        """Capacity and intake on the days after `as_of`: the intake forecast where there is
        one, and the recent daily mean after it (later arrivals queue behind every request);
        capacity scaled by the plan where there is one."""
        calendar = business_calendar(
            region, as_of, as_of + timedelta(days=self.horizon_days + 1), country=self.country
        )
        business = np.asarray(calendar.is_business[1 : self.horizon_days + 1], dtype=np.float64)
        intake = np.full(self.horizon_days, state.intake)
        if forecast is not None:
            days = min(forecast.size, self.horizon_days)
            intake[:days] = forecast[:days]
        # At the as-of day a table row without `planned_on` is the plan as it stands.
        capacity = planned_capacity(
            state.throughput * business,
            plan,
            epoch_day(as_of),
            history.business,
            undated_plans=True,
        )
        return _segment(state, capacity, intake)

    def _forecast_intake(self, applications: pl.DataFrame, as_of: date) -> dict[Segment, _F]:
        """Mean daily submissions per segment for the days a request may be submitted on.

        Only the estimate at the as-of day uses it: calibration origins keep the constant
        recent mean, as a forecast at each of them would cost one intake fit per origin.
        """
        arrivals = daily_arrivals(applications, as_of=as_of)
        if arrivals.is_empty():
            return {}
        means = (
            IntakeForecaster(country=self.country)
            .fit(arrivals, as_of=as_of)
            .predict(MAX_DAYS_AHEAD + 1)
        )
        return {
            (str(key[0]), str(key[1]), str(key[2])): group.sort(DATE).get_column(MEAN).to_numpy()
            for key, group in means.group_by(list(SEGMENT))
        }

    def _calibration(
        self, history: _History, today: int, plan: SegmentPlan | None
    ) -> tuple[_F, _F, _F, npt.NDArray[np.str_]]:
        """Ratios of remaining time, actual / projected, at earlier origins (censored where still
        open), with each origin's age in days and the request kind.

        Each origin reads the plan as known then, as the estimate does at the as-of day: errors
        learned without it would count as unforeseen the change the plan now foresees."""
        ratios, censored, ages, kinds = [], [], [], []
        for k in range(1, self.calibration_origins + 1):
            origin = today - k * self.calibration_step_days
            state = self._state(history, origin)
            pace = state.throughput * history.business(
                origin + 1, origin + 1 + self.horizon_days
            ).astype(float)
            capacity = planned_capacity(pace, plan, origin, history.business)
            segment = _segment(state, capacity, np.full(self.horizon_days, state.intake))
            known = history.submitted <= origin
            was_open = (
                known
                & ((history.completed < 0) | (history.completed > origin))
                & (history.submitted > origin - history.stale_after)
            )
            is_new = (history.submitted > origin) & (
                history.submitted <= origin + self.new_window_days
            )
            for kind, mask in ((OPEN, was_open), (NEW, is_new)):
                submitted = history.submitted[mask]
                completed = history.completed[mask]
                projected, waited = _project(segment, submitted, origin)
                done = completed >= 0
                # Ratios of the time still to go: what has been waited is known, not forecast.
                elapsed = np.maximum(waited, 0.0)
                remaining = np.where(done, completed, today) - submitted - elapsed
                # A file still open long past the stale mark at the as-of day is taken as
                # abandoned: it says nothing about how long files that do finish take.
                keep = done | (today - submitted <= history.stale_after)
                ratios.append(
                    ((remaining + state.scale) / (projected - elapsed + state.scale))[keep]
                )
                censored.append((~done[keep]).astype(np.float64))
                ages.append(np.full(int(keep.sum()), float(today - origin)))
                kinds.append(np.full(int(keep.sum()), kind))
        return (
            np.concatenate(ratios),
            np.concatenate(censored),
            np.concatenate(ages),
            np.concatenate(kinds),
        )


def _project(segment: _Segment, submitted: _I, today: int) -> tuple[_F, _F]:
    """Projected days from submission to being reached, and days already waited (-1 if new)."""
    ahead = submitted - today
    positions = fifo_positions(segment.state.open_sorted, np.minimum(submitted, today))
    future = ahead > 0
    if future.any():
        steps = np.clip(ahead[future], 1, segment.cumulative_intake.size) - 1
        # Half of the file's own day arrives before it.
        before = segment.cumulative_intake[steps] - segment.intake[steps] / 2.0
        positions = positions.astype(np.float64)
        positions[future] = segment.state.open_sorted.size + before
    reach = reach_offsets(positions, segment.capacity)
    # A file cannot be reached before it arrives: an empty queue takes it the same day.
    reach = np.maximum(reach, np.maximum(ahead, 0))
    # Five years at most still to go; capping the total instead would put a file that has
    # waited longer than that behind its own past (negative time to go).
    projected = np.minimum(reach - ahead, np.maximum(-ahead, 0) + 5 * 365.0)
    # Reached is not done: a file still takes its handling after a short queue.
    projected = np.maximum(projected, segment.state.handling)
    waited = np.where(ahead <= 0, -ahead, -1).astype(np.float64)
    return projected, waited


def _pools(key: Segment, kind: str) -> list[tuple[str, ...]]:
    """Where residuals are pooled, most specific first: segment, service, all."""
    return [(*key, kind), (key[0], kind), (kind,)]
