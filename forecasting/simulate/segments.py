"""The simulated operation: services, channels, provinces and what each segment handles.

Volumes are per million residents so that a subset of provinces is a subset of one national
operation, not a rescaled copy of it; the five default provinces give ~350k files a year.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from forecasting.simulate.errors import SimulationArgumentError

PASSPORT_ADULT: Final = "passport_adult"
PASSPORT_CHILD: Final = "passport_child"
EI_REGULAR: Final = "ei_regular"
PENSION_OAS: Final = "pension_oas"
SERVICES: Final = (PASSPORT_ADULT, PASSPORT_CHILD, EI_REGULAR, PENSION_OAS)
PASSPORT_SERVICES: Final = (PASSPORT_ADULT, PASSPORT_CHILD)

ONLINE: Final = "online"
MAIL: Final = "mail"
IN_PERSON: Final = "in_person"
CHANNELS: Final = (ONLINE, MAIL, IN_PERSON)

# Population in millions (2024 estimates, rounded); drives every province's volume.
POPULATION_M: Final = {
    "ON": 15.6, "QC": 8.9, "BC": 5.6, "AB": 4.7, "MB": 1.45,
    "SK": 1.2, "NS": 1.05, "NB": 0.83, "NL": 0.54, "PE": 0.17,
}  # fmt: skip
DEFAULT_REGIONS: Final = ("ON", "QC", "BC", "AB", "NS")

# Files a year per million residents, before provincial adjustment.
_ANNUAL_PER_MILLION: Final = {
    PASSPORT_ADULT: 4100.0,
    PASSPORT_CHILD: 1300.0,
    EI_REGULAR: 2900.0,
    PENSION_OAS: 1450.0,
}
# Per-capita departures from the national rate: seasonal industries claim more EI in the
# Atlantic, Quebec travels abroad less, Nova Scotia is older.
_REGION_PROPENSITY: Final = {
    ("QC", PASSPORT_ADULT): 0.85, ("QC", PASSPORT_CHILD): 0.85, ("QC", EI_REGULAR): 1.1,
    ("BC", PASSPORT_ADULT): 1.1, ("BC", PASSPORT_CHILD): 1.05, ("BC", PENSION_OAS): 1.05,
    ("ON", PASSPORT_ADULT): 1.05, ("AB", PENSION_OAS): 0.8, ("AB", EI_REGULAR): 0.95,
    ("NS", PASSPORT_ADULT): 0.8, ("NS", PASSPORT_CHILD): 0.8, ("NS", EI_REGULAR): 1.6,
    ("NS", PENSION_OAS): 1.25, ("NB", EI_REGULAR): 1.7, ("NL", EI_REGULAR): 2.0,
    ("PE", EI_REGULAR): 1.8,
}  # fmt: skip
_CHANNEL_SHARE: Final = {
    PASSPORT_ADULT: (0.35, 0.25, 0.40),
    PASSPORT_CHILD: (0.15, 0.30, 0.55),
    EI_REGULAR: (0.85, 0.03, 0.12),
    PENSION_OAS: (0.40, 0.45, 0.15),
}
# Files an officer finishes per hour; mail needs keying in, online arrives pre-validated.
_FILES_PER_HOUR: Final = {
    PASSPORT_ADULT: 1.6,
    PASSPORT_CHILD: 1.3,
    EI_REGULAR: 0.9,
    PENSION_OAS: 0.6,
}
_CHANNEL_PRODUCTIVITY: Final = (1.15, 0.8, 1.0)
# Planned utilisation: staffing is set so planned demand / capacity over a fiscal year is this.
_TARGET_UTILISATION: Final = {
    PASSPORT_ADULT: 0.9,
    PASSPORT_CHILD: 0.9,
    EI_REGULAR: 0.9,
    PENSION_OAS: 0.95,
}
# Shares of (express, urgent) files; benefits have no paid express service, only hardship cases.
_PRIORITY_SHARE: Final = {
    (PASSPORT_ADULT, ONLINE): (0.04, 0.01),
    (PASSPORT_ADULT, MAIL): (0.02, 0.0),
    (PASSPORT_ADULT, IN_PERSON): (0.10, 0.04),
    (PASSPORT_CHILD, ONLINE): (0.03, 0.01),
    (PASSPORT_CHILD, MAIL): (0.02, 0.0),
    (PASSPORT_CHILD, IN_PERSON): (0.08, 0.03),
}
_HARDSHIP_URGENT_SHARE: Final = 0.01
# Share of files that need more information from the applicant before a decision.
REWORK_SHARE: Final = {
    PASSPORT_ADULT: 0.06,
    PASSPORT_CHILD: 0.07,
    EI_REGULAR: 0.09,
    PENSION_OAS: 0.10,
}
# Mean in-process handling after an officer picks a file up, in open days (checks, sign-off).
HANDLING_MEAN_DAYS: Final = {
    PASSPORT_ADULT: 3.0,
    PASSPORT_CHILD: 4.0,
    EI_REGULAR: 2.5,
    PENSION_OAS: 15.0,
}
# Yearly demand growth (log rate): an ageing population claims more pensions.
TREND_PER_YEAR: Final = {
    PASSPORT_ADULT: 0.03,
    PASSPORT_CHILD: 0.02,
    EI_REGULAR: 0.015,
    PENSION_OAS: 0.04,
}


@dataclass(frozen=True)
class Segments:
    """Every service x channel x province queue, as parallel arrays indexed by segment."""

    regions: tuple[str, ...]
    service: npt.NDArray[np.int64]
    channel: npt.NDArray[np.int64]
    region: npt.NDArray[np.int64]
    annual_volume: npt.NDArray[np.float64]
    files_per_hour: npt.NDArray[np.float64]
    target_utilisation: npt.NDArray[np.float64]
    express_share: npt.NDArray[np.float64]
    urgent_share: npt.NDArray[np.float64]

    @property
    def size(self) -> int:
        return int(self.service.size)

    def service_mask(self, services: Sequence[str]) -> npt.NDArray[np.bool_]:
        return np.isin(self.service, [SERVICES.index(s) for s in services])


def validate_regions(regions: Sequence[str] | None) -> tuple[str, ...]:
    """Return the provinces to simulate, refusing unknown, duplicated or no provinces."""
    if regions is None:
        return DEFAULT_REGIONS
    chosen = tuple(regions)
    known = ", ".join(sorted(POPULATION_M))
    unknown = [r for r in chosen if r not in POPULATION_M]
    if unknown or not chosen or len(set(chosen)) != len(chosen):
        raise SimulationArgumentError(
            "regions", f"one or more distinct provinces among {known}", repr(list(chosen))
        )
    return chosen


def build_segments(regions: tuple[str, ...], scale: float) -> Segments:
    """Lay out every segment and its planning parameters for the chosen provinces."""
    grid = np.array(
        [
            (s, c, r)
            for s in range(len(SERVICES))
            for c in range(len(CHANNELS))
            for r in range(len(regions))
        ],
        dtype=np.int64,
    )
    service, channel, region = grid[:, 0], grid[:, 1], grid[:, 2]
    names = [(SERVICES[s], CHANNELS[c], regions[r]) for s, c, r in grid]
    volume = np.array(
        [
            _ANNUAL_PER_MILLION[s]
            * POPULATION_M[r]
            * _REGION_PROPENSITY.get((r, s), 1.0)
            * _CHANNEL_SHARE[s][CHANNELS.index(c)]
            for s, c, r in names
        ]
    )
    express, urgent = np.array(
        [_PRIORITY_SHARE.get((s, c), (0.0, _HARDSHIP_URGENT_SHARE)) for s, c, _ in names]
    ).T
    return Segments(
        regions=regions,
        service=service,
        channel=channel,
        region=region,
        annual_volume=volume * scale,
        files_per_hour=np.array(
            [_FILES_PER_HOUR[s] * _CHANNEL_PRODUCTIVITY[CHANNELS.index(c)] for s, c, _ in names]
        ),
        target_utilisation=np.array([_TARGET_UTILISATION[s] for s, _, _ in names]),
        express_share=express,
        urgent_share=urgent,
    )


def per_service(values: dict[str, float], segments: Segments) -> npt.NDArray[np.float64]:
    """Spread a per-service parameter over segments."""
    return np.array([values[s] for s in SERVICES])[segments.service]
