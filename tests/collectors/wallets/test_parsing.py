"""Event extraction from decoded System.Events records (own fixture; no chain files needed)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from collectors.chain import ss58
from collectors.models.chain import ChainBlock, Direction, RewardKind
from collectors.parsing.chain import extract_activity, timestamp_us
from tests.conftest import FIXTURES

ALICE = ss58.encode(bytes([1]) * 32)
BOB = ss58.encode(bytes([2]) * 32)
STRANGER = ss58.encode(bytes([9]) * 32)
AI3 = 10**18
BLOCK = ChainBlock(10, "0xabc", "0xparent", 1_750_406_460_000_000)


def records(form: str) -> list[dict[str, Any]]:
    data = json.loads((FIXTURES / "wallets" / "events_decoded.json").read_text())
    return list(data[form])


@pytest.mark.parametrize("form", ["hex", "ss58"])
def test_transfers_in_and_out_and_rewards_without_the_deposits(form: str) -> None:
    activity = extract_activity(BLOCK, records(form), frozenset({ALICE}))
    assert [
        (t.direction, t.counterparty, t.amount, t.event_index, t.extrinsic_index)
        for t in activity.transfers
    ] == [
        (Direction.IN, STRANGER, 25 * AI3, 1, 1),
        (Direction.OUT, BOB, 150 * AI3, 2, 2),
    ]
    assert [(r.kind, r.amount, r.event_index) for r in activity.rewards] == [
        (RewardKind.BLOCK, AI3 // 10, 5),
        (RewardKind.VOTE, AI3 // 100, 7),
        (RewardKind.FEES, 5 + 6 + 7, 8),
    ]
    assert all(t.block_hash == "0xabc" and t.block_number == 10 for t in activity.transfers)
    assert all(r.timestamp_us == BLOCK.timestamp_us for r in activity.rewards)
    assert activity.unreadable_events == 0


def test_both_sides_watched_gives_one_row_each_with_one_dedupe_key() -> None:
    activity = extract_activity(BLOCK, records("hex"), frozenset({ALICE, BOB}))
    event_2 = [t for t in activity.transfers if t.event_index == 2]
    assert {(t.address, t.direction) for t in event_2} == {
        (ALICE, Direction.OUT),
        (BOB, Direction.IN),
    }
    assert len({t.dedupe_key for t in event_2}) == 1
    assert event_2[0].dedupe_key == "transfer:0xabc:2"


def test_unwatched_block_is_empty() -> None:
    activity = extract_activity(BLOCK, records("hex"), frozenset({ss58.encode(bytes(32))}))
    assert activity.empty


def test_garbled_records_are_counted_not_raised() -> None:
    bad: list[dict[str, Any]] = [
        {"event": {"module_id": "Balances", "event_id": "Transfer", "attributes": {"from": "x"}}},
        {"event": {"module_id": "Rewards", "event_id": "VoteReward", "attributes": ["pos"]}},
        {"event": "nonsense"},
        {
            "event": {
                "module_id": "Rewards",
                "event_id": "VoteReward",
                "attributes": {"voter": "0x" + "01" * 32, "reward": "12"},
            }
        },
    ]
    activity = extract_activity(BLOCK, bad + records("hex"), frozenset({ALICE}))
    assert activity.unreadable_events == 4
    assert len(activity.transfers) == 2  # the good records still count
    assert activity.transfers[0].event_index == 1 + len(bad)


def test_timestamp_from_milliseconds() -> None:
    assert timestamp_us(1_750_406_460_000) == 1_750_406_460_000_000
    assert timestamp_us(0) is None
    assert timestamp_us(None) is None
