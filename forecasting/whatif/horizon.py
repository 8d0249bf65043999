"""The day axis every planning array shares: how far ahead a baseline reaches, and how far back
it reads. Day 0 of a baseline's arrays is the day after its as-of date."""

from __future__ import annotations

from typing import Final

from forecasting.whatif.scenario import MAX_HORIZON_WEEKS

Segment = tuple[str, str, str]
# A scenario may start up to this long after the data's as-of date.
MAX_LEAD_WEEKS: Final = 52
N_DAYS: Final = 7 * (MAX_LEAD_WEEKS + MAX_HORIZON_WEEKS)
N_BLOCKS: Final = N_DAYS // 7
# Capacity is kept this far past the last day, so late files still get a completion day.
TAIL_DAYS: Final = 365
# Recent window for capacity and throughput levels.
RECENT_DAYS: Final = 28
YEAR_DAYS: Final = 364
# Weeks of the rolling median that shapes capacity like last year (forecasting.whatif.capacity).
SHAPE_WEEKS: Final = 5
# Days before the as-of day (itself included) that calendars and capacity tables cover.
HISTORY_DAYS: Final = YEAR_DAYS + RECENT_DAYS + 7 * SHAPE_WEEKS
