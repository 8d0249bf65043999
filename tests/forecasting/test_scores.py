"""Scoring the deployed choice: its backtest rows, and pinball loss relative to the baseline."""

from __future__ import annotations

import math
from datetime import date, timedelta
from types import SimpleNamespace

import polars as pl
import pytest

from forecasting.forecaster import choose_models
from forecasting.scores import (
    FORECASTER,
    NESTED,
    NESTED_RAW,
    chosen_rows,
    nested_choice_rows,
    pinball_ratio,
    weighted_pinball,
)


def _row(model: str, region: str, n: int, pinball: float) -> dict[str, object]:
    return {
        "as_of": date(2025, 1, 1),
        "model": model,
        "service": "passport_adult",
        "channel": "online",
        "region": region,
        "kind": "open",
        "n": n,
        "n_censored": 0,
        "mae_p50": pinball * 2,
        "pinball": pinball,
        "coverage_p80": 0.8,
        "coverage_p90": 0.9,
        "width_p50_p90": 10.0,
    }


RESULTS = pl.DataFrame(
    [
        _row("published_percentile", "ON", 10, 4.0),
        _row("published_percentile", "QC", 30, 8.0),
        _row("kaplan_meier", "ON", 10, 2.0),
        _row("kaplan_meier", "QC", 30, 9.0),
        _row("queue_projection", "ON", 10, 3.0),
        _row("queue_projection", "QC", 30, 6.0),
    ]
)


def test_chosen_rows_follow_the_per_route_choice_and_the_default() -> None:
    forecaster = SimpleNamespace(
        choice_={("passport_adult", "online", "ON", "open"): "kaplan_meier"},
        default_model_="queue_projection",
    )
    chosen = chosen_rows(RESULTS, forecaster)  # type: ignore[arg-type]
    assert chosen.get_column("model").to_list() == [FORECASTER, FORECASTER]
    assert dict(zip(chosen["region"], chosen["pinball"], strict=True)) == {"ON": 2.0, "QC": 6.0}
    assert chosen.columns == RESULTS.columns


def test_pinball_ratio_is_relative_to_the_baseline_on_the_same_rows() -> None:
    assert weighted_pinball(RESULTS)["published_percentile"] == pytest.approx(7.0)
    assert pinball_ratio(RESULTS, "published_percentile") == pytest.approx(1.0)
    assert pinball_ratio(RESULTS, "queue_projection") == pytest.approx((30 + 180) / 40 / 7.0)
    assert math.isnan(pinball_ratio(RESULTS, "prophet"))
    no_baseline = RESULTS.filter(pl.col("model") != "published_percentile")
    assert math.isnan(pinball_ratio(no_baseline, "kaplan_meier"))


D0, D1, T = date(2024, 10, 1), date(2025, 2, 1), date(2025, 3, 1)


def _file(as_of: date, model: str, submitted: date, actual: int, p50: float) -> dict[str, object]:
    return {
        "as_of": as_of,
        "model": model,
        "service": "passport_adult",
        "channel": "online",
        "region": "ON",
        "submitted_on": submitted,
        "kind": "open",
        "actual_days": actual,
        "p50_days": p50,
        "p80_days": p50,
        "p90_days": p50,
    }


# At D1, model "a" is right about a file done before T and wrong about one done after T; "b" the
# reverse, with the larger error on the late one. At D0, more than the 84-day window before D1,
# only "b" is right. At T, "a" says 1 day
# and "b" says 2 for a file that takes 5.
PREDICTIONS = pl.DataFrame(
    [
        _file(D1, "a", date(2025, 1, 25), 10, 10.0),
        _file(D1, "b", date(2025, 1, 25), 10, 30.0),
        _file(D1, "a", date(2025, 1, 25), 100, 10.0),
        _file(D1, "b", date(2025, 1, 25), 100, 100.0),
        _file(D0, "a", date(2024, 9, 20), 5, 50.0),
        _file(D0, "b", date(2024, 9, 20), 5, 5.0),
        _file(T, "a", date(2025, 2, 20), 5, 1.0),
        _file(T, "b", date(2025, 2, 20), 5, 2.0),
    ]
)


@pytest.mark.parametrize(
    ("horizon", "chosen_mae"),
    [
        # D1 is the latest origin a horizon before T and D0 is out of its window; on what was
        # known at T, "a" did better (counting the outcome that came in after T picks "b").
        (20, 4.0),
        # Only D0 lies a horizon before T: "b" did better there.
        (40, 3.0),
        # No origin a horizon before T: the first candidate answers.
        (200, 4.0),
    ],
)
def test_nested_choice_sees_only_what_a_training_on_the_day_knew(horizon, chosen_mae) -> None:
    nested = nested_choice_rows(PREDICTIONS, [T], {T: horizon}, ["a", "b"])
    # Served (recalibrated) and as the chosen model answered.
    assert nested.get_column("model").to_list() == [NESTED, NESTED_RAW]
    assert nested.get_column("as_of").to_list() == [T, T]
    raw = nested.filter(pl.col("model") == NESTED_RAW)
    assert raw.get_column("mae_p50").to_list() == [chosen_mae]


def test_nested_choice_follows_the_candidates_order_without_history() -> None:
    nested = nested_choice_rows(PREDICTIONS, [T], {T: 200}, ["b", "a"], calibration=None)
    assert nested.get_column("model").to_list() == [NESTED_RAW]
    assert nested.get_column("mae_p50").to_list() == [3.0]


def _late_files(origin: date, count: int) -> list[dict[str, object]]:
    """New files at `origin` that took 30 days where the model said 3 at P80 and P90."""
    return [
        {**_file(origin, "a", origin + timedelta(days=1), 30, 2.0), "kind": "new"}
        | {"p80_days": 3.0, "p90_days": 3.0}
        for _ in range(count)
    ]


@pytest.mark.parametrize(("horizon", "calibrated"), [(40, True), (20, False)])
def test_the_nested_recalibration_learns_only_outcomes_known_on_the_day(
    horizon: int, calibrated: bool
) -> None:
    """Files at D1 that the model answered far too early: by T their outcomes are in when
    they were submitted 40 days before, and the served P80 moves later; when they were
    submitted 20 days before, all are still open at T, and nothing is corrected."""
    origin = T - timedelta(days=horizon + 1)
    late = pl.DataFrame(
        [*_late_files(origin, 50), _file(T, "a", T + timedelta(days=1), 3, 2.0)]
    ).with_columns(
        pl.when(pl.col("as_of") == T).then(pl.lit("new")).otherwise(pl.col("kind")).alias("kind")
    )
    nested = nested_choice_rows(late, [T], {T: horizon}, ["a"])
    coverage = dict(zip(nested["model"], nested["coverage_p80"], strict=True))
    assert coverage[NESTED_RAW] == 0.0
    assert coverage[NESTED] == (1.0 if calibrated else 0.0)


def test_the_choice_is_made_per_segment_and_request_kind() -> None:
    """Where one model answers waiting files best and another new ones, each gets its own."""
    rows = [
        {**_row(model, "ON", 10, loss), "kind": kind}
        for model, kind, loss in [
            ("kaplan_meier", "open", 1.0),
            ("kaplan_meier", "new", 5.0),
            ("queue_projection", "open", 3.0),
            ("queue_projection", "new", 2.0),
        ]
    ]
    choice, default = choose_models(pl.DataFrame(rows), ["queue_projection", "kaplan_meier"])
    assert choice == {
        ("passport_adult", "online", "ON", "open"): "kaplan_meier",
        ("passport_adult", "online", "ON", "new"): "queue_projection",
    }
    # Over both kinds, each loss relative to its kind's best: Kaplan-Meier's 1.0 and 2.5 average
    # 1.75 a file, the queue's 3.0 and 1.0 average 2.0 (in days the queue led, 2.5 against 3.0).
    assert default == "kaplan_meier"


@pytest.mark.parametrize(("own_loss", "chosen"), [(2.7, "kaplan_meier"), (2.0, "queue_projection")])
def test_a_segment_leaves_its_kind_s_pooled_best_only_by_a_margin(own_loss, chosen) -> None:
    """Kaplan-Meier is the pooled best on waiting files; on QC the queue does better, by 10 %
    (kept: within the 20 % margin) or by 33 % (taken)."""
    rows = [
        {**_row(model, region, 10, loss), "kind": "open"}
        for model, region, loss in [
            ("kaplan_meier", "ON", 1.0),
            ("queue_projection", "ON", 5.0),
            ("kaplan_meier", "QC", 3.0),
            ("queue_projection", "QC", own_loss),
        ]
    ]
    frame = pl.DataFrame(rows)
    candidates = ["queue_projection", "kaplan_meier"]
    choice, _ = choose_models(frame, candidates, margin=0.2)
    assert choice[("passport_adult", "online", "QC", "open")] == chosen
    assert choice[("passport_adult", "online", "ON", "open")] == "kaplan_meier"
    # Without a margin the segment's own best answers.
    unguarded, _ = choose_models(frame, candidates)
    assert unguarded[("passport_adult", "online", "QC", "open")] == "queue_projection"


def test_an_origin_a_shock_delayed_does_not_outvote_the_ordinary_ones() -> None:
    """At two ordinary origins the queue's loss is 2 days and Kaplan-Meier's 3 (half as bad
    again); at one origin a shock delayed, both lose about ten times more and Kaplan-Meier is
    20 % better. Summed in days the shock decides (KM 26 against 29); relative to each origin's
    best the queue is chosen (1.08 against 1.33), for the route and as the default."""
    days = {
        date(2025, 1, 1): (2.0, 3.0),
        date(2025, 1, 8): (2.0, 3.0),
        date(2025, 1, 15): (25.0, 20.0),
    }
    rows = [
        {**_row(model, "ON", 10, loss), "as_of": as_of, "kind": "new"}
        for as_of, losses in days.items()
        for model, loss in zip(["queue_projection", "kaplan_meier"], losses, strict=True)
    ]
    choice, default = choose_models(pl.DataFrame(rows), ["kaplan_meier", "queue_projection"])
    assert choice == {("passport_adult", "online", "ON", "new"): "queue_projection"}
    assert default == "queue_projection"


def test_a_candidate_that_answered_on_fewer_origins_is_not_judged_on_easier_ones() -> None:
    """The boosted quantiles could not answer at the first two origins, where every loss was
    larger; at the third, the only one they answered, they were the worst of the three. Their
    loss in days (2.5) still beat Kaplan-Meier's average over all three (3.3)."""
    losses = {
        date(2025, 1, 1): {"kaplan_meier": 4.0, "queue_projection": 4.2},
        date(2025, 1, 8): {"kaplan_meier": 4.0, "queue_projection": 4.2},
        date(2025, 1, 15): {"kaplan_meier": 2.0, "queue_projection": 2.1, "boosted_quantiles": 2.5},
    }
    rows = [
        {**_row(model, "ON", 10, loss), "as_of": as_of, "kind": "new"}
        for as_of, by_model in losses.items()
        for model, loss in by_model.items()
    ]
    candidates = ["boosted_quantiles", "queue_projection", "kaplan_meier"]
    choice, default = choose_models(pl.DataFrame(rows), candidates)
    assert choice == {("passport_adult", "online", "ON", "new"): "kaplan_meier"}
    assert default == "kaplan_meier"
