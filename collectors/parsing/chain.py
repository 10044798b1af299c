"""Pure extraction: decoded ``System.Events`` records -> transfers and rewards of watched wallets.

Records are what scalecodec decodes from the runtime metadata: dicts with ``event`` (or the same
keys flattened) holding ``module_id``, ``event_id`` and ``attributes``; accounts appear as ``0x``
hex or SS58 depending on the client's configuration, so both are accepted. The matching
``Balances.Deposit`` of a reward is deliberately ignored so a reward is counted once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from collectors.chain.ss58 import AddressError, account_to_address
from collectors.models.chain import (
    BlockActivity,
    ChainBlock,
    ChainReward,
    Direction,
    RewardKind,
    Transfer,
)

_REWARD_EVENTS = {
    ("Rewards", "BlockReward"): (RewardKind.BLOCK, "block_author", ("reward",)),
    ("Rewards", "VoteReward"): (RewardKind.VOTE, "voter", ("reward",)),
    ("TransactionFees", "BlockFees"): (RewardKind.FEES, "who", ("storage", "compute", "tips")),
}


def _event_parts(record: Mapping[str, Any]) -> tuple[str, str, Mapping[str, Any]]:
    event = record.get("event", record)
    if not isinstance(event, Mapping):
        raise TypeError("event is not a mapping")
    module, name, attributes = event["module_id"], event["event_id"], event["attributes"]
    if not isinstance(attributes, Mapping):
        raise TypeError(f"{module}.{name} attributes are positional, not named")
    return str(module), str(name), attributes


def _amount(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"amount {value!r} is not an integer")
    return value


def extract_activity(
    block: ChainBlock, records: Sequence[Mapping[str, Any]], watched: frozenset[str]
) -> BlockActivity:
    """Transfers in/out and rewards for ``watched`` (``su…``) addresses in one block.

    ``event_index`` is the record's position in ``System.Events`` (what explorers show as
    ``<block>-<index>``). Records that cannot be read are counted, not raised.
    """
    transfers: list[Transfer] = []
    rewards: list[ChainReward] = []
    unreadable = 0
    for index, record in enumerate(records):
        try:
            module, name, attrs = _event_parts(record)
            if (module, name) == ("Balances", "Transfer"):
                sender = account_to_address(attrs["from"])
                receiver = account_to_address(attrs["to"])
                amount = _amount(attrs["amount"])
                extrinsic = record.get("extrinsic_idx")
                for address, direction, counterparty in (
                    (sender, Direction.OUT, receiver),
                    (receiver, Direction.IN, sender),
                ):
                    if address in watched:
                        transfers.append(
                            Transfer(
                                address=address,
                                direction=direction,
                                counterparty=counterparty,
                                amount=amount,
                                block_number=block.number,
                                block_hash=block.hash,
                                event_index=index,
                                extrinsic_index=extrinsic if isinstance(extrinsic, int) else None,
                                timestamp_us=block.timestamp_us,
                            )
                        )
            elif (module, name) in _REWARD_EVENTS:
                kind, account_field, amount_fields = _REWARD_EVENTS[(module, name)]
                address = account_to_address(attrs[account_field])
                if address in watched:
                    rewards.append(
                        ChainReward(
                            address=address,
                            kind=kind,
                            amount=sum(_amount(attrs[f]) for f in amount_fields),
                            block_number=block.number,
                            block_hash=block.hash,
                            event_index=index,
                            timestamp_us=block.timestamp_us,
                        )
                    )
        except (KeyError, TypeError, AddressError):
            unreadable += 1
    return BlockActivity(block, tuple(transfers), tuple(rewards), unreadable)


def timestamp_us(moment_ms: Any) -> int | None:
    """``Timestamp.Now`` (milliseconds) as microseconds; None when absent or zero."""
    if isinstance(moment_ms, int) and not isinstance(moment_ms, bool) and moment_ms > 0:
        return moment_ms * 1000
    return None
