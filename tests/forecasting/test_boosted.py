"""BoostedQuantiles: fits on as-of features, answers ordered quantiles, and its CQR shift works."""

from __future__ import annotations

import pickle
import subprocess
import sys
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from forecasting.asof import as_known_at
from forecasting.errors import DelaiError
from forecasting.models import MODELS, BoostedQuantiles
from forecasting.models.boosted import UPPER
from forecasting.models.conformal import censored_coverage, censored_quantile, conformal_shifts
from forecasting.models.file_features import SegmentHistory, describe
from forecasting.models.queue_model import QueueProjection
from forecasting.schema import ERROR, QUANTILE_DAYS, QUANTILES, SEGMENT, SUBMITTED_ON
from forecasting.survival_curve import counted_kaplan_meier, kaplan_meier


@pytest.fixture(scope="module")
def known(small_world):
    applications, end = small_world
    as_of = end - timedelta(days=30)
    return as_known_at(applications.lazy(), as_of).collect(), as_of


# Eight origins, not the default thirteen: the same model, fitted in two thirds of the time.
FEW_ORIGINS = 8


@pytest.fixture(scope="module")
def model(known) -> BoostedQuantiles:
    data, as_of = known
    return BoostedQuantiles(origins=FEW_ORIGINS).fit(data, as_of=as_of)


@pytest.fixture(scope="module")
def unshifted(known) -> BoostedQuantiles:
    data, as_of = known
    return BoostedQuantiles(origins=FEW_ORIGINS, conformal=False).fit(data, as_of=as_of)


def test_is_registered() -> None:
    assert MODELS["boosted_quantiles"] is BoostedQuantiles


def test_fits_and_answers_every_segment_with_ordered_quantiles(known, model) -> None:
    _, as_of = known
    assert model.training_files_ > 1000 and model.calibration_files_ > 100
    segments = sorted(model.segments_)
    requests = pl.DataFrame(
        [(*s, as_of + timedelta(days=d)) for s in segments for d in (-90, -30, -7, 0, 1, 7)],
        schema=["service", "channel", "region", SUBMITTED_ON],
        orient="row",
    )
    predicted = model.predict(requests)
    assert predicted.get_column(ERROR).null_count() == requests.height
    days = predicted.select(QUANTILE_DAYS).to_numpy()
    assert np.all(np.isfinite(days)) and np.all(days > 0)
    assert np.all(np.diff(days, axis=1) >= 0)


def test_answers_depend_on_the_wait_and_the_queue(known, model) -> None:
    """Not a segment constant: a file that has waited longer is told a later total."""
    _, as_of = known
    requests = pl.DataFrame(
        {
            "service": "passport_adult",
            "channel": "online",
            "region": "ON",
            SUBMITTED_ON: [as_of - timedelta(days=d) for d in (0, 20, 60)],
        }
    )
    p50 = model.predict(requests).get_column(QUANTILE_DAYS[0]).to_numpy()
    assert p50[0] < p50[1] < p50[2]


def test_conformal_shift_brings_hold_out_coverage_to_nominal(model) -> None:
    """Each upper quantile covers its share of the hold-out after the shift, and the shift
    points the way the raw miss asks: a sign slip or a shift applied to the wrong kind fails."""
    table = model.calibration_
    assert sorted(table.get_column("kind").unique()) == ["new", "open"]
    for kind, quantile, files, shift, raw, shifted in table.iter_rows():
        if quantile not in UPPER:
            # The median is left as learned.
            assert shift == 0.0 and shifted == raw
            continue
        assert abs(shifted - quantile) <= 0.01, (kind, quantile)
        # Off by more than a few files' worth: the shift must close the gap, not widen it.
        slack = 3.0 / files
        if raw < quantile - slack:
            assert shift > 0.0, (kind, quantile)
        elif raw > quantile + slack:
            assert shift < 0.0, (kind, quantile)


def test_conformal_shifts_calibrate_fresh_files_not_only_the_hold_out() -> None:
    """Split conformal on a censored hold-out: shifts learned there cover new draws from the
    same process at the nominal rate, where the raw learner and a version that drops the still
    open files both miss."""
    rng = np.random.default_rng(0)
    # The learner answers too low: its quantile predictions sit at 0.0, 0.2 and 0.3 while the
    # actual value (in its units) is centred at 0.4 with a spread of 1.
    predicted = np.array([0.0, 0.2, 0.3])
    n = 3000
    actual = rng.normal(0.4, 1.0, n)
    # About a third are still open: known only to exceed a bound set by when they were
    # submitted, independent of how long they will take.
    bound = rng.normal(1.0, 0.8, n)
    censored = actual > bound
    scores = np.minimum(actual, bound)[:, None] - predicted
    kinds = np.full(n, "new")
    shifts, _ = conformal_shifts(scores, censored, np.ones(n), kinds, QUANTILES, UPPER)
    kept = ~censored
    dropped, _ = conformal_shifts(
        scores[kept], censored[kept], np.ones(kept.sum()), kinds[kept], QUANTILES, UPPER
    )
    fresh = rng.normal(0.4, 1.0, 50_000)[:, None] - predicted
    assert 0.25 < censored.mean() < 0.45
    for i, q in enumerate(QUANTILES):
        if q not in UPPER:
            continue
        assert np.mean(fresh[:, i] <= 0.0) < q - 0.1
        assert np.mean(fresh[:, i] <= shifts["new"][i]) == pytest.approx(q, abs=0.02)
        # Dropping the open files keeps the quick ones: the shift comes out too small.
        assert np.mean(fresh[:, i] <= dropped["new"][i]) < q - 0.05


def test_the_shift_is_applied_to_each_kind_s_upper_quantiles(known, model, unshifted) -> None:
    """The same learner without CQR answers P80 / P90 lower (or higher) by exactly its shifts."""
    assert all(np.all(shift == 0.0) for shift in unshifted.shifts_.values())
    table = unshifted.calibration_
    assert table.get_column("coverage").equals(table.get_column("coverage_raw"))
    _, as_of = known
    days = [-60, -20, -5, 0, 2, 6]
    requests = pl.DataFrame(
        {
            "service": "passport_adult",
            "channel": "online",
            "region": "ON",
            SUBMITTED_ON: [as_of + timedelta(days=d) for d in days],
        }
    )
    shifted, raw = (
        m.predict(requests).select(QUANTILE_DAYS).to_numpy() for m in (model, unshifted)
    )
    is_new = np.asarray(days) > 0
    expected = np.where(is_new[:, None], model.shifts_["new"], model.shifts_["open"])
    # The floor at as-of + 1 and the ordering may bind on a few answers: compare where neither did.
    free = (raw > -np.asarray(days)[:, None] + 1) & (np.diff(raw, axis=1, prepend=0.0) > 0)
    np.testing.assert_allclose((np.log1p(shifted) - np.log1p(raw))[free], expected[free], atol=1e-9)
    assert free[:, 1:].sum() >= 6


def test_censored_quantile_is_the_conformal_quantile_without_censoring() -> None:
    scores = np.arange(1.0, 101.0)
    none = np.zeros(100, dtype=bool)
    ones = np.ones(100)
    # Level 0.8 raised by (1 + 1/n): the 81st of 100 scores.
    assert censored_quantile(scores, none, ones, 0.8) == 81.0
    assert censored_coverage(scores - 81.0, none, ones) == pytest.approx(0.81)
    # A weight of 2 counts like the row twice.
    doubled = np.concatenate([scores, scores[:10]])
    assert censored_quantile(
        scores, none, np.where(scores <= 10, 2.0, 1.0), 0.5
    ) == censored_quantile(doubled, np.zeros(110, dtype=bool), np.ones(110), 0.5)


def test_censored_scores_are_counted_not_dropped() -> None:
    # Half the files are done with scores 1..50; half are still open, known to exceed 60.
    scores = np.concatenate([np.arange(1.0, 51.0), np.full(50, 60.0)])
    censored = np.arange(100) >= 50
    weights = np.ones(100)
    dropped = np.quantile(scores[~censored], 0.8)
    assert dropped == pytest.approx(40.2)
    # Kaplan-Meier never reaches 80 % below the open files: the shift is at least their bound.
    assert censored_quantile(scores, censored, weights, 0.8) >= 60.0
    assert censored_coverage(scores - 40.0, censored, weights) == pytest.approx(0.4)


def test_unknown_target_and_too_short_a_history_are_clear_errors(known) -> None:
    data, as_of = known
    with pytest.raises(DelaiError, match="`target` must be one of log_ratio, log_days, got 'x'"):
        BoostedQuantiles(target="x").fit(data, as_of=as_of)
    short = data.filter(pl.col(SUBMITTED_ON) > as_of - timedelta(days=100))
    with pytest.raises(DelaiError, match="needs at least 200 training files"):
        BoostedQuantiles().fit(short, as_of=as_of)


def test_file_features_on_a_day_ignore_what_came_after(small_world) -> None:
    """Queue and survival columns on an earlier day D of the history use nothing after D."""
    applications, end = small_world
    day = end - timedelta(days=120)
    segment = (pl.col("service") == "passport_adult") & (pl.col("channel") == "online")
    files = applications.filter(segment & (pl.col("region") == "ON"))
    later = pl.col("completed_on") > day
    moved = pl.concat(
        [
            # Completions after D move, within what is known at the end, or are not yet known.
            files.with_columns(
                pl.when(later & (pl.col("completed_on") < end - timedelta(days=30)))
                .then(pl.col("completed_on") + timedelta(days=30))
                .when(later)
                .then(None)
                .otherwise(pl.col("completed_on"))
            ),
            files.filter(pl.col(SUBMITTED_ON) > day).with_columns(
                pl.min_horizontal(pl.col(SUBMITTED_ON) + timedelta(days=3), pl.lit(end))
            ),
        ]
    ).sample(fraction=1.0, shuffle=True, seed=1)
    epoch = (day - date(1970, 1, 1)).days
    asked = np.arange(epoch - 90, epoch + 8)
    described = [
        describe(
            SegmentHistory(
                frame.select(*SEGMENT, SUBMITTED_ON, "completed_on"),
                "ON",
                first_day=epoch - 400,
                today=(end - date(1970, 1, 1)).days,
                queue=QueueProjection(),
                survival_days=365,
            ).at(epoch),
            asked,
        )
        for frame in (files, moved)
    ]
    np.testing.assert_array_equal(described[0], described[1])


def test_counted_kaplan_meier_is_the_curve_of_the_files_one_by_one() -> None:
    rng = np.random.default_rng(3)
    days = rng.integers(0, 60, 3000)
    done = rng.random(3000) < 0.8
    one_by_one = kaplan_meier(pl.Series(days), pl.Series(done.astype(np.int8)))
    pairs = np.bincount(2 * days + done)
    present = np.flatnonzero(pairs)
    counted = counted_kaplan_meier(present // 2, present % 2 == 1, pairs[present])
    np.testing.assert_allclose(counted.times, one_by_one.times)
    np.testing.assert_allclose(counted.surv, one_by_one.surv)
    assert counted.mean_days == pytest.approx(one_by_one.mean_days)


def test_the_table_answers_as_the_learner_and_the_pickle_defers_scikit_learn(
    known, model, tmp_path
) -> None:
    """Days inside the table are looked up, days beyond it asked of the learner; both give what
    the learner itself gives, before and after a pickle round trip."""
    _, as_of = known
    offsets = (-model.tabulated_days - 40, -model.tabulated_days, -200, -7, 0, 1, 90)
    segments = sorted(model.segments_)
    requests = pl.DataFrame(
        [(*s, as_of + timedelta(days=d)) for s in segments for d in offsets],
        schema=["service", "channel", "region", SUBMITTED_ON],
        orient="row",
    )
    expected = model.predict(requests)
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(model, protocol=5))
    assert len(model.table_.answers) == len(segments)
    inside = requests.filter(pl.col(SUBMITTED_ON) >= as_of - timedelta(days=model.tabulated_days))
    script = (
        "import pickle, sys\n"
        "import polars as pl\n"
        f"model = pickle.loads(open({str(path)!r}, 'rb').read())\n"
        f"inside = pl.read_ipc({str(tmp_path / 'inside.arrow')!r})\n"
        "model.predict(inside).write_ipc(sys.argv[1])\n"
        "print('sklearn' in sys.modules)\n"
    )
    inside.write_ipc(tmp_path / "inside.arrow")
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "answers.arrow")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "False"
    answered = pl.read_ipc(tmp_path / "answers.arrow")
    first = inside.get_column(SUBMITTED_ON).min()
    assert_frame_equal(answered, expected.filter(pl.col(SUBMITTED_ON) >= first))
    # Beyond the table, the unpickled learner answers.
    assert_frame_equal(pickle.loads(path.read_bytes()).predict(requests), expected)
