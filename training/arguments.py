"""Parse command-line values (dates, steps, lists) with errors that say what was expected."""

from __future__ import annotations

import re
from datetime import date

from forecasting.errors import DelaiError

_STEP = re.compile(r"^\s*(?P<count>\d+)\s*(?P<unit>[dw])\s*$", re.IGNORECASE)
_DAYS_PER_UNIT = {"d": 1, "w": 7}


def parse_date(value: str, field: str) -> date:
    """An ISO date, or a `DelaiError` naming the option."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise DelaiError(f"`{field}` must be an ISO date like 2026-11-28, got '{value}'") from None


def parse_step(value: str, field: str = "--step") -> int:
    """Days in a step written like `7d` or `2w`."""
    match = _STEP.match(value)
    days = int(match["count"]) * _DAYS_PER_UNIT[match["unit"].lower()] if match else 0
    if days <= 0:
        raise DelaiError(
            f"`{field}` must be a positive number of days or weeks like 7d or 2w, got '{value}'"
        )
    return days


def parse_names(value: str, field: str, *, allowed: tuple[str, ...]) -> tuple[str, ...]:
    """A comma-separated list of names, each among `allowed`."""
    names = tuple(n.strip() for n in value.split(",") if n.strip())
    unknown = [n for n in names if n not in allowed]
    if not names or unknown:
        raise DelaiError(
            f"`{field}` must be a comma-separated list of {', '.join(allowed)}, got '{value}'"
        )
    return names
