"""The farming-cluster fixture: one controller, one cache, two plotters, two cluster farmers;
its metrics endpoints served on 127.0.0.1, and all of it put in a store."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from collectors.clock import FakeClock
from collectors.ingest import LogIngestor
from collectors.metrics_collector import MetricsCollector
from collectors.models.logs import LogLine, SourceRef
from collectors.parsing.decode import DecodedLine, Framing, LineDecoder
from collectors.settings import MetricsSettings, MetricsTarget
from collectors.store.database import Database
from collectors.store.farmers import FarmerStore
from collectors.store.metrics import MetricsStore

CLUSTER_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "logs" / "cluster-2026-06"
METRICS_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "metrics"

# Identities the fixture files use.
FARM_A0 = "01JY2A0000000000000000FRA0"
FARM_A1 = "01JY2A0000000000000000FRA1"
FARM_B0 = "01JY2B0000000000000000FRB0"
PUBLIC_KEY_A0 = "0xa0a0" + "1" * 60
PUBLIC_KEY_B0 = "0xb0b0" + "3" * 60
CACHE_1 = "01JY2C0000000000000000CCH1"
CACHE_2 = "01JY2C0000000000000000CCH2"


def decoded(name: str) -> list[DecodedLine]:
    """A fixture file's lines, decoded as the Docker source decodes json-file entries."""
    decoder = LineDecoder(Framing.JSON_FILE)
    data = (CLUSTER_DIR / f"{name}-json.log").read_bytes()
    return [*decoder.feed(data), *decoder.flush()]


def entries(name: str) -> list[tuple[str, str]]:
    """(Docker ``time``, line without its newline) per entry, for the fake Docker Engine."""
    out = []
    for raw in (CLUSTER_DIR / f"{name}-json.log").read_text().splitlines():
        entry = json.loads(raw)
        out.append((entry["time"], entry["log"].rstrip("\n")))
    return out


FARMER_IMAGE = "ghcr.io/autonomys/farmer:mainnet-2026-jun-14"
_CLUSTER = (
    "/subspace-farmer cluster --nats-server nats://nats:4222 --prometheus-listen-on 0.0.0.0:9081"
)
# Container -> (host, command): how ``docker ps`` shows the six components.
CONTAINERS: dict[str, tuple[str, str]] = {
    "controller": (
        "hub",
        f"{_CLUSTER} controller --base-path /controller --node-rpc-url ws://node:9944",
    ),
    "cache": ("hub", f"{_CLUSTER} cache path=/cache,size=600GiB"),
    "plotter-1": ("hub", f"{_CLUSTER} plotter --cpu-sector-encoding-concurrency 2"),
    "farmer-a": ("hub", f"{_CLUSTER} farmer --reward-address st… path=/farms/a0,size=2T"),
    "plotter-2": ("rig-b", f"{_CLUSTER} plotter"),
    "farmer-b": ("rig-b", f"{_CLUSTER} farmer --reward-address st… path=/mnt/b0,size=4T"),
}


def log_lines(name: str, start: int = 0, stop: int | None = None) -> list[LogLine]:
    """A fixture's lines as a log source hands them over (position: the byte offset after)."""
    return [
        LogLine(line.text, str(line.end_offset), line.received_us)
        for line in decoded(name)[start:stop]
    ]


@asynccontextmanager
async def metrics_bodies() -> AsyncIterator[tuple[str, set[str]]]:
    """A base URL on 127.0.0.1 serving the cluster metrics fixtures at /<name> (plotter, cache,
    controller); names put in the set answer 503."""
    bodies = {
        name: (METRICS_DIR / f"cluster_{name}.txt").read_text()
        for name in ("plotter", "cache", "controller")
    }
    down: set[str] = set()

    async def metrics(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name in down or name not in bodies:
            return web.Response(status=503)
        return web.Response(text=bodies[name], content_type="text/plain")

    app = web.Application()
    app.router.add_get("/{name}", metrics)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}", down
    finally:
        await runner.cleanup()


# (fixture, role, host, cosmos farmer) of each log the whole cluster writes.
CLUSTER_LOGS = (
    ("controller", "controller", "hub", "hub"),
    ("cache", "cache", "hub", "hub"),
    ("plotter-1", "plotter", "hub", "hub"),
    ("farmer-a", "farmer", "hub", "hub"),
    ("plotter-2", "plotter", "rig-b", "rig-b"),
    ("farmer-b", "farmer", "rig-b", "rig-b"),
)


async def seed_cluster(db: Database, clock: FakeClock, metrics_base: str) -> None:
    """Cluster ``main`` in the store as cosmos would collect it: every fixture log ingested, and
    the endpoints of the hub's plotter, cache and controller and rig-b's plotter scraped once
    (``/plotter-2`` is not served: that endpoint is down)."""
    clock.set(datetime(2026, 6, 20, 8, 30, tzinfo=UTC))
    farmers = FarmerStore(db)
    primary = await farmers.ensure_primary("hub", clock.now_us(), "hub")
    ingestor = LogIngestor(db, farmers, clock)
    for name, role, host, farmer in CLUSTER_LOGS:
        ref = SourceRef(f"docker:{host}:{role}:{name}", role, host, farmer, "main")  # type: ignore[arg-type]
        await ingestor.ingest(ref, log_lines(name))
    targets = [
        MetricsTarget(
            url=f"{metrics_base}/{path}", kind=kind, label=label, host=host, cluster="main"
        )
        for path, kind, label, host in (
            ("plotter", "plotter", "plotter-1 metrics", "hub"),
            ("cache", "cache", "cache metrics", "hub"),
            ("controller", "controller", "controller metrics", "hub"),
            ("plotter-2", "plotter", "plotter-2 metrics", "rig-b"),
        )
    ]
    collector = MetricsCollector(
        MetricsSettings(targets=targets), MetricsStore(db), farmers, primary, clock
    )
    async with collector:
        await collector.scrape_all()
