"""Bar charts drawn on the server as inline SVG: the numbers a person would rather look at than
read (a site's devices per stage, per installer, per day). No chart library, no script.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

BAR_HEIGHT = 22
LABEL_WIDTH = 170
BAR_AREA = 360
COLUMN_WIDTH = 16
COLUMN_AREA = 140
MAX_DAYS = 60
AXIS_WIDTH = 44


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    width: int
    height: int
    peak: int


def horizontal(rows: Sequence[tuple[str, int]]) -> Chart:
    """One bar per row, longest = the largest value."""
    peak = max((v for _l, v in rows), default=0) or 1
    bars = [
        Bar(label, value, LABEL_WIDTH, i * BAR_HEIGHT + 2, BAR_AREA * value / peak, BAR_HEIGHT - 6)
        for i, (label, value) in enumerate(rows)
    ]
    return Chart(bars, LABEL_WIDTH + BAR_AREA + 60, max(1, len(rows)) * BAR_HEIGHT + 4, peak)


def daily(rows: Sequence[dict[str, Any]]) -> Chart:
    """One column per calendar day from the first to the last (days without devices at zero),
    the last MAX_DAYS days at most; columns are wider when there are few days."""
    counts: dict[date, int] = {row["day"]: int(row["n"]) for row in rows}
    if not counts:
        return Chart([], COLUMN_WIDTH, COLUMN_AREA + 20, 0)
    last = max(counts)
    first = max(min(counts), last - timedelta(days=MAX_DAYS - 1))
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    peak = max(counts.get(d, 0) for d in days) or 1
    step = max(COLUMN_WIDTH, min(44, 720 // len(days)))
    bars = []
    for i, day in enumerate(days):
        value = counts.get(day, 0)
        height = COLUMN_AREA * value / peak
        x = i * step + AXIS_WIDTH
        bars.append(Bar(day.isoformat(), value, x, COLUMN_AREA - height + 18, step - 3, height))
    return Chart(bars, len(days) * step + AXIS_WIDTH + 40, COLUMN_AREA + 38, peak)
