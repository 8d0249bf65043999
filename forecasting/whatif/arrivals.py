"""Arrivals for a planning baseline: the statsmodels intake forecast's mean and sample paths.

A forecast that is not finite, or runs far above anything a segment ever received, is replaced
by the segment's recent means by weekday, and its paths by Poisson noise around them; the
segments are named in the baseline. The planning horizon is what needs it: a segment under two
years old is forecast by its level alone, whose uncertainty grows without end, so the mean of
its log-normal rate two years out can run away (simulated segments of 0.1 to 0.3 files a
weekday with 10 to 40 weeks of history: up to millions of times the rate, 9 of 240 replaced).
"""

from __future__ import annotations

import logging
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from forecasting.intake import ARRIVALS, MEAN, IntakeForecaster
from forecasting.schema import DATE, SEGMENT
from forecasting.whatif.horizon import N_BLOCKS, N_DAYS, Segment

logger = logging.getLogger(__name__)

_F = npt.NDArray[np.float64]
# Weeks of history whose weekday means stand in for an unusable intake forecast.
FALLBACK_WEEKS: Final = 8


def mean_arrivals(
    intake: IntakeForecaster, segments: list[Segment], daily: pl.DataFrame
) -> tuple[_F, frozenset[Segment]]:
    """The intake forecast's daily means, and the segments where it cannot be used.

    A forecast that is not finite, or runs far above anything the segment ever received (a
    young, sparse segment's level-only forecast two years out), is replaced by the segment's
    mean by weekday over its last FALLBACK_WEEKS weeks, and the segment is listed.
    """
    forecast = intake.predict(N_DAYS)
    out = np.zeros((len(segments), N_DAYS))
    index = {key: i for i, key in enumerate(segments)}
    for key, group in forecast.partition_by(SEGMENT, as_dict=True).items():
        row = index.get((str(key[0]), str(key[1]), str(key[2])))
        if row is not None:
            out[row] = group.sort(DATE).get_column(MEAN).to_numpy()
    histories = {
        (str(k[0]), str(k[1]), str(k[2])): g.sort(DATE).get_column(ARRIVALS).to_numpy()
        for k, g in daily.partition_by(SEGMENT, as_dict=True).items()
    }
    fallback = set()
    for i, key in enumerate(segments):
        history = histories.get(key, np.zeros(7))
        weeks = np.add.reduceat(history, np.arange(0, history.size, 7)) if history.size else [0]
        if np.all(np.isfinite(out[i])) and out[i].sum() <= 10 * max(np.max(weeks), 1) * N_BLOCKS:
            continue
        recent = history[-7 * FALLBACK_WEEKS :]
        # Weekday of each recent day, counted back from the as-of day's.
        by_weekday = np.array(
            [recent[::-1][d::7].mean() if recent[::-1][d::7].size else 0.0 for d in range(7)]
        )
        # Day i of the forecast is i + 1 days after the as-of day: weekday offset (i + 1) mod 7
        # after the as-of day's, i.e. 7 - ((i + 1) mod 7) days back in the cycle.
        back = (7 - (np.arange(N_DAYS) + 1) % 7) % 7
        out[i] = by_weekday[back]
        fallback.add(key)
    if fallback:
        logger.warning(
            "intake forecast unusable for %d segment(s); their recent weekday means are used",
            len(fallback),
        )
    return out, frozenset(fallback)


def path_ratios(
    intake: IntakeForecaster,
    segments: list[Segment],
    arrivals: _F,
    n_paths: int,
    seed: int,
    fallback: frozenset[Segment],
) -> _F:
    """Weekly totals of sampled intake paths over the mean forecast's.

    Segments of one service share their seed, so a surge in the paths hits all its channels
    and regions together, as real surges do; services draw independently. Fallback segments
    get Poisson noise around their means.
    """
    services = sorted({key[0] for key in segments})
    mean_blocks = arrivals.reshape(len(segments), N_BLOCKS, 7).sum(axis=2)
    out = np.ones((len(segments), n_paths, N_BLOCKS))
    for i, key in enumerate(segments):
        service_seed = seed + services.index(key[0])
        if key not in fallback and key in intake.segments_:
            paths = intake.simulate_paths(key, N_DAYS, n_paths, service_seed)
            blocks = paths.reshape(n_paths, N_BLOCKS, 7).sum(axis=2)
        else:
            rng = np.random.default_rng(service_seed)
            blocks = rng.poisson(np.broadcast_to(mean_blocks[i], (n_paths, N_BLOCKS)))
        has_mean = mean_blocks[i] > 0
        out[i][:, has_mean] = blocks[:, has_mean] / mean_blocks[i][has_mean]
    return out
