"""The daily summary: when it is due (local time, DST-safe) and what it says.

Times are stored in UTC; the summary is scheduled and shown in the configured zone. A summary
covers the local day up to its due time: from yesterday's HH:MM to today's HH:MM, which is 23 or
25 hours long across a DST change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from collectors.clock import from_us, to_us
from collectors.format import ai3, duration
from collectors.models.alerts import SummaryData
from collectors.models.notify import ChartHint, Notification, Severity, Topic

SPARK = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True, slots=True)
class SummarySlot:
    """One day's summary: the local day it is named after and the UTC window it covers."""

    local_day: str
    start_us: int
    due_us: int


def parse_hh_mm(text: str) -> time:
    hour, _, minute = text.partition(":")
    return time(int(hour), int(minute))


def _local_instant(day: date, at: time, zone: ZoneInfo) -> int:
    """``day at`` in ``zone`` as UTC µs. A time skipped by DST maps to just after the gap
    (zoneinfo's fold=0 uses the offset before the change); a repeated time means its first
    occurrence."""
    return to_us(datetime.combine(day, at, tzinfo=zone).replace(fold=0))


def slot_for(day: date, at: time, zone: ZoneInfo) -> SummarySlot:
    return SummarySlot(
        local_day=day.isoformat(),
        start_us=_local_instant(day - timedelta(days=1), at, zone),
        due_us=_local_instant(day, at, zone),
    )


def due_slot(now_us: int, timezone: str, at_text: str) -> SummarySlot | None:
    """Today's (local) slot once its time has come, else None. Whether it was already sent is
    the store's business (once per local day)."""
    zone = ZoneInfo(timezone)
    at = parse_hh_mm(at_text)
    today = from_us(now_us).astimezone(zone).date()
    slot = slot_for(today, at, zone)
    return slot if now_us >= slot.due_us else None


def next_due_us(now_us: int, timezone: str, at_text: str) -> int:
    """The next local HH:MM strictly after ``now_us``, as UTC µs."""
    zone = ZoneInfo(timezone)
    at = parse_hh_mm(at_text)
    today = from_us(now_us).astimezone(zone).date()
    for offset in range(3):
        due = _local_instant(today + timedelta(days=offset), at, zone)
        if due > now_us:
            return due
    raise AssertionError("unreachable: a local time recurs within three days")


def local_text(us: int, timezone: str) -> str:
    """``2025-06-20 10:17 CEST``: a stored UTC time shown in the configured zone."""
    return from_us(us).astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M %Z")


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def sparkline(values: list[int]) -> str:
    top = max(values, default=0)
    if top <= 0:
        return SPARK[0] * len(values)
    return "".join(SPARK[min(len(SPARK) - 1, round(v / top * (len(SPARK) - 1)))] for v in values)


def render_summary(data: SummaryData) -> Notification:
    """The summary as a notification; ``chart`` carries wins and misses by hour for a
    notifier that draws charts (the text already has them as a sparkline)."""
    hours = duration(data.end_us - data.start_us)
    lines: list[str] = [
        f"{local_text(data.start_us, data.timezone)} → {local_text(data.end_us, data.timezone)}"
        f" ({hours})"
    ]
    fields: list[tuple[str, str]] = []
    for farmer in data.farmers:
        wins = (
            f"{plural(farmer.blocks, 'block')}, {plural(farmer.votes, 'vote')}"
            if farmer.blocks or farmer.votes
            else f"{plural(farmer.signed, 'reward')} signed"
        )
        fields.append(
            (
                f"Farmer {farmer.farmer}",
                f"{wins}, {farmer.misses} missed"
                + (f", {ai3(farmer.amount)}" if farmer.amount else ""),
            )
        )
    for wallet in data.wallets:
        balance = f", balance {ai3(wallet.balance)}" if wallet.balance is not None else ""
        moves = ""
        if wallet.transfers_in or wallet.transfers_out:
            moves = f", in {ai3(wallet.transfers_in)}, out {ai3(wallet.transfers_out)}"
        fields.append(
            (
                f"Wallet {wallet.label}",
                f"{plural(wallet.blocks, 'block')}, {plural(wallet.votes, 'vote')},"
                f" {ai3(wallet.amount)}"
                f"{moves}{balance}",
            )
        )
    if data.misses_by_kind:
        fields.append(("Misses", ", ".join(f"{n} {kind}" for kind, n in data.misses_by_kind)))
    else:
        fields.append(("Misses", "none"))
    plotting = [p for p in data.plotting if p.kind != "farming"]
    if plotting:
        fields.append(
            (
                "Plotting",
                "\n".join(
                    f"{p.farm_id} ({p.farmer}): {p.kind} "
                    + (f"{p.percent:.1f}%" if p.percent is not None else "in progress")
                    + (f", {p.sectors_remaining} sectors left" if p.sectors_remaining else "")
                    for p in plotting
                ),
            )
        )
    elif data.plotting:
        fields.append(("Plotting", f"all {len(data.plotting)} farms plotted"))
    if data.problems:
        fields.append(
            (
                "Open problems",
                "\n".join(
                    p.title
                    + (f" (since {local_text(p.opened_us, data.timezone)})" if p.opened_us else "")
                    for p in data.problems
                ),
            )
        )
    else:
        fields.append(("Open problems", "none"))
    if data.alerts_fired or data.alerts_resolved:
        fields.append(
            ("Alerts today", f"{data.alerts_fired} raised, {data.alerts_resolved} resolved")
        )
    if data.hourly:
        hourly_wins = [w for _, w, _ in data.hourly]
        misses = [m for _, _, m in data.hourly]
        lines.append(f"Wins by hour   `{sparkline(hourly_wins)}` ({sum(hourly_wins)})")
        if any(misses):
            lines.append(f"Misses by hour `{sparkline(misses)}` ({sum(misses)})")
    chart = None
    if data.hourly:
        chart = ChartHint(
            title=f"Wins and misses by hour ({data.timezone})",
            start_us=data.hourly[0][0],
            step_seconds=3600,
            series=(
                ("wins", tuple(w for _, w, _ in data.hourly)),
                ("misses", tuple(m for _, _, m in data.hourly)),
            ),
        )
    severity = Severity.WARNING if data.problems else Severity.INFO
    return Notification(
        dedupe_key=f"summary:{data.local_day}",
        topic=Topic.SUMMARY,
        severity=severity,
        title=f"Daily summary for {data.local_day}",
        body="\n".join(lines),
        fields=tuple(fields),
        occurred_us=data.end_us,
        footer=f"times in {data.timezone}",
        chart=chart,
    )
