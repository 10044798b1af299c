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


class MovementKind(StrEnum):
    """Money that moved without a ``Balances.Transfer`` or a farming reward."""

    XDM_IN = "xdm_in"  # Transporter.IncomingTransferSuccessful beside a Balances.Deposit
    XDM_OUT = "xdm_out"  # Transporter.OutgoingTransferInitiated beside a Balances.Withdraw
    STAKING = "staking"  # a Domains.* event beside the deposit or withdrawal
    OTHER = "other"  # nothing beside it says why
    FEE = "fee"  # TransactionPayment.TransactionFeePaid: the wallet paid for a transaction
    # Income of an operator the wallet runs (paid into its stake, not its free balance).
    OPERATOR_REWARD = "operator_reward"
    OPERATOR_TAX = "operator_tax"


# Operator income goes to the operator's stake: it does not change the account's balance.
STAKE_ONLY = frozenset({MovementKind.OPERATOR_REWARD, MovementKind.OPERATOR_TAX})


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
class Movement:
    """A deposit, withdrawal, fee or operator income of a watched ``address`` (see MovementKind).

    ``source`` names the event that says why (``Transporter.IncomingTransferSuccessful``), empty
    when nothing does; ``operator_id`` is set for operator income.
    """

    address: str
    kind: MovementKind
    direction: Direction
    amount: int
    block_number: int
    block_hash: str
    event_index: int
    timestamp_us: int | None
    source: str = ""
    operator_id: int | None = None

    @property
    def dedupe_key(self) -> str:
        return f"movement:{self.block_hash}:{self.event_index}:{self.address}"

    @property
    def signed_amount(self) -> int:
        """The change of the account's balance (zero for income paid into a stake)."""
        if self.kind in STAKE_ONLY:
            return 0
        return self.amount if self.direction is Direction.IN else -self.amount


class IncidentKind(StrEnum):
    SLASHED = "slashed"
    OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class OperatorIncident:
    """``Domains.OperatorSlashed``/``OperatorOffline`` of an operator a wallet runs."""

    address: str
    operator_id: int
    kind: IncidentKind
    detail: str
    block_number: int
    block_hash: str
    event_index: int
    timestamp_us: int | None


@dataclass(frozen=True, slots=True)
class BlockActivity:
    """What one block means for the watched wallets."""

    block: ChainBlock
    transfers: tuple[Transfer, ...]
    rewards: tuple[ChainReward, ...]
    unreadable_events: int = 0
    movements: tuple[Movement, ...] = ()
    incidents: tuple[OperatorIncident, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.transfers or self.rewards or self.movements or self.incidents)


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
    """A balance as of the end of block ``block_number`` (``block_hash``: read at that hash).

    Rows without a hash are from before balances were read at a block, stamped with a block
    number they were not read at: shown, never compared against movements.
    """

    address: str
    ts_us: int
    block_number: int | None
    free: int
    reserved: int
    frozen: int
    block_hash: str | None = None


@dataclass(frozen=True, slots=True)
class StoredReward:
    """A chain reward as stored, with what it was linked to."""

    reward: ChainReward
    farmer_id: int | None
    farm_id: str | None

    @property
    def dedupe_key(self) -> str:
        return self.reward.dedupe_key


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
