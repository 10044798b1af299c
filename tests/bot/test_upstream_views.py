"""Today's upstream messages and metrics where a farmer looks: /farm, /node, the dashboard's
problems and the daily summary. The 2026-06 fixtures go through the real ingest and a real
scrape over 127.0.0.1 into one SQLite file; the read models and embeds are built from it."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.embeds import farm_embeds, farmer_embeds, node_embed
from collectors.alerts.engine import build_alert_engine
from collectors.clock import FakeClock
from collectors.models.logs import LogLine, SourceRef
from collectors.settings import AlertsSettings
from collectors.store.alerts import AlertInputReader
from collectors.store.database import Database
from collectors.store.views import ViewStore
from tests.collectors.test_ingest import log_lines, make_ingestor
from tests.collectors.test_metrics_collector import (
    FakeEndpoints,
    _collector,
    endpoints,
    farmer,
)
from tests.conftest import FIXTURES

__all__ = ["endpoints"]  # the fixture, used by name

FARM_A = "01K0AAAAAAAAAAAAAAAAAAAAAA"
FARM_B = "01K0BBBBBBBBBBBBBBBBBBBBBB"
FARMER = SourceRef("file:local:/logs/farmer.log", "farmer")
NODE = SourceRef("file:local:/logs/node.log", "node")


async def loaded(db: Database, clock: FakeClock, endpoints: FakeEndpoints) -> ViewStore:
    clock.set(datetime(2026, 6, 20, 10, 21, tzinfo=UTC))  # just after the fixtures' last line
    ingestor = await make_ingestor(db, clock)
    await ingestor.ingest(FARMER, log_lines(FIXTURES / "logs" / "farmer-2026-06.log"))
    await ingestor.ingest(NODE, log_lines(FIXTURES / "logs" / "node-2026-06.log"))
    endpoints.bodies["farmer"] = (FIXTURES / "metrics" / "farmer_2026-06.txt").read_text()
    collector = await _collector(db, clock, [farmer(endpoints.url("m/farmer"))])
    async with collector:
        await collector.scrape_all()
    return ViewStore(db)


async def test_farm_detail_shows_failed_proofs_stages_and_events(
    db: Database, clock: FakeClock, endpoints: FakeEndpoints
) -> None:
    views = await loaded(db, clock, endpoints)
    now = clock.now_us()
    b = await views.farms.detail(FARM_B, now)
    assert b is not None
    assert [e.outcome for e in b.recent_misses] == ["prove_failed"]
    assert "1× failed proof in 24 h: check the disk" in b.summary.problems
    assert b.summary.status.value == "error"
    assert any("receiver is gone" in text for _, text in b.recent_errors)  # sector send failed
    assert [text for _, text in b.recent_events] == [
        "stopped cleanly",
        "replotting of a sector retried",
        "resized from 1.8 TiB to 3.6 TiB",
    ]
    a = await views.farms.detail(FARM_A, now)
    assert a is not None
    assert [(name, round(mean, 2)) for name, mean in a.plotting_stages] == [
        ("Downloading", 12.05),
        ("Encoding", 183.0),
        ("Writing", 1.2),
        ("Whole sector", 197.5),
    ]
    assert a.sectors_failed == 2
    [embed, *_] = farm_embeds(a)
    fields = {f.name: f.value for f in embed.fields}
    assert fields["Plotting time per sector"] == (
        "Downloading: 12.1 s\nEncoding: 183.0 s\nWriting: 1.2 s\nWhole sector: 197.5 s\n"
        "Failed sectors: 2"
    )


async def test_node_view_from_its_log(
    db: Database, clock: FakeClock, endpoints: FakeEndpoints
) -> None:
    views = await loaded(db, clock, endpoints)
    [node] = await views.nodes.all(clock.now_us())
    assert (node.chain, node.node_name) == ("Autonomys Mainnet", "farm-node-1")
    assert node.dsn_peers == (3, 180)
    assert (node.slow_blocks_1h, node.missed_24h) == (1, 2)
    assert node.dsn_sync_us is not None
    assert node.dsn_sync_error == "Failed to get segment headers from DSN"
    fields = {f.name: f.value for f in node_embed(node).fields}
    assert fields["DSN peers"] == "3 of 180 used"
    assert fields["Chain"] == "Autonomys Mainnet · farm-node-1"
    assert fields["Missed (24 h)"] == "2 votes/signatures lost"
    assert "Failed to get segment headers from DSN" in fields["DSN sync"]


async def test_dashboard_problems_and_daily_summary(
    db: Database, clock: FakeClock, endpoints: FakeEndpoints
) -> None:
    views = await loaded(db, clock, endpoints)
    # Back to when the node's DSN line was fresh: the rules open their alerts.
    clock.set(datetime(2026, 6, 20, 10, 4, tzinfo=UTC))
    engine = build_alert_engine(db, AlertsSettings(summary_enabled=False), clock)
    await engine.evaluate_once()
    dashboard = await views.dashboard.build(clock.now_us())
    texts = [(p.subject, p.text) for p in dashboard.problems]
    assert ("/logs/node.log", "The node uses only 3 DSN peers (file:local:/logs/node.log)") in texts
    assert ("/logs/farmer.log#2", "Farm 2 could not start (file:local:/logs/farmer.log)") in texts
    assert ("farm …AAAAAA", "1× sector send failed in 24 h") in texts
    assert any(s == f"farm …{FARM_B[-6:]}" and "failed proof" in t for s, t in texts)
    summary = await AlertInputReader(db).summary(
        "2026-06-20",
        "UTC",
        int(datetime(2026, 6, 20, tzinfo=UTC).timestamp() * 1e6),
        int(datetime(2026, 6, 21, tzinfo=UTC).timestamp() * 1e6),
    )
    assert dict(summary.misses_by_kind) == {
        "failed proof": 1,
        "reward signature rejected by the node": 1,
        "vote the node could not submit": 1,
    }


async def test_farmer_view_cache_hits_dsn_and_catch_up(
    db: Database, clock: FakeClock, endpoints: FakeEndpoints
) -> None:
    views = await loaded(db, clock, endpoints)
    [rig] = await views.farmers.all(clock.now_us())
    assert rig.cache_hit_ratio == 800 / 850  # (500 + 300) hits of 850 requests
    assert rig.dsn_peers == (38, 212)
    assert rig.cache_catchup_since_us is None  # the fixture's catch-up finished
    fields = {f.name: f.value for f in farmer_embeds(rig)[0].fields}
    assert fields["Piece cache hits"] == "94.1%"
    assert fields["DSN peers"] == "38 of 212 used"
    # A catch-up that has not finished is shown.
    ingestor = await make_ingestor(db, clock)
    line = next(
        t
        for t in (FIXTURES / "logs" / "farmer-2026-06.log").read_text().splitlines()
        if "Syncing piece cache to the latest" in t
    )
    later = "2026-06-20T10:30:00.000000Z" + line[len("2026-06-20T10:10:00.000000Z") :]
    await ingestor.ingest(FARMER, [LogLine(later, "x")])
    [rig] = await views.farmers.all(clock.now_us())
    assert rig.cache_catchup_since_us == int(
        datetime(2026, 6, 20, 10, 30, tzinfo=UTC).timestamp() * 1_000_000
    )
    fields = {f.name: f.value for f in farmer_embeds(rig)[0].fields}
    assert "catching up to the latest history" in fields["Piece cache catch-up"]
