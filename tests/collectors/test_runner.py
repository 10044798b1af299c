from __future__ import annotations

import asyncio
import logging

import pytest

from collectors.runner import LoopStatus, Supervisor, run_forever


async def test_loop_survives_a_bad_iteration(caplog: pytest.LogCaptureFixture) -> None:
    calls = 0
    done = asyncio.Event()

    async def iteration() -> float | None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ValueError("garbled input")
        if calls == 3:
            done.set()
        return 0.0

    status = LoopStatus("t")
    task = asyncio.create_task(run_forever("t", iteration, interval=0.0, status=status))
    with caplog.at_level(logging.WARNING):
        await asyncio.wait_for(done.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert calls >= 3
    assert status.failures_in_row == 0
    assert status.last_error == "ValueError: garbled input"
    assert "garbled input" in caplog.text


async def test_supervisor_stops_every_task() -> None:
    supervisor = Supervisor()
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    supervisor.start("one", forever())
    await started.wait()
    assert supervisor.running == ["one"]
    await supervisor.stop()
    assert supervisor.running == []
