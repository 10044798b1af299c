"""Chain facts about watched wallets, as the parser and the store exchange them.

Amounts are exact integers of the smallest unit (1 AI3 = 10**18); addresses are ``su…`` SS58.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class BlockHeader:
    number: int
    hash: str
    parent_hash: str


@dataclass(frozen=True, slots=True)
class ChainBlock:
    """A processed block; ``timestamp_us`` is its ``Timestamp.Now`` (None if unreadable)."""

    number: int
    hash: str
    parent_hash: str
    timestamp_us: int | None


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class RewardKind(StrEnum):
    BLOCK = "block"
    VOTE = "vote"
    FEES = "fees"


@dataclass(frozen=True, slots=True)
class Transfer:
    """A ``Balances.Transfer`` seen from one watched ``address``."""

    address: str
    direction: Direction
    counterparty: str
    amount: int
    block_number: int
    block_hash: str
    event_index: int
    extrinsic_index: int | None
    timestamp_us: int | None

    @property
    def dedupe_key(self) -> str:
        # One announcement per event, even when both sides are watched wallets.
        return f"transfer:{self.block_hash}:{self.event_index}"


@dataclass(frozen=True, slots=True)
class ChainReward:
    """``Rewards.BlockReward``/``VoteReward`` or ``TransactionFees.BlockFees`` for ``address``.

    For fees ``amount`` is storage + compute + tips.
    """

    address: str
    kind: RewardKind
    amount: int
    block_number: int
    block_hash: str
    event_index: int
    timestamp_us: int | None

    @property
    def dedupe_key(self) -> str:
        return f"reward:{self.block_hash}:{self.event_index}"


@dataclass(frozen=True, slots=True)
class BlockActivity:
    """What one block means for the watched wallets."""

    block: ChainBlock
    transfers: tuple[Transfer, ...]
    rewards: tuple[ChainReward, ...]
    unreadable_events: int = 0

    @property
    def empty(self) -> bool:
        return not self.transfers and not self.rewards


@dataclass(frozen=True, slots=True)
class AccountBalance:
    address: str
    free: int
    reserved: int
    frozen: int

    @property
    def total(self) -> int:
        return self.free + self.reserved


@dataclass(frozen=True, slots=True)
class BalanceSnapshot:
    address: str
    ts_us: int
    block_number: int | None
    free: int
    reserved: int
    frozen: int


@dataclass(frozen=True, slots=True)
class StoredReward:
    """A chain reward as stored, with what it was linked to."""

    reward: ChainReward
    farmer_id: int | None
    farm_id: str | None


@dataclass(frozen=True, slots=True)
class Gap:
    """Blocks never scanned (downtime longer than the look-back); shown, never hidden."""

    from_block: int
    to_block: int
    detected_us: int
    reason: str

    @property
    def blocks(self) -> int:
        return self.to_block - self.from_block + 1


@dataclass(frozen=True, slots=True)
class WatchedWallet:
    address: str
    label: str
    farmer_id: int | None
    start_block: int | None
    scan_back_blocks: int
    scan_back_done: bool


@dataclass(frozen=True, slots=True)
class ChainInfo:
    url: str
    chain: str
    ss58_prefix: int
    spec_name: str
    spec_version: int
