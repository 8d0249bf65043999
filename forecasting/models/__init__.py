"""Processing-time models sharing one contract (`base.ProcessingTimeModel`)."""

from __future__ import annotations

from forecasting.models.base import ProcessingTimeModel
from forecasting.models.boosted import BoostedQuantiles
from forecasting.models.hazards import ProportionalHazards
from forecasting.models.published import PublishedPercentile
from forecasting.models.queue_model import QueueProjection
from forecasting.models.survival import KaplanMeier

MODELS: dict[str, type[ProcessingTimeModel]] = {
    PublishedPercentile.name: PublishedPercentile,
    KaplanMeier.name: KaplanMeier,
    QueueProjection.name: QueueProjection,
    BoostedQuantiles.name: BoostedQuantiles,
    ProportionalHazards.name: ProportionalHazards,
}

__all__ = [
    "MODELS",
    "BoostedQuantiles",
    "KaplanMeier",
    "ProcessingTimeModel",
    "ProportionalHazards",
    "PublishedPercentile",
    "QueueProjection",
]
