"""Reorgs after an announcement: the fake node (real substrate-interface client), the wallet
collector, the outbox, and the real discord.py client against the fake Discord.

Each reorg abandons a block holding a transfer in, a block reward and a vote reward. Facts
deeper than the settle depth (3) were announced and must be corrected exactly once, with the
first message struck through; shallower ones were never stored. Restarts (a new process on
the same database) happen between the announcement and the reorg, and again between storing
the corrections and sending them, after one correction was accepted but not yet marked sent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.delivery import DeliveryLoop
from bot.notifiers import ChannelNotifier, Outgoing
from collectors.clock import FakeClock
from collectors.models.chain import RewardKind
from collectors.store.bot_state import BotStateStore
from collectors.store.outbox import OutboxStore
from collectors.store.wallets import WalletStore
from tests.bot.conftest import RunningBot, bot_settings, start_bot
from tests.bot.test_delivery import drain
from tests.collectors.wallets.conftest import AI3, ALICE, ALICE_KEY, STRANGER_KEY, make_rig
from tests.conftest import CHAIN, needs_chain
from tests.fakes.discord_api import CHANNEL_ID, FakeDiscord
from tests.fakes.rpc_node import FakeChain, FakeRpcNode, block_reward, transfer, vote_reward

pytestmark = needs_chain

SETTLE = 3


def facts() -> list[dict[str, Any]]:
    return [
        transfer(STRANGER_KEY, ALICE_KEY, 25 * AI3, extrinsic=1),
        block_reward(ALICE_KEY, AI3 // 10),
        vote_reward(ALICE_KEY, AI3 // 100),
    ]


async def follow(running: RunningBot, node: FakeRpcNode, clock: FakeClock) -> None:
    rig = await make_rig(running.services.db, node, clock, settle_depth=SETTLE)
    try:
        await rig.follow_until_idle()
    finally:
        await rig.client.close()


def delivery(running: RunningBot, clock: FakeClock) -> DeliveryLoop:
    db = running.services.db
    notifier = ChannelNotifier(running.bot, CHANNEL_ID)
    return DeliveryLoop(OutboxStore(db), BotStateStore(db), notifier, clock)


async def phantoms_stored(running: RunningBot, abandoned: set[str]) -> int:
    db = running.services.db
    n = 0
    for table in ("wallet_transfers", "chain_rewards"):
        async with db.conn.execute(f"SELECT block_hash FROM {table}") as cur:
            n += sum(1 for row in await cur.fetchall() if row["block_hash"] in abandoned)
    return n


@pytest.mark.parametrize("depth", [1, 2, 6, 30])
@pytest.mark.parametrize("longer", [True, False], ids=["longer-branch", "same-length"])
async def test_a_reorg_corrects_each_announced_phantom_exactly_once(
    depth: int, longer: bool, tmp_path: Path, clock: FakeClock, fake_discord: FakeDiscord
) -> None:
    chain = FakeChain()
    chain.add_blocks(10)
    settings = bot_settings(tmp_path)
    with FakeRpcNode(CHAIN, chain) as node:
        running = await start_bot(settings, clock, collectors=False)
        try:
            await follow(running, node, clock)
            fork = len(chain.canonical) - 1  # the reorg keeps blocks through this one
            chain.add_block(facts())  # the first abandoned block holds the facts
            chain.add_blocks(depth - 1)
            abandoned = set(chain.canonical[fork + 1 :])
            await follow(running, node, clock)
            await drain(delivery(running, clock), clock)
            announced = [m["embeds"][0]["title"] for m in fake_discord.channel_messages[CHANNEL_ID]]
            # Announced only when settled: depth - 1 blocks above the facts' block.
            assert len(announced) == (3 if depth - 1 >= SETTLE else 0)
        finally:
            await running.close()

        # A new process notices the reorg and stores the corrections...
        chain.reorg(fork, [[] for _ in range(depth + (1 if longer else 0))])
        running = await start_bot(settings, clock, collectors=False)
        try:
            await follow(running, node, clock)
            assert await phantoms_stored(running, abandoned) == 0
            rewards = await WalletStore(running.services.db).chain_rewards(
                0, 2**62, address=ALICE, kinds=tuple(RewardKind)
            )
            assert rewards == []  # totals drop them at once
            # ...and is stopped right after Discord accepted the first correction.
            outbox = OutboxStore(running.services.db)
            first = [i for i in await outbox.due(clock.now_us(), 100) if not i.edit]
            if first:
                await ChannelNotifier(running.bot, CHANNEL_ID).send(Outgoing.of(first[0]))
        finally:
            await running.close()

        running = await start_bot(settings, clock, collectors=False)
        try:
            await drain(delivery(running, clock), clock)
            chain.add_blocks(5)
            await follow(running, node, clock)  # nothing more to say
            await drain(delivery(running, clock), clock)
            assert await phantoms_stored(running, abandoned) == 0
        finally:
            await running.close()

    messages = fake_discord.channel_messages[CHANNEL_ID]
    originals = messages[: len(announced)]
    corrections = messages[len(announced) :]
    assert len(corrections) == len(announced)  # one each, none twice
    for original, title in zip(originals, announced, strict=True):
        said = [c for c in corrections if title in c["embeds"][0]["title"]]
        assert len(said) == 1
        assert "reorg" in said[0]["embeds"][0]["title"].lower()
        assert "reorg" in said[0]["embeds"][0]["description"]
        assert original["embeds"][0]["title"] == f"~~{title}~~"
        assert "chain reorg" in original["embeds"][0]["description"]
        assert original["edited_timestamp"] is not None
