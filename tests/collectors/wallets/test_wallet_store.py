"""WalletStore on a real SQLite file: exact amounts, idempotence, reorg rewind, gaps, links."""

from __future__ import annotations

from collectors.chain import ss58
from collectors.clock import FakeClock
from collectors.models.chain import (
    BalanceSnapshot,
    BlockActivity,
    ChainBlock,
    ChainReward,
    Direction,
    Gap,
    Movement,
    MovementKind,
    RewardKind,
    StoredReward,
    Transfer,
)
from collectors.models.notify import Notification, Severity, Topic
from collectors.store.database import Database
from collectors.store.farmers import FarmerStore
from collectors.store.outbox import OutboxStore
from collectors.store.wallets import WalletConfig, WalletStore

ALICE = ss58.encode(bytes([1]) * 32)
BOB = ss58.encode(bytes([2]) * 32)
HUGE = 123_456_789_012_345_678_901_234_567  # far beyond SQLite's 64-bit INTEGER


def block(number: int, tag: str = "a") -> ChainBlock:
    return ChainBlock(number, f"0x{tag}{number}", f"0x{tag}{number - 1}", number * 6_000_000)


def activity(number: int, tag: str = "a", amount: int = HUGE) -> BlockActivity:
    b = block(number, tag)
    t = Transfer(ALICE, Direction.IN, BOB, amount, number, b.hash, 1, 1, b.timestamp_us)
    r = ChainReward(ALICE, RewardKind.VOTE, amount, number, b.hash, 2, b.timestamp_us)
    return BlockActivity(b, (t,), (r,))


def announce(fact: Transfer | StoredReward | Movement) -> Notification:
    return Notification(fact.dedupe_key, Topic.TRANSFERS, Severity.INFO, "x")


async def test_exact_amounts_round_trip_and_nothing_twice(db: Database, clock: FakeClock) -> None:
    store = WalletStore(db)
    await store.sync_wallets([WalletConfig(ALICE, "alice", None, 0)], clock.now_us())
    first = await store.record_block(activity(5), clock.now_us(), announce=announce)
    again = await store.record_block(activity(5), clock.now_us(), announce=announce)
    assert (first.transfers, first.rewards, first.announced) == (1, 1, 2)
    assert (again.transfers, again.rewards, again.announced) == (0, 0, 0)
    [t] = await store.transfers(ALICE)
    assert t.amount == HUGE
    totals = await store.reward_totals(0, 2**62)
    assert (totals[ALICE].count, totals[ALICE].amount) == (1, HUGE)
    last = await store.last_block()
    assert last == block(5)


async def test_rewind_removes_abandoned_rows_and_their_unsent_notifications(
    db: Database, clock: FakeClock
) -> None:
    store = WalletStore(db)
    outbox = OutboxStore(db)
    for n in (5, 6, 7):
        await store.record_block(activity(n), clock.now_us(), announce=announce)
    [sent] = [
        i for i in await outbox.due(clock.now_us(), 100) if "0xa6" in i.notification.dedupe_key
    ][:1]
    await outbox.mark_sent(sent.id, clock.now_us())

    xdm = Movement(ALICE, MovementKind.XDM_IN, Direction.IN, 7, 6, "0xa6", 4, None, "x")
    await store.record_block(
        BlockActivity(block(6), (), (), movements=(xdm,)), clock.now_us(), announce=announce
    )
    on_branch = BalanceSnapshot(ALICE, clock.now_us(), 6, 5, 0, 0, "0xa6")
    await store.record_balances([on_branch], history_every_us=0)

    rewind = await store.rewind_to(5)

    assert rewind.blocks == (6, 7)
    # What was removed, typed, with the keys its announcements carry.
    assert [f.dedupe_key for f in rewind.removed] == [
        "transfer:0xa6:1",
        "reward:0xa6:2",
        f"movement:0xa6:4:{ALICE}",
        "transfer:0xa7:1",
        "reward:0xa7:2",
    ]
    assert rewind.balances == 1
    assert await store.movements(ALICE) == []
    assert await store.latest_balances() == {}
    assert [t.block_number for t in await store.transfers(ALICE)] == [5]
    assert [s.reward.block_number for s in await store.chain_rewards(0, 2**62)] == [5]
    due = await outbox.due(clock.now_us(), 100)
    # Unsent originals are withdrawn; their follow-ups are dropped by the delivery loop.
    assert {i.notification.dedupe_key for i in due if i.refers_to is None} == {
        "transfer:0xa5:1",
        "reward:0xa5:2",
    }
    assert (await outbox.counts()).get("sent") == 1  # what was already said stays said
    assert f"reorg:{sent.notification.dedupe_key}" in {i.notification.dedupe_key for i in due}
    assert (await store.last_block()) == block(5)


async def test_block_only_announces_when_asked(db: Database, clock: FakeClock) -> None:
    store = WalletStore(db)
    result = await store.record_block(activity(8), clock.now_us(), announce=None)
    assert result.announced == 0
    assert await OutboxStore(db).due(clock.now_us(), 10) == []


async def test_scan_back_rows_do_not_move_the_cursor(db: Database, clock: FakeClock) -> None:
    store = WalletStore(db)
    await store.record_block(activity(100), clock.now_us())
    await store.record_block(activity(50), clock.now_us(), advance_cursor=False)
    assert (await store.last_block()) == block(100)
    assert (await store.block(50)) is None
    assert len(await store.transfers(ALICE)) == 2


async def test_gaps_are_stored_once(db: Database, clock: FakeClock) -> None:
    store = WalletStore(db)
    gap = Gap(10, 99, clock.now_us(), "down too long")
    assert await store.record_gap(gap)
    assert not await store.record_gap(gap)
    assert await store.gaps() == [gap]
    assert gap.blocks == 90


async def test_prune_keeps_recent_blocks_and_the_cursor(db: Database, clock: FakeClock) -> None:
    store = WalletStore(db)
    for n in range(1, 21):
        await store.record_block(BlockActivity(block(n), (), ()), clock.now_us())
    await store.prune_blocks(below=15)
    assert (await store.block(14)) is None
    assert (await store.block(15)) is not None
    assert (await store.last_block()) == block(20)


async def test_late_log_line_is_linked_on_retry(db: Database, clock: FakeClock) -> None:
    store = WalletStore(db)
    farmer = await FarmerStore(db).ensure("rig", clock.now_us())
    await store.sync_wallets([WalletConfig(ALICE, "alice", farmer.id, 0)], clock.now_us())
    await store.record_block(activity(9), clock.now_us(), link_window_us=10_000_000)
    [before] = await store.chain_rewards(0, 2**62)
    assert (before.farmer_id, before.farm_id) == (farmer.id, None)

    async with db.transaction() as conn:
        cur = await conn.execute(
            "INSERT INTO log_sources (key, role, farmer_id, updated_us)"
            " VALUES ('f', 'farmer', ?, 0)",
            (farmer.id,),
        )
        await conn.execute(
            "INSERT INTO rewards (source_id, farmer_id, farm_id, ts_us, outcome, line_hash)"
            " VALUES (?, ?, 'FARM-1', ?, 'signed', 1)",
            (cur.lastrowid, farmer.id, 9 * 6_000_000 + 3_000_000),
        )
    assert await store.link_pending_farms(0, 10_000_000) == 1
    [after] = await store.chain_rewards(0, 2**62, farm_id="FARM-1")
    assert after.reward.amount == HUGE
    assert await store.link_pending_farms(0, 10_000_000) == 0


async def test_wallets_keep_label_updates_and_history(db: Database, clock: FakeClock) -> None:
    store = WalletStore(db)
    await store.sync_wallets([WalletConfig(ALICE, "alice", None, 5)], clock.now_us())
    await store.start_wallets([ALICE], 1_000, scan_back_done=False)
    current = await store.sync_wallets([WalletConfig(ALICE, "main", None, 5)], clock.now_us())
    assert [(w.label, w.start_block, w.scan_back_done) for w in current] == [("main", 1_000, False)]
