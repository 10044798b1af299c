"""The wallet collector end to end: real client, fake node, real SQLite."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Awaitable, Callable

import pytest

from collectors.clock import FakeClock
from collectors.models.chain import Direction, RewardKind
from collectors.models.notify import Notification, Severity, Topic
from collectors.settings import Wallet
from collectors.sources.chain import ChainUnavailable
from collectors.store.database import Database
from collectors.store.outbox import OutboxStore
from tests.collectors.wallets.conftest import (
    AI3,
    ALICE,
    ALICE_KEY,
    BOB,
    BOB_KEY,
    STRANGER,
    STRANGER_KEY,
    Rig,
    make_rig,
)
from tests.conftest import needs_chain
from tests.fakes.rpc_node import (
    Balance,
    FakeRpcNode,
    block_fees,
    block_reward,
    deposit,
    extrinsic_success,
    transfer,
    vote_reward,
)

pytestmark = needs_chain


async def wait_until(check: Callable[[], Awaitable[bool]]) -> None:
    """Poll a condition of the running collector (its loops sleep for real)."""
    async with asyncio.timeout(30):
        for _ in itertools.count():
            if await check():
                return
            await asyncio.sleep(0.05)


async def outbox(db: Database, clock: FakeClock) -> dict[str, Notification]:
    items = await OutboxStore(db).due(clock.now_us() + 10**12, limit=100)
    return {i.notification.dedupe_key: i.notification for i in items}


def busy_block(node: FakeRpcNode) -> str:
    """A block with everything: transfers in and out, both rewards, fees, noise."""
    return node.chain.add_block(
        [
            extrinsic_success(0),
            transfer(STRANGER_KEY, ALICE_KEY, 25 * AI3, extrinsic=1),
            transfer(ALICE_KEY, BOB_KEY, 150 * AI3, extrinsic=2),
            transfer(STRANGER_KEY, BOB_KEY, 1 * AI3, extrinsic=3),
            deposit(ALICE_KEY, AI3 // 10),
            block_reward(ALICE_KEY, AI3 // 10),
            deposit(ALICE_KEY, AI3 // 100),
            vote_reward(ALICE_KEY, AI3 // 100),
            block_fees(ALICE_KEY, 5, 6, 7),
        ]
    )


async def test_first_run_starts_at_the_settled_head(rig: Rig) -> None:
    await rig.follow_until_idle()
    last = await rig.store.last_block()
    assert last is not None
    assert last.number == 9 - 3
    assert last.hash == rig.node.chain.canonical[6]


async def test_transfers_and_rewards_recorded_once_settled_and_announced(
    rig: Rig, db: Database, clock: FakeClock
) -> None:
    await rig.follow_until_idle()
    block_hash = busy_block(rig.node)  # block 10
    await rig.follow_until_idle()
    assert await rig.store.transfers(ALICE) == []  # 1 deep: not settled yet

    rig.node.chain.add_blocks(3)  # block 10 is now 3 deep
    await rig.follow_until_idle()

    transfers = await rig.store.transfers(ALICE)
    assert [(t.direction, t.counterparty, t.amount, t.event_index) for t in transfers] == [
        (Direction.OUT, BOB, 150 * AI3, 2),
        (Direction.IN, STRANGER, 25 * AI3, 1),
    ]
    assert {(t.block_number, t.block_hash) for t in transfers} == {(10, block_hash)}
    assert transfers[0].extrinsic_index == 2

    rewards = await rig.store.chain_rewards(
        0, 2**62, address=ALICE, kinds=(RewardKind.BLOCK, RewardKind.VOTE, RewardKind.FEES)
    )
    # The Balances.Deposit of each reward is not counted a second time.
    assert [(s.reward.kind, s.reward.amount, s.reward.event_index) for s in rewards] == [
        (RewardKind.BLOCK, AI3 // 10, 5),
        (RewardKind.VOTE, AI3 // 100, 7),
        (RewardKind.FEES, 18, 8),
    ]
    ts = rig.node.chain.blocks[block_hash].timestamp_ms * 1000
    assert all(s.reward.timestamp_us == ts for s in rewards)
    assert rewards[0].farmer_id is not None  # the wallet names its farmer

    sent = await outbox(db, clock)
    assert set(sent) == {
        f"transfer:{block_hash}:1",
        f"transfer:{block_hash}:2",
        f"reward:{block_hash}:5",
        f"reward:{block_hash}:7",
    }
    incoming = sent[f"transfer:{block_hash}:1"]
    outgoing = sent[f"transfer:{block_hash}:2"]
    assert incoming.topic is Topic.TRANSFERS
    assert incoming.severity is Severity.SUCCESS
    assert incoming.title == "alice received 25 AI3"
    assert ("Block", "#10") in incoming.fields
    assert incoming.url == "https://autonomys.subscan.io/extrinsic/10-1"
    # 150 AI3 out is at or above the default 100 AI3 large-transfer threshold.
    assert outgoing.severity is Severity.WARNING
    vote = sent[f"reward:{block_hash}:7"]
    assert vote.topic is Topic.REWARDS
    assert vote.title == "Vote reward 0.01 AI3 — alice"
    assert vote.url == "https://autonomys.subscan.io/block/10"
    assert ("Farmer", "farmer-a") in vote.fields

    # Following again reads nothing new and announces nothing twice.
    await rig.follow_until_idle()
    assert len(await rig.store.transfers(ALICE)) == 2
    assert len(await outbox(db, clock)) == 4


async def test_skipped_head_heights_are_filled_in_by_number(rig: Rig) -> None:
    await rig.follow_until_idle()
    rig.node.chain.add_blocks(4)
    hashes = {n: rig.node.chain.add_block([transfer(STRANGER_KEY, ALICE_KEY, n)]) for n in (14, 15)}
    rig.node.chain.add_blocks(30)  # the head jumps from 9 to 45 between two polls
    await rig.follow_until_idle()
    last = await rig.store.last_block()
    assert last is not None
    assert last.number == 45 - 3
    got = {t.block_number: (t.block_hash, t.amount) for t in await rig.store.transfers(ALICE)}
    assert got == {n: (h, n) for n, h in hashes.items()}
    for number in range(6, 43):  # every block in between was processed, in order
        stored = await rig.store.block(number)
        assert stored is not None
        assert stored.hash == rig.node.chain.canonical[number]


async def test_reorg_walks_back_and_removes_abandoned_rows_before_announcing(
    db: Database, node: FakeRpcNode, clock: FakeClock
) -> None:
    rig = await make_rig(db, node, clock, settle_depth=1)
    try:
        await rig.follow_until_idle()  # processed through 8
        old_11 = None
        node.chain.add_block([])  # 10
        old_11 = node.chain.add_block([transfer(STRANGER_KEY, ALICE_KEY, 11 * AI3)])
        node.chain.add_blocks(2)  # 12, 13
        await rig.follow_until_idle()  # processed through 12, block 11 announced
        assert f"transfer:{old_11}:0" in await outbox(db, clock)

        # The node switches to a branch forked after block 10.
        node.chain.reorg(10, [[], [transfer(STRANGER_KEY, ALICE_KEY, 7 * AI3)], [], []])
        new_12 = node.chain.canonical[12]
        await rig.follow_until_idle()

        transfers = await rig.store.transfers(ALICE)
        assert [(t.block_number, t.block_hash, t.amount) for t in transfers] == [
            (12, new_12, 7 * AI3)
        ]
        pending = await outbox(db, clock)
        assert f"transfer:{old_11}:0" not in pending  # withdrawn before it was sent
        assert f"transfer:{new_12}:0" in pending
        for number in range(9, 14):
            stored = await rig.store.block(number)
            assert stored is not None
            assert stored.hash == node.chain.canonical[number]
    finally:
        await rig.client.close()


async def test_dropped_connection_mid_catch_up_loses_and_duplicates_nothing(
    rig: Rig, db: Database, clock: FakeClock
) -> None:
    await rig.follow_until_idle()
    hashes = [rig.node.chain.add_block([transfer(STRANGER_KEY, ALICE_KEY, n)]) for n in range(20)]
    rig.node.chain.add_blocks(3)
    # Twice in a row: the retry inside the client fails too, so the iteration fails (the
    # runner would back off) and the next iteration resumes where the store says.
    rig.node.drop_on["state_queryStorageAt"] = 1
    rig.node.drop_on["chain_getBlockHash"] = 1
    with pytest.raises(ChainUnavailable, match="lost the connection again"):
        await rig.collector.follow_once()
    await asyncio.sleep(0.1)  # the test client's reconnect backoff is at most 0.05 s
    rig.node.drop_on["state_queryStorageAt"] = 1  # once more, recovered within the call
    await rig.follow_until_idle()
    assert rig.node.connections >= 4
    got = sorted((t.amount, t.block_hash) for t in await rig.store.transfers(ALICE, limit=100))
    assert got == list(enumerate(hashes))
    assert len(await outbox(db, clock)) == 20


async def test_dead_node_fails_the_iteration_with_a_message_then_recovers(
    rig: Rig,
) -> None:
    await rig.follow_until_idle()
    rig.node.drop_on["chain_getHeader"] = 2
    with pytest.raises(ChainUnavailable, match="connection"):
        await rig.collector.follow_once()
    rig.node.chain.add_block([transfer(STRANGER_KEY, ALICE_KEY, 5)])
    rig.node.chain.add_blocks(3)
    await asyncio.sleep(0.1)  # the test client's reconnect backoff is at most 0.05 s
    await rig.follow_until_idle()
    assert [t.amount for t in await rig.store.transfers(ALICE)] == [5]


async def test_downtime_beyond_lookback_is_a_stored_gap_and_history_is_quiet(
    db: Database, node: FakeRpcNode, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    rig = await make_rig(db, node, clock, lookback_blocks=40, announce_within_blocks=10)
    try:
        await rig.follow_until_idle()  # through 6
        node.chain.add_blocks(20)  # 10..29: will fall in the gap
        old = node.chain.add_block([transfer(STRANGER_KEY, ALICE_KEY, 1)])  # 30: in look-back
        node.chain.add_blocks(50)  # best 80, settled target 77
        recent = node.chain.add_block([transfer(STRANGER_KEY, ALICE_KEY, 2)])  # 81
        node.chain.add_blocks(3)  # best 84, target 81
        with caplog.at_level(logging.WARNING):
            await rig.follow_until_idle()

        gaps = await rig.store.gaps()
        assert [(g.from_block, g.to_block) for g in gaps] == [(7, 41)]
        assert "NOT scanned" in caplog.text
        assert "LOOKBACK" in gaps[0].reason
        # Resumed 40 blocks back: 42..81.
        assert (await rig.store.block(41)) is None
        assert (await rig.store.block(42)) is not None
        amounts = {t.block_hash: t.amount for t in await rig.store.transfers(ALICE)}
        assert amounts == {recent: 2}  # block 30 is inside the gap, not silently skipped
        assert old not in amounts
        assert set(await outbox(db, clock)) == {f"transfer:{recent}:0"}
    finally:
        await rig.client.close()


async def test_catch_up_far_behind_is_stored_but_not_announced_with_progress(
    db: Database, node: FakeRpcNode, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    rig = await make_rig(db, node, clock, announce_within_blocks=10)
    try:
        await rig.follow_until_idle()
        far = node.chain.add_block([transfer(STRANGER_KEY, ALICE_KEY, 3)])  # 10
        node.chain.add_blocks(70)
        near = node.chain.add_block([transfer(STRANGER_KEY, ALICE_KEY, 4)])  # 81
        node.chain.add_blocks(3)
        with caplog.at_level(logging.INFO):
            assert await rig.collector.follow_once() == 0.0  # a batch of 50; more to do
            assert rig.collector.status.extra["catching_up"] is True
            assert rig.collector.status.extra["behind"] == 81 - 56
            assert "catching up: block #56 of #81" in caplog.text
            await rig.follow_until_idle()
        assert "caught up at block #81" in caplog.text
        assert {t.block_hash for t in await rig.store.transfers(ALICE)} == {far, near}
        assert set(await outbox(db, clock)) == {f"transfer:{near}:0"}
    finally:
        await rig.client.close()


async def test_new_wallet_scan_back_is_stored_quietly_without_duplicates(
    db: Database, node: FakeRpcNode, clock: FakeClock
) -> None:
    rig = await make_rig(db, node, clock)
    node.chain.add_blocks(20)
    both = node.chain.add_block([transfer(ALICE_KEY, BOB_KEY, 9)])  # 30
    node.chain.add_blocks(5)
    await rig.follow_until_idle()
    await rig.client.close()
    # Alice only started at 32 ("now"), so block 30 was never hers to see.
    assert await rig.store.transfers(ALICE) == []

    node.chain.add_blocks(2)
    wallets = [
        Wallet(address=ALICE, label="alice"),
        Wallet(address=BOB, label="bob", scan_back_blocks=10),
    ]
    rig2 = await make_rig(db, node, clock, accounts=wallets)
    try:
        await rig2.follow_until_idle()
        bob = await rig2.store.transfers(BOB)
        assert [(t.block_hash, t.direction, t.amount) for t in bob] == [(both, Direction.IN, 9)]
        assert await rig2.store.transfers(ALICE) == []  # the scan-back looked for Bob only
        assert await outbox(db, clock) == {}
        assert all(w.scan_back_done for w in await rig2.store.wallets())
    finally:
        await rig2.client.close()


async def test_balances_polled_and_kept_for_charts(rig: Rig, clock: FakeClock) -> None:
    rig.node.chain.balances[ALICE_KEY] = Balance(free=10 * AI3, reserved=AI3, frozen=2 * AI3)
    rig.node.chain.add_blocks(3)  # read at the settled head: block 9, where the change was
    await rig.collector.poll_balances()
    clock.advance(60)
    await rig.collector.poll_balances()  # unchanged and recent: not stored again
    rig.node.chain.balances[ALICE_KEY] = Balance(free=11 * AI3, reserved=AI3, frozen=2 * AI3)
    rig.node.chain.add_blocks(2)
    await rig.collector.poll_balances()  # 2 deep: not settled, the old balance is read
    rig.node.chain.add_block()
    clock.advance(60)
    await rig.collector.poll_balances()
    clock.advance(16 * 60)
    await rig.collector.poll_balances()  # unchanged but 15 minutes old: a chart point
    history = await rig.store.balance_history(ALICE, 0)
    assert [h.free for h in history] == [10 * AI3, 11 * AI3, 11 * AI3]
    # Each stored with the block it was read at.
    chain = rig.node.chain
    assert [(h.block_number, h.block_hash) for h in history] == [
        (9, chain.canonical[9]),
        (12, chain.canonical[12]),
        (12, chain.canonical[12]),
    ]
    latest = (await rig.store.latest_balances())[ALICE]
    assert (latest.free, latest.reserved, latest.frozen) == (11 * AI3, AI3, 2 * AI3)


async def test_chain_reward_linked_to_the_farm_whose_log_line_is_nearest(
    rig: Rig, db: Database, clock: FakeClock
) -> None:
    await rig.follow_until_idle()
    reward_hash = rig.node.chain.add_block([vote_reward(ALICE_KEY, AI3)])  # 10
    block_ts = rig.node.chain.blocks[reward_hash].timestamp_ms * 1000
    rig.node.chain.add_blocks(3)
    farmer = await rig.collector._farmers.ensure("farmer-a", clock.now_us())
    async with db.transaction() as conn:
        cur = await conn.execute(
            "INSERT INTO log_sources (key, role, farmer_id, updated_us) VALUES (?, ?, ?, ?)",
            ("file:local:farmer.log", "farmer", farmer.id, 0),
        )
        source = cur.lastrowid
        for farm, offset_s, line in (("FARM-FAR", -25, 1), ("FARM-NEAR", -2, 2)):
            await conn.execute(
                "INSERT INTO rewards (source_id, farmer_id, farm_id, ts_us, outcome,"
                " reward_hash, line_hash) VALUES (?, ?, ?, ?, 'signed', ?, ?)",
                (source, farmer.id, farm, block_ts + offset_s * 1_000_000, f"0x{line:064x}", line),
            )
    await rig.follow_until_idle()
    [stored] = await rig.store.chain_rewards(0, 2**62, address=ALICE)
    assert (stored.farmer_id, stored.farm_id) == (farmer.id, "FARM-NEAR")
    note = (await outbox(db, clock))[f"reward:{reward_hash}:0"]
    assert ("Farm", "FARM-NEAR") in note.fields
    totals = await rig.store.reward_totals(0, 2**62, by="farm_id")
    assert totals["FARM-NEAR"].amount == AI3
    payload = json.dumps(note.fields)
    assert "1 AI3" in payload


async def test_new_wallet_starts_now_even_while_the_follower_catches_up(
    db: Database, node: FakeRpcNode, clock: FakeClock
) -> None:
    rig = await make_rig(db, node, clock)
    await rig.follow_until_idle()  # cursor at 6
    await rig.client.close()
    missed = node.chain.add_block(
        [transfer(STRANGER_KEY, ALICE_KEY, 1), transfer(STRANGER_KEY, BOB_KEY, 2)]
    )  # 10
    node.chain.add_blocks(3)  # target 10
    wallets = [Wallet(address=ALICE, label="alice"), Wallet(address=BOB, label="bob")]
    rig2 = await make_rig(db, node, clock, accounts=wallets)
    try:
        await rig2.follow_until_idle()
        assert [t.block_hash for t in await rig2.store.transfers(ALICE)] == [missed]
        assert await rig2.store.transfers(BOB) == []  # Bob is watched from block 11 on
        later = node.chain.add_block([transfer(STRANGER_KEY, BOB_KEY, 3)])  # 14
        node.chain.add_blocks(3)
        await rig2.follow_until_idle()
        assert [t.block_hash for t in await rig2.store.transfers(BOB)] == [later]
    finally:
        await rig2.client.close()


async def test_run_follows_under_supervision_and_closes_the_client(
    db: Database, node: FakeRpcNode, clock: FakeClock
) -> None:
    rig = await make_rig(db, node, clock, poll_seconds=0.05, balance_poll_seconds=0.05)
    node.chain.balances[ALICE_KEY] = Balance(free=AI3)
    task = asyncio.create_task(rig.collector.run())
    try:

        async def started() -> bool:
            return bool(await rig.store.last_block() and await rig.store.latest_balances())

        async def transferred() -> bool:
            return bool(await rig.store.transfers(ALICE))

        await wait_until(started)
        incoming = node.chain.add_block([transfer(STRANGER_KEY, ALICE_KEY, 5)])
        node.chain.add_blocks(3)
        await wait_until(transferred)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert [t.block_hash for t in await rig.store.transfers(ALICE)] == [incoming]
    assert rig.collector.status.iterations > 0
    assert rig.collector.status.extra["behind"] == 0
    assert rig.client._executor is None  # run() closed the client's thread on the way out


async def test_reorg_deeper_than_the_kept_blocks_is_reported_as_a_gap(
    db: Database, node: FakeRpcNode, clock: FakeClock
) -> None:
    rig = await make_rig(db, node, clock, keep_blocks=0, settle_depth=0)  # keeps 10 blocks
    try:
        await rig.follow_until_idle()  # through 9
        abandoned = [
            node.chain.add_block([transfer(STRANGER_KEY, ALICE_KEY, n)]) for n in range(25)
        ]
        node.chain.finalized = 30  # finality passed them, so only the last 10 are kept
        await rig.follow_until_idle()  # through 34
        node.chain.reorg(12, [[] for _ in range(30)])  # the branch forks 22 blocks down
        await rig.follow_until_idle()

        [gap] = await rig.store.gaps()
        assert "reorganised deeper" in gap.reason
        assert gap.from_block <= 25  # the oldest kept block and everything above it
        remaining = {t.block_hash for t in await rig.store.transfers(ALICE, limit=100)}
        # Rows of every block that was walked back are gone; older ones could not be checked.
        assert not remaining & set(abandoned[gap.from_block - 10 :])
        last = await rig.store.last_block()
        assert last is not None
        assert last.hash == node.chain.canonical[last.number]
    finally:
        await rig.client.close()
