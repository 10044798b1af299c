"""AI3 amounts: exact integers of the smallest unit (18 decimals); shown by collectors.format."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

DECIMALS = 18
PLANCK_PER_AI3 = 10**DECIMALS
SYMBOL = "AI3"


def to_planck(ai3: float | int | str | Decimal) -> int:
    """``"1.5"`` -> ``1_500_000_000_000_000_000``; a float is read through its shortest repr."""
    try:
        value = Decimal(str(ai3)) if not isinstance(ai3, Decimal) else ai3
    except InvalidOperation as exc:
        raise ValueError(f"{ai3!r} is not an amount of AI3") from exc
    if not value.is_finite():
        raise ValueError(f"{ai3!r} is not an amount of AI3")
    return int(value.scaleb(DECIMALS).to_integral_value(ROUND_HALF_EVEN))
