"""Small helpers for the bot tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def eventually(predicate: Callable[[], bool], seconds: float = 20.0) -> None:
    """Wait (bounded) until ``predicate()`` holds."""
    async with asyncio.timeout(seconds):
        while not predicate():  # noqa: ASYNC110 - a bounded test poll
            await asyncio.sleep(0.02)
