"""Charts as PNG bytes (matplotlib's Agg backend: no display, safe in a worker thread)."""

from __future__ import annotations

import io

from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

from collectors.models.views import RewardsReport

CHART_FILENAME = "rewards.png"
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
