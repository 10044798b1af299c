"""The "balance dropped without a known transfer" check against the fake node.

Balances are read at a block hash and compared only at settled, processed blocks against every
movement in between, so transfers, fees, rewards and XDM at any offset from the balance polls
never look like money gone; money that truly left with no event still alerts, once.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

from collectors.alerts.engine import AlertEngine, build_alert_engine
from collectors.clock import FakeClock
from collectors.settings import AlertsSettings
from collectors.store.database import Database
from tests.collectors.wallets.conftest import (
    AI3,
    ALICE_KEY,
    BOB_KEY,
    STRANGER_KEY,
    Rig,
)
from tests.conftest import needs_chain
from tests.fakes.rpc_node import (
    Balance,
    block_fees,
    block_reward,
    deposit,
    paid_transfer,
    vote_reward,
    xdm_in,
    xdm_out,
)

pytestmark = needs_chain

FEE = AI3 // 1000


async def balance_alerts(db: Database) -> list[tuple[str, dict[str, Any]]]:
    """(transition, payload) of every balance-drop message, in order."""
    async with db.conn.execute(
        "SELECT dedupe_key, payload FROM outbox WHERE dedupe_key LIKE 'alert:balance_drop:%'"
        " ORDER BY id"
    ) as cur:
        rows = await cur.fetchall()
    return [(r["dedupe_key"].rpartition(":")[2], json.loads(r["payload"])) for r in rows]


def alert_engine(db: Database, clock: FakeClock) -> AlertEngine:
    # Tolerance 0: fees are known movements now, nothing needs to be forgiven.
    settings = AlertsSettings(summary_enabled=False, balance_drop_tolerance_ai3=0)
    return build_alert_engine(db, settings, clock)


@dataclass
class Simulation:
    """Blocks every 1–6 s (simulated), the follower every 6 s, balances every 7 s, rules every 30 s.

    The three loops run on their own schedules, so transfers land at every offset from the
    balance polls and from the follower.
    """

    rig: Rig
    engine: AlertEngine
    clock: FakeClock
    rng: random.Random
    now_s: float = 0.0
    next_follow: float = 6.0
    next_poll: float = 7.0
    next_rules: float = 30.0

    async def block(self, events: list[dict[str, Any]]) -> None:
        interval = self.rng.randint(1, 6)
        self.rig.node.chain.add_block(events, interval_ms=interval * 1000)
        await self.run_for(interval)

    async def run_for(self, seconds: float) -> None:
        end = self.now_s + seconds
        while True:
            due = min(self.next_follow, self.next_poll, self.next_rules)
            if due > end:
                break
            self.clock.advance(due - self.now_s)
            self.now_s = due
            if due == self.next_follow:
                await self.rig.follow_until_idle()
                self.next_follow += 6.0
            elif due == self.next_poll:
                await self.rig.collector.poll_balances()
                self.next_poll += 7.0
            else:
                await self.engine.evaluate_once()
                self.next_rules += 30.0
        self.clock.advance(end - self.now_s)
        self.now_s = end


async def test_a_transfer_out_is_not_a_drop(rig: Rig, db: Database, clock: FakeClock) -> None:
    """The reported case: 10 AI3 sent, balances polled before, during and after settling."""
    rig.node.chain.balances[ALICE_KEY] = Balance(free=100 * AI3)
    engine = alert_engine(db, clock)
    await rig.follow_until_idle()
    await rig.collector.poll_balances()
    rig.node.chain.add_block(paid_transfer(ALICE_KEY, BOB_KEY, 10 * AI3, FEE))
    for _ in range(4):
        # The balance at the head is already lower; the transfer is not settled yet.
        clock.advance(6)
        await rig.collector.poll_balances()
        await engine.evaluate_once()
        rig.node.chain.add_block()
        await rig.follow_until_idle()
    await rig.collector.poll_balances()
    await engine.evaluate_once()
    latest = (await rig.store.latest_balances())[rig.collector._wallets[0].address]
    assert latest.free == 90 * AI3 - FEE
    assert await balance_alerts(db) == []


async def test_200_transfers_at_random_offsets_no_false_alert_and_a_real_drop_once(
    rig: Rig, db: Database, clock: FakeClock
) -> None:
    rng = random.Random(11)
    chain = rig.node.chain
    chain.balances[ALICE_KEY] = Balance(free=10_000 * AI3)
    sim = Simulation(rig, alert_engine(db, clock), clock, rng)
    await sim.run_for(6)

    transfers = 0
    while transfers < 200:
        events: list[dict[str, Any]] = []
        for extrinsic in range(1, rng.choice((1, 1, 2, 3)) + 1):
            if transfers >= 200 or rng.random() < 0.3:
                continue
            amount = rng.randint(1, 50_000) * AI3 // 1000
            if rng.random() < 0.5:
                events += paid_transfer(ALICE_KEY, BOB_KEY, amount, FEE, extrinsic)
            else:
                events += paid_transfer(STRANGER_KEY, ALICE_KEY, amount, FEE, extrinsic)
            transfers += 1
        roll = rng.random()
        if roll < 0.1:
            events += [deposit(ALICE_KEY, AI3 // 10), block_reward(ALICE_KEY, AI3 // 10)]
            events += [deposit(ALICE_KEY, 7), block_fees(ALICE_KEY, 3, 2, 2)]
        elif roll < 0.2:
            events += [deposit(ALICE_KEY, AI3 // 100), vote_reward(ALICE_KEY, AI3 // 100)]
        elif roll < 0.25:
            events += xdm_in(ALICE_KEY, 3 * AI3, extrinsic=9)
        elif roll < 0.3:
            events += xdm_out(ALICE_KEY, 2 * AI3, extrinsic=9)
        await sim.block(events)
    for _ in range(10):  # everything settles, is processed, polled and judged
        await sim.block([])
    await sim.run_for(60)

    stored = await rig.store.transfers(limit=1_000)
    assert len(stored) == 200
    polls = await rig.store.balance_history(rig.collector._wallets[0].address, 0)
    assert len(polls) > 50  # the balance changed between most polls: many comparisons
    assert await balance_alerts(db) == []  # 0 false alerts

    # Now 50 AI3 leave with no event at all (a slash the runtime did not report, say).
    chain.balances[ALICE_KEY].free -= 50 * AI3
    for _ in range(20):
        await sim.block(paid_transfer(ALICE_KEY, BOB_KEY, AI3, FEE) if rng.random() < 0.3 else [])
    await sim.run_for(10 * 60)

    [(transition, payload)] = await balance_alerts(db)
    assert transition == "fire"
    assert str(payload["body"]).startswith("50 AI3 left ")


async def test_balances_read_on_an_abandoned_branch_are_forgotten(
    rig: Rig, db: Database, clock: FakeClock
) -> None:
    """A 7-block reorg removes a transfer out after balances were read on its branch."""
    chain = rig.node.chain
    chain.balances[ALICE_KEY] = Balance(free=100 * AI3)
    chain.add_blocks(3)  # best 12: the balance is settled at 9
    engine = alert_engine(db, clock)
    await rig.follow_until_idle()
    await rig.collector.poll_balances()  # read at 9: 100 AI3
    fork = len(chain.canonical) - 1  # 12
    chain.add_block(paid_transfer(ALICE_KEY, BOB_KEY, 10 * AI3, FEE))  # fork+1, branch A
    chain.add_block(xdm_in(ALICE_KEY, AI3))  # fork+2
    chain.add_blocks(2)
    await rig.follow_until_idle()  # processes fork+1
    await rig.collector.poll_balances()  # read at A's fork+1 (processed)
    chain.add_blocks(2)
    await rig.collector.poll_balances()  # read at A's fork+3 (not processed yet)
    await engine.evaluate_once()
    address = rig.collector._wallets[0].address
    history = await rig.store.balance_history(address, 0)
    assert [b.block_number for b in history] == [9, fork + 1, fork + 3]

    chain.reorg(fork, [[] for _ in range(7)])  # the same heights again, without the movements
    clock.advance(60)
    await rig.follow_until_idle()
    await rig.collector.poll_balances()  # read at B's fork+4: 100 again, as at 9
    clock.advance(16 * 60)
    await rig.collector.poll_balances()  # unchanged, but a chart point is due
    await engine.evaluate_once()

    assert await rig.store.transfers(address) == []
    history = await rig.store.balance_history(address, 0)
    # The readings of branch A are gone (the processed one and the one above the cursor).
    assert [(b.block_number, b.free) for b in history] == [(9, 100 * AI3), (fork + 4, 100 * AI3)]
    assert history[-1].block_hash == chain.canonical[fork + 4]
    assert await balance_alerts(db) == []
