"""Charts as PNG bytes (matplotlib's Agg backend: no display, safe in a worker thread)."""

from __future__ import annotations

import asyncio
import io
from collections import OrderedDict

from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

from collectors.models.notify import ChartHint
from collectors.models.views import RewardsReport

CHART_FILENAME = "rewards.png"
HINT_FILENAME = "chart.png"
SERIES_COLOURS = ("#2ecc71", "#e74c3c", "#3498db", "#f1c40f")
DAY_US = 86_400e6


def rewards_chart(report: RewardsReport) -> bytes:
    """Rewards and misses per time bucket, stacked.

    Uses ``Figure`` directly (no pyplot global state) and two step areas rather than one bar
    per bucket: a year of weekly buckets renders in one artist each.
    """
    fig = Figure(figsize=(8, 3), dpi=80)
    ax = fig.add_subplot()
    # Matplotlib dates are days since 1970-01-01 (its default epoch).
    edges = [b.start_us / DAY_US for b in report.buckets]
    edges.append(edges[-1] + report.bucket_seconds / 86_400 if edges else 1.0)
    won = [float(b.rewards) for b in report.buckets]
    total = [float(b.rewards + b.missed) for b in report.buckets]
    ax.stairs(won, edges, fill=True, color="#2ecc71", label="rewards")
    ax.stairs(total, edges, baseline=won, fill=True, color="#e74c3c", label="missed")
    locator = AutoDateLocator(maxticks=8)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    ax.set_ylabel("count")
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left", fontsize="small")
    ax.grid(axis="y", alpha=0.3)
    fig.subplots_adjust(left=0.07, right=0.99, top=0.96, bottom=0.14)
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


_RewardsKey = tuple[int, tuple[tuple[int, int, int], ...]]


def _rewards_key(report: RewardsReport) -> _RewardsKey:
    """All that :func:`rewards_chart` draws: the bucket size and each bucket's counts."""
    return report.bucket_seconds, tuple((b.start_us, b.rewards, b.missed) for b in report.buckets)


class ChartCache:
    """Rewards charts kept until the data they draw changes.

    Drawing is most of a ``/rewards`` reply (60-96 ms); buckets are aligned, so asking again
    with nothing new finds the same buckets and gets the same PNG. The least recently used
    chart goes when ``size`` are kept. Used from the event loop only.
    """

    def __init__(self, size: int = 32) -> None:
        self.size = size
        self._charts: OrderedDict[_RewardsKey, bytes] = OrderedDict()
        self.drawn = 0

    async def rewards(self, report: RewardsReport) -> bytes:
        key = _rewards_key(report)
        png = self._charts.get(key)
        if png is not None:
            self._charts.move_to_end(key)
            return png
        png = await asyncio.to_thread(rewards_chart, report)  # off the event loop
        self.drawn += 1
        self._charts[key] = png
        while len(self._charts) > self.size:
            self._charts.popitem(last=False)
        return png


def hint_chart(hint: ChartHint) -> bytes:
    """A notification's chart hint (e.g. the daily summary's wins and misses by hour), stacked."""
    fig = Figure(figsize=(8, 2.6), dpi=80)
    ax = fig.add_subplot()
    n = max((len(values) for _, values in hint.series), default=0)
    step_days = hint.step_seconds / 86_400
    edges = [hint.start_us / DAY_US + i * step_days for i in range(n + 1)]
    base = [0.0] * n
    for i, (name, values) in enumerate(hint.series):
        top = [b + (values[k] if k < len(values) else 0) for k, b in enumerate(base)]
        colour = SERIES_COLOURS[i % len(SERIES_COLOURS)]
        ax.stairs(top, edges, baseline=base, fill=True, color=colour, label=name)
        base = top
    locator = AutoDateLocator(maxticks=8)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    ax.set_title(hint.title, fontsize="medium")
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left", fontsize="small")
    ax.grid(axis="y", alpha=0.3)
    fig.subplots_adjust(left=0.07, right=0.99, top=0.88, bottom=0.16)
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
