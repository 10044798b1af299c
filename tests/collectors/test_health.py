"""Self-health over real HTTP on 127.0.0.1: /healthz (on the web server) answers, the heartbeat
is pinged, ``cosmos status`` asks the live process."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot.web.server import WebServer
from collectors.alerts.engine import build_alert_engine
from collectors.clock import FakeClock
from collectors.format import short_id
from collectors.health import (
    HealthReport,
    HealthServer,
    ReportSource,
    assess,
    report_source,
    status_text,
)
from collectors.models.metrics import FailureKind
from collectors.runner import LoopStatus, Supervisor
from collectors.settings import AlertsSettings, WebSettings, load_settings
from collectors.store.database import Database
from collectors.store.views import ViewStore
from collectors.store.wipe import WipeStore
from tests.collectors.alerts.seed import FARM_C, NODE_TARGET, Seed

MIN = 60 * 1_000_000
TOKEN = "a-test-token-of-some-length"


def web_server(
    db: Database, report: ReportSource, clock: FakeClock, token: str | None = None
) -> WebServer:
    settings = WebSettings(token=token)
    return WebServer(
        settings, port=0, views=ViewStore(db), wipe=WipeStore(db), clock=clock, report=report
    )


class Beacon:
    """A local heartbeat receiver (what healthchecks.io would be)."""

    def __init__(self) -> None:
        self.hits = 0
        self.hit = asyncio.Event()
        self.status = 200

    async def handle(self, _request: web.Request) -> web.Response:
        self.hits += 1
        self.hit.set()
        return web.Response(text="OK", status=self.status)


@pytest.fixture
async def beacon() -> AsyncIterator[tuple[Beacon, str]]:
    receiver = Beacon()
    app = web.Application()
    app.router.add_get("/ping/abc", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield receiver, f"http://127.0.0.1:{port}/ping/abc"
    finally:
        await runner.cleanup()


def test_assess_marks_stopped_failing_and_quiet_loops(clock: FakeClock) -> None:
    now = clock.now_us()
    ok = LoopStatus("metrics", iterations=5, last_ok_us=now - MIN)
    failing = LoopStatus("wallets", iterations=2, failures_in_row=4, last_error="RPC down")
    quiet = LoopStatus("alerts", iterations=9, last_ok_us=now - 20 * MIN)
    report = assess(
        ["metrics", "wallets", "alerts", "logs"],
        ["metrics", "wallets", "alerts"],
        {"metrics": ok, "wallets": failing, "alerts": quiet},
        now,
    )
    by_name = {c.name: c for c in report.collectors}
    assert by_name["metrics"].healthy
    assert not by_name["wallets"].healthy
    assert by_name["wallets"].last_error == "RPC down"
    assert not by_name["alerts"].healthy
    assert not by_name["logs"].healthy
    assert by_name["logs"].note == "not running"
    assert not report.healthy


async def test_healthz_answers_200_then_503_over_http(db: Database, clock: FakeClock) -> None:
    supervisor = Supervisor()
    status = supervisor.statuses.setdefault("metrics", LoopStatus("metrics"))
    stop = asyncio.Event()

    async def wait_for_stop() -> None:
        await stop.wait()

    supervisor.start("collector:metrics", wait_for_stop())
    status.iterations, status.last_ok_us = 3, clock.now_us()

    class Named:
        name = "metrics"

        async def run(self) -> None:
            await stop.wait()

    server = web_server(db, report_source(supervisor, [Named()], clock), clock)
    await server.start()
    url = f"http://127.0.0.1:{server.bound_port}/healthz"
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(url) as response:
                assert response.status == 200
                body = json.loads(await response.text())
            assert body["status"] == "ok"
            assert body["collectors"][0]["name"] == "metrics"
            assert body["collectors"][0]["iterations"] == 3
            status.failures_in_row = 5
            status.last_error = "ConnectionRefusedError: refused"
            async with session.get(url) as response:
                assert response.status == 503
                body = json.loads(await response.text())
            assert body["status"] == "unhealthy"
            assert "refused" in body["collectors"][0]["last_error"]
    finally:
        await server.stop()
        await supervisor.stop()


async def test_heartbeat_pinged_only_while_healthy(
    beacon: tuple[Beacon, str], clock: FakeClock
) -> None:
    receiver, url = beacon
    healthy = True

    def report() -> HealthReport:
        return HealthReport(healthy, clock.now_us(), ())

    server = HealthServer(report, heartbeat_url=url)
    async with aiohttp.ClientSession() as session:
        assert await server.ping_once(session)
        healthy = False
        assert not await server.ping_once(session)
        assert receiver.hits == 1
        healthy = True
        receiver.status = 500
        with pytest.raises(RuntimeError, match="HTTP 500"):
            await server.ping_once(session)


async def test_run_pings_the_heartbeat(beacon: tuple[Beacon, str], clock: FakeClock) -> None:
    receiver, url = beacon
    server = HealthServer(lambda: HealthReport(True, clock.now_us(), ()), heartbeat_url=url)
    task = asyncio.create_task(server.run())
    try:
        await asyncio.wait_for(receiver.hit.wait(), timeout=10)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert receiver.hits >= 1


@pytest.mark.parametrize("token", [None, TOKEN])
async def test_cosmos_status_reads_the_database_and_the_live_process(
    db: Database, clock: FakeClock, token: str | None
) -> None:
    seed = Seed(db)
    now = clock.now_us()
    farmer = await seed.farmer("alice", now)
    src = await seed.source("file:local:farmer.log", "farmer", farmer, now)
    await seed.farm(FARM_C, farmer, now)
    await seed.event(src, now, "farm_stopped", FARM_C, error="I/O error")
    await seed.metrics.record_failure(NODE_TARGET, FailureKind.UNREACHABLE, "refused", now)
    engine = build_alert_engine(db, AlertsSettings(summary_enabled=False), clock)
    await engine.evaluate_once()
    supervisor = Supervisor()
    server = web_server(db, report_source(supervisor, [engine], clock), clock, token)
    await server.start()
    try:
        settings = load_settings(
            None,
            database_path=db.path,
            alerts={"timezone": "Europe/Berlin"},
            web={"port": server.bound_port, "token": token},
        )
        text = await status_text(settings, clock)
    finally:
        await server.stop()
    assert "cosmos status at 2025-06-20 10:00 CEST" in text
    assert "Process: UNHEALTHY" in text  # the engine's task is not running in this test
    assert "BAD alerts: not running" in text
    assert "[log] farmer file:local:farmer.log: last line 2025-06-20 10:00 CEST" in text
    assert f"BAD [metrics] node ({NODE_TARGET.key}): down: refused" in text
    assert "Open alerts: 1" in text
    assert f"[error] Farm {short_id(FARM_C)} (alice) stopped with an error" in text
    assert "Notification outbox: 1 pending" in text


async def test_cosmos_status_without_a_database(tmp_path: Path, clock: FakeClock) -> None:
    settings = load_settings(None, database_path=tmp_path / "none.db")
    assert "has not run here" in await status_text(settings, clock)
    assert not (tmp_path / "none.db").exists()


async def test_cosmos_status_tells_the_truth_for_every_source(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    from collectors.logs_collector import file_key
    from collectors.models.chain import BlockActivity, ChainBlock
    from collectors.store.wallets import WalletStore

    gone = tmp_path / "gone.log"  # read before, deleted since
    fresh = tmp_path / "fresh.log"  # configured, nothing read yet
    fresh.write_text("")
    seed = Seed(db)
    now = clock.now_us()
    farmer = await seed.farmer("alice", now)
    await seed.source(file_key("local", gone), "farmer", farmer, now)
    block = ChainBlock(4_321, "0x" + "a" * 64, "0x" + "b" * 64, now)
    await WalletStore(db).record_block(BlockActivity(block, (), ()), now)

    supervisor = Supervisor()
    stop = asyncio.Event()

    class OwnLoops:  # a collector with a loop per endpoint: no single loop status
        name = "metrics"

        async def run(self) -> None:
            await stop.wait()

    supervisor.start("collector:metrics", OwnLoops().run())
    server = web_server(db, report_source(supervisor, [OwnLoops()], clock), clock)
    await server.start()
    address = "subEJEZpGZSuw3xg4bWGrTKJ1eUuqLhWkgis3KzL41Uks9yNq"
    try:
        settings = load_settings(
            None,
            database_path=db.path,
            web={"port": server.bound_port},
            logs={
                "files": [
                    {"path": str(gone), "role": "farmer"},
                    {"path": str(fresh), "role": "node"},
                ]
            },
            metrics={"targets": [{"url": "http://u:pw@127.0.0.1:9/metrics", "kind": "node"}]},
            wallets={"accounts": [{"address": address, "label": "main"}]},
        )
        text = await status_text(settings, clock)
    finally:
        stop.set()
        await server.stop()
        await supervisor.stop()
    assert f"BAD [log] farmer {file_key('local', gone)}: the file does not exist; last line" in text
    assert f"BAD [log] node {file_key('local', fresh)}: nothing read yet" in text
    assert "BAD [metrics] node 127.0.0.1:9 (node:http://127.0.0.1:9/metrics): never scraped" in text
    assert "pw" not in text
    assert f"BAD [wallet] main ({address}): never read" in text
    assert "ok  [chain] blocks: last block seen #4,321" in text
    assert "ok  metrics: running\n" in text  # no "last ok -" for a collector of many loops
    assert "last ok -" not in text
