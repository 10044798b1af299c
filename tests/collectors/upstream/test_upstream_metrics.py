"""Metric families of today's upstream (UPSTREAM.md), read through the alias table, stored,
and the failed-sector counter alert. Fixtures ``*_2026-06.txt`` use upstream's metric names."""

from __future__ import annotations

import pytest

from collectors.alerts.engine import build_alert_engine
from collectors.clock import FakeClock
from collectors.models.metrics import MetricsLayout
from collectors.parsing.metrics import parse_farmer_metrics, parse_node_metrics
from collectors.settings import AlertsSettings
from collectors.store.database import Database
from collectors.store.metrics import MetricsStore
from tests.collectors.test_metrics_collector import (  # the fake endpoints on 127.0.0.1
    FakeEndpoints,
    _collector,
    endpoints,
    farmer,
    node,
)
from tests.conftest import FIXTURES, SAMPLES, needs_samples

__all__ = ["endpoints"]  # the fixture, used by name

METRICS = FIXTURES / "metrics"
FARMER_BODY = (METRICS / "farmer_2026-06.txt").read_text()
NODE_BODY = (METRICS / "node_2026-06.txt").read_text()
FARM = "01K0AAAAAAAAAAAAAAAAAAAAAA"


def test_sector_stage_times_and_counters_per_farm() -> None:
    [farm] = parse_farmer_metrics(FARMER_BODY).farms
    assert farm.stage_times == (
        ("downloading", 120.5, 10.0),
        ("encoding", 1830.0, 10.0),
        ("writing", 12.0, 10.0),
        ("plotting", 1975.0, 10.0),
    )
    assert farm.stage_mean_s("encoding") == pytest.approx(183.0)
    assert farm.plotting_errors == 2.0
    assert farm.sectors_plotted_counter == 10.0
    assert farm.stage_counters == (("downloading", 10), ("encoding", 10), ("writing", 10))


def test_piece_cache_requests_and_disk_piece_caches() -> None:
    snapshot = parse_farmer_metrics(FARMER_BODY)
    assert (
        snapshot.cache_get_hit,
        snapshot.cache_get_miss,
        snapshot.cache_find_hit,
        snapshot.cache_find_miss,
        snapshot.cache_errors,
    ) == (500, 20, 300, 30, 1)
    # Two disk caches (cache_id) added up.
    assert (snapshot.disk_cache_used, snapshot.disk_cache_capacity) == (1490, 3000)
    assert (
        snapshot.disk_cache_contents,
        snapshot.disk_cache_reads,
        snapshot.disk_cache_index_reads,
        snapshot.disk_cache_writes,
    ) == (2, 700, 40, 900)


def test_plotter_counters_and_capacity() -> None:
    snapshot = parse_farmer_metrics(FARMER_BODY)
    assert (snapshot.plotter_sectors_plotted, snapshot.plotter_plotting_errors) == (10, 2)
    assert (snapshot.plotter_capacity_used, snapshot.plotter_capacity_total) == (1, 2)
    assert snapshot.plotter_stage_times == (
        ("downloading", 100, 10, 10),
        ("encoding", 1500, 10, 10),
        ("plotting", 1700, 10, 10),
    )


def test_node_block_counters_leaves_ready_transactions_start_time() -> None:
    snapshot = parse_node_metrics(NODE_BODY)
    assert (snapshot.blocks_imported, snapshot.extrinsics) == (1234, 5678)
    assert (snapshot.leaves, snapshot.ready_transactions) == (2, 3)
    assert snapshot.process_start_s == 1781949590
    assert (snapshot.best, snapshot.node_name) == (4102400, "farm-node-1")


def test_older_layouts_still_read_and_carry_none_of_the_new_families() -> None:
    legacy = parse_farmer_metrics((METRICS / "farmer_legacy.txt").read_text())
    assert legacy.layout is MetricsLayout.LEGACY
    assert all(f.stage_times == () and f.plotting_errors is None for f in legacy.farms)
    assert legacy.cache_get_hit is None
    older_node = parse_node_metrics((METRICS / "node.txt").read_text())
    assert older_node.blocks_imported is None
    assert older_node.best == 1000


@needs_samples
def test_the_shared_sample_has_every_new_farmer_family() -> None:
    snapshot = parse_farmer_metrics((SAMPLES / "farmer_metrics.txt").read_text())
    assert [len(f.stage_times) for f in snapshot.farms] == [4, 4, 4]
    assert [f.plotting_errors for f in snapshot.farms] == [0, 0, 1]
    assert snapshot.cache_get_hit == 18231
    assert snapshot.plotter_plotting_errors == 1
    assert [stage for stage, *_ in snapshot.plotter_stage_times] == [
        "downloading",
        "encoding",
        "plotting",
    ]
    assert snapshot.disk_cache_reads is not None
    node_snapshot = parse_node_metrics((SAMPLES / "node_metrics.txt").read_text())
    assert (node_snapshot.leaves, node_snapshot.ready_transactions) == (1, 0)


async def test_scraped_over_http_and_stored(
    db: Database, clock: FakeClock, endpoints: FakeEndpoints
) -> None:
    endpoints.bodies["farmer"] = FARMER_BODY
    endpoints.bodies["node"] = NODE_BODY
    collector = await _collector(
        db, clock, [farmer(endpoints.url("m/farmer")), node(endpoints.url("plain/node"))]
    )
    async with collector:
        outcomes = await collector.scrape_all()
    assert [o.ok for o in outcomes] == [True, True]
    store = MetricsStore(db)
    [farm] = await store.latest_farm_states()
    assert farm.downloading_mean_s == pytest.approx(12.05)
    assert farm.encoding_mean_s == pytest.approx(183.0)
    assert farm.writing_mean_s == pytest.approx(1.2)
    assert farm.plotting_mean_s == pytest.approx(197.5)
    assert farm.plotting_errors == 2
    [farmer_state] = await store.latest_farmer_states()
    assert farmer_state.cache_hit_ratio == pytest.approx(800 / 850)
    assert (farmer_state.disk_cache_used, farmer_state.disk_cache_capacity) == (1490, 3000)
    assert farmer_state.plotter_plotting_errors == 2
    [node_state] = await store.latest_node_states()
    assert (node_state.snapshot.blocks_imported, node_state.snapshot.leaves) == (1234, 2)
    [history] = await store.farm_history(FARM, 0)
    assert history.plotting_errors == 2


async def test_plotting_error_counter_rising_warns_then_resolves(
    db: Database, clock: FakeClock, endpoints: FakeEndpoints
) -> None:
    collector = await _collector(db, clock, [farmer(endpoints.url("m/farmer"))])
    engine = build_alert_engine(
        db,
        AlertsSettings(summary_enabled=False, plotting_errors_window_minutes=30),
        clock,
    )

    async def scrape_with(errors: int) -> None:
        endpoints.bodies["farmer"] = FARMER_BODY.replace(
            f'plotting_error_counter_Sectors_total{{farm_id="{FARM}"}} 2',
            f'plotting_error_counter_Sectors_total{{farm_id="{FARM}"}} {errors}',
        )
        clock.advance(60)
        await collector.scrape_all()
        await engine.evaluate_once()

    async with collector:
        for errors in (2, 2, 2):
            await scrape_with(errors)
        assert await sent(db) == []
        await scrape_with(3)  # one more sector failed to plot
        [(key, body)] = await sent(db)
        assert key.startswith(f"alert:plotting_errors:{FARM}:")
        assert "1 sector(s) failed to plot" in body
        for _ in range(40):  # the counter stays flat: the window passes, then the grace
            await scrape_with(3)
    assert [k.rsplit(":", 1)[1] for k, _ in await sent(db)] == ["fire", "resolve"]


async def sent(db: Database) -> list[tuple[str, str]]:
    async with db.conn.execute(
        "SELECT dedupe_key, payload FROM outbox WHERE dedupe_key LIKE 'alert:plotting_errors:%'"
        " ORDER BY id"
    ) as cur:
        return [(r[0], r[1]) for r in await cur.fetchall()]
