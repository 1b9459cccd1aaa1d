"""Server-rendered SVG line charts of an indicator over its civil-status versions (no JavaScript needed).

The chart is a picture of a short series; the same numbers are always given as a table next to it, so the
SVG carries only a title and a summary for assistive technology.

Example::

    chart = line_chart([(1, 58.0, "v1"), (2, 64.0, "v2")], title="Employee satisfaction", unit="%")
    chart.svg   # '<svg ... role="img" ...>'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

__all__ = ["Chart", "line_chart"]

WIDTH, HEIGHT = 320, 140
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 26


@dataclass(frozen=True, slots=True)
class Chart:
    svg: Markup
    points: int


def _nice_bounds(low: float, high: float) -> tuple[float, float]:
    if low == high:
        pad = abs(low) * 0.1 or 1.0
        return low - pad, high + pad
    span = high - low
    step = 10 ** math.floor(math.log10(span))
    return math.floor(low / step) * step, math.ceil(high / step) * step


def _label(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3g}"


def line_chart(
    series: Sequence[tuple[int, float, str]],
    *,
    title: str,
    unit: str | None,
    chart_id: str,
    describe: Callable[[int, float], str] | None = None,
    floor_zero: bool = True,
) -> Chart:
    """A line over ``(version, value, x label)`` points, oldest first; each point has a tooltip title."""
    values = [v for _, v, _ in series]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    if floor_zero and low >= 0:
        low = 0.0
    low, high = _nice_bounds(low, high)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(i: int) -> float:
        return LEFT + (plot_w / 2 if len(series) == 1 else plot_w * i / (len(series) - 1))

    def y(v: float) -> float:
        return TOP + plot_h * (1 - (v - low) / (high - low))

    suffix = f" {unit}" if unit else ""
    parts = [
        f'<svg class="chart" id="{escape(chart_id)}" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" role="img" aria-labelledby="{escape(chart_id)}-t" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{escape(chart_id)}-t">{escape(title)}</title>',
        f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}"/>',
        f'<line class="axis" x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}"/>',
        f'<text x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end">{escape(_label(high))}</text>',
        f'<text x="{LEFT - 6}" y="{TOP + plot_h}" text-anchor="end">{escape(_label(low))}</text>',
    ]
    if len(series) > 1:
        path = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, (_, v, _) in enumerate(series))
        parts.append(f'<polyline class="line" points="{path}"/>')
    step = max(1, math.ceil(len(series) / 8))
    for i, (version, value, label) in enumerate(series):
        tip = describe(version, value) if describe else f"{label}: {_label(value)}{suffix}"
        parts.append(
            f'<circle class="dot" cx="{x(i):.1f}" cy="{y(value):.1f}" r="4"><title>{escape(tip)}</title></circle>'
        )
        if i % step == 0 or i == len(series) - 1:
            parts.append(f'<text x="{x(i):.1f}" y="{HEIGHT - 8}" text-anchor="middle">{escape(label)}</text>')
    parts.append("</svg>")
    return Chart(svg=Markup("".join(parts)), points=len(series))  # noqa: S704  # nosec B704: every piece is escaped above
