"""The yearly season of weekly arrivals: fitted on each of two years, kept where both agree.

One Poisson GLM fits Fourier terms and the year-end lull on each year apart (an intercept per year,
so growth between them is not taken for season); where the two curves differ beyond their noise,
only the part they share is kept, so a past surge is not forecast to come back every year. A
segment too sparse to show a season gets none.
"""

from __future__ import annotations

import warnings

import numpy as np
import numpy.typing as npt

_F = npt.NDArray[np.float64]
_Days = npt.NDArray[np.int64]

YEAR_DAYS = 365.2425
YEAR_WEEKS = 52
# The two years' seasons differ when further apart than _AGREE_Z standard errors.
_AGREE_Z = 2.0
# A season needs the arrivals to show it: each year must hold this many per coefficient it is
# fitted with (intercept, Fourier terms, year end), else the segment gets the level alone.
# Sparser, the Poisson fit runs off towards infinity: on simulated segments (0.03 to 0.1 files
# a weekday, two and a half years) 2-year forecasts came out over 3 times the true rate, or not
# finite, for 22 of 59 with under 8 arrivals in a year, 3 of 49 with 8 to 11, none of 132 with
# 12 or more.
_SEASON_ARRIVALS_PER_TERM = 2


def shows_season(totals: _F, week_ends: _Days, last_day: int, harmonics: int) -> bool:
    """Whether there is a season to fit, and each year holds the arrivals to fit its own."""
    recent = week_ends > last_day - 7 * YEAR_WEEKS
    least = _SEASON_ARRIVALS_PER_TERM * (2 * harmonics + 2)
    return harmonics > 0 and min(totals[recent].sum(), totals[~recent].sum()) >= least


def season_by_year(
    totals: _F, exposure: _F, week_ends: _Days, last_day: int, harmonics: int
) -> tuple[_F, _F, bool]:
    """Season coefficients fitted separately on the last year and on the weeks before it.

    One Poisson GLM, with an intercept per year so that growth between them is not mistaken
    for season. Returns the (2, terms) coefficients, their covariance and whether a year-end
    term is among them.
    """
    recent = week_ends > last_day - 7 * YEAR_WEEKS
    terms = season_terms(week_ends, last_day, harmonics, year_end=True)
    # The year-end term only where both years hold a year end (always, over two whole years)
    # that received arrivals: a year with none there has no finite estimate of the term.
    lull = terms[:, -1] > 0
    year_end = bool((totals[lull & recent] > 0).any() and (totals[lull & ~recent] > 0).any())
    terms = terms if year_end else terms[:, :-1]
    earlier, later = (~recent).astype(np.float64), recent.astype(np.float64)
    design = np.column_stack([earlier, later, terms * earlier[:, None], terms * later[:, None]])
    beta, cov = _poisson_glm(totals, exposure, design)
    n_terms = terms.shape[1]
    return np.stack([beta[2 : 2 + n_terms], beta[2 + n_terms :]]), cov[2:, 2:], year_end


def season_terms(week_ends: _Days, last_day: int, harmonics: int, *, year_end: bool) -> _F:
    """Yearly Fourier terms for each week, and its share of days in the year-end lull.

    Three harmonics cannot follow the fortnight-long lull from 20 December to 3 January; left
    out, it cost December origins 14% 4-week MAPE on simulated segments instead of 7%, and its
    residuals read as a level shift in January.
    """
    phase = (week_ends - last_day) / YEAR_DAYS
    columns = []
    for k in range(1, harmonics + 1):
        angle = 2 * np.pi * k * phase
        columns += [np.sin(angle), np.cos(angle)]
    if year_end:
        days = (week_ends[:, None] - np.arange(7)[None, :]).astype("datetime64[D]")
        month = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
        day = (days - days.astype("datetime64[M]")).astype(np.int64) + 1
        columns.append((((month == 12) & (day >= 20)) | ((month == 1) & (day <= 3))).mean(axis=1))
    return np.column_stack(columns)


def agreed_season(season: _F, season_cov: _F, terms: _F) -> _F:
    """The season both years show, week by week (`season` may carry leading sample axes).

    Where the two years' curves differ by no more than their noise, their average; where they
    differ beyond it (a surge bent one year's curve), the part they share: the curve nearer zero
    when both have the same sign, else none. So a one-off surge is not forecast to come back
    every year.
    """
    earlier, later = season[..., 0, :] @ terms.T, season[..., 1, :] @ terms.T
    difference = np.hstack([terms, -terms])
    noise = np.sqrt(np.einsum("wi,ij,wj->w", difference, season_cov, difference))
    shared = np.where(
        np.sign(earlier) == np.sign(later),
        np.sign(earlier) * np.minimum(np.abs(earlier), np.abs(later)),
        0.0,
    )
    return np.where(np.abs(earlier - later) > _AGREE_Z * noise, shared, (earlier + later) / 2)


def _poisson_glm(totals: _F, exposure: _F, design: _F) -> tuple[_F, _F]:
    """Poisson regression coefficients, `exposure` as the offset, and their covariance scaled
    for overdispersion."""
    usable = exposure > 0
    offset = np.log(exposure[usable])
    # Least squares on the log rates starts close to the answer: fewer IRLS steps from there.
    start = np.linalg.lstsq(design[usable], np.log(totals[usable] + 0.5) - offset, rcond=None)[0]
    # Here, not at the top: a fitted model answers without statsmodels (see local_registry).
    from statsmodels.genmod.families import Poisson
    from statsmodels.genmod.generalized_linear_model import GLM
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    model = GLM(totals[usable], design[usable], family=Poisson(), offset=offset)
    with warnings.catch_warnings():
        # A near-empty segment can stop short of the tolerance; the estimate is still usable.
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = model.fit(start_params=start, scale="X2")
    return (
        np.asarray(result.params, dtype=np.float64),
        np.asarray(result.cov_params(), dtype=np.float64),
    )
