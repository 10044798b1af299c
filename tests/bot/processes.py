"""``cosmos run`` as a real process: started with an env file, stopped with a real signal.

Used by the stop tests and by ``bench/bench_stop.py`` (which prints the stop times).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@dataclass
class CosmosProcess:
    process: asyncio.subprocess.Process
    log: list[str] = field(default_factory=list)
    _reader: asyncio.Task[None] | None = None

    async def _read(self) -> None:
        assert self.process.stderr is not None
        async for raw in self.process.stderr:
            self.log.append(raw.decode(errors="replace").rstrip())

    @property
    def text(self) -> str:
        return "\n".join(self.log)

    async def wait_for_log(self, needle: str, seconds: float = 30.0) -> None:
        async with asyncio.timeout(seconds):
            while needle not in self.text:
                if self.process.returncode is not None:
                    raise RuntimeError(f"cosmos exited early:\n{self.text}")
                await asyncio.sleep(0.02)

    async def stop(self, sig: signal.Signals = signal.SIGTERM, limit: float = 20.0) -> float:
        """Send ``sig``; returns the seconds until the process had exited (killed at ``limit``)."""
        started = time.monotonic()
        self.process.send_signal(sig)
        try:
            await asyncio.wait_for(self.process.wait(), limit)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        elapsed = time.monotonic() - started
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._reader, 5)
        return elapsed


async def start_cosmos(env_file: Path, *args: str, cwd: Path | None = None) -> CosmosProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COSMOS_")}
    env["PYTHONPATH"] = str(REPO)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "--env-file",
        str(env_file),
        *(args or ("run",)),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        cwd=cwd or env_file.parent,
        env=env,
    )
    running = CosmosProcess(process)
    running._reader = asyncio.create_task(running._read())
    return running


def write_env(path: Path, values: dict[str, str]) -> Path:
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    return path
