"""Cluster alerts fire and resolve through the real pipeline: fixture lines ingested, the engine
reading the store, the outbox holding what would be sent."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from aiohttp import web

from collectors.alerts.engine import AlertEngine, build_alert_engine
from collectors.clock import FakeClock
from collectors.ingest import LogIngestor
from collectors.metrics_collector import MetricsCollector
from collectors.models.logs import LogLine, SourceRef
from collectors.settings import AlertsSettings, MetricsSettings, MetricsTarget
from collectors.store.database import Database
from collectors.store.farmers import FarmerStore
from collectors.store.metrics import MetricsStore
from collectors.store.views import ViewStore
from tests.collectors.cluster.helpers import FARM_A0, FARM_A1, FARM_B0, log_lines
from tests.conftest import FIXTURES

CONTROLLER = SourceRef("docker:hub:controller:controller", "controller", "hub", "rig-a", "main")
FARMER_B = SourceRef("docker:rig-b:farmer:farmer-b", "farmer", "rig-b", "rig-b", "main")


def at(hh_mm: str) -> datetime:
    hour, minute = hh_mm.split(":")
    return datetime(2026, 6, 20, int(hour), int(minute), tzinfo=UTC)


@pytest.fixture
async def setup(db: Database) -> tuple[FakeClock, LogIngestor]:
    clock = FakeClock()
    clock.set(at("08:00"))
    farmers = FarmerStore(db)
    await farmers.ensure_primary("rig-a", clock.now_us(), "hub")
    return clock, LogIngestor(db, farmers, clock)


def engine(db: Database, clock: FakeClock) -> AlertEngine:
    return build_alert_engine(db, AlertsSettings(summary_enabled=False), clock)


async def keys(db: Database, rule: str) -> list[str]:
    """``<subject>:<transition>`` of each message of a rule (opening time left out)."""
    async with db.conn.execute(
        "SELECT dedupe_key FROM outbox WHERE dedupe_key LIKE 'alert:%' ORDER BY id"
    ) as cur:
        out = []
        for (key,) in await cur.fetchall():
            if not key.startswith("alert:"):
                continue  # reward announcements and other messages
            _, r, rest = key.split(":", 2)
            subject, _, what = rest.rpartition(":")
            if r == rule:
                out.append(f"{subject.rpartition(':')[0]}:{what}")
        return out


async def payloads(db: Database, rule: str) -> list[dict[str, object]]:
    async with db.conn.execute(
        "SELECT payload FROM outbox WHERE dedupe_key LIKE ? ORDER BY id", (f"alert:{rule}:%",)
    ) as cur:
        return [json.loads(r[0]) for r in await cur.fetchall()]


async def run_for(e: AlertEngine, clock: FakeClock, seconds: float, step: float = 30) -> None:
    for _ in range(int(seconds // step)):
        clock.advance(step)
        await e.evaluate_once()


async def test_farm_and_cache_expired_at_the_controller_fire_and_resolve(
    db: Database, setup: tuple[FakeClock, LogIngestor]
) -> None:
    clock, ingestor = setup
    await ingestor.ingest(CONTROLLER, log_lines("controller"))
    await ingestor.ingest(FARMER_B, log_lines("farmer-b"))
    e = engine(db, clock)
    clock.set(at("08:09"))
    await e.evaluate_once()
    assert await keys(db, "cluster_farm_expired") == []
    await ingestor.ingest(CONTROLLER, log_lines("controller-expiry", 0, 2))  # 08:10: both expire
    await run_for(e, clock, 90)
    assert await keys(db, "cluster_farm_expired") == [f"{FARM_B0}:fire"]
    assert await keys(db, "cluster_cache_expired") == [f"{CONTROLLER.key}:fire"]
    (farm,) = await payloads(db, "cluster_farm_expired")
    assert farm["severity"] == "error"
    assert "rig-b" in str(farm["title"])  # the farm's own farmer, not the controller's
    (cache,) = await payloads(db, "cluster_cache_expired")
    assert "CCH1" in str(cache["body"])
    # Both are problems on the dashboard while open.
    problems = {
        (p.subject, p.text) for p in (await ViewStore(db).dashboard.build(clock.now_us())).problems
    }
    assert (f"farm …{FARM_B0[-6:]}", str(farm["title"])) in problems
    assert ("controller", str(cache["title"])) in problems
    # Farmer B comes back (a new cluster farmer id) and a cache is discovered again.
    await ingestor.ingest(CONTROLLER, log_lines("controller-expiry", 2))
    await run_for(e, clock, 8 * 60)
    assert await keys(db, "cluster_farm_expired") == [f"{FARM_B0}:fire", f"{FARM_B0}:resolve"]
    assert await keys(db, "cluster_cache_expired") == [
        f"{CONTROLLER.key}:fire",
        f"{CONTROLLER.key}:resolve",
    ]


async def test_plotter_timeout_on_a_farm_fires_and_resolves_when_plotting_goes_on(
    db: Database, setup: tuple[FakeClock, LogIngestor]
) -> None:
    clock, ingestor = setup
    await ingestor.ingest(FARMER_B, log_lines("farmer-b"))
    e = engine(db, clock)
    clock.set(at("08:04"))
    await e.evaluate_once()
    # 08:05: "Timed out without ping from plotter", then the sector is retried.
    await ingestor.ingest(FARMER_B, log_lines("farmer-b-plotter-timeout", 0, 2))
    await run_for(e, clock, 60)
    assert await keys(db, "plotter_timeout") == [f"{FARM_B0}:fire"]
    (message,) = await payloads(db, "plotter_timeout")
    assert "Timed out without ping from plotter" in str(message["body"])
    assert "sector 32" in str(message["body"])
    # The farm's plotting goes on with the next sector (08:06): a plotter answers again.
    await ingestor.ingest(FARMER_B, log_lines("farmer-b-plotter-timeout", 2))
    await run_for(e, clock, 7 * 60)
    assert await keys(db, "plotter_timeout") == [f"{FARM_B0}:fire", f"{FARM_B0}:resolve"]
    # The timeout is also one of the farm's problems on /farms and the dashboard.
    async with db.conn.execute(
        "SELECT kind, farm_id FROM events WHERE kind = ?", ("plotter_timeout",)
    ) as cur:
        assert [tuple(r) for r in await cur.fetchall()] == [("plotter_timeout", FARM_B0)]


async def test_a_silent_controller_log_fires_and_resolves(
    db: Database, setup: tuple[FakeClock, LogIngestor]
) -> None:
    clock, ingestor = setup
    e = engine(db, clock)
    await e.evaluate_once()  # cosmos is watching
    clock.advance(5)
    await ingestor.ingest(CONTROLLER, log_lines("controller", 0, 3))
    cache = SourceRef("docker:hub:cache:cache", "cache", "hub", "rig-a", "main")
    await ingestor.ingest(cache, log_lines("cache"))
    await run_for(e, clock, 29 * 60)
    assert await keys(db, "logs_silent") == []
    await run_for(e, clock, 2 * 60)
    # A cache says nothing once started: only the controller's silence is news by default.
    assert await keys(db, "logs_silent") == [f"{CONTROLLER.key}:fire"]
    (message,) = await payloads(db, "logs_silent")
    assert "controller log went silent" in str(message["title"])
    await ingestor.ingest(CONTROLLER, log_lines("controller", 3))
    await run_for(e, clock, 6 * 60)
    assert await keys(db, "logs_silent") == [f"{CONTROLLER.key}:fire", f"{CONTROLLER.key}:resolve"]


async def test_a_plotter_endpoint_down_fires_and_resolves(
    db: Database, setup: tuple[FakeClock, LogIngestor]
) -> None:
    clock, _ = setup
    body = {"text": (FIXTURES / "metrics" / "cluster_plotter.txt").read_text(), "up": True}

    async def metrics(request: web.Request) -> web.Response:
        if not body["up"]:
            return web.Response(status=503, text="starting")
        return web.Response(text=str(body["text"]), content_type="text/plain")

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        target = MetricsTarget(
            url=f"http://127.0.0.1:{port}/metrics", kind="plotter", label="plotter-2", host="rig-b"
        )
        farmers = FarmerStore(db)
        primary = (await farmers.all())[0]
        collector = MetricsCollector(
            MetricsSettings(targets=[target]), MetricsStore(db), farmers, primary, clock
        )
        e = engine(db, clock)
        async with collector:
            assert all(o.ok for o in await collector.scrape_all())
            body["up"] = False
            for _ in range(12):
                clock.advance(30)
                await collector.scrape_all()
                await e.evaluate_once()
            body["up"] = True
            for _ in range(12):
                clock.advance(30)
                await collector.scrape_all()
                await e.evaluate_once()
    finally:
        await runner.cleanup()
    key = f"plotter:http://127.0.0.1:{port}/metrics"
    assert await keys(db, "endpoint_down") == [f"{key}:fire", f"{key}:resolve"]
    fire = (await payloads(db, "endpoint_down"))[0]
    assert "Plotter metrics endpoint unreachable: plotter-2" in str(fire["title"])


async def test_a_farm_missing_after_a_cluster_farmer_restart(
    db: Database, setup: tuple[FakeClock, LogIngestor]
) -> None:
    """A cluster farmer prints no start line: its shutdown ends the run and its next farm blocks
    open a new one, so a farm it no longer announces is missing, as with a single farmer."""
    clock, ingestor = setup
    farmer_a = SourceRef("docker:hub:farmer:farmer-a", "farmer", "hub", "rig-a", "main")
    await ingestor.ingest(farmer_a, log_lines("farmer-a"))
    block_a0 = [line.text for line in log_lines("farmer-a", 0, 6)]  # "Farm 0:" … farm A0
    restart = [
        "2026-06-20T09:00:00.000000Z  INFO subspace_process: Received SIGTERM, shutting down"
        " farmer...",
        *[line.replace("2026-06-20T08:00:20", "2026-06-20T09:01:00") for line in block_a0],
    ]
    await ingestor.ingest(
        farmer_a, [LogLine(t, f"p{i}", None) for i, t in enumerate(restart, start=100)]
    )
    async with db.conn.execute(
        "SELECT farm_id FROM farm_index_map WHERE run_start_us ="
        " (SELECT max(run_start_us) FROM farm_index_map)"
    ) as cur:
        assert [r[0] for r in await cur.fetchall()] == [FARM_A0]
    clock.set(at("09:02"))
    e = engine(db, clock)
    await run_for(e, clock, 30 * 60, step=60)
    assert await keys(db, "farm_missing") == [f"{FARM_A1}:fire"]
