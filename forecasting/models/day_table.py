"""A fitted model's answers tabulated per segment and submission day, to answer by lookup.

Where a model's answer depends only on the segment and the day a file was submitted (its fitted
state fixed), every day a request is likely to name can be answered once, when it is fitted. A
pickled model then answers most requests without the library that fitted it: importing
scikit-learn took 2.3 s of a 6 s `delai predict` of 100,000 requests. A day outside the table
(a file waiting longer than the table reaches back) is left to the model itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from forecasting.models.base import Segment
from forecasting.schema import QUANTILES

_F = npt.NDArray[np.float64]
_B = npt.NDArray[np.bool_]
_I = npt.NDArray[np.int64]


@dataclass(frozen=True)
class DayTable:
    """Per segment, quantile days: one row per submission day from `first` (an epoch day)."""

    first: int
    answers: dict[Segment, _F]

    def lookup(self, key: Segment, days: _I) -> tuple[_F, _B]:
        """The tabulated rows for `days` (NaN where outside the table) and where they were found."""
        out = np.full((days.size, len(QUANTILES)), np.nan)
        table = self.answers.get(key)
        if table is None:
            return out, np.zeros(days.size, dtype=bool)
        offset = days - self.first
        found = (offset >= 0) & (offset < table.shape[0])
        out[found] = table[offset[found]]
        return out, found
