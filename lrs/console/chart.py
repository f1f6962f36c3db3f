"""A bar chart as SVG markup, rendered on the server (no script, no inline style).

Pure: counts in, markup out. Colours come from the stylesheet through class names, so the
console's CSP needs no `unsafe-inline`; every bar carries a <title> with its exact figure
and the chart has a text alternative for screen readers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 640
HEIGHT = 200
AXIS = 24
"""Room below the bars for the labels."""
TOP = 16
"""Room above the tallest bar for its figure."""


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: int


def bar_chart(bars: Sequence[Bar], title: str) -> str:
    """The chart's SVG element; an empty series still draws its axis and says so."""
    slot = WIDTH / max(len(bars), 1)
    tallest = max((bar.value for bar in bars), default=0) or 1
    plot = HEIGHT - AXIS - TOP
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<line class="axis" x1="0" y1="{HEIGHT - AXIS}" x2="{WIDTH}" y2="{HEIGHT - AXIS}"/>',
    ]
    for i, bar in enumerate(bars):
        height = round(plot * bar.value / tallest, 1)
        x, y = round(i * slot + slot * 0.15, 1), round(HEIGHT - AXIS - height, 1)
        middle = round(i * slot + slot / 2, 1)
        label, value = escape(bar.label), bar.value
        parts += [
            f'<rect class="bar" x="{x}" y="{y}" width="{round(slot * 0.7, 1)}" '
            f'height="{height}"><title>{label}: {value}</title></rect>',
            f'<text class="figure" x="{middle}" y="{y - 4}" text-anchor="middle">{value}</text>',
            f'<text class="label" x="{middle}" y="{HEIGHT - 8}" text-anchor="middle">'
            f"{label}</text>",
        ]
    if not bars:
        parts.append(f'<text class="label" x="{WIDTH / 2}" y="{HEIGHT / 2}">no data</text>')
    parts.append("</svg>")
    return "".join(parts)
