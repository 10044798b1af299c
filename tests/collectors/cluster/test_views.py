"""The cluster view joins a component's log and its metrics endpoint (real HTTP on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.embeds import cluster_embeds, dashboard_embeds
from collectors.clock import FakeClock
from collectors.ingest import LogIngestor
from collectors.metrics_collector import MetricsCollector
from collectors.models.logs import SourceRef
from collectors.settings import MetricsSettings, MetricsTarget
from collectors.store.database import Database
from collectors.store.farmers import FarmerStore
from collectors.store.metrics import MetricsStore
from collectors.store.views import ViewStore
from tests.collectors.cluster.helpers import log_lines, metrics_bodies


@pytest.fixture
async def endpoints() -> AsyncIterator[tuple[str, set[str]]]:
    """A base URL serving the cluster bodies at /<name>; names in the set answer 503."""
    async with metrics_bodies() as served:
        yield served


def text(embeds: list[object]) -> str:
    out = []
    for e in embeds:
        d = e.to_dict()  # type: ignore[attr-defined]
        out += [d.get("title", ""), d.get("description", "")]
        out += [f"{f['name']}: {f['value']}" for f in d.get("fields", [])]
    return "\n".join(out)


async def test_logs_and_metrics_of_a_component_are_one_line(
    db: Database, endpoints: tuple[str, set[str]]
) -> None:
    base, down = endpoints
    clock = FakeClock()
    clock.set(datetime(2026, 6, 20, 8, 30, tzinfo=UTC))
    farmers = FarmerStore(db)
    primary = await farmers.ensure_primary("hub", clock.now_us(), "hub")
    ingestor = LogIngestor(db, farmers, clock)
    for name, role in (("plotter-1", "plotter"), ("cache", "cache"), ("controller", "controller")):
        ref = SourceRef(f"docker:hub:{role}:{name}", role, "hub", "hub", "main")  # type: ignore[arg-type]
        await ingestor.ingest(ref, log_lines(name))
    targets = [
        MetricsTarget(url=f"{base}/{name}", kind=kind, label=label, host="hub", cluster="main")
        for name, kind, label in (
            ("plotter", "plotter", "plotter-1 metrics"),
            ("cache", "cache", "cache metrics"),
            ("controller", "controller", "controller metrics"),
        )
    ]
    collector = MetricsCollector(
        MetricsSettings(targets=targets), MetricsStore(db), farmers, primary, clock
    )
    async with collector:
        assert [o.ok for o in await collector.scrape_all()] == [True, True, True]
    views = ViewStore(db)
    (cluster,) = await views.cluster.all(clock.now_us())
    (plotter,) = cluster.plotters
    assert (plotter.name, plotter.capacity_used, plotter.capacity_total) == ("plotter-1", 2, 2)
    assert (plotter.sectors_24h, plotter.sectors_total, plotter.plotting_errors) == (3, 41, 1)
    (cache,) = cluster.caches
    assert (cache.name, cache.piece_caches, cache.cache_used) == ("cache", 2, 529388)
    (controller,) = cluster.controllers
    assert (controller.farms_known, controller.piece_cache_capacity) == (3, 614400)
    page = text(cluster_embeds([cluster], clock.now_us()))  # type: ignore[arg-type]
    assert (
        "plotter-1 (hub): 2/2 sectors in use · 3 sectors plotted in 24 h · 41 since start"
        " · 120 s a sector · 1 error"
    ) in page
    assert "cache (hub): 517.0 GiB of 600.1 GiB · 2 piece caches" in page
    assert "farmer cache 517.0 GiB of 600.1 GiB" in page

    # The plotter's endpoint goes down: said on its line and among the dashboard's problems.
    down.add("plotter")
    clock.advance(60)
    async with collector:
        await collector.scrape_all()
    (cluster,) = await views.cluster.all(clock.now_us())
    assert cluster.plotters[0].metrics_up is False
    page = text(cluster_embeds([cluster], clock.now_us()))  # type: ignore[arg-type]
    assert "🔴 plotter-1 (hub)" in page
    dashboard = text(dashboard_embeds(await views.dashboard.build(clock.now_us())))  # type: ignore[arg-type]
    assert "⚠️ plotter plotter-1: HTTP 503" in dashboard
