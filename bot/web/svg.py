"""Charts as inline SVG: readable without JavaScript, scaled to the page's width."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH = 1000
HEIGHT = 220
PAD_LEFT = 48
PAD_BOTTOM = 20


def _nice_top(value: float) -> float:
    """The smallest 1/2/5 × 10^n at or above ``value`` (an axis top)."""
    if value <= 0:
        return 1.0
    step = 1.0
    while step * 10 <= value:
        step *= 10
    while step > value * 10:
        step /= 10
    for factor in (1, 2, 5, 10):
        if step * factor >= value:
            return step * factor
    return step * 10


def stacked_bars(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[int]]],
) -> str:
    """Bars per label, one coloured stack per series (name, css class, values)."""
    n = len(labels)
    totals = [sum(values[i] for _, _, values in series) for i in range(n)]
    top = _nice_top(max(totals, default=0))
    plot_w = WIDTH - PAD_LEFT
    plot_h = HEIGHT - PAD_BOTTOM
    slot = plot_w / max(n, 1)
    parts = [_axis(top, plot_h)]
    for i in range(n):
        y = float(plot_h)
        x = PAD_LEFT + i * slot + slot * 0.1
        tips = ", ".join(f"{name} {values[i]}" for name, _, values in series)
        for _name, css, values in series:
            h = plot_h * values[i] / top
            if h > 0:
                y -= h
                parts.append(
                    f'<rect class="{css}" x="{x:.1f}" y="{y:.1f}" width="{slot * 0.8:.1f}"'
                    f' height="{h:.1f}"><title>{escape(labels[i])}: {escape(tips)}</title></rect>'
                )
    step = max(1, n // 6)
    for i in range(0, n, step):
        parts.append(
            f'<text x="{PAD_LEFT + (i + 0.5) * slot:.1f}" y="{HEIGHT - 5}"'
            f' text-anchor="middle">{escape(labels[i])}</text>'
        )
    legend = " ".join(f'<span class="key {css}">■</span> {escape(name)}' for name, css, _ in series)
    return _frame(title, "".join(parts)) + f'<p class="legend">{legend}</p>'


def line(
    title: str, points: Sequence[tuple[float, float]], first_label: str, last_label: str
) -> str:
    """A line through (x, y) points, x scaled to the width; labels under both ends."""
    plot_w = WIDTH - PAD_LEFT
    plot_h = HEIGHT - PAD_BOTTOM
    if not points:
        return _frame(title, _axis(1.0, plot_h)) + '<p class="muted">No data yet.</p>'
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    low, high = min(ys), max(ys)
    top = _nice_top(high)
    x0, x1 = xs[0], xs[-1]
    span = (x1 - x0) or 1.0
    coords = " ".join(
        f"{PAD_LEFT + plot_w * (x - x0) / span:.1f},{plot_h - plot_h * y / top:.1f}"
        for x, y in points
    )
    body = (
        _axis(top, plot_h)
        + f'<polyline class="line" fill="none" points="{coords}"/>'
        + f'<text x="{PAD_LEFT}" y="{HEIGHT - 5}">{escape(first_label)}</text>'
        + f'<text x="{WIDTH}" y="{HEIGHT - 5}" text-anchor="end">{escape(last_label)}</text>'
    )
    note = f"low {low:,.4g}, high {high:,.4g}"
    return _frame(title, body) + f'<p class="legend">{escape(note)}</p>'


def _axis(top: float, plot_h: int) -> str:
    return (
        f'<line class="axis" x1="{PAD_LEFT}" y1="{plot_h}" x2="{WIDTH}" y2="{plot_h}"/>'
        f'<text x="{PAD_LEFT - 4}" y="10" text-anchor="end">{top:,.4g}</text>'
        f'<text x="{PAD_LEFT - 4}" y="{plot_h}" text-anchor="end">0</text>'
    )


def _frame(title: str, body: str) -> str:
    return (
        f'<figure class="chart"><figcaption>{escape(title)}</figcaption>'
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">'
        f"{body}</svg></figure>"
    )
