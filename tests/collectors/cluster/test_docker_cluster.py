"""A whole cluster (one controller, one cache, two plotters, two cluster farmers) read through
the fake Docker Engine with the real ``docker`` SDK, stored, and shown on the dashboard and in
``/cluster``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.embeds import cluster_embeds, dashboard_embeds
from collectors.clock import FakeClock
from collectors.ingest import LogIngestor
from collectors.logs_collector import LogCollector, docker_key
from collectors.parsing.decode import parse_rfc3339_us
from collectors.settings import DockerHost, LogsSettings
from collectors.store.database import Database
from collectors.store.farmers import FarmerStore
from collectors.store.views import ViewStore
from tests.collectors.cluster.helpers import (
    CONTAINERS,
    FARM_A0,
    FARM_A1,
    FARM_B0,
    FARMER_IMAGE,
    entries,
)
from tests.collectors.sources.helpers import wait_until
from tests.fakes.docker_engine import FakeDockerEngine

NOW = datetime(2026, 6, 20, 8, 30, tzinfo=UTC)


@pytest.fixture
def engines(tmp_path: Path) -> Iterator[dict[str, FakeDockerEngine]]:
    (tmp_path / "hub").mkdir()
    (tmp_path / "rig-b").mkdir()
    with (
        FakeDockerEngine(tmp_path / "hub") as hub,
        FakeDockerEngine(tmp_path / "rig-b") as rig_b,
    ):
        yield {"hub": hub, "rig-b": rig_b}


@contextlib.asynccontextmanager
async def running(collector: LogCollector) -> AsyncIterator[LogCollector]:
    task = asyncio.get_running_loop().create_task(collector.run())
    try:
        yield collector
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def embed_text(embeds: list[object]) -> str:
    parts: list[str] = []
    for e in embeds:
        data = e.to_dict()  # type: ignore[attr-defined]
        parts += [data.get("title", ""), data.get("description", "")]
        parts += [f"{f['name']}: {f['value']}" for f in data.get("fields", [])]
    return "\n".join(parts)


async def test_a_cluster_shows_up_whole_on_the_dashboard_and_in_cluster(
    tmp_path: Path, db: Database, engines: dict[str, FakeDockerEngine]
) -> None:
    clock = FakeClock()
    clock.set(NOW)
    expected: dict[str, int] = {}
    for name, (host, command) in CONTAINERS.items():
        engine = engines[host]
        engine.add_container(name, FARMER_IMAGE, command=command)
        lines = entries(name)
        for stamp, text in lines:
            engine.append_entry(name, text, (parse_rfc3339_us(stamp) or 0) * 1000)
        engine.flush()
        role = "farmer" if name.startswith("farmer") else name.split("-")[0]
        expected[docker_key(host, role, name)] = len(lines)  # type: ignore[arg-type]
    farmers = FarmerStore(db)
    await farmers.ensure_primary("hub-farmer", clock.now_us(), "hub")
    ingestor = LogIngestor(db, farmers, clock)
    settings = LogsSettings(
        docker=[
            DockerHost(
                base_url=engines["hub"].base_url, host="hub", farmer="rig-a", cluster="main"
            ),
            DockerHost(
                base_url=engines["rig-b"].base_url, host="rig-b", farmer="rig-b", cluster="main"
            ),
        ],
        reconnect_seconds=0.05,
    )
    collector = LogCollector(
        settings,
        ingestor,
        clock,
        farmer_name="hub-farmer",
        discover_seconds=0.1,
        batch_seconds=0.05,
    )
    async with running(collector):

        def ingested() -> dict[str, int]:
            return {s.key: s.lines_ingested for s in collector.source_statuses()}

        await wait_until(lambda: ingested() == expected)
    # Cluster farms are farms like any other: each with its farmer (and that farmer's host).
    views = ViewStore(db)
    farms = {f.farm_id: f for f in await views.farms.summaries(clock.now_us())}
    assert set(farms) == {FARM_A0, FARM_A1, FARM_B0}
    assert {farms[FARM_A0].farmer, farms[FARM_B0].farmer} == {"rig-a", "rig-b"}
    hosts = {f.name: f.host for f in await farmers.all()}
    assert (hosts["rig-a"], hosts["rig-b"]) == ("hub", "rig-b")
    # Rewards link to the farm id, as a single farmer's do.
    async with db.conn.execute("SELECT farm_id FROM rewards ORDER BY ts_us") as cur:
        assert [r[0] for r in await cur.fetchall()] == [FARM_A0, FARM_B0]
    assert farms[FARM_A0].rewards_24h == 1

    (cluster,) = await views.cluster.all(clock.now_us())
    assert cluster.name == "main"
    assert [c.name for c in cluster.controllers] == ["controller"]
    assert cluster.controllers[0].farms_known == 3
    assert cluster.controllers[0].caches_known == 1
    assert [(c.name, c.piece_caches, c.cache_total) for c in cluster.caches] == [
        ("cache", 2, 614400.0)
    ]
    plotters = {c.name: (c.host, c.sectors_24h, c.sectors_in_flight) for c in cluster.plotters}
    assert plotters == {"plotter-1": ("hub", 3, 0), "plotter-2": ("rig-b", 2, 0)}
    farmer_components = {c.name: c for c in cluster.farmers}
    assert farmer_components["farmer-a"].farm_ids == (FARM_A0, FARM_A1)
    assert farmer_components["farmer-b"].farm_ids == (FARM_B0,)
    assert farmer_components["farmer-b"].host == "rig-b"

    dashboard = embed_text(
        dashboard_embeds(await views.dashboard.build(clock.now_us()))  # type: ignore[arg-type]
    )
    assert "3 farms" in dashboard
    assert (
        "Cluster main: 1 controller · 1 cache (600.1 GiB) · 2 plotters (0 in flight,"
        " 5 sectors in 24 h) · 2 farmers, 3 farms"
    ) in dashboard
    page = embed_text(cluster_embeds(await views.cluster.all(clock.now_us()), clock.now_us()))  # type: ignore[arg-type]
    assert "controller (hub): 3 farms, 1 cache" in page
    assert "cache (hub): 600.1 GiB · 2 piece caches" in page
    assert "plotter-1 (hub): 0 in flight · 3 sectors plotted in 24 h" in page
    assert "plotter-2 (rig-b): 0 in flight · 2 sectors plotted in 24 h" in page
    assert "farmer-a (hub, rig-a): 2 farms" in page
    assert "farmer-b (rig-b, rig-b): 1 farm" in page
