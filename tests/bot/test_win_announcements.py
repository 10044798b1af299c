"""Every win told at once: a signed reward in a farmer log is announced when the line is read,
and that same message is edited when the chain credits it (or does not).

Real parts: the log ingestor and SQLite store, the wallet collector on the real
substrate-interface client against the fake node, the outbox, and the real discord.py client
against the fake Discord. Time is a fake clock set to the fake chain's block times.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.delivery import DeliveryLoop
from bot.notifiers import ChannelNotifier
from collectors.clock import FakeClock
from collectors.ingest import LogIngestor
from collectors.models.logs import LogLine, SourceRef
from collectors.store.bot_state import BotStateStore
from collectors.store.farmers import FarmerStore
from collectors.store.outbox import OutboxStore
from collectors.store.views import ViewStore
from tests.bot.conftest import RunningBot, bot_settings, start_bot
from tests.bot.test_delivery import drain
from tests.collectors.wallets.conftest import AI3, ALICE_KEY, make_rig
from tests.conftest import CHAIN, needs_chain
from tests.fakes.discord_api import CHANNEL_ID, FakeDiscord
from tests.fakes.rpc_node import FakeChain, FakeRpcNode, block_reward, vote_reward

pytestmark = needs_chain

FARM_A = "01JZAAAAAAAAAAAAAAAAAAAAAA"
FARM_B = "01JZBBBBBBBBBBBBBBBBBBBBBB"
_positions = itertools.count(1)


def stamp(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def farm_header(us: int, farm_id: str) -> list[str]:
    where = "{farm_index=0}: subspace_farmer::commands::farm:"
    return [f"{stamp(us)}  INFO {where} Farm 0:", f"{stamp(us + 1)}  INFO {where}   ID: {farm_id}"]


def signed(us: int, n: int) -> str:
    return (
        f"{stamp(us)}  INFO {{farm_index=0}}: subspace_farmer::single_disk_farm::reward_signing:"
        f" Successfully signed reward hash 0x{n:064x}"
    )


class Farmer:
    def __init__(self, ingestor: LogIngestor, name: str, host: str) -> None:
        self.ingestor = ingestor
        self.ref = SourceRef(f"file:{host}:/logs/{name}.log", "farmer", host, name)

    async def read(self, lines: list[str]) -> None:
        await self.ingestor.ingest(
            self.ref, [LogLine(t, f"pos:{next(_positions)}", None) for t in lines]
        )


def block_us(chain: FakeChain, number: int) -> int:
    return (chain.start_ms + number * 6_000) * 1000


def channel(fake: FakeDiscord) -> list[dict[str, Any]]:
    return fake.channel_messages[CHANNEL_ID]


def delivery(running: RunningBot, clock: FakeClock) -> DeliveryLoop:
    db = running.services.db
    notifier = ChannelNotifier(running.bot, CHANNEL_ID)
    return DeliveryLoop(OutboxStore(db), BotStateStore(db), notifier, clock)


async def test_a_signed_win_is_told_at_once_then_edited_with_what_the_chain_says(
    tmp_path: Path, clock: FakeClock, fake_discord: FakeDiscord
) -> None:
    chain = FakeChain()
    chain.add_blocks(10)
    with FakeRpcNode(CHAIN, chain) as node:
        running = await start_bot(bot_settings(tmp_path), clock, collectors=False)
        db = running.services.db
        rig = await make_rig(db, node, clock, settle_depth=3)  # alice's wallet: farmer-a
        try:
            clock.set(datetime.fromtimestamp(block_us(chain, 9) / 1e6, UTC))
            await rig.follow_until_idle()
            ingestor = LogIngestor(db, FarmerStore(db), clock)
            farmer_a = Farmer(ingestor, "farmer-a", "rig-1")
            farmer_b = Farmer(ingestor, "farmer-b", "rig-2")  # no wallet watched
            t10, t11, t12 = (block_us(chain, n) for n in (10, 11, 12))
            # History read in a backfill announces nothing.
            await farmer_a.read(
                [*farm_header(t10 - 7_200_000_000, FARM_A), signed(t10 - 3_600_000_000, 1)]
            )
            await farmer_b.read(farm_header(t10 - 7_200_000_000, FARM_B))
            await drain(delivery(running, clock), clock)
            assert channel(fake_discord) == []

            # Live: each line announced on the pass after it was read.
            for us, n, who in (
                (t10 - 500_000, 10, farmer_a),
                (t11 - 500_000, 11, farmer_a),
                (t12 - 500_000, 12, farmer_a),
                (t12, 13, farmer_b),
            ):
                clock.set(datetime.fromtimestamp((us + 200_000) / 1e6, UTC))
                await who.read([signed(us, n)])
                before = len(channel(fake_discord))
                await delivery(running, clock).iteration()
                assert len(channel(fake_discord)) == before + 1
            first = [m["embeds"][0] for m in channel(fake_discord)]
            assert first[0]["title"] == "Reward signed by farm 01JZ…AAAAAA of farmer-a"
            fields = {f["name"]: f["value"] for f in first[0]["fields"]}
            assert fields["Farm"] == FARM_A
            assert fields["Farmer"] == "farmer-a"
            assert fields["Host"] == "rig-1"
            assert "Amount" not in fields
            assert "No wallet is watched" in first[3]["description"]

            # The chain: a block reward in block 10, a vote reward in 11, nothing for win 12.
            chain.add_block([block_reward(ALICE_KEY, AI3 // 10)])
            chain.add_block([vote_reward(ALICE_KEY, AI3 // 100)])
            chain.add_blocks(12)
            clock.set(datetime.fromtimestamp(block_us(chain, 23) / 1e6, UTC))
            await rig.follow_until_idle()
            await rig.collector.poll_balances()
            await drain(delivery(running, clock), clock)
            # Again, as after a restart: nothing new is said or edited.
            edits = len(fake_discord.edits)
            await rig.collector.poll_balances()
            await rig.follow_until_idle()
            await drain(delivery(running, clock), clock)
            assert len(fake_discord.edits) == edits == 3

            messages = [m["embeds"][0] for m in channel(fake_discord)]
            assert len(messages) == 4  # one message per win, none from the chain on its own
            assert messages[0]["title"].startswith("Block reward 0.1 AI3 — farm ")
            fields = {f["name"]: f["value"] for f in messages[0]["fields"]}
            assert (fields["Amount"], fields["Kind"], fields["Block"]) == (
                "0.1 AI3",
                "block",
                "#10",
            )
            assert fields["Host"] == "rig-1"
            assert messages[1]["title"].startswith("Vote reward 0.01 AI3 — farm ")
            assert messages[2]["title"].startswith("Signed but not credited: farm ")
            assert "earned nothing" in messages[2]["description"]
            assert messages[3]["title"].startswith("Reward signed by")  # farmer-b: unknown

            detail = await ViewStore(db).farms.detail(FARM_A, clock.now_us())
            assert detail is not None
            assert detail.signed_not_credited == 1

            # A reorg drops blocks 10 and 11: their credits are taken back on the messages...
            chain.reorg(9, [[] for _ in range(16)])
            clock.set(datetime.fromtimestamp(block_us(chain, 25) / 1e6, UTC))
            await rig.follow_until_idle()
            await drain(delivery(running, clock), clock)
            messages = [m["embeds"][0] for m in channel(fake_discord)]
            assert len(messages) == 4
            assert messages[0]["title"].startswith("~~Block reward 0.1 AI3")
            assert "reorg" in messages[0]["description"]
            assert messages[1]["title"].startswith("~~Vote reward 0.01 AI3")
            # ...and with the chain read past them, they earned nothing after all.
            await rig.collector.poll_balances()
            await drain(delivery(running, clock), clock)
            messages = [m["embeds"][0] for m in channel(fake_discord)]
            assert [m["title"].split(":")[0] for m in messages[:3]] == [
                "Signed but not credited"
            ] * 3
            detail = await ViewStore(db).farms.detail(FARM_A, clock.now_us())
            assert detail is not None
            assert detail.signed_not_credited == 3
        finally:
            await rig.client.close()
            await running.close()
