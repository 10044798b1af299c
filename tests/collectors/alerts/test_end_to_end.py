"""End to end through the real pipelines: log lines replayed through the log ingestor, a metrics
endpoint on 127.0.0.1 going down and coming back, wallet rows written by the wallet store."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web

from collectors.alerts.engine import AlertEngine, build_alert_engine
from collectors.clock import FakeClock
from collectors.ingest import LogIngestor
from collectors.metrics_collector import MetricsCollector
from collectors.models.chain import BalanceSnapshot, BlockActivity, ChainBlock, Direction, Transfer
from collectors.models.logs import LogLine, SourceRef
from collectors.models.notify import Notification, Severity, Topic
from collectors.parsing.decode import LineDecoder, detect_framing
from collectors.settings import AlertsSettings, MetricsSettings, MetricsTarget
from collectors.store.alerts import AlertStore
from collectors.store.database import Database
from collectors.store.farmers import FarmerStore
from collectors.store.metrics import MetricsStore
from collectors.store.wallets import WalletConfig, WalletStore
from tests.conftest import FIXTURES, SAMPLES, needs_samples

US = 1_000_000
AI3 = 10**18
FARMER_LOG = SourceRef("file:local:/logs/farmer.log", "farmer")


def engine(db: Database, clock: FakeClock, **settings: object) -> AlertEngine:
    alerts = AlertsSettings(summary_enabled=False, **settings)  # type: ignore[arg-type]
    return build_alert_engine(db, alerts, clock)


async def told(db: Database, rule: str = "%") -> list[tuple[str, str, str, dict[str, object]]]:
    """(rule, subject, transition, payload) of each alert message, in order."""
    async with db.conn.execute(
        "SELECT dedupe_key, payload FROM outbox WHERE dedupe_key LIKE ? ORDER BY id",
        (f"alert:{rule}:%",),
    ) as cur:
        rows = await cur.fetchall()
    out = []
    for r in rows:
        _, rule, rest = r["dedupe_key"].split(":", 2)
        head, _, what = rest.rpartition(":")
        subject = head.rpartition(":")[0]
        out.append((rule, subject, what, json.loads(r["payload"])))
    return out


def read_lines(path: Path) -> list[LogLine]:
    data = path.read_bytes()
    decoder = LineDecoder(detect_framing(data[:4096]))
    decoded = decoder.feed(data) + decoder.flush()
    return [LogLine(d.text, str(d.end_offset), d.received_us) for d in decoded]


def line_time(line: LogLine) -> int | None:
    stamp = line.text[:27]
    try:
        return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * US)
    except ValueError:
        return None


async def replay(
    db: Database, clock: FakeClock, lines: list[LogLine], e: AlertEngine, until_us: int
) -> None:
    """Feed lines as a live farmer writes them, the engine running every 30 s meanwhile."""
    farmers = FarmerStore(db)
    await farmers.ensure_primary("rig", clock.now_us())
    ingestor = LogIngestor(db, farmers, clock)
    next_eval = clock.now_us()
    for line in lines:
        ts = line_time(line)
        while ts is not None and next_eval <= ts:
            clock.set(datetime.fromtimestamp(next_eval / US, tz=UTC))
            await e.evaluate_once()
            next_eval += 30 * US
        if ts is not None and ts > clock.now_us():
            clock.set(datetime.fromtimestamp(ts / US, tz=UTC))
        await ingestor.ingest(FARMER_LOG, [line])
    while next_eval <= until_us:
        clock.set(datetime.fromtimestamp(next_eval / US, tz=UTC))
        await e.evaluate_once()
        next_eval += 30 * US


@needs_samples
async def test_sample_farmer_log_farm_error_and_failed_solution(
    db: Database, clock: FakeClock
) -> None:
    clock.set(datetime(2025, 6, 20, 8, 0, tzinfo=UTC))
    e = engine(db, clock)
    end = int(datetime(2025, 6, 20, 11, 0, tzinfo=UTC).timestamp() * US)
    await replay(db, clock, read_lines(SAMPLES / "farmer.log"), e, end)
    async with db.conn.execute(
        "SELECT farm_id, outcome FROM rewards WHERE outcome != 'signed' ORDER BY ts_us"
    ) as cur:
        misses = [(r["farm_id"], r["outcome"]) for r in await cur.fetchall()]
    (failed_farm, _), (skipped_farm, _) = misses
    messages = await told(db)
    by_rule: dict[str, list[tuple[str, str]]] = {}
    for rule, subject, what, _ in messages:
        by_rule.setdefault(rule, []).append((subject, what))
    # The farm that stopped (farm_index 2 in the last run) is told once, then resolved once
    # the "errored and stopped" lines stop (the log ends at 10:19:41).
    assert by_rule["farm_error"] == [
        ("01JD2Q7H5M8R3T6W9Y0A2B4CEF", "fire"),
        ("01JD2Q7H5M8R3T6W9Y0A2B4CEF", "resolve"),
    ]
    fire = next(p for r, _, w, p in messages if r == "farm_error" and w == "fire")
    assert fire["severity"] == "error"
    assert "Input/output error (os error 5)" in str(fire["body"])
    assert fire["occurred_us"] == int(datetime(2025, 6, 20, 10, 18, tzinfo=UTC).timestamp() * US)
    # The failed solution (08:44:30) and the proving skip (09:29:10): told, each resolved.
    missed = by_rule["missed_rewards"]
    assert (failed_farm, "fire") in missed
    assert (skipped_farm, "fire") in missed
    assert sorted(missed) == sorted(
        {
            (failed_farm, "fire"),
            (failed_farm, "resolve"),
            (skipped_farm, "fire"),
            (skipped_farm, "resolve"),
        }
    )
    assert await AlertStore(db).open_alerts() == []


# --- a metrics endpoint going down and coming back ---------------------------------------------


class Endpoint:
    """A node's /metrics on 127.0.0.1 that the test can stop and start again on the same port."""

    def __init__(self, body: str) -> None:
        self.body = body
        self.port = 0
        self.runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    async def handle(self, _request: web.Request) -> web.Response:
        return web.Response(text=self.body, content_type="text/plain")


@pytest.fixture
async def node_endpoint() -> AsyncIterator[Endpoint]:
    endpoint = Endpoint((FIXTURES / "metrics" / "node.txt").read_text())
    await endpoint.start()
    try:
        yield endpoint
    finally:
        await endpoint.stop()


async def test_metrics_endpoint_down_and_back_over_real_http(
    db: Database, clock: FakeClock, node_endpoint: Endpoint
) -> None:
    farmers = FarmerStore(db)
    primary = await farmers.ensure_primary("rig", clock.now_us())
    url = f"http://127.0.0.1:{node_endpoint.port}/metrics"
    settings = MetricsSettings(
        targets=[MetricsTarget(url=url, kind="node", label="node")], timeout_seconds=2.0
    )
    e = engine(db, clock)

    async with MetricsCollector(settings, MetricsStore(db), farmers, primary, clock) as scraper:

        async def minutes(n: int) -> None:
            for _ in range(n * 2):
                clock.advance(30)
                await scraper.scrape_all()
                await e.evaluate_once()

        await minutes(3)
        assert await told(db, "endpoint_down") == []
        await node_endpoint.stop()
        await minutes(4)
        assert (
            await told(db, "endpoint_down") == []
        )  # down for 4 minutes: under the 5-minute threshold
        await minutes(2)
        [(rule, subject, what, payload)] = await told(db, "endpoint_down")
        assert (rule, subject, what) == ("endpoint_down", f"node:{url}", "fire")
        assert payload["title"] == "Node metrics endpoint unreachable: node"
        await node_endpoint.start()  # same port
        await minutes(4)
        assert len(await told(db, "endpoint_down")) == 1  # back, but not yet for the resolve grace
        await minutes(2)
        assert [(r, w) for r, _, w, _ in await told(db, "endpoint_down")] == [
            ("endpoint_down", "fire"),
            ("endpoint_down", "resolve"),
        ]


# --- wallets -----------------------------------------------------------------------------------


async def test_balance_drop_and_large_transfer_from_the_wallet_store(
    db: Database, clock: FakeClock
) -> None:
    wallets = WalletStore(db)
    address = "suWatchedWallet"
    await wallets.sync_wallets([WalletConfig(address, "main", None, 0)], clock.now_us())
    t0 = clock.now_us()

    async def balance(block: int, free: int) -> None:
        # Read at a block the follower has processed (so every movement up to it is stored).
        b = ChainBlock(block, f"0x{block:064x}", f"0x{block - 1:064x}", clock.now_us())
        await wallets.record_block(BlockActivity(b, (), ()), clock.now_us())
        snap = BalanceSnapshot(address, clock.now_us(), block, free * AI3, 0, 0, b.hash)
        await wallets.record_balances([snap], history_every_us=0)

    async def transfer(block: int, amount: int, *, announced: bool) -> None:
        b = ChainBlock(block, f"0x{block:064x}", f"0x{block - 1:064x}", clock.now_us())
        t = Transfer(
            address,
            Direction.OUT,
            "suSomeoneElse",
            amount * AI3,
            block,
            b.hash,
            3,
            1,
            clock.now_us(),
        )

        def announce(fact: object) -> Notification | None:
            if not isinstance(fact, Transfer):
                return None
            return Notification(fact.dedupe_key, Topic.TRANSFERS, Severity.WARNING, "Sent")

        await wallets.record_block(
            BlockActivity(b, (t,), ()), clock.now_us(), announce=announce if announced else None
        )

    e = engine(db, clock)
    await balance(100, 1000)
    clock.advance(60)
    await transfer(105, 400, announced=True)  # the wallet collector told the farmer already
    clock.advance(60)
    await balance(110, 600)
    await e.evaluate_once()
    assert await told(db) == []
    await transfer(115, 200, announced=False)  # stored during a catch-up, never announced
    await balance(116, 400)
    await e.evaluate_once()
    [(rule, subject, what, payload)] = await told(db)
    assert (rule, what) == ("large_transfer_out", "fire")
    assert subject == f"{address}:0x{115:064x}:3"
    assert "200 AI3" in str(payload["title"])
    clock.advance(60)
    await balance(120, 350)  # 50 AI3 gone with no transfer on record
    await e.evaluate_once()
    [*_, (rule, subject, what, payload)] = await told(db)
    assert (rule, subject, what) == ("balance_drop", address, "fire")
    assert "50 AI3" in str(payload["body"])
    assert payload["severity"] == "error"
    for _ in range(30):  # a day later both are history: closed without a message
        clock.advance(3600)
        await e.evaluate_once()
    assert len(await told(db)) == 2
    assert await AlertStore(db).open_alerts() == []
    assert t0 < clock.now_us()
