"""The one way cosmos writes amounts, durations, intervals and ids for people to read.

Notifications (built in collectors), embeds, the dashboard, the daily summary, ``cosmos status``
and the web pages all call these, so the same amount never reads two ways.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from collectors.chain.amounts import DECIMALS, SYMBOL
from collectors.models.views import PIECE_BYTES

SIGNIFICANT_BELOW_ONE = 4
DECIMALS_FROM_ONE = 4
US_PER_S = 1_000_000


def ai3(planck: int | None, *, symbol: bool = True) -> str:
    """``1_234_500_000_000_000_000_000`` -> ``"1,234.5 AI3"``; ``None`` (unknown) -> ``"?"``.

    From 1 AI3 up four decimals are kept; below it four significant digits, so a non-zero amount
    never reads as 0 (the 0.00001 existential deposit, even one planck, still shows). Trailing
    zeros are dropped; rounding is half-even.
    """
    if planck is None:
        return "?"
    sign = "-" if planck < 0 else ""
    value = Decimal(abs(planck)).scaleb(-DECIMALS)
    with localcontext() as ctx:
        ctx.prec = 60
        if value == 0:
            text = "0"
        elif value >= 1:
            rounded = value.quantize(Decimal(1).scaleb(-DECIMALS_FROM_ONE), ROUND_HALF_EVEN)
            text = _strip(f"{rounded:,.{DECIMALS_FROM_ONE}f}")
        else:
            places = min(DECIMALS, SIGNIFICANT_BELOW_ONE - value.adjusted() - 1)
            rounded = value.quantize(Decimal(1).scaleb(-places), ROUND_HALF_EVEN)
            text = _strip(f"{rounded:.{places}f}")
    return f"{sign}{text} {SYMBOL}" if symbol else f"{sign}{text}"


def _strip(text: str) -> str:
    return text.rstrip("0").rstrip(".") if "." in text else text


def duration(us: float) -> str:
    """A short duration from microseconds: ``45 s``, ``12 min``, ``3 h 5 min``, ``2 d 4 h``."""
    seconds = max(0, int(us // US_PER_S))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def duration_s(seconds: float) -> str:
    """:func:`duration` from seconds (settings are in seconds)."""
    return duration(seconds * US_PER_S)


def every(seconds: float) -> str:
    """How often something repeats: ``every minute``, ``every 30 s``, ``every 5 min``."""
    for unit, name in ((86_400, "day"), (3_600, "hour"), (60, "minute"), (1, "second")):
        if seconds == unit:
            return f"every {name}"
    if seconds < 1:
        return f"every {seconds:g} s"
    return f"every {duration_s(seconds)}"


def ago(now_us: int, then_us: int | None) -> str:
    """``3 min ago``; ``never`` when it has not happened."""
    return "never" if then_us is None else f"{duration(now_us - then_us)} ago"


def size(n_bytes: int | None) -> str:
    """A farm's size in binary units: ``1.8 TiB``; ``?`` when unknown."""
    if n_bytes is None:
        return "?"
    value = float(n_bytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{int(value)} B"
        value /= 1024
    return f"{value:.1f} PiB"


def pieces(n: float | None) -> str:
    """A count of pieces (a cluster cache's figures) as their size: ``600.1 GiB``."""
    return size(None if n is None else int(n * PIECE_BYTES))


def short_id(full_id: str) -> str:
    """A farm id (or any long id) short enough for a line: ``01HZ…7K3QXA``; short ids unchanged."""
    return full_id if len(full_id) <= 12 else f"{full_id[:4]}…{full_id[-6:]}"


def short_address(address: str) -> str:
    """An ``su…`` address cut to its ends for a title: ``suABCDEF…uvwxyz``."""
    return address if len(address) <= 16 else f"{address[:8]}…{address[-6:]}"
