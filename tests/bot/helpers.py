"""Small helpers for the bot tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from bot import app
from collectors.settings import Settings


async def eventually(predicate: Callable[[], bool], seconds: float = 20.0) -> None:
    """Wait (bounded) until ``predicate()`` holds."""
    async with asyncio.timeout(seconds):
        while not predicate():  # noqa: ASYNC110 - a bounded test poll
            await asyncio.sleep(0.02)


@asynccontextmanager
async def running(
    settings: Settings, bot_options: dict[str, Any]
) -> AsyncIterator[asyncio.Task[None]]:
    """``cosmos run`` in this process until the block ends (then stopped, bounded)."""
    stop = asyncio.Event()
    task = asyncio.create_task(app.run(settings, stop, bot_options=bot_options))
    try:
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
