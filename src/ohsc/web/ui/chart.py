"""A line chart as inline SVG, drawn on the server (no script, no CDN)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

#: colours with at least 4.5:1 contrast on white, told apart by dash pattern as well
STYLES = (("#0b4fa3", ""), ("#a10f0f", "6 3"), ("#0d5a22", "2 3"), ("#6b3fa0", "8 3 2 3"))


@dataclass(frozen=True, slots=True)
class Line:
    name: str
    points: str
    colour: str
    dash: str
    total: int


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    left: int
    bottom: int
    top: int
    peak: int
    lines: tuple[Line, ...]
    ticks: tuple[tuple[float, str], ...]


def line_chart(
    days: tuple[date, ...], series: dict[str, tuple[int, ...]], *, width: int = 720, height: int = 240
) -> Chart:
    left, right, top, bottom = 48, 12, 12, height - 28
    peak = max([1, *(v for values in series.values() for v in values)])
    span = max(1, len(days) - 1)

    def x(i: int) -> float:
        return left + (width - left - right) * i / span

    def y(v: int) -> float:
        return bottom - (bottom - top) * v / peak

    lines = []
    for n, (name, values) in enumerate(series.items()):
        colour, dash = STYLES[n % len(STYLES)]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        lines.append(Line(name, points, colour, dash, sum(values)))
    step = max(1, len(days) // 6)
    ticks = tuple((x(i), d.strftime("%m-%d")) for i, d in enumerate(days) if i % step == 0)
    return Chart(width, height, left, bottom, top, peak, tuple(lines), ticks)


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: float
    y: float
    length: float


@dataclass(frozen=True, slots=True)
class Bars:
    width: int
    height: int
    left: int
    bar: int
    peak: float
    bars: tuple[Bar, ...]


def bar_chart(values: Mapping[str, float], *, width: int = 480, left: int = 150, bar: int = 18) -> Bars:
    """Horizontal bars, one per label (the labels drawn left of the bars)."""
    peak = max([1.0, *values.values()])
    room = width - left - 48
    bars = tuple(
        Bar(label, v, 8 + i * (bar + 8), room * v / peak) for i, (label, v) in enumerate(values.items())
    )
    return Bars(width, 16 + len(bars) * (bar + 8), left, bar, peak, bars)
