"""Time as a dependency, so rules and schedules are tested with an injected clock, not sleeps."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now_us(self) -> int:
        """UTC unix time in microseconds."""
        ...


class SystemClock:
    def now_us(self) -> int:
        return time.time_ns() // 1000


class FakeClock:
    """A clock the caller moves by hand."""

    def __init__(self, start_us: int = 1_750_406_400_000_000) -> None:
        self._now_us = start_us

    def now_us(self) -> int:
        return self._now_us

    def advance(self, seconds: float) -> None:
        self._now_us += int(seconds * 1_000_000)

    def set(self, when: datetime) -> None:
        self._now_us = to_us(when)


def to_us(when: datetime) -> int:
    if when.tzinfo is None:
        raise ValueError("naive datetime: times in cosmos are UTC-aware")
    return int(when.timestamp() * 1_000_000)


def from_us(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1_000_000, tz=UTC)
