"""Every way money moves, the operator a wallet runs, and the low-balance alert, on the fake node.

The events are SCALE-encoded by the fake node from the real Chronos metadata and decoded by the
real client, so each event's shape is the one the runtime declares.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.embeds import wallet_embeds
from collectors.alerts.engine import AlertEngine, build_alert_engine
from collectors.clock import FakeClock
from collectors.models.chain import (
    ChainBlock,
    Direction,
    IncidentKind,
    MovementKind,
)
from collectors.models.notify import Severity, Topic
from collectors.parsing.chain import extract_activity
from collectors.settings import AlertsSettings, Wallet
from collectors.store.alerts import AlertInputReader
from collectors.store.database import Database
from collectors.store.outbox import OutboxStore
from collectors.store.views.wallets import WalletReads
from tests.collectors.wallets.conftest import (
    AI3,
    ALICE,
    ALICE_KEY,
    BOB_KEY,
    Rig,
    make_rig,
)
from tests.conftest import needs_chain
from tests.fakes.rpc_node import (
    Balance,
    FakeRpcNode,
    block_reward,
    deposit,
    deposit_in,
    domains_event,
    paid_transfer,
    withdraw,
    xdm_in,
    xdm_out,
)

pytestmark = needs_chain

FEE = AI3 // 1000
OPERATOR = 3


@pytest.fixture
async def operator_rig(db: Database, node: FakeRpcNode, clock: FakeClock) -> AsyncIterator[Rig]:
    wallet = Wallet(address=ALICE, label="alice", farmer="farmer-a", operator_id=OPERATOR)
    r = await make_rig(db, node, clock, accounts=[wallet])
    try:
        yield r
    finally:
        await r.client.close()


def alert_engine(db: Database, clock: FakeClock) -> AlertEngine:
    return build_alert_engine(db, AlertsSettings(summary_enabled=False), clock)


async def alerts(db: Database, rule: str) -> list[tuple[str, dict[str, Any]]]:
    async with db.conn.execute(
        "SELECT dedupe_key, payload FROM outbox WHERE dedupe_key LIKE ? ORDER BY id",
        (f"alert:{rule}:%",),
    ) as cur:
        rows = await cur.fetchall()
    return [
        (r["dedupe_key"].rpartition(":")[2].split("-")[0], json.loads(r["payload"])) for r in rows
    ]


def every_way() -> list[dict[str, Any]]:
    return [
        *paid_transfer(ALICE_KEY, BOB_KEY, 10 * AI3, FEE, extrinsic=1),  # 0-3
        *xdm_in(ALICE_KEY, 3 * AI3, extrinsic=2),  # 4-5
        *xdm_out(ALICE_KEY, 2 * AI3, extrinsic=3),  # 6-7
        withdraw(ALICE_KEY, 5 * AI3, extrinsic=4),  # 8: staked
        domains_event(
            "OperatorNominated",
            {"operator_id": OPERATOR, "nominator_id": "0x" + ALICE_KEY.hex(), "amount": 5 * AI3},
            extrinsic=4,
        ),
        deposit_in(ALICE_KEY, AI3, extrinsic=5),  # 10: nothing beside it says why
        deposit(ALICE_KEY, AI3 // 10),  # 11: the block reward's own deposit
        block_reward(ALICE_KEY, AI3 // 10),  # 12
        domains_event(
            "OperatorRewarded",
            {"source": "XDMProtocolFees", "operator_id": OPERATOR, "reward": 7 * AI3},
        ),  # 13
        domains_event("OperatorTaxCollected", {"operator_id": OPERATOR, "tax": AI3}),  # 14
        domains_event(
            "OperatorRewarded", {"source": "XDMProtocolFees", "operator_id": 4, "reward": 1}
        ),
        domains_event("OperatorSlashed", {"operator_id": OPERATOR, "reason": {"InvalidBundle": 5}}),
    ]


async def test_every_way_money_moves_is_stored_told_counted_and_shown(
    operator_rig: Rig, db: Database, clock: FakeClock
) -> None:
    rig = operator_rig
    rig.node.chain.balances[ALICE_KEY] = Balance(free=100 * AI3)
    engine = alert_engine(db, clock)
    await rig.follow_until_idle()
    await rig.collector.poll_balances()
    block_hash = rig.node.chain.add_block(every_way())  # block 10
    rig.node.chain.add_blocks(3)
    await rig.follow_until_idle()
    await rig.collector.poll_balances()

    moved = sorted(await rig.store.movements(ALICE), key=lambda m: m.event_index)
    assert [(m.kind, m.direction, m.amount, m.event_index, m.source) for m in moved] == [
        (MovementKind.FEE, Direction.OUT, FEE, 3, ""),
        (MovementKind.XDM_IN, Direction.IN, 3 * AI3, 4, "Transporter.IncomingTransferSuccessful"),
        (MovementKind.XDM_OUT, Direction.OUT, 2 * AI3, 6, "Transporter.OutgoingTransferInitiated"),
        (MovementKind.STAKING, Direction.OUT, 5 * AI3, 8, "Domains.OperatorNominated"),
        (MovementKind.OTHER, Direction.IN, AI3, 10, ""),
        (MovementKind.OPERATOR_REWARD, Direction.IN, 7 * AI3, 13, "Domains.OperatorRewarded"),
        (MovementKind.OPERATOR_TAX, Direction.IN, AI3, 14, "Domains.OperatorTaxCollected"),
    ]
    assert moved[5].operator_id == OPERATOR

    # Told like transfers, through the outbox; the fee is stored, not told.
    items = await OutboxStore(db).due(clock.now_us() + 10**12, limit=100)
    told = {i.notification.dedupe_key: i.notification for i in items}
    movement_keys = {k for k in told if k.startswith("movement:")}
    assert movement_keys == {f"movement:{block_hash}:{i}:{ALICE}" for i in (4, 6, 8, 10, 13, 14)}
    xdm = told[f"movement:{block_hash}:4:{ALICE}"]
    assert xdm.topic is Topic.TRANSFERS
    assert xdm.severity is Severity.SUCCESS
    assert xdm.title == "alice received 3 AI3 from another domain (XDM)"
    assert told[f"movement:{block_hash}:8:{ALICE}"].title == "alice staked 5 AI3"
    assert told[f"movement:{block_hash}:13:{ALICE}"].title == "alice operator earned 7 AI3"

    # The balance moved by exactly what is on record: no "dropped" alert. The slash alerts.
    await engine.evaluate_once()
    assert await alerts(db, "balance_drop") == []
    [(what, payload)] = await alerts(db, "operator_incident")
    assert what == "fire"
    assert payload["severity"] == "error"
    assert payload["title"] == f"Operator {OPERATOR} of alice was slashed"
    assert "InvalidBundle: 5" in str(payload["body"])

    # Shown in /wallet and counted in its totals (transfer + XDM + staking + other).
    [view] = await WalletReads(db).all(clock.now_us() + 60_000_000)
    assert [(m.kind, m.direction, m.amount) for m in view.movements][:4] == [
        ("operator tax", "in", AI3),
        ("operator reward", "in", 7 * AI3),
        ("other", "in", AI3),
        ("staking", "out", 5 * AI3),
    ]
    assert all(m.kind != "fee" for m in view.movements)
    shown = wallet_embeds(view, "https://autonomys.subscan.io")[0].to_dict()
    movements_field = next(
        f for f in shown.get("fields", []) if f["name"].startswith("Other movements")
    )
    assert "(XDM in)" in movements_field["value"]
    assert "Moved in 24 h: in 4 AI3, out 17 AI3" in shown["description"]
    assert view.moved_in_24h == 3 * AI3 + AI3
    assert view.moved_out_24h == 10 * AI3 + 2 * AI3 + 5 * AI3
    # …and in the daily summary's money in and out.
    now = clock.now_us()
    day_us = 86_400_000_000
    summary = await AlertInputReader(db).summary("today", "UTC", now - day_us, now + day_us)
    [day] = summary.wallets
    assert (day.transfers_in, day.transfers_out) == (view.moved_in_24h, view.moved_out_24h)


def test_operator_offline_from_a_newer_runtime() -> None:
    """``OperatorOffline`` is in the current source, not in the genesis metadata: decoded form."""
    block = ChainBlock(5, "0x05", "0x04", 1)
    record = {
        "phase": "Finalization",
        "event": {
            "module_id": "Domains",
            "event_id": "OperatorOffline",
            "attributes": {
                "operator_id": OPERATOR,
                "domain_id": 0,
                "submitted_bundles": 2,
                "expectations": {"min_required_bundles": 9, "expected_bundles": 12},
            },
        },
    }
    activity = extract_activity(block, [record], frozenset({ALICE}), {OPERATOR: ALICE})
    [incident] = activity.incidents
    assert (incident.kind, incident.operator_id, incident.address) == (
        IncidentKind.OFFLINE,
        OPERATOR,
        ALICE,
    )
    assert "submitted_bundles: 2" in incident.detail
    assert extract_activity(block, [record], frozenset({ALICE})).incidents == ()


async def test_low_balance_fires_reminds_and_resolves(
    db: Database, node: FakeRpcNode, clock: FakeClock
) -> None:
    wallet = Wallet(address=ALICE, label="alice", low_balance_ai3=5)
    rig = await make_rig(db, node, clock, accounts=[wallet])
    engine = alert_engine(db, clock)

    async def settle_and_judge(minutes: float) -> None:
        rig.node.chain.add_blocks(3)
        await rig.follow_until_idle()
        await rig.collector.poll_balances()
        for _ in range(int(minutes)):
            clock.advance(60)
            await engine.evaluate_once()

    try:
        node.chain.balances[ALICE_KEY] = Balance(free=10 * AI3)
        await settle_and_judge(2)
        assert await alerts(db, "low_balance") == []
        node.chain.add_block(paid_transfer(ALICE_KEY, BOB_KEY, 6 * AI3, FEE))
        await settle_and_judge(2)
        [(what, payload)] = await alerts(db, "low_balance")
        assert what == "fire"
        assert payload["title"].startswith("Balance of alice is low: 3.999")
        await settle_and_judge(61)  # still low an hour later: one reminder
        assert [w for w, _ in await alerts(db, "low_balance")] == ["fire", "remind"]
        node.chain.add_block(xdm_in(ALICE_KEY, 20 * AI3))
        await settle_and_judge(10)  # topped up: resolved after the resolve grace
        assert [w for w, _ in await alerts(db, "low_balance")] == ["fire", "remind", "resolve"]
    finally:
        await rig.client.close()


async def test_no_low_balance_alert_without_a_threshold(
    rig: Rig, db: Database, clock: FakeClock
) -> None:
    rig.node.chain.balances[ALICE_KEY] = Balance(free=0)
    rig.node.chain.add_blocks(3)
    await rig.follow_until_idle()
    await rig.collector.poll_balances()
    await alert_engine(db, clock).evaluate_once()
    assert await alerts(db, "low_balance") == []
