"""AI3 amounts: exact integers of the smallest unit (18 decimals) and how they are shown."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext

DECIMALS = 18
PLANCK_PER_AI3 = 10**DECIMALS
SYMBOL = "AI3"
_SIGNIFICANT_BELOW_ONE = 4
_DECIMALS_ABOVE_ONE = 4


def format_ai3(planck: int, *, symbol: bool = True) -> str:
    """``1_234_500_000_000_000_000_000`` -> ``"1,234.5 AI3"``.

    At or above 1 AI3 four decimals are kept; below it four significant digits (so the 0.00001
    existential deposit still shows). Trailing zeros are dropped; rounding is half-even.
    """
    sign = "-" if planck < 0 else ""
    value = Decimal(abs(planck)).scaleb(-DECIMALS)
    with localcontext() as ctx:
        ctx.prec = 60
        if value == 0:
            text = "0"
        elif value >= 1:
            rounded = value.quantize(Decimal(1).scaleb(-_DECIMALS_ABOVE_ONE), ROUND_HALF_EVEN)
            text = _strip(f"{rounded:,.{_DECIMALS_ABOVE_ONE}f}")
        else:
            places = min(DECIMALS, _SIGNIFICANT_BELOW_ONE - value.adjusted() - 1)
            rounded = value.quantize(Decimal(1).scaleb(-places), ROUND_HALF_EVEN)
            text = _strip(f"{rounded:.{places}f}")
    return f"{sign}{text} {SYMBOL}" if symbol else f"{sign}{text}"


def _strip(text: str) -> str:
    return text.rstrip("0").rstrip(".") if "." in text else text


def to_planck(ai3: float | int | str | Decimal) -> int:
    """``"1.5"`` -> ``1_500_000_000_000_000_000``; a float is read through its shortest repr."""
    try:
        value = Decimal(str(ai3)) if not isinstance(ai3, Decimal) else ai3
    except InvalidOperation as exc:
        raise ValueError(f"{ai3!r} is not an amount of AI3") from exc
    if not value.is_finite():
        raise ValueError(f"{ai3!r} is not an amount of AI3")
    return int(value.scaleb(DECIMALS).to_integral_value(ROUND_HALF_EVEN))
