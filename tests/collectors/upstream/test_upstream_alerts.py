"""The alerts from today's upstream messages, each fired and resolved end to end.

Lines are the fixture lines of ``*-2026-06.log`` re-stamped at the fake clock's time and ingested
through the real LogIngestor into a real SQLite file; the engine reads the tables as in
production and its notifications are read back from the outbox.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from collectors.alerts.engine import AlertEngine, build_alert_engine
from collectors.clock import FakeClock
from collectors.ingest import LogIngestor
from collectors.models.logs import LogLine, SourceRef
from collectors.settings import AlertsSettings
from collectors.store.database import Database
from collectors.store.farmers import FarmerStore
from tests.conftest import FIXTURES

LOGS = FIXTURES / "logs"
FARMER_LINES = (LOGS / "farmer-2026-06.log").read_text().splitlines()
NODE_LINES = (LOGS / "node-2026-06.log").read_text().splitlines()
FARMER = SourceRef("file:local:/logs/farmer.log", "farmer")
NODE = SourceRef("file:local:/logs/node.log", "node")
FARM_B = "01K0BBBBBBBBBBBBBBBBBBBBBB"
MIN_S = 60


def fixture_line(needle: str) -> str:
    for line in FARMER_LINES + NODE_LINES:
        if needle in line:
            return line
    raise AssertionError(f"no fixture line with {needle!r}")


def stamped(clock: FakeClock, line: str) -> str:
    """The fixture line with the clock's time in place of its own."""
    when = datetime.fromtimestamp(clock.now_us() / 1e6, tz=UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ") + line[len("2026-06-20T10:00:00.000000Z") :]


class Rig:
    def __init__(self, db: Database, clock: FakeClock, **settings: object) -> None:
        self.db = db
        self.clock = clock
        self.engine: AlertEngine = build_alert_engine(
            db,
            AlertsSettings(summary_enabled=False, **settings),  # type: ignore[arg-type]
            clock,
        )
        self.ingestor: LogIngestor | None = None
        self.n = 0

    async def feed(self, source: SourceRef, *needles: str) -> None:
        if self.ingestor is None:
            farmers = FarmerStore(self.db)
            await farmers.ensure_primary("rig", self.clock.now_us())
            self.ingestor = LogIngestor(self.db, farmers, self.clock)
        lines = []
        for needle in needles:
            self.n += 1
            self.clock.advance(0.001)
            lines.append(LogLine(stamped(self.clock, fixture_line(needle)), str(self.n)))
        await self.ingestor.ingest(source, lines)

    async def run_for(self, seconds: float, step: float = 30) -> None:
        for _ in range(int(seconds // step)):
            self.clock.advance(step)
            await self.engine.evaluate_once()

    async def sent(self, rule: str) -> list[tuple[str, dict[str, object]]]:
        async with self.db.conn.execute(
            "SELECT dedupe_key, payload FROM outbox WHERE dedupe_key LIKE ? ORDER BY id",
            (f"alert:{rule}:%",),
        ) as cur:
            return [(r["dedupe_key"], json.loads(r["payload"])) for r in await cur.fetchall()]

    async def transitions(self, rule: str) -> list[str]:
        return [key.rsplit(":", 1)[1] for key, _ in await self.sent(rule)]


async def start_farmer(rig: Rig) -> None:
    """A farmer run with farms 0 (/farms/a) and 1 (/farms/b)."""
    block = [line for line in FARMER_LINES if "commands::farm: " in line and "{farm_index=" in line]
    needles = ["Connecting to node RPC"]
    needles += [line.split("Z ", 1)[1] for line in block if "Farm creation" not in line]
    await rig.feed(FARMER, *needles)


async def test_failed_to_prove_is_an_error_on_that_farm_and_a_miss(
    db: Database, clock: FakeClock
) -> None:
    rig = Rig(db, clock)
    await start_farmer(rig)
    await rig.feed(FARMER, "Failed to prove, scheduling sector for replotting")
    await rig.run_for(60)
    [(key, payload)] = await rig.sent("farm_prove_failed")
    assert key.startswith(f"alert:farm_prove_failed:{FARM_B}:")
    assert payload["severity"] == "error"
    assert "os error 5" in str(payload["body"])
    missed = await rig.sent("missed_rewards")
    assert "1 failed proof" in str(missed[0][1]["body"])
    await rig.run_for(90 * MIN_S, step=60)
    assert await rig.transitions("farm_prove_failed") == ["fire", "resolve"]


async def test_farm_creation_failed_names_directory_and_reason(
    db: Database, clock: FakeClock
) -> None:
    rig = Rig(db, clock)
    # An earlier run had farm 2 at /farms/c; this run it fails to start.
    await rig.feed(
        FARMER,
        "Connecting to node RPC",
    )
    c_block = [
        line.split("Z ", 1)[1]
        .replace("farm_index=0", "farm_index=2")
        .replace("Farm 0:", "Farm 2:")
        .replace("01K0AAAAAAAAAAAAAAAAAAAAAA", "01K0CCCCCCCCCCCCCCCCCCCCCC")
        .replace("/farms/a", "/farms/c")
        for line in FARMER_LINES
        if "{farm_index=0}: subspace_farmer::commands::farm:" in line
    ]
    assert rig.ingestor is not None
    lines = []
    for text in c_block:
        rig.n += 1
        clock.advance(0.001)
        lines.append(LogLine(stamped(clock, "2026-06-20T10:00:00.000000Z " + text), str(rig.n)))
    await rig.ingestor.ingest(FARMER, lines)
    await rig.run_for(60)
    clock.advance(3600)
    await rig.feed(FARMER, "Connecting to node RPC", "Farm creation failed")
    await rig.run_for(60)
    [(key, payload)] = await rig.sent("farm_creation_failed")
    assert key.startswith("alert:farm_creation_failed:file:local:/logs/farmer.log#2:")
    assert payload["severity"] == "error"
    assert "/farms/c" in str(payload["body"])
    assert "No space left on device" in str(payload["body"])
    # The farmer restarts and the farm comes up: resolved.
    clock.advance(600)
    await rig.feed(FARMER, "Connecting to node RPC")
    await rig.run_for(15 * MIN_S)
    assert await rig.transitions("farm_creation_failed") == ["fire", "resolve"]


async def test_piece_cache_catch_up_too_long_warns_until_finished(
    db: Database, clock: FakeClock
) -> None:
    rig = Rig(db, clock, piece_cache_sync_minutes=20)
    await rig.feed(FARMER, "Syncing piece cache to the latest history size")
    await rig.run_for(15 * MIN_S)
    assert await rig.transitions("piece_cache_sync_slow") == []
    await rig.run_for(10 * MIN_S)
    [(_, payload)] = await rig.sent("piece_cache_sync_slow")
    assert payload["severity"] == "warning"
    await rig.feed(FARMER, "Finished syncing piece cache to the latest history size")
    await rig.run_for(10 * MIN_S)
    assert await rig.transitions("piece_cache_sync_slow") == ["fire", "resolve"]


async def test_node_vote_and_signature_failures_are_missed_rewards(
    db: Database, clock: FakeClock
) -> None:
    rig = Rig(db, clock)
    await rig.feed(NODE, "Failed to submit vote", "Received invalid signature for reward")
    await rig.run_for(60)
    [(key, payload)] = await rig.sent("missed_rewards")
    assert key.startswith("alert:missed_rewards:file:local:/logs/node.log:")
    body = str(payload["body"])
    assert "1 vote the node could not submit" in body
    assert "1 reward signature rejected by the node" in body
    await rig.run_for(70 * MIN_S, step=60)
    assert await rig.transitions("missed_rewards") == ["fire", "resolve"]


async def test_slow_block_executions_more_than_n_an_hour(db: Database, clock: FakeClock) -> None:
    rig = Rig(db, clock, slow_blocks_per_hour=3)
    for _ in range(3):
        await rig.feed(NODE, "Slow Consensus block execution")
        await rig.run_for(5 * MIN_S)
    assert await rig.transitions("node_slow_blocks") == []
    await rig.feed(NODE, "Slow Consensus block execution")
    await rig.run_for(60)
    [(_, payload)] = await rig.sent("node_slow_blocks")
    assert "2150 ms" in str(payload["body"])
    await rig.run_for(75 * MIN_S, step=60)
    assert await rig.transitions("node_slow_blocks") == ["fire", "resolve"]


async def test_dsn_peers_below_threshold_farmer_and_node(db: Database, clock: FakeClock) -> None:
    rig = Rig(db, clock, dsn_min_peers=5)
    await rig.feed(NODE, "actively using 3/180 known peers")
    await rig.feed(FARMER, "actively using 38/212 known peers")
    await rig.run_for(60)
    [(key, payload)] = await rig.sent("dsn_low_peers")
    assert key.startswith("alert:dsn_low_peers:file:local:/logs/node.log:")
    assert "3 of 180" in str(payload["body"])
    await rig.feed(NODE, "actively using 38/212 known peers")  # the same format, more peers
    await rig.run_for(10 * MIN_S)
    assert await rig.transitions("dsn_low_peers") == ["fire", "resolve"]


async def test_clean_stops_are_not_failures(db: Database, clock: FakeClock) -> None:
    rig = Rig(db, clock)
    await start_farmer(rig)
    await rig.feed(
        FARMER,
        "Farm exited successfully farm_index=1",
        "Farm exited successfully farm_index=0",
        "Received Ctrl+C, shutting down farmer",
    )
    await rig.run_for(10 * MIN_S)
    async with db.conn.execute("SELECT dedupe_key FROM outbox") as cur:
        assert [r[0] for r in await cur.fetchall()] == []
