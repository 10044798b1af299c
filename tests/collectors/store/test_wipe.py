"""Wiping a farm, a farmer, a wallet or everything, across every area's tables."""

from __future__ import annotations

import pytest

from collectors.clock import FakeClock
from collectors.models.notify import Notification, Severity, Topic
from collectors.models.views import Scope
from collectors.store.database import Database
from collectors.store.outbox import OutboxStore
from collectors.store.views import ViewStore, period_us
from collectors.store.wipe import WipeStore
from tests.bot.seed import WALLET, farm_id, seed, seed_chain, seed_node


async def count(db: Database, sql: str, *params: object) -> int:
    async with db.conn.execute(sql, params) as cur:
        row = await cur.fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture
async def seeded(db: Database, clock: FakeClock) -> Database:
    now = clock.now_us()
    await seed(db, now, days=10)
    await seed_chain(db, now)
    await seed_node(db, now)
    await db.conn.execute("UPDATE chain_rewards SET farm_id = ?", (farm_id(1),))
    await OutboxStore(db).enqueue(Notification("k", Topic.ALERTS, Severity.INFO, "t"), now)
    return db


async def test_wipe_a_farm(seeded: Database, clock: FakeClock) -> None:
    db = seeded
    before = await ViewStore(db).rewards.report(clock.now_us(), period_us("30d"))
    assert await count(db, "SELECT COUNT(*) FROM reward_days") > 0
    result = await WipeStore(db).wipe(Scope.FARM, farm_id(1))
    assert {"farms", "rewards", "events"} <= set(result.tables)
    for table in ("farms", "rewards", "events"):
        assert await count(db, f"SELECT COUNT(*) FROM {table} WHERE farm_id = ?", farm_id(1)) == 0
    assert await count(db, "SELECT COUNT(*) FROM farms") == 2
    # Wallet history that pointed at the farm stays, unlinked.
    assert await count(db, "SELECT COUNT(*) FROM chain_rewards WHERE farm_id IS NULL") == 24
    # Daily totals are rebuilt without the farm.
    assert await count(db, "SELECT COUNT(*) FROM reward_days") == 0
    after = await ViewStore(db).rewards.report(clock.now_us(), period_us("30d"))
    assert farm_id(1) not in {f.farm_id for f in after.farms}
    assert after.total_rewards < before.total_rewards
    with pytest.raises(ValueError, match="no farm"):
        await WipeStore(db).wipe(Scope.FARM, "nope")


async def test_wipe_a_farmer_keeps_the_primary_row(seeded: Database) -> None:
    db = seeded
    await WipeStore(db).wipe(Scope.FARMER, "beta")
    assert await count(db, "SELECT COUNT(*) FROM farmer WHERE name = 'beta'") == 0
    assert await count(db, "SELECT COUNT(*) FROM farms WHERE farm_id = ?", farm_id(1)) == 0
    await WipeStore(db).wipe(Scope.FARMER, "alpha")
    assert await count(db, "SELECT COUNT(*) FROM farmer WHERE name = 'alpha'") == 1
    assert await count(db, "SELECT COUNT(*) FROM farms") == 0


async def test_wipe_a_wallet(seeded: Database) -> None:
    db = seeded
    await WipeStore(db).wipe(Scope.WALLET, "main")
    for table in ("chain_rewards", "wallet_transfers", "wallet_balances"):
        assert await count(db, f"SELECT COUNT(*) FROM {table} WHERE address = ?", WALLET) == 0
    assert await count(db, "SELECT COUNT(*) FROM wallets") == 2  # still watched


async def test_wipe_all_keeps_outbox_positions_and_config(seeded: Database) -> None:
    db = seeded
    result = await WipeStore(db).wipe(Scope.ALL)
    assert result.rows > 0
    for table in ("farms", "rewards", "events", "chain_rewards", "node_metrics", "plots"):
        assert await count(db, f"SELECT COUNT(*) FROM {table}") == 0
    assert await count(db, "SELECT COUNT(*) FROM outbox") == 1
    assert await count(db, "SELECT COUNT(*) FROM log_sources") == 1
    assert await count(db, "SELECT COUNT(*) FROM wallets") == 2
    assert await count(db, "SELECT COUNT(*) FROM farmer") == 1
