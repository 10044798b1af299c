"""Starting a planning process (:mod:`collectors.plan_worker`) and reading its plans."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import sys
from collections.abc import AsyncIterator

from collectors.plan_worker import LENGTH, PlanJob, PlannedBatch, PlanWorkerError

__all__ = ["plan_in_worker"]

_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@contextlib.asynccontextmanager
async def plan_in_worker(job: PlanJob) -> AsyncIterator[AsyncIterator[PlannedBatch]]:
    """Start a worker on ``job``; yields its planned batches in order. The worker is stopped
    on the way out, whatever happened (a failed write, Ctrl+C)."""
    env = dict(os.environ)
    # The worker imports this package from where this process did (a source checkout too).
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [_PACKAGE_ROOT, env.get("PYTHONPATH")]))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "collectors.plan_worker",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env=env,
        limit=1 << 20,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    stdout = process.stdout

    async def batches() -> AsyncIterator[PlannedBatch]:
        while True:
            try:
                (length,) = LENGTH.unpack(await stdout.readexactly(LENGTH.size))
                if not length:
                    return
                item = pickle.loads(await stdout.readexactly(length))
            except asyncio.IncompleteReadError:
                raise PlanWorkerError("the planning process ended without a word") from None
            if isinstance(item, PlanWorkerError):
                raise item
            assert isinstance(item, PlannedBatch)
            yield item

    try:
        process.stdin.write(pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL))
        await process.stdin.drain()
        process.stdin.close()
        yield batches()
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        await process.wait()
