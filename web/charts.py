"""Charts drawn on the server as inline SVG: no script, no library, readable offline.

Each chart carries `role="img"` and a label that says what it shows, and a table of the
same numbers sits beside it on the page for screen readers and for reading exact values.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from html import escape

from markupsafe import Markup

__all__ = ["PALETTE", "bar_chart", "calendar", "line_chart"]

# Colour-blind-safe (Okabe-Ito) series colours, dark enough on white and light enough on
# the dark theme's background for 3:1 contrast of graphics.
PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#8a6d00", "#56609e")


def _svg(width: int, height: int, label: str, body: str) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}" preserveAspectRatio="xMidYMid meet" '
        f'xmlns="http://www.w3.org/2000/svg">{body}</svg>')


def _ticks(top: float) -> list[float]:
    if top <= 0:
        return [0.0]
    step = 10 ** max(0, len(str(int(top))) - 1)
    while top / step > 5:
        step *= 2
    while top / step < 3 and step > 1:
        step //= 2
    return [i * step for i in range(int(top // step) + 1)]


def _num(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.1f}"


def bar_chart(values: Sequence[tuple[str, float]], label: str, *, width: int = 640,
              height: int = 180) -> Markup:
    """Vertical bars, one per value, labelled every few bars."""
    left, bottom, top_pad = 40, 22, 8
    top = max([v for _, v in values] + [1])
    ticks = _ticks(top)
    top = max(top, ticks[-1])
    inner_w, inner_h = width - left - 4, height - bottom - top_pad
    slot = inner_w / max(len(values), 1)
    parts = []
    for t in ticks:
        y = top_pad + inner_h - inner_h * t / top
        parts.append(f'<line class="grid" x1="{left}" x2="{width - 4}" y1="{y:.1f}" '
                     f'y2="{y:.1f}"/><text class="axis" x="{left - 6}" y="{y + 4:.1f}" '
                     f'text-anchor="end">{_num(t)}</text>')
    every = max(1, len(values) // 6)
    for i, (name, v) in enumerate(values):
        h = inner_h * v / top
        x = left + i * slot + slot * 0.15
        parts.append(f'<rect class="bar" x="{x:.1f}" y="{top_pad + inner_h - h:.1f}" '
                     f'width="{slot * 0.7:.1f}" height="{h:.1f}"><title>{escape(name)}: '
                     f'{_num(v)}</title></rect>')
        if i % every == 0:
            parts.append(f'<text class="axis" x="{left + i * slot + slot / 2:.1f}" '
                         f'y="{height - 6}" text-anchor="middle">{escape(name)}</text>')
    return _svg(width, height, label, "".join(parts))


def line_chart(series: Sequence[tuple[str, Sequence[tuple[datetime | date, float]]]],
               label: str, *, goal: float | None = None, width: int = 640,
               height: int = 240) -> Markup:
    """Lines over time (steps at each change), with a dashed goal line if given."""
    left, bottom, top_pad, right = 48, 24, 10, 8
    points = [p for _, line in series for p in line]
    if not points:
        return _svg(width, height, label, f'<text class="axis" x="{width / 2}" '
                    f'y="{height / 2}" text-anchor="middle">No data yet</text>')
    xs = [_x(t) for t, _ in points]
    x0, x1 = min(xs), max(xs)
    if x1 == x0:
        x1 = x0 + 86_400
    top = max([v for _, v in points] + [goal or 0, 1]) * 1.05
    ticks = _ticks(top)
    inner_w, inner_h = width - left - right, height - bottom - top_pad

    def sx(t: datetime | date) -> float:
        return left + inner_w * (_x(t) - x0) / (x1 - x0)

    def sy(v: float) -> float:
        return top_pad + inner_h - inner_h * v / top

    parts = []
    for t in ticks:
        parts.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{sy(t):.1f}" '
                     f'y2="{sy(t):.1f}"/><text class="axis" x="{left - 6}" '
                     f'y="{sy(t) + 4:.1f}" text-anchor="end">{_num(t)}</text>')
    for frac in (0.0, 0.5, 1.0):
        at = datetime.fromtimestamp(x0 + (x1 - x0) * frac, UTC)
        anchor = "start" if frac == 0 else "end" if frac == 1 else "middle"
        parts.append(f'<text class="axis" x="{left + inner_w * frac:.1f}" y="{height - 6}" '
                     f'text-anchor="{anchor}">{at:%b %d}</text>')
    if goal is not None:
        parts.append(f'<line class="goal" x1="{left}" x2="{width - right}" '
                     f'y1="{sy(goal):.1f}" y2="{sy(goal):.1f}"><title>Goal: {_num(goal)}'
                     f'</title></line>')
    for i, (name, line) in enumerate(series):
        if not line:
            continue
        # Steps: a value holds until the next change.
        path = [f"M{sx(line[0][0]):.1f},{sy(line[0][1]):.1f}"]
        path += [f"H{sx(t):.1f} V{sy(v):.1f}" for t, v in line[1:]]
        colour = PALETTE[i % len(PALETTE)]
        parts.append(f'<path class="line" d="{" ".join(path)}" stroke="{colour}">'
                     f'<title>{escape(name)}</title></path>')
    return _svg(width, height, label, "".join(parts))


def _x(t: datetime | date) -> float:
    if isinstance(t, datetime):
        return t.timestamp()
    return datetime(t.year, t.month, t.day, tzinfo=UTC).timestamp()


def calendar(active: set[date], first: date, last: date, label: str) -> Markup:
    """A year of days in weekly columns (Monday on top), active days filled."""
    cell, gap, left, top_pad = 11, 2, 26, 14
    start = first - timedelta(days=first.weekday())
    weeks = (last - start).days // 7 + 1
    width, height = left + weeks * (cell + gap), top_pad + 7 * (cell + gap)
    parts = []
    for row, name in ((0, "Mon"), (2, "Wed"), (4, "Fri")):
        parts.append(f'<text class="axis" x="0" y="{top_pad + row * (cell + gap) + 9}">'
                     f'{name}</text>')
    month = None
    day = start
    while day <= last:
        col, row = (day - start).days // 7, day.weekday()
        x, y = left + col * (cell + gap), top_pad + row * (cell + gap)
        if day.day <= 7 and row == 0 and day.month != month:
            month = day.month
            parts.append(f'<text class="axis" x="{x}" y="10">{day:%b}</text>')
        if day >= first:
            on = day in active
            parts.append(f'<rect class="day{" on" if on else ""}" x="{x}" y="{y}" '
                         f'width="{cell}" height="{cell}" rx="2"><title>{day:%a %d %b %Y}'
                         f'{": active" if on else ""}</title></rect>')
        day += timedelta(days=1)
    return _svg(width, height, label, "".join(parts))
