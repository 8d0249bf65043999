"""Gradient-boosted quantiles on as-of features, conformalised on the latest origins (CQR).

Rows are files at internal origins every `origin_step_days` inside the history (open at the
origin, or submitted in the week after; `boosted_rows` picks them), described as they stood
then: the segment snapshot (`forecasting.features`) and the file's own columns (`file_features`:
days waited, place in line, the queue projection, Kaplan-Meier quantiles given the wait). One
HistGradientBoostingRegressor per quantile learns log(1 + actual days) - log(1 + projected days).

Outcomes still unknown at the as-of day are censored. A segment's origins are used only once
they lie its `known_share` (97 %) quantile of processing days before the as-of day: a rule on
time alone, since keeping the origins whose outcomes happen to be in already keeps the fast files
and drops the slow ones. The few files still open enter at the days already elapsed: a quantile
loss only asks which side of the prediction a target falls, and a file that has waited past it
is on the right side whatever its true days. Each segment's latest usable origins are held out
for conformalised quantile regression: P80 and P90 are shifted by the quantile of the held-out
scores (actual - predicted, in target units, open files counted by Kaplan-Meier), per request
kind, so that coverage there is nominal.
"""

from __future__ import annotations

import pickle
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import polars as pl
from threadpoolctl import threadpool_limits

from forecasting.dates import epoch_day
from forecasting.errors import DelaiError
from forecasting.models.base import MAX_DAYS_AHEAD, ProcessingTimeModel, Segment, segment_groups
from forecasting.models.boosted_rows import (
    COLUMNS,
    IS_NEW_COLUMN,
    PROJECTED_COLUMN,
    Rows,
    request_files,
    segment_histories,
    segment_snapshots,
    usable_origins,
)
from forecasting.models.conformal import conformal_shifts
from forecasting.models.day_table import DayTable
from forecasting.models.file_features import (
    SegmentDay,
    SegmentHistory,
    describe,
    unconditional_quantiles,
)
from forecasting.schema import (
    QUANTILES,
    SEGMENT,
    SEGMENT_FEATURES,
    SERVICE_DAYS_P50,
    SERVICE_DAYS_P80,
    SUBMITTED_ON,
)

if TYPE_CHECKING:
    from sklearn.ensemble import HistGradientBoostingRegressor

_F = npt.NDArray[np.float64]
_B = npt.NDArray[np.bool_]
OPEN, NEW = "open", "new"
# log(1 + days) - log(1 + projected days), or log(1 + days). The ratio to the projection lets
# the queue carry the level through a surge: in the surge scenario the P50 MAE of new files was
# 12.0 days with it and 17.5 without.
TARGETS = ("log_ratio", "log_days")
_SERVICE_DAYS = (SEGMENT_FEATURES.index(SERVICE_DAYS_P50), SEGMENT_FEATURES.index(SERVICE_DAYS_P80))
# The quantiles CQR shifts. The median is left as learned: its hold-out coverage was already
# about 50 %, and shifting it by the hold-out's recent bias raised the MAE in all four scenarios.
UPPER = tuple(q for q in QUANTILES if q > 0.5)


class BoostedQuantiles(ProcessingTimeModel):
    """Quantile gradient boosting on as-of segment and file features, with a CQR shift.

    Pickled, it answers from a table of its own answers (see `__getstate__`): `tabulated_days`
    is how far before the as-of day the table reaches."""

    name = "boosted_quantiles"

    def __init__(
        self,
        *,
        origin_step_days: int = 28,
        origins: int = 11,
        max_origin_age_days: int = 1095,
        calibration_origins: int = 4,
        new_window_days: int = 7,
        known_share: float = 0.97,
        rows_per_group: int = 32,
        survival_days: int = 365,
        target: str = "log_ratio",
        max_iter: int = 60,
        learning_rate: float = 0.2,
        max_leaf_nodes: int = 15,
        max_bins: int = 63,
        min_samples_leaf: int = 50,
        conformal: bool = True,
        threads: int = 1,
        random_state: int = 0,
        country: str = "CA",
        tabulated_days: int = 730,
    ) -> None:
        self.origin_step_days = origin_step_days
        self.origins = origins
        self.max_origin_age_days = max_origin_age_days
        self.calibration_origins = calibration_origins
        self.new_window_days = new_window_days
        self.known_share = known_share
        self.rows_per_group = rows_per_group
        self.survival_days = survival_days
        self.target = target
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.max_bins = max_bins
        self.min_samples_leaf = min_samples_leaf
        self.conformal = conformal
        self.threads = threads
        self.random_state = random_state
        self.country = country
        self.tabulated_days = tabulated_days

    def _fit(
        self, applications: pl.DataFrame, *, as_of: date, capacity: pl.DataFrame | None
    ) -> None:
        if self.target not in TARGETS:
            raise DelaiError(f"`target` must be one of {', '.join(TARGETS)}, got {self.target!r}")
        today = epoch_day(as_of)
        histories = segment_histories(
            applications,
            today,
            country=self.country,
            # Far enough back for the oldest origin's throughput norm and survival window.
            first_day=today - self.max_origin_age_days - self.survival_days - 35,
            survival_days=self.survival_days,
        )
        self.categories_ = {
            column: sorted({key[i] for key in histories}) for i, column in enumerate(SEGMENT)
        }
        usable = usable_origins(
            applications,
            histories,
            today,
            step_days=self.origin_step_days,
            count=self.origins,
            max_age_days=self.max_origin_age_days,
            known_share=self.known_share,
        )
        days = sorted({day for own in usable.values() for day in own}, reverse=True)
        snapshots = segment_snapshots(applications, [*days, today], capacity, self.country)
        rows = self.training_rows(histories, usable, snapshots, today)
        train = ~rows.holdout
        # Fewer files than a few leaves' worth cannot fit a tree worth the name.
        if np.count_nonzero(train) < self.min_samples_leaf * 4:
            raise DelaiError(
                f"{type(self).__name__} needs at least {self.min_samples_leaf * 4} training files "
                f"at origins old enough for {self.known_share:.0%} of outcomes to be known by "
                f"{as_of}, got {np.count_nonzero(train)}; give it a longer history"
            )
        target = self._to_target(rows.days, rows.projected)
        # A column never observed (no capacity table) says nothing, and the binning rejects it.
        self.used_columns_ = ~np.all(np.isnan(rows.features[train]), axis=0)
        # OpenMP threads spin while they wait: on a busy two-core machine, two threads made one
        # fit 30 times slower (204 s against 6 s), so one thread is the default.
        with threadpool_limits(self.threads, user_api="openmp"):
            self.estimators_ = [
                self._estimator(q).fit(rows.features[train][:, self.used_columns_], target[train])
                for q in QUANTILES
            ]
        self.shifts_, self.calibration_ = self._conformal_shifts(rows, target)
        self.today_ = {key: history.at(today) for key, history in histories.items()}
        self.snapshot_ = snapshots[today]
        self.training_files_ = int(np.count_nonzero(train))
        self.calibration_files_ = int(np.count_nonzero(rows.holdout))

    def _predict(self, requests: pl.DataFrame) -> _F:
        # Every file of a segment submitted on the same day has the same answer: answer once.
        keys = [*SEGMENT, SUBMITTED_ON]
        distinct = requests.select(keys).unique(maintain_order=True).with_row_index("_i")
        days = np.empty((distinct.height, len(QUANTILES)))
        # A model pickled before tables existed answers every day itself.
        table = getattr(self, "table_", DayTable(0, {}))
        for key, group in segment_groups(distinct):
            submitted = group.get_column(SUBMITTED_ON).cast(pl.Int64).to_numpy()
            rows = group.get_column("_i").to_numpy()
            looked_up, found = table.lookup(key, submitted)
            days[rows[found]] = looked_up[found]
            if not found.all():
                days[rows[~found]] = self._answer(key, submitted[~found])
        answer = requests.select(keys).join(distinct, on=keys, how="left", maintain_order="left")
        return days[answer.get_column("_i").to_numpy()]

    def _answer(self, key: Segment, submitted: npt.NDArray[np.int64]) -> _F:
        """Quantile days for one segment's files submitted on these epoch days."""
        return self.predict_days(self._segment_matrix(key, submitted))

    def _tabulate(self, first: int, last: int) -> DayTable:
        """Every segment's answers for each submission day from `first` to `last`, in one call
        to the learner (per segment, the calls' overhead took seconds)."""
        keys = sorted(self.today_)
        submitted = np.arange(first, last + 1, dtype=np.int64)
        matrix = np.vstack([self._segment_matrix(key, submitted) for key in keys])
        answers = self.predict_days(matrix).reshape(len(keys), submitted.size, len(QUANTILES))
        return DayTable(first, {key: answers[i] for i, key in enumerate(keys)})

    def _segment_matrix(self, key: Segment, submitted: npt.NDArray[np.int64]) -> _F:
        snapshot = self.snapshot_.get(key, np.full(len(SEGMENT_FEATURES), np.nan))
        return self._matrix(key, self.today_[key], snapshot, submitted)

    def predict_days(self, matrix: _F, *, conformal: bool = True) -> _F:
        """Quantile days for rows of `COLUMNS`, shifted by CQR unless `conformal` is False."""
        raw = self.predict_target(matrix)
        if conformal:
            is_new = matrix[:, IS_NEW_COLUMN] > 0.5
            none = np.zeros(len(QUANTILES))
            new, old = self.shifts_.get(NEW, none), self.shifts_.get(OPEN, none)
            raw = raw + np.where(is_new[:, None], new, old)
        return self._from_target(raw, matrix[:, PROJECTED_COLUMN])

    def predict_target(self, matrix: _F) -> _F:
        """Unshifted quantile predictions in target units, shape (rows, quantiles)."""
        used = matrix[:, self.used_columns_]
        with threadpool_limits(self.threads, user_api="openmp"):
            return np.column_stack([e.predict(used) for e in self._fitted_estimators()])

    def _fitted_estimators(self) -> list[HistGradientBoostingRegressor]:
        # Unpickled on the first day outside the table (see `__getstate__`).
        blob = self.__dict__.pop("_estimators_pickle", None)
        if blob is not None:
            self.estimators_ = pickle.loads(blob)
        return self.estimators_

    def __getstate__(self) -> dict[str, Any]:
        """A pickled model answers files submitted from `tabulated_days` before its as-of day to
        the latest day a request may name from a table built for the trip (a backtest's models,
        never pickled, do not pay for it), and its estimators travel as bytes, unpickled only
        for a day outside the table: loading and answering need no scikit-learn."""
        if self._is_fitted() and "table_" not in self.__dict__:
            today = epoch_day(self.as_of_)
            self.table_ = self._tabulate(today - self.tabulated_days, today + MAX_DAYS_AHEAD)
        state = self.__dict__.copy()
        if "estimators_" in state:
            state["_estimators_pickle"] = pickle.dumps(state.pop("estimators_"), protocol=5)
        return state

    def training_rows(
        self,
        histories: dict[Segment, SegmentHistory],
        usable: dict[Segment, list[int]],
        snapshots: dict[int, dict[Segment, _F]],
        today: int,
    ) -> Rows:
        """Sampled files at each segment's usable origins (`usable_origins`, newest first);
        each segment's first `calibration_origins` are held out."""
        parts = []
        for s, (key, history) in enumerate(histories.items()):
            for i, origin in enumerate(usable[key]):
                part = self._origin_rows(s, key, history, origin, snapshots[origin], today)
                if part is not None:
                    parts.append((*part, np.full(part[0].shape[0], i < self.calibration_origins)))
        if not parts:
            empty, none = np.empty(0), np.empty(0, dtype=bool)
            return Rows(np.empty((0, len(COLUMNS))), empty, none, empty, none)
        matrix, days, censored, weight, holdout = (
            np.concatenate(column) for column in zip(*parts, strict=True)
        )
        return Rows(matrix, days, censored, weight, holdout)

    def _origin_rows(
        self,
        s: int,
        key: Segment,
        history: SegmentHistory,
        origin: int,
        snapshots: dict[Segment, _F],
        today: int,
    ) -> tuple[_F, _F, _B, _F] | None:
        """Features, days (elapsed by `today` if still open), censored and weight of up to
        `rows_per_group` files of each kind drawn at one origin.
        """
        rng = np.random.default_rng([self.random_state, origin, s])
        drawn, weight = [], []
        for files in request_files(history, origin, today, self.new_window_days):
            if files.size:
                n = min(files.size, self.rows_per_group)
                drawn.append(np.sort(rng.choice(files, n, replace=False)))
                weight.append(np.full(n, files.size / n))
        if not drawn:
            return None
        picked = np.concatenate(drawn)
        submitted, completed = history.submitted[picked], history.completed[picked]
        done = completed >= 0
        snapshot = snapshots.get(key, np.full(len(SEGMENT_FEATURES), np.nan))
        return (
            self._matrix(key, history.at(origin), snapshot, submitted),
            (np.where(done, completed, today) - submitted).astype(np.float64),
            ~done,
            np.concatenate(weight),
        )

    def _matrix(
        self, key: Segment, day: SegmentDay, snapshot: _F, submitted: npt.NDArray[np.int64]
    ) -> _F:
        """Rows of `COLUMNS` for one segment's files as of `day`."""
        segment = snapshot.copy()
        # The snapshot leaves service days to the caller's curve: the one the file columns use.
        segment[list(_SERVICE_DAYS)] = unconditional_quantiles(day, (0.5, 0.8))
        codes = [self.categories_[c].index(key[i]) for i, c in enumerate(SEGMENT)]
        n = submitted.size
        return np.hstack(
            [
                np.broadcast_to(segment, (n, segment.size)),
                describe(day, submitted),
                np.broadcast_to(np.asarray(codes, dtype=np.float64), (n, len(codes))),
            ]
        )

    def _estimator(self, quantile: float) -> HistGradientBoostingRegressor:
        # Here, not at the top: importing scikit-learn takes seconds, and unpickling a fitted
        # estimator imports it anyway; a model without one answers without it (local_registry).
        from sklearn.ensemble import HistGradientBoostingRegressor

        return HistGradientBoostingRegressor(
            loss="quantile",
            quantile=quantile,
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            max_bins=self.max_bins,
            min_samples_leaf=self.min_samples_leaf,
            categorical_features=[
                c in SEGMENT for c, used in zip(COLUMNS, self.used_columns_, strict=True) if used
            ],
            early_stopping=False,
            random_state=self.random_state,
        )

    def _conformal_shifts(self, rows: Rows, target: _F) -> tuple[dict[str, _F], pl.DataFrame]:
        """Per kind, the CQR shifts of the upper quantiles on the hold-out (none with
        `conformal` off), and the hold-out coverage before and after them.
        """
        held = rows.holdout
        scores = target[held, None] - self.predict_target(rows.features[held])
        shifted = UPPER if self.conformal else ()
        kinds = np.where(rows.is_new[held], NEW, OPEN)
        return conformal_shifts(
            scores, rows.censored[held], rows.weight[held], kinds, QUANTILES, shifted
        )

    def _to_target(self, days: _F, projected: _F) -> _F:
        if self.target == "log_ratio":
            return np.log1p(days) - np.log1p(projected)
        return np.log1p(days)

    def _from_target(self, values: _F, projected: _F) -> _F:
        if self.target == "log_ratio":
            return np.expm1(values + np.log1p(projected)[:, None])
        return np.expm1(values)
