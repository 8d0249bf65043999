"""ProportionalHazards: recovers a queue effect, conditions on waiting, and ignores the future."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecasting.asof import as_known_at
from forecasting.errors import DelaiError
from forecasting.models import MODELS, KaplanMeier, ProportionalHazards
from forecasting.models.base import waited_days
from forecasting.models.hazards import _cox, _days_of_work_ahead, _queue_strata, baseline_levels
from forecasting.schema import QUANTILE_DAYS, QUANTILES, SEGMENT, SUBMITTED_ON

START = date(2023, 1, 1)
BETA = -0.5  # the true log hazard ratio per unit of log(1 + days of work ahead)


def queue_world(seed: int = 0, days: int = 700) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    """One segment whose files' hazard is 0.25 (1 + q)^BETA a day, q its days of work ahead at
    submission as the model measures it; intake triples from day 420 to 519.

    Returns the applications, each file's submission day (from START) and its hazard. A file's
    days are ceil(exponential): P(D > t) = exp(-hazard t) at whole days t, so given D > w the
    q quantile is w + ceil(-log(1 - q) / hazard).
    """
    rng = np.random.default_rng(seed)
    finished = np.zeros(days + 20_000, dtype=np.int64)
    submitted, durations, hazards = [], [], []
    arrived = 0
    for day in range(days):
        n = int(rng.poisson(60 if 420 <= day < 520 else 20))
        arrived += n
        recent = finished[max(0, day - 27) : day + 1].sum()
        queue = (arrived - finished[: day + 1].sum()) / ((recent + 1) / min(28, day + 1))
        hazard = 0.25 * (1.0 + queue) ** BETA
        took = np.ceil(rng.exponential(1.0 / hazard, n)).astype(np.int64)
        np.add.at(finished, day + took, 1)
        submitted.append(np.full(n, day))
        durations.append(took)
        hazards.append(np.full(n, hazard))
    sub, took, hazard = (np.concatenate(x) for x in (submitted, durations, hazards))
    epoch = (START - date(1970, 1, 1)).days
    applications = pl.DataFrame(
        {
            "service": "benefit",
            "channel": "online",
            "region": "ON",
            "priority": "regular",
            SUBMITTED_ON: pl.Series(sub + epoch, dtype=pl.Int32).cast(pl.Date),
            "completed_on": pl.Series(sub + took + epoch, dtype=pl.Int32).cast(pl.Date),
            "delivered_on": pl.Series([None] * sub.size, dtype=pl.Date),
            "closed_on": pl.Series([None] * sub.size, dtype=pl.Date),
        }
    )
    return applications, sub, hazard


@pytest.fixture(scope="module")
def world() -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    return queue_world()


def _open_requests(sub: np.ndarray, days: np.ndarray, as_of_day: int) -> np.ndarray:
    return np.flatnonzero((sub <= as_of_day) & (sub + days > as_of_day))


def test_is_registered() -> None:
    assert MODELS["proportional_hazards"] is ProportionalHazards


@pytest.mark.parametrize("as_of_day", [450, 560])
def test_queue_effect_brings_open_files_closer_to_the_truth_than_kaplan_meier(
    world, as_of_day: int
) -> None:
    """In a surge (450) and after it (560), the true conditional quantiles of open files."""
    applications, sub, hazard = world
    as_of = START + timedelta(days=as_of_day)
    days = (
        (applications.get_column("completed_on") - applications.get_column(SUBMITTED_ON))
        .dt.total_days()
        .to_numpy()
    )
    rows = _open_requests(sub, days, as_of_day)
    waited = as_of_day - sub[rows]
    levels = -np.log(1.0 - np.asarray(QUANTILES))
    truth = waited[:, None] + np.ceil(levels[None, :] / hazard[rows][:, None])
    requests = applications[rows].select(*SEGMENT, SUBMITTED_ON)
    known = as_known_at(applications.lazy(), as_of).collect()
    km_model = KaplanMeier().fit(known, as_of=as_of)
    ph_model = ProportionalHazards().fit(known, as_of=as_of)
    km, ph = (
        np.abs(m.predict(requests).select(QUANTILE_DAYS).to_numpy() - truth).mean(axis=0)
        for m in (km_model, ph_model)
    )
    # Measured: P50 0.7 vs 2.8 days in the surge, 0.4 vs 1.9 after; P80 1.5 vs 6.7, 0.9 vs 5.0.
    assert np.all(ph < 0.5 * km), (ph, km)
    fitted = ph_model.services_["benefit"]
    assert fitted.uses_queue and fitted.params[-1] == pytest.approx(BETA, abs=0.1)


def test_open_files_are_answered_after_as_of_and_in_order_before_any_clamp(world) -> None:
    """The model's own answers, not the base class's floor: `_predict` is called directly."""
    applications, _, _ = world
    as_of = START + timedelta(days=480)
    model = ProportionalHazards().fit(
        as_known_at(applications.lazy(), as_of).collect(), as_of=as_of
    )
    # Waits from 0 to 400 days (well past the longest observed) and new files up to 90 ahead.
    submitted = [as_of + timedelta(days=d) for d in range(-400, 91)]
    requests = pl.DataFrame(
        {"service": "benefit", "channel": "online", "region": "ON", SUBMITTED_ON: submitted}
    )
    days = model._predict(requests)
    waited = waited_days(requests.get_column(SUBMITTED_ON), as_of)
    assert np.all(np.isfinite(days))
    assert np.all(np.diff(days, axis=1) >= 0)
    is_open = waited >= 0
    assert np.all(days[is_open, 0] >= waited[is_open] + 1)
    # Past the longest observed wait too, P90 is the tail's answer, not collapsed onto the floor.
    assert np.all(days[is_open, 2] > waited[is_open] + 1)


@settings(max_examples=8, deadline=None)
@given(
    shift=st.integers(-30, 60),
    extra=st.integers(0, 200),
    seed=st.integers(0, 2**16),
)
def test_nothing_after_as_of_changes_the_answers(world, shift: int, extra: int, seed: int) -> None:
    """Completions after as_of moved, and files submitted after it added, change nothing; the
    model cuts at as_of itself, so it may even be handed the full data."""
    applications, _, _ = world
    as_of = START + timedelta(days=470)
    late = pl.col("completed_on") > as_of
    moved = applications.with_columns(
        pl.when(late)
        .then(
            pl.max_horizontal(pl.col("completed_on") + timedelta(days=shift), as_of + timedelta(1))
        )
        .otherwise(pl.col("completed_on"))
    )
    rng = np.random.default_rng(seed)
    after = applications.filter(pl.col(SUBMITTED_ON) > as_of).sample(
        min(extra, 100), with_replacement=True, seed=int(rng.integers(2**31))
    )
    perturbed = pl.concat([moved, after])
    requests = applications.filter(
        pl.col(SUBMITTED_ON).is_between(as_of - timedelta(days=60), as_of + timedelta(days=30))
    ).select(*SEGMENT, SUBMITTED_ON)
    expected = ProportionalHazards().fit(applications, as_of=as_of).predict(requests)
    assert ProportionalHazards().fit(perturbed, as_of=as_of).predict(requests).equals(expected)


def test_baseline_is_the_right_continuous_breslow_estimate() -> None:
    t = np.array([1.0, 1.0, 2.0, 3.0, 3.0, 4.0])
    status = np.array([1, 1, 1, 0, 1, 1])
    params, curves = _cox(t, status, np.zeros((6, 0)), np.zeros(6, dtype=np.int64))
    # Without covariates Breslow is Nelson-Aalen: 2/6 at 1, then 1/4, 1/3 and 1/1.
    assert params.size == 0 and list(curves) == [0]
    assert curves[0].times.tolist() == [1.0, 2.0, 3.0, 4.0]
    assert np.allclose(-np.log(curves[0].surv), np.cumsum([2 / 6, 1 / 4, 1 / 3, 1.0]))


def test_each_stratum_has_its_own_baseline() -> None:
    t = np.array([1.0, 2.0, 2.0, 5.0, 6.0, 6.0])
    status = np.array([1, 1, 0, 1, 0, 1])
    stratum = np.array([0, 0, 0, 1, 1, 1])
    _, curves = _cox(t, status, np.zeros((6, 0)), stratum)
    assert curves[0].times.tolist() == [1.0, 2.0] and curves[1].times.tolist() == [5.0, 6.0]
    assert np.allclose(-np.log(curves[0].surv), [1 / 3, 1 / 3 + 1 / 2])
    assert np.allclose(-np.log(curves[1].surv), [1 / 3, 1 / 3 + 1 / 2])


def test_baseline_levels_are_the_quantiles_of_s0_to_the_power_r() -> None:
    levels = baseline_levels((0.5, 0.8), np.array([1.0, 2.0, 1e30]))
    assert levels[0] == pytest.approx([0.5, 0.8])
    # S0^2 = 0.5 where S0 = sqrt(0.5): the level of S0 is 1 - sqrt(0.5).
    assert levels[1] == pytest.approx([1 - 0.5**0.5, 1 - 0.2**0.5])
    assert np.all(levels[2] < 1.0)


def test_days_of_work_ahead_are_open_files_over_recent_completions_per_day() -> None:
    # Day 0: four in; day 1: two of them done; day 2: one more in.
    submitted = np.array([0, 0, 0, 0, 2])
    completed = np.array([1, 1, -1, -1, -1])
    queue = _days_of_work_ahead(submitted, completed, 0, 2, window=28)
    # Day 0: 4 open, (0 + 1) done in 1 day; day 1: 2 open, 3 in 2 days; day 2: 3 open, 3 in 3.
    assert queue.tolist() == pytest.approx([4.0, 2 / 1.5, 3.0])


def test_queue_strata_each_keep_enough_completions(world) -> None:
    applications, _, _ = world
    as_of = START + timedelta(days=480)
    known = as_known_at(applications.lazy(), as_of).collect()
    model = ProportionalHazards(queue_strata=5, min_events=300).fit(known, as_of=as_of)
    fitted = model.services_["benefit"]
    assert 1 < len(fitted.baselines) <= 5
    assert all(curve.times.size > 0 for curve in fitted.baselines)
    requests = applications.filter(
        pl.col(SUBMITTED_ON).is_between(as_of - timedelta(days=200), as_of + timedelta(days=30))
    ).select(*SEGMENT, SUBMITTED_ON)
    days = model._predict(requests)
    assert np.all(np.isfinite(days)) and np.all(np.diff(days, axis=1) >= 0)


def test_queue_strata_are_merged_until_each_has_enough_completions() -> None:
    log_queue = np.linspace(0.0, 1.0, 100)
    # 80 completions, none among the 20 shortest queues: five strata of 20 files would leave
    # one without any, four and three one with fewer than 20; two halves have 30 and 50.
    status = (np.arange(100) >= 20).astype(np.int64)
    edges, stratum = _queue_strata(log_queue, status, 5, 20)
    events = np.bincount(stratum, weights=status)
    assert edges.size == 1 and events.min() >= 20
    assert _queue_strata(log_queue, status, 5, 1000)[0].size == 0


def test_sampling_keeps_fits_reproducible(world) -> None:
    applications, _, _ = world
    as_of = START + timedelta(days=500)
    known = as_known_at(applications.lazy(), as_of).collect()
    a = ProportionalHazards(max_files=2_000).fit(known, as_of=as_of)
    b = ProportionalHazards(max_files=2_000).fit(
        known.sample(fraction=1.0, shuffle=True, seed=1), as_of=as_of
    )
    assert a.services_["benefit"].files == 2_000
    assert np.array_equal(a.services_["benefit"].params, b.services_["benefit"].params)


def test_refuses_history_without_a_completed_file(world) -> None:
    applications, _, _ = world
    as_of = START + timedelta(days=100)
    never = applications.filter(pl.col(SUBMITTED_ON) <= as_of).with_columns(
        pl.lit(None, dtype=pl.Date).alias("completed_on")
    )
    with pytest.raises(DelaiError, match="needs at least one service with a completed file"):
        ProportionalHazards().fit(never, as_of=as_of)


def test_sparse_levels_share_the_reference_and_are_still_answered(small_world) -> None:
    applications, end = small_world
    model = ProportionalHazards(min_events=10**6).fit(applications, as_of=end)
    for fitted in model.services_.values():
        # Too few completions for any indicator or the queue: the service's Breslow curve.
        assert fitted.channels == () and fitted.regions == () and not fitted.uses_queue
    segment = sorted(model.segments_)[0]
    requests = pl.DataFrame([(*segment, end)], schema=[*SEGMENT, SUBMITTED_ON], orient="row")
    assert model.predict(requests).get_column(QUANTILE_DAYS[0]).is_not_null().all()
