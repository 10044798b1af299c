"""Charts as PNG bytes (matplotlib's Agg backend: no display, safe in a worker thread)."""

from __future__ import annotations

import io

from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

from collectors.models.views import RewardsReport

CHART_FILENAME = "rewards.png"


def rewards_chart(report: RewardsReport) -> bytes:
    """Rewards and misses per bucket as bars. Uses Figure directly (no pyplot global state)."""
    fig = Figure(figsize=(8, 3), dpi=80)
    ax = fig.add_subplot()
    # Matplotlib dates are days since 1970-01-01 (its default epoch).
    times = [b.start_us / 86_400e6 for b in report.buckets]
    width = report.bucket_seconds / 86_400 * 0.8
    ax.bar(
        times, [b.rewards for b in report.buckets], width=width, color="#2ecc71", label="rewards"
    )
    ax.bar(
        times,
        [b.missed for b in report.buckets],
        width=width,
        bottom=[b.rewards for b in report.buckets],
        color="#e74c3c",
        label="missed",
    )
    locator = AutoDateLocator()  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    ax.set_ylabel("count")
    ax.legend(loc="upper left", fontsize="small")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
