"""When a newly trained model may replace the champion: the rule, apart from the registry.

Scores are pinball loss divided by the published baseline's on the same backtest (lower is
better), so scores from different data windows can be compared. A candidate must beat the
baseline (ratio below 1) and then the champion's recorded score; a tie keeps the champion.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

SCORE = "pinball_ratio"


@dataclass(frozen=True)
class PromotionDecision:
    """Whether a candidate version took the alias, why, and the numbers behind it."""

    promoted: bool
    reason: str
    model_name: str
    candidate_version: str
    candidate_score: float
    champion_version: str | None
    champion_score: float | None
    score: str = SCORE

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def decide(
    candidate: float,
    champion_version: str | None,
    champion: float | None,
    *,
    min_improvement: float = 0.0,
) -> tuple[bool, str]:
    """(promote?, why) for a candidate score against the champion's, if there is one."""
    if not math.isfinite(candidate):
        return False, f"candidate {SCORE} is not a number ({candidate}): nothing was scored"
    if candidate >= 1.0:
        return (
            False,
            f"candidate does not beat the published baseline ({SCORE} {candidate:.4f} >= 1)",
        )
    if champion_version is None:
        return True, f"no champion yet; candidate beats the baseline ({SCORE} {candidate:.4f})"
    if champion is None or not math.isfinite(champion):
        return True, f"champion v{champion_version} has no recorded {SCORE}"
    if candidate < champion - min_improvement:
        return True, (
            f"candidate {SCORE} {candidate:.4f} beats champion v{champion_version}'s {champion:.4f}"
        )
    margin = f" by more than {min_improvement}" if min_improvement else ""
    return False, (
        f"candidate {SCORE} {candidate:.4f} does not beat champion v{champion_version}'s "
        f"{champion:.4f}{margin}"
    )
