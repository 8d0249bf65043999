"""Where the boosted model's training rows come from: its origins, their files and snapshots.

The learner (`boosted`) describes files as they stood at internal origins; this module says
which origins are old enough to learn from, which files each one offers, and the segment
snapshot on each day, all on epoch days (days since 1970-01-01).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import polars as pl

from forecasting.dates import epoch_day, from_epoch_day
from forecasting.features import collect_segment_features_on
from forecasting.models.base import Segment, segment_groups
from forecasting.models.file_features import (
    FILE_FEATURES,
    IS_NEW,
    PROJECTED_DAYS,
    SegmentHistory,
    unconditional_quantiles,
)
from forecasting.models.queue_model import QueueProjection
from forecasting.schema import COMPLETED_ON, FLOW_WINDOWS, SEGMENT, SEGMENT_FEATURES, SUBMITTED_ON

_F = npt.NDArray[np.float64]
_B = npt.NDArray[np.bool_]
_I = npt.NDArray[np.int64]
# Columns of the learner's matrix, in order: the segment snapshot, the file, the segment's names.
COLUMNS = (*SEGMENT_FEATURES, *FILE_FEATURES, *SEGMENT)
PROJECTED_COLUMN = len(SEGMENT_FEATURES) + FILE_FEATURES.index(PROJECTED_DAYS)
IS_NEW_COLUMN = len(SEGMENT_FEATURES) + FILE_FEATURES.index(IS_NEW)


@dataclass(frozen=True)
class Rows:
    """Files at internal origins: features, outcome (days, or days elapsed while censored)."""

    features: _F
    days: _F
    censored: _B
    weight: _F  # files of its (origin, segment, kind) group that each row stands for
    holdout: _B  # in the calibration set

    @property
    def is_new(self) -> _B:
        return self.features[:, IS_NEW_COLUMN] > 0.5

    @property
    def projected(self) -> _F:
        return self.features[:, PROJECTED_COLUMN]


def segment_histories(
    applications: pl.DataFrame, today: int, *, country: str, first_day: int, survival_days: int
) -> dict[Segment, SegmentHistory]:
    """Each segment's files from `first_day`, ready to be described at any day up to `today`."""
    # The reach itself, without the handling floor: the boosted model learns handling from its
    # other inputs, and was measured on this feature.
    queue = QueueProjection(country=country, handling_quantile=None)
    files = applications.select(*SEGMENT, SUBMITTED_ON, COMPLETED_ON)
    return {
        key: SegmentHistory(
            group,
            key[2],
            first_day=first_day,
            today=today,
            queue=queue,
            survival_days=survival_days,
        )
        for key, group in sorted(segment_groups(files))
    }


def usable_origins(
    applications: pl.DataFrame,
    histories: dict[Segment, SegmentHistory],
    today: int,
    *,
    step_days: int,
    count: int,
    max_age_days: int,
    known_share: float,
) -> dict[Segment, list[int]]:
    """Per segment, its `count` newest internal origins old enough for its outcomes to be
    known, newest first.

    Old enough: at least the segment's `known_share` quantile of processing days before
    `today`, a rule on time alone, so slow files are not selected away the way a rule on how
    many outcomes came in would. A slow segment's origins lie further back; none lies more than
    `max_age_days` back, or within the longest flow window of the first submission.
    """
    first = applications.get_column(SUBMITTED_ON).min()
    earliest = epoch_day(first) + max(FLOW_WINDOWS) if isinstance(first, date) else today
    earliest = max(earliest, today - max_age_days)
    grid = range(today - step_days, earliest - 1, -step_days)
    return {
        key: [o for o in grid if today - o >= _known_lag(history, today, known_share)][:count]
        for key, history in histories.items()
    }


def _known_lag(history: SegmentHistory, today: int, known_share: float) -> float:
    """Days after which `known_share` of a segment's files are done (inf: no curve yet)."""
    lag = unconditional_quantiles(history.at(today), (known_share,))[0]
    return float(lag) if np.isfinite(lag) else np.inf


def request_files(
    history: SegmentHistory, origin: int, today: int, new_window_days: int
) -> tuple[_I, _I]:
    """Indices of the files open at `origin` and of those submitted in the week after.

    Files still open at `today` long past the queue model's stalled mark are left out, as it
    leaves them out: abandoned files say nothing about how long the others take.
    """
    submitted, completed = history.submitted, history.completed
    abandoned = (completed < 0) & (today - submitted > history.stale_after)
    was_open = (submitted <= origin) & ((completed < 0) | (completed > origin)) & ~abandoned
    is_new = (submitted > origin) & (submitted <= origin + new_window_days) & ~abandoned
    return np.flatnonzero(was_open), np.flatnonzero(is_new)


def segment_snapshots(
    applications: pl.DataFrame, days: list[int], capacity: pl.DataFrame | None, country: str
) -> dict[int, dict[Segment, _F]]:
    """Segment features on each day as vectors in `SEGMENT_FEATURES` order, service days NaN."""
    frames = collect_segment_features_on(
        applications,
        [from_epoch_day(day) for day in days],
        capacity=capacity,
        country=country,
        service_days=False,
    )
    out: dict[int, dict[Segment, _F]] = {}
    for day, frame in zip(days, frames, strict=True):
        keys = frame.select(SEGMENT).iter_rows()
        values = frame.select(pl.col(SEGMENT_FEATURES).cast(pl.Float64)).to_numpy()
        out[day] = {(str(a), str(b), str(c)): v for (a, b, c), v in zip(keys, values, strict=True)}
    return out
