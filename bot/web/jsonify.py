"""Read models as JSON: dataclasses to objects, enums to their value, AI3 amounts to strings.

Amounts are in the smallest unit (1 AI3 = 10^18) and exceed what a JSON number holds exactly in
most clients, so they are decimal strings; every other number is a number.
"""

from __future__ import annotations

import dataclasses
import json
from enum import Enum
from typing import Any

AMOUNT_FIELDS = frozenset({"amount", "balance", "rewards_24h_amount", "total_amount"})


def plain(value: Any, key: str | None = None) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = [f.name for f in dataclasses.fields(value)]
        # Derived figures a page shows (a component's state) go out with the stored ones.
        names += getattr(type(value), "json_properties", ())
        return {name: plain(getattr(value, name), name) for name in names}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): plain(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if key in AMOUNT_FIELDS and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def dumps(value: Any) -> str:
    return json.dumps(plain(value), ensure_ascii=False, separators=(",", ":"))
