"""Processed blocks are kept until the node's finalized head passes them, so a reorg deeper
than ``keep_blocks`` but above finality is still walked back and its announcements corrected.

Real client against the fake node; the rig's ``keep_blocks=0`` keeps 10 blocks.
"""

from __future__ import annotations

import logging

import pytest

from collectors.clock import FakeClock
from collectors.store.database import Database
from collectors.store.outbox import OutboxStore
from tests.collectors.wallets.conftest import AI3, ALICE, ALICE_KEY, STRANGER_KEY, Rig, make_rig
from tests.conftest import needs_chain
from tests.fakes.rpc_node import FakeRpcNode, block_reward, transfer

pytestmark = needs_chain


async def kept(db: Database) -> list[int]:
    async with db.conn.execute("SELECT number FROM chain_blocks ORDER BY number") as cur:
        return [row["number"] for row in await cur.fetchall()]


async def test_finalized_number_reads_the_nodes_finalized_head(rig: Rig) -> None:
    assert await rig.client.finalized_number() == 0  # the fake's genesis default
    rig.node.chain.finalized = 7
    assert await rig.client.finalized_number() == 7


async def test_reorg_deeper_than_kept_blocks_but_above_finality_is_walked_back_and_corrected(
    db: Database, node: FakeRpcNode, clock: FakeClock
) -> None:
    rig = await make_rig(db, node, clock, keep_blocks=0, settle_depth=0)  # keeps 10 blocks
    outbox = OutboxStore(db)
    try:
        node.chain.finalized = 5  # finality lags far behind the head
        await rig.follow_until_idle()  # through 9
        phantom = node.chain.add_block(
            [transfer(STRANGER_KEY, ALICE_KEY, 3 * AI3), block_reward(ALICE_KEY, AI3 // 10)]
        )  # 10
        node.chain.add_blocks(25)
        await rig.follow_until_idle()  # through 35: 26 blocks above the fork, all kept
        assert (await kept(db))[0] == 9
        announced = {i.notification.dedupe_key: i for i in await outbox.due(clock.now_us(), 100)}
        keys = {f"transfer:{phantom}:0", f"reward:{phantom}:1"}
        assert keys <= set(announced)
        for key in keys:
            await outbox.mark_sent(announced[key].id, clock.now_us())

        node.chain.reorg(9, [[] for _ in range(30)])  # forks 26 blocks below the last read
        await rig.follow_until_idle()

        assert await rig.store.gaps() == []  # walked back, not reported as a gap
        assert await rig.store.transfers(ALICE) == []
        assert await rig.store.chain_rewards(0, 2**62, address=ALICE) == []
        due = {i.notification.dedupe_key: i for i in await outbox.due(clock.now_us(), 100)}
        for key in keys:
            assert due[f"reorg:{key}"].refers_to == key
            assert "reorg" in due[f"reorg:{key}"].notification.body
            assert f"edit:retract:{key}" in due  # the first message is struck through
        last = await rig.store.last_block()
        assert last is not None
        assert last.number == len(node.chain.canonical) - 1
        for number in range(10, last.number + 1):
            stored = await rig.store.block(number)
            assert stored is not None
            assert stored.hash == node.chain.canonical[number]
    finally:
        await rig.client.close()


async def test_blocks_are_pruned_once_the_finalized_head_passes_them(
    db: Database, node: FakeRpcNode, clock: FakeClock
) -> None:
    rig = await make_rig(db, node, clock, keep_blocks=0, settle_depth=0)  # keeps 10 blocks
    try:
        await rig.follow_until_idle()  # through 9
        node.chain.add_blocks(30)
        await rig.follow_until_idle()  # through 39, nothing finalized past genesis
        assert await kept(db) == list(range(9, 40))

        node.chain.finalized = 20
        node.chain.add_block()
        await rig.follow_until_idle()  # through 40: finalized and 10 old means below 20
        assert await kept(db) == list(range(20, 41))

        node.chain.finalized = 38
        node.chain.add_block()
        await rig.follow_until_idle()  # through 41: now keep_blocks is the limit
        assert await kept(db) == list(range(31, 42))
    finally:
        await rig.client.close()


async def test_stuck_finality_keeps_no_more_than_the_cap(
    db: Database, node: FakeRpcNode, clock: FakeClock
) -> None:
    rig = await make_rig(db, node, clock, keep_blocks=0, max_kept_blocks=15, settle_depth=0)
    try:
        await rig.follow_until_idle()  # through 9
        node.chain.add_blocks(30)
        await rig.follow_until_idle()  # through 39, finality stuck at genesis
        assert await kept(db) == list(range(24, 40))
    finally:
        await rig.client.close()


async def test_unreadable_finalized_head_falls_back_to_keep_blocks_and_logs_once(
    db: Database, node: FakeRpcNode, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    rig = await make_rig(db, node, clock, keep_blocks=0, settle_depth=0)  # keeps 10 blocks
    caplog.set_level(logging.DEBUG, logger="collectors.wallet_collector")
    try:
        await rig.follow_until_idle()  # through 9
        # Every attempt (one retry on a fresh connection each) of the next two reads fails.
        node.drop_on["chain_getFinalizedHead"] = 4
        for _ in range(2):
            node.chain.add_blocks(15)
            await rig.follow_until_idle()
        last = await rig.store.last_block()
        assert last is not None
        assert last.number == 39
        assert await kept(db) == list(range(29, 40))  # as if everything were final
        unread = [r for r in caplog.records if "finalized head not read" in r.getMessage()]
        assert len(unread) == 1
        assert unread[0].levelno == logging.DEBUG
    finally:
        await rig.client.close()
