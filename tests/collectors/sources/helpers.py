"""Helpers for source tests: run a source's batch stream in a task and wait on what it read."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Protocol

from collectors.models.logs import LogLine


class BatchSource(Protocol):
    def batches(self, position: str | None) -> AsyncIterator[list[LogLine]]: ...


async def wait_until(predicate: Callable[[], bool], within: float = 15.0) -> None:
    """Poll ``predicate`` until it holds; fail with a clear message after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(0.01)


class Follow:
    """Reads ``source.batches(position)`` in the background into ``lines``."""

    def __init__(self, source: BatchSource, position: str | None = None) -> None:
        self.lines: list[LogLine] = []
        self.batches: list[list[LogLine]] = []
        self.error: BaseException | None = None
        self._task = asyncio.get_running_loop().create_task(self._run(source, position))

    async def _run(self, source: BatchSource, position: str | None) -> None:
        try:
            async for batch in source.batches(position):
                self.batches.append(batch)
                self.lines.extend(batch)
        except Exception as exc:
            self.error = exc
            raise

    @property
    def texts(self) -> list[str]:
        return [line.text for line in self.lines]

    @property
    def position(self) -> str | None:
        return self.lines[-1].position if self.lines else None

    async def wait_lines(self, count: int, within: float = 15.0) -> list[str]:
        await wait_until(lambda: len(self.lines) >= count or self.error is not None, within)
        if self.error is not None:
            raise AssertionError(f"the source failed: {self.error!r}")
        return self.texts

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
