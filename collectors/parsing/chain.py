"""Pure extraction: decoded ``System.Events`` records -> transfers and rewards of watched wallets.

Records are what scalecodec decodes from the runtime metadata: dicts with ``event`` (or the same
keys flattened) holding ``module_id``, ``event_id`` and ``attributes``; accounts appear as ``0x``
hex or SS58 depending on the client's configuration, so both are accepted. The matching
``Balances.Deposit`` of a reward (and the withdrawal of a fee) is explained by it, so money is
counted once; a deposit or withdrawal nothing explains is a movement of its own.

Event shapes are checked against the Chronos genesis metadata (tests encode every event with
it): ``Balances.Deposit/Withdraw{who, amount}``, ``TransactionPayment.TransactionFeePaid{who,
actual_fee, tip}`` (``actual_fee`` includes the tip), ``Transporter.*Transfer*{chain_id,
message_id, amount}``, ``Domains.OperatorRewarded{source, operator_id, reward}``,
``OperatorTaxCollected{operator_id, tax}``, ``OperatorSlashed{operator_id, reason}`` match the
current source. ``Domains.OperatorOffline{operator_id, domain_id, submitted_bundles,
expectations}`` exists only in the current source, not in the genesis metadata.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from collectors.chain.ss58 import AddressError, account_to_address
from collectors.models.chain import (
    BlockActivity,
    ChainBlock,
    ChainReward,
    Direction,
    IncidentKind,
    Movement,
    MovementKind,
    OperatorIncident,
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


@dataclass
class _Flow:
    """A Balances.Deposit (+) or Withdraw (-) of a watched account, until something explains it."""

    index: int
    address: str
    amount: int
    incoming: bool
    group: object
    explained: bool = False


# Balance events that change an account's total (free + reserved) on their own.
_FLOW_EVENTS = {
    "Deposit": ("who", True),
    "Minted": ("who", True),
    "Withdraw": ("who", False),
    "Burned": ("who", False),
    "Slashed": ("who", False),
    "DustLost": ("account", False),
}
_INCIDENT_EVENTS = {
    "OperatorSlashed": IncidentKind.SLASHED,
    "OperatorOffline": IncidentKind.OFFLINE,
}
_OPERATOR_INCOME = {
    "OperatorRewarded": (MovementKind.OPERATOR_REWARD, "reward"),
    "OperatorTaxCollected": (MovementKind.OPERATOR_TAX, "tax"),
}


def _group(record: Mapping[str, Any]) -> object:
    """Events of one extrinsic (or of initialization/finalization) belong together."""
    extrinsic = record.get("extrinsic_idx")
    if isinstance(extrinsic, int) and not isinstance(extrinsic, bool):
        return extrinsic
    phase = record.get("phase")
    return phase if isinstance(phase, str) else repr(phase)


def _flow_kind(neighbours: Sequence[tuple[str, str]], incoming: bool) -> tuple[MovementKind, str]:
    """Name a deposit/withdrawal by the event beside it in the same extrinsic or phase."""
    wanted = "IncomingTransferSuccessful" if incoming else "OutgoingTransferInitiated"
    for module, name in neighbours:
        if module == "Transporter" and name == wanted:
            return (MovementKind.XDM_IN if incoming else MovementKind.XDM_OUT), f"{module}.{name}"
    for module, name in neighbours:
        if module == "Domains":
            return MovementKind.STAKING, f"{module}.{name}"
    return MovementKind.OTHER, ""


def _take(flows: Sequence[_Flow], address: str, amount: int, incoming: bool, group: object) -> bool:
    for flow in flows:
        if (flow.address, flow.amount, flow.incoming, flow.group) == (
            address,
            amount,
            incoming,
            group,
        ) and not flow.explained:
            flow.explained = True
            return True
    return False


def _take_fee(flows: Sequence[_Flow], address: str, fee: int, group: object) -> None:
    """The fee's withdrawal, less the refund deposited back (if any), equals the fee paid."""
    mine = [f for f in flows if f.address == address and f.group == group and not f.explained]
    for withdrawal in (f for f in mine if not f.incoming):
        if withdrawal.amount == fee:
            withdrawal.explained = True
            return
        for refund in (f for f in mine if f.incoming):
            if withdrawal.amount - refund.amount == fee:
                withdrawal.explained = refund.explained = True
                return


def extract_activity(
    block: ChainBlock,
    records: Sequence[Mapping[str, Any]],
    watched: frozenset[str],
    operators: Mapping[int, str] | None = None,
) -> BlockActivity:
    """Transfers, rewards and other movements of ``watched`` (``su…``) addresses in one block.

    ``event_index`` is the record's position in ``System.Events`` (what explorers show as
    ``<block>-<index>``). A ``Balances.Deposit``/``Withdraw`` that a reward, a fee or nothing
    else in the same extrinsic explains becomes a :class:`Movement` named by the event beside
    it. ``operators`` maps operator ids to the watched address running them. Records that
    cannot be read are counted, not raised.
    """
    operators = operators or {}
    transfers: list[Transfer] = []
    rewards: list[ChainReward] = []
    movements: list[Movement] = []
    incidents: list[OperatorIncident] = []
    flows: list[_Flow] = []
    fees: list[tuple[int, str, int, object]] = []
    neighbours: dict[object, list[tuple[str, str]]] = {}
    unreadable = 0

    def movement(
        address: str,
        kind: MovementKind,
        direction: Direction,
        amount: int,
        *,
        index: int,
        source: str = "",
        operator_id: int | None = None,
    ) -> Movement:
        return Movement(
            address=address,
            kind=kind,
            direction=direction,
            amount=amount,
            block_number=block.number,
            block_hash=block.hash,
            event_index=index,
            timestamp_us=block.timestamp_us,
            source=source,
            operator_id=operator_id,
        )

    for index, record in enumerate(records):
        try:
            module, name, attrs = _event_parts(record)
            group = _group(record)
            neighbours.setdefault(group, []).append((module, name))
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
            elif module == "Balances" and name in _FLOW_EVENTS:
                account_field, incoming = _FLOW_EVENTS[name]
                address = account_to_address(attrs[account_field])
                if address in watched:
                    flows.append(_Flow(index, address, _amount(attrs["amount"]), incoming, group))
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
            elif (module, name) == ("TransactionPayment", "TransactionFeePaid"):
                address = account_to_address(attrs["who"])
                if address in watched:
                    fees.append((index, address, _amount(attrs["actual_fee"]), group))
            elif module == "Domains" and name in _OPERATOR_INCOME:
                operator_id = _amount(attrs["operator_id"])
                if operator_id in operators:
                    income, field = _OPERATOR_INCOME[name]
                    movements.append(
                        movement(
                            operators[operator_id],
                            income,
                            Direction.IN,
                            _amount(attrs[field]),
                            index=index,
                            source=f"{module}.{name}",
                            operator_id=operator_id,
                        )
                    )
            elif module == "Domains" and name in _INCIDENT_EVENTS:
                operator_id = _amount(attrs["operator_id"])
                if operator_id in operators:
                    detail = {k: v for k, v in attrs.items() if k != "operator_id"}
                    incidents.append(
                        OperatorIncident(
                            address=operators[operator_id],
                            operator_id=operator_id,
                            kind=_INCIDENT_EVENTS[name],
                            detail=_describe(detail),
                            block_number=block.number,
                            block_hash=block.hash,
                            event_index=index,
                            timestamp_us=block.timestamp_us,
                        )
                    )
        except (KeyError, TypeError, AddressError):
            unreadable += 1

    # A reward's own Balances.Deposit (same account and amount, same phase) is the reward.
    for r in rewards:
        group = _group(records[r.event_index])
        _take(flows, r.address, r.amount, True, group)
    for index, address, fee, group in fees:
        _take_fee(flows, address, fee, group)
        movements.append(movement(address, MovementKind.FEE, Direction.OUT, fee, index=index))
    for flow in flows:
        if flow.explained:
            continue
        named, source = _flow_kind(neighbours.get(flow.group, []), flow.incoming)
        direction = Direction.IN if flow.incoming else Direction.OUT
        movements.append(
            movement(flow.address, named, direction, flow.amount, index=flow.index, source=source)
        )
    movements.sort(key=lambda m: m.event_index)
    return BlockActivity(
        block, tuple(transfers), tuple(rewards), unreadable, tuple(movements), tuple(incidents)
    )


def _describe(value: Any) -> str:
    """A decoded event field as short text (a slash reason is an enum dict)."""
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_describe(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_describe(v) for v in value)
    return str(value)


def timestamp_us(moment_ms: Any) -> int | None:
    """``Timestamp.Now`` (milliseconds) as microseconds; None when absent or zero."""
    if isinstance(moment_ms, int) and not isinstance(moment_ms, bool) and moment_ms > 0:
        return moment_ms * 1000
    return None
