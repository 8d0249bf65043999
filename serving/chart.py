"""Line charts as server-rendered SVG: no JavaScript, no images to fetch, nothing inline to allow.

The chart is an image with a title and a description (its accessible name); the data table next to
it is the accessible alternative. Lines differ by dash pattern as well as colour, so the chart
reads in greyscale, and the styles live in delai.css because the page's CSP refuses inline styles.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal, TypeGuard

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 280
# Room for the y tick labels on the left, half a week label on the right, week labels under.
_LEFT, _RIGHT, _TOP, _BOTTOM = 72, 48, 16, 44
_MAX_X_LABELS = 6

Style = Literal["baseline", "scenario"]
Values = Sequence[float | None]


@dataclass(frozen=True)
class Series:
    """One line: its values per week (None where there is none), and an optional shaded band."""

    style: Style
    values: Values
    band: tuple[Values, Values] | None = None


@dataclass(frozen=True)
class Frame:
    """Where data values land on the canvas."""

    weeks: int
    low: float
    high: float

    def x(self, index: int) -> float:
        span = WIDTH - _LEFT - _RIGHT
        return _LEFT + (span * index / (self.weeks - 1) if self.weeks > 1 else span / 2)

    def y(self, value: float) -> float:
        span = HEIGHT - _TOP - _BOTTOM
        return HEIGHT - _BOTTOM - span * (value - self.low) / (self.high - self.low)


def line_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    weeks: Sequence[date],
    series: Sequence[Series],
    week_label: Callable[[date], str],
    value_label: Callable[[float], str],
) -> Markup:
    """An SVG line chart over `weeks`, named by `title` and described by `description`."""
    if not weeks:
        raise ValueError("`weeks` must hold at least one week, got none")
    ticks = nice_ticks(_extent(series))
    frame = Frame(len(weeks), ticks[0], ticks[-1])
    parts = [
        f'<svg class="chart" id="{escape(chart_id)}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" focusable="false">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(description)}</desc>',
        _y_axis(frame, ticks, value_label),
        _x_axis(frame, weeks, week_label),
    ]
    for line in series:
        if line.band is not None:
            parts.extend(_band(frame, line))
    for line in series:
        parts.extend(_line(frame, line))
    parts.append("</svg>")
    return Markup("".join(parts))


def nice_ticks(extent: tuple[float, float], count: int = 5) -> list[float]:
    """Round tick values covering `extent`, from 0 when everything is positive (about `count`)."""
    low, high = extent
    low = min(low, 0.0)
    if high <= low:
        high = low + 1.0
    raw = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    last = math.ceil(high / step) * step
    return [first + i * step for i in range(round((last - first) / step) + 1)]


def _extent(series: Sequence[Series]) -> tuple[float, float]:
    found = [
        v
        for line in series
        for values in (line.values, *(line.band or ()))
        for v in values
        if _finite(v)
    ]
    return (min(found), max(found)) if found else (0.0, 1.0)


def _y_axis(frame: Frame, ticks: list[float], value_label: Callable[[float], str]) -> str:
    out = ['<g class="chart__grid" aria-hidden="true">']
    for tick in ticks:
        y = frame.y(tick)
        out.append(
            f'<line x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text x="{_LEFT - 8}" y="{y:.1f}" text-anchor="end" dominant-baseline="middle">'
            f"{escape(value_label(tick))}</text>"
        )
    out.append("</g>")
    return "".join(out)


def _x_axis(frame: Frame, weeks: Sequence[date], week_label: Callable[[date], str]) -> str:
    every = max(1, math.ceil(len(weeks) / _MAX_X_LABELS))
    baseline = HEIGHT - _BOTTOM
    out = [
        '<g class="chart__axis" aria-hidden="true">',
        f'<line x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{baseline}" y2="{baseline}"/>',
    ]
    for index in range(0, len(weeks), every):
        x = frame.x(index)
        out.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{baseline}" y2="{baseline + 6}"/>'
            f'<text x="{x:.1f}" y="{baseline + 24}" text-anchor="middle">'
            f"{escape(week_label(weeks[index]))}</text>"
        )
    out.append("</g>")
    return "".join(out)


def _runs(values: Values) -> list[list[int]]:
    """Indices of the unbroken stretches of known values (a gap breaks the line)."""
    runs: list[list[int]] = []
    current: list[int] = []
    for index, value in enumerate(values):
        if not _finite(value):
            if current:
                runs.append(current)
            current = []
        else:
            current.append(index)
    if current:
        runs.append(current)
    return runs


def _line(frame: Frame, line: Series) -> list[str]:
    dashes = ' stroke-dasharray="8 6"' if line.style == "baseline" else ""
    out = []
    for run in _runs(line.values):
        points = [(frame.x(i), frame.y(_known(line.values[i]))) for i in run]
        if len(points) == 1:
            # A week on its own (between gaps) still shows, as a dot.
            x, y = points[0]
            dot = f'<circle class="chart__dot--{line.style}" cx="{x:.1f}" cy="{y:.1f}" r="4"/>'
            out.append(dot)
            continue
        path = " L".join(f"{x:.1f},{y:.1f}" for x, y in points)
        out.append(f'<path class="chart__line chart__line--{line.style}" d="M{path}"{dashes}/>')
    return out


def _band(frame: Frame, line: Series) -> list[str]:
    """The shaded range between the band's low and high values, broken where either is unknown."""
    assert line.band is not None
    low, high = line.band
    both = [hi if _finite(lo) and _finite(hi) else None for lo, hi in zip(low, high, strict=True)]
    out = []
    for run in _runs(both):
        top = [(frame.x(i), frame.y(_known(high[i]))) for i in run]
        bottom = [(frame.x(i), frame.y(_known(low[i]))) for i in reversed(run)]
        path = " L".join(f"{x:.1f},{y:.1f}" for x, y in top + bottom)
        out.append(f'<path class="chart__band chart__band--{line.style}" d="M{path} Z"/>')
    return out


def _finite(value: float | None) -> TypeGuard[float]:
    return value is not None and math.isfinite(value)


def _known(value: float | None) -> float:
    assert value is not None  # callers pass only indices from _runs, where values are known
    return value
