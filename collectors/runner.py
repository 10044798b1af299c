"""Supervised background loops: one bad iteration is logged and backed off, never fatal.

Every task is owned by a :class:`Supervisor`, which cancels and awaits them all on stop, so
nothing is fire-and-forget.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass(slots=True)
class LoopStatus:
    """What a loop last did, for ``cosmos status`` and ``/healthz``."""

    name: str
    iterations: int = 0
    failures_in_row: int = 0
    last_ok_us: int | None = None
    last_error: str | None = None
    last_error_us: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _now_us() -> int:
    return time.time_ns() // 1000


async def run_forever(
    name: str,
    iteration: Callable[[], Awaitable[float | None]],
    *,
    interval: float,
    status: LoopStatus | None = None,
    max_backoff: float = 300.0,
) -> None:
    """Call ``iteration`` every ``interval`` seconds until cancelled.

    ``iteration`` may return its own delay before the next call. An exception is logged once per
    distinct message and the loop waits with exponential backoff before trying again.
    """
    status = status or LoopStatus(name)
    backoff = min(interval, 1.0) or 1.0
    last_message: str | None = None
    while True:
        try:
            delay = await iteration()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            status.failures_in_row += 1
            status.last_error = f"{type(exc).__name__}: {exc}"
            status.last_error_us = _now_us()
            if status.last_error != last_message:
                log.warning(
                    "%s failed: %s (retrying with backoff)",
                    name,
                    status.last_error,
                    exc_info=log.isEnabledFor(logging.DEBUG),
                )
                last_message = status.last_error
            backoff = min(max_backoff, backoff * 2)
            await asyncio.sleep(backoff)
            continue
        if status.failures_in_row:
            log.info("%s recovered after %d failed attempts", name, status.failures_in_row)
        status.iterations += 1
        status.failures_in_row = 0
        status.last_ok_us = _now_us()
        last_message = None
        backoff = min(interval, 1.0) or 1.0
        await asyncio.sleep(interval if delay is None else delay)


class Supervisor:
    """Owns the background tasks of the process."""

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.statuses: dict[str, LoopStatus] = {}

    def start(self, name: str, coro: Coroutine[Any, Any, None]) -> None:
        if name in self._tasks and not self._tasks[name].done():
            coro.close()
            raise RuntimeError(f"task {name!r} is already running")
        task = asyncio.get_running_loop().create_task(coro, name=name)
        task.add_done_callback(self._report_end)
        self._tasks[name] = task

    def start_loop(
        self,
        name: str,
        iteration: Callable[[], Awaitable[float | None]],
        *,
        interval: float,
    ) -> LoopStatus:
        status = self.statuses.setdefault(name, LoopStatus(name))
        self.start(name, run_forever(name, iteration, interval=interval, status=status))
        return status

    @staticmethod
    def _report_end(task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("background task %s ended with an error: %r", task.get_name(), exc)

    @property
    def running(self) -> list[str]:
        return [name for name, task in self._tasks.items() if not task.done()]

    async def stop(self, name: str | None = None) -> None:
        names = [name] if name else list(self._tasks)
        tasks = [self._tasks.pop(n) for n in names if n in self._tasks]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
