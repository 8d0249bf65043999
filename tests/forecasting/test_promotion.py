"""The promotion rule: beat the published baseline, then the champion; a tie keeps the champion."""

from __future__ import annotations

import pytest

from forecasting.promotion import decide


@pytest.mark.parametrize(
    ("candidate", "champion_version", "champion", "promoted", "reason"),
    [
        (0.8, None, None, True, "no champion yet"),
        (1.0, None, None, False, "does not beat the published baseline"),
        (1.3, "2", 1.5, False, "does not beat the published baseline"),
        (float("nan"), None, None, False, "is not a number"),
        (0.8, "2", None, True, "champion v2 has no recorded pinball_ratio"),
        (0.8, "2", 0.9, True, "beats champion v2's 0.9000"),
        (0.9, "2", 0.9, False, "does not beat champion v2's 0.9000"),
        (0.95, "2", 0.9, False, "does not beat champion v2's 0.9000"),
    ],
)
def test_decide(
    candidate: float,
    champion_version: str | None,
    champion: float | None,
    promoted: bool,
    reason: str,
) -> None:
    decision, why = decide(candidate, champion_version, champion)
    assert decision is promoted
    assert reason in why


def test_a_margin_must_be_exceeded() -> None:
    assert decide(0.88, "2", 0.9, min_improvement=0.01)[0]
    promoted, why = decide(0.895, "2", 0.9, min_improvement=0.01)
    assert not promoted and "by more than 0.01" in why
