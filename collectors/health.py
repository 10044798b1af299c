"""Self-health: what each collector last did, ``/healthz`` on 127.0.0.1, and a heartbeat ping.

cosmos is healthy while every supervised task is running and no loop has failed several times
in a row or gone quiet. ``/healthz`` answers 200 or 503 with the details as JSON; the heartbeat
URL (a dead-man's switch such as healthchecks.io) is fetched every minute only while healthy, so
the far side notices when cosmos stops or gets stuck.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass

import aiohttp
from aiohttp import web

from collectors.clock import Clock
from collectors.runner import LoopStatus, Supervisor, run_forever
from collectors.service import Collector

log = logging.getLogger(__name__)

FAILURES_UNHEALTHY = 3
COLLECTOR_TASK_PREFIX = "collector:"
# A loop with no successful iteration for this long is stuck (longest loop interval is minutes).
QUIET_UNHEALTHY_US = 15 * 60 * 1_000_000


@dataclass(frozen=True, slots=True)
class CollectorHealth:
    name: str
    running: bool
    healthy: bool
    iterations: int | None
    last_ok_us: int | None
    failures_in_row: int
    last_error: str | None
    last_error_us: int | None
    note: str


@dataclass(frozen=True, slots=True)
class HealthReport:
    healthy: bool
    now_us: int
    collectors: tuple[CollectorHealth, ...]

    def to_json(self) -> str:
        return json.dumps(
            {
                "status": "ok" if self.healthy else "unhealthy",
                "now_us": self.now_us,
                "collectors": [asdict(c) for c in self.collectors],
            },
            ensure_ascii=False,
        )


def assess(
    expected: Iterable[str],
    running: Iterable[str],
    statuses: Mapping[str, LoopStatus],
    now_us: int,
) -> HealthReport:
    """Pure: the health of each expected task from the supervisor's view of it."""
    running_set = set(running)
    names = list(dict.fromkeys([*expected, *statuses]))
    out: list[CollectorHealth] = []
    for name in names:
        status = statuses.get(name)
        is_running = name in running_set
        note = "running" if is_running else "not running"
        healthy = is_running
        if status is not None:
            if status.failures_in_row >= FAILURES_UNHEALTHY:
                healthy = False
                note = f"failing ({status.failures_in_row} times in a row)"
            elif status.last_ok_us is not None and now_us - status.last_ok_us > QUIET_UNHEALTHY_US:
                healthy = False
                note = "no successful run for more than 15 minutes"
        out.append(
            CollectorHealth(
                name=name,
                running=is_running,
                healthy=healthy,
                iterations=status.iterations if status else None,
                last_ok_us=status.last_ok_us if status else None,
                failures_in_row=status.failures_in_row if status else 0,
                last_error=status.last_error if status else None,
                last_error_us=status.last_error_us if status else None,
                note=note,
            )
        )
    return HealthReport(all(c.healthy for c in out), now_us, tuple(out))


ReportSource = Callable[[], HealthReport]


def report_source(
    supervisor: Supervisor, collectors: Iterable[Collector], clock: Clock
) -> ReportSource:
    """Health of the supervised collectors, using each collector's own loop status if it has
    one (a collector may expose ``status: LoopStatus``)."""
    tasks = list(collectors)

    def report() -> HealthReport:
        statuses = dict(supervisor.statuses)
        for collector in tasks:
            status = getattr(collector, "status", None)
            if isinstance(status, LoopStatus):
                statuses[collector.name] = status
        expected = [c.name for c in tasks if c.name != HealthServer.name]
        statuses.pop(HealthServer.name, None)
        # The composition root names a collector's task "collector:<name>".
        running = [name.removeprefix(COLLECTOR_TASK_PREFIX) for name in supervisor.running]
        return assess(expected, running, statuses, clock.now_us())

    return report


class HealthServer:
    """A collector-shaped service: the ``/healthz`` endpoint and the heartbeat loop."""

    name = "health"

    def __init__(
        self,
        report: ReportSource,
        *,
        port: int | None,
        heartbeat_url: str | None,
        heartbeat_seconds: float = 60.0,
        host: str = "127.0.0.1",
    ) -> None:
        self._report = report
        self._port = port
        self._host = host
        self._heartbeat_url = heartbeat_url
        self._heartbeat_seconds = heartbeat_seconds
        self._runner: web.AppRunner | None = None
        self.status = LoopStatus("heartbeat")
        self.bound_port: int | None = None

    async def handle_healthz(self, _request: web.Request) -> web.Response:
        report = self._report()
        return web.Response(
            text=report.to_json(),
            status=200 if report.healthy else 503,
            content_type="application/json",
        )

    async def start_http(self) -> None:
        if self._port is None or self._runner is not None:
            return
        app = web.Application()
        app.router.add_get("/healthz", self.handle_healthz)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port)
        await site.start()
        self._runner = runner
        server = site._server  # the bound socket, for port 0 in tests
        sockets = getattr(server, "sockets", None) or []
        self.bound_port = sockets[0].getsockname()[1] if sockets else self._port
        log.info("health endpoint on http://%s:%s/healthz", self._host, self.bound_port)

    async def stop_http(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def ping_once(self, session: aiohttp.ClientSession) -> bool:
        """Ping the heartbeat URL if healthy; True when pinged. Raises on a failed ping."""
        if self._heartbeat_url is None or not self._report().healthy:
            return False
        timeout = aiohttp.ClientTimeout(total=10)
        async with session.get(self._heartbeat_url, timeout=timeout) as response:
            if response.status >= 400:
                raise RuntimeError(f"heartbeat URL answered HTTP {response.status}")
        return True

    async def run(self) -> None:
        await self.start_http()
        try:
            if self._heartbeat_url is None:
                await asyncio.Event().wait()  # serve /healthz until cancelled
            async with aiohttp.ClientSession() as session:

                async def beat() -> None:
                    await self.ping_once(session)

                await run_forever(
                    "heartbeat", beat, interval=self._heartbeat_seconds, status=self.status
                )
        finally:
            with contextlib.suppress(Exception):
                await self.stop_http()
