"""What cosmos says about a win seen in a farmer log: at once, then as the chain tells.

A "Successfully signed reward hash" line is announced within the delivery interval (farm,
farmer, host; the amount is not known yet). The same message is edited when the chain credits
the win (block or vote reward to the farmer's wallet near that time), or marked "signed but not
credited" when it does not within the window; a reorg that drops the credit says so.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from collectors.format import ai3, short_address, short_id
from collectors.models.chain import RewardKind
from collectors.models.notify import Notification, Severity, Topic

_KIND = {RewardKind.BLOCK: "Block reward", RewardKind.VOTE: "Vote reward"}


def win_key(reward_hash: str) -> str:
    """One key per win: the same line read from a file and a container is one message."""
    return f"win:{reward_hash}"


@dataclass(frozen=True, slots=True)
class SignedWin:
    reward_hash: str
    ts_us: int
    farm_id: str | None
    farmer: str | None
    host: str | None
    wallet_watched: bool


@dataclass(frozen=True, slots=True)
class Credit:
    kind: RewardKind
    amount: int
    block_number: int
    wallet: str  # label, or the short address


def _who(win: SignedWin) -> str:
    farm = f"farm {short_id(win.farm_id)}" if win.farm_id else "a farm"
    return f"{farm} of {win.farmer}" if win.farmer else farm


def signed_notification(win: SignedWin) -> Notification:
    fields = [("Farm", win.farm_id or "?"), ("Farmer", win.farmer or "?")]
    if win.host:
        fields.append(("Host", win.host))
    body = (
        "The amount follows when the chain credits it."
        if win.wallet_watched
        else "No wallet is watched for this farmer, so the amount is not known here."
    )
    return Notification(
        dedupe_key=win_key(win.reward_hash),
        topic=Topic.REWARDS,
        severity=Severity.SUCCESS,
        title=f"Reward signed by {_who(win)}",
        body=body,
        fields=tuple(fields),
        occurred_us=win.ts_us,
    )


def _without(fields: tuple[tuple[str, str], ...], *names: str) -> tuple[tuple[str, str], ...]:
    return tuple(f for f in fields if f[0] not in names)


def credited(signed: Notification, credit: Credit) -> Notification:
    amount = ai3(credit.amount)
    title = signed.title.replace("Reward signed by", f"{_KIND[credit.kind]} {amount} —", 1)
    return dataclasses.replace(
        signed,
        title=title,
        severity=Severity.SUCCESS,
        body=f"Credited on chain in block #{credit.block_number}.",
        fields=(
            ("Amount", amount),
            ("Kind", _KIND[credit.kind].split()[0].lower()),
            *_without(signed.fields, "Amount", "Kind", "Block", "Wallet"),
            ("Wallet", credit.wallet),
            ("Block", f"#{credit.block_number}"),
        ),
    )


def not_credited(signed: Notification, window_s: float) -> Notification:
    return dataclasses.replace(
        signed,
        title=signed.title.replace("Reward signed by", "Signed but not credited:", 1),
        severity=Severity.WARNING,
        body=(
            f"The farmer signed this reward, but no block or vote reward reached the wallet "
            f"within {window_s:.0f} s of it: the block was not included, or the vote came too "
            "late. It earned nothing."
        ),
    )


def credit_undone(signed: Notification) -> Notification:
    return dataclasses.replace(
        signed,
        title=f"~~{signed.title}~~",
        severity=Severity.WARNING,
        body="The chain reorganised (a reorg) and dropped the block that credited this win; "
        "it is not counted. Waiting for the chain again.",
    )


def wallet_name(label: str | None, address: str) -> str:
    return f"{label} ({short_address(address)})" if label else short_address(address)
