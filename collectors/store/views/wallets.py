"""Watched wallets: balance, recent transfers, other movements and chain rewards."""

from __future__ import annotations

from collectors.models.chain import MovementKind
from collectors.models.views import (
    BalancePoint,
    KindTotal,
    TransferEntry,
    WalletDetail,
    WalletView,
)
from collectors.store.views._base import DAY_US, HI_LO, ReadBase
from collectors.store.wallets import WalletStore

MOVEMENT_NAMES = {
    MovementKind.XDM_IN: "XDM in",
    MovementKind.XDM_OUT: "XDM out",
    MovementKind.STAKING: "staking",
    MovementKind.OTHER: "other",
    MovementKind.FEE: "fee",
    MovementKind.OPERATOR_REWARD: "operator reward",
    MovementKind.OPERATOR_TAX: "operator tax",
}


class WalletReads(ReadBase):
    async def all(self, now_us: int, label: str | None = None) -> list[WalletView]:
        if "wallets" not in await self.tables():
            return []
        store = WalletStore(self._db)
        watched = [
            w for w in await store.wallets() if label is None or label in (w.label, w.address)
        ]
        balances = await store.latest_balances()
        views = []
        for w in watched:
            balance = balances.get(w.address)
            transfers = await store.transfers(w.address, limit=10)
            rewards = await store.chain_rewards(now_us - 7 * DAY_US, now_us + 1, address=w.address)
            day = [r for r in rewards if (r.reward.timestamp_us or 0) >= now_us - DAY_US]
            movements = [
                m
                for m in await store.movements(w.address, limit=50)
                if m.kind is not MovementKind.FEE
            ][:10]
            moved_in = moved_out = 0
            for t in await store.transfers(w.address, since_us=now_us - DAY_US, limit=10_000):
                if t.direction.value == "in":
                    moved_in += t.amount
                else:
                    moved_out += t.amount
            for m in await store.movements(w.address, since_us=now_us - DAY_US, limit=10_000):
                if m.kind is MovementKind.FEE or not m.signed_amount:
                    continue
                if m.signed_amount > 0:
                    moved_in += m.amount
                else:
                    moved_out += m.amount
            views.append(
                WalletView(
                    label=w.label,
                    address=w.address,
                    balance=balance.free + balance.reserved if balance else None,
                    balance_us=balance.ts_us if balance else None,
                    transfers=tuple(
                        TransferEntry(
                            ts_us=t.timestamp_us,
                            block=t.block_number,
                            direction=t.direction.value,
                            counterparty=t.counterparty,
                            amount=t.amount,
                            extrinsic=(
                                f"{t.block_number}-{t.extrinsic_index}"
                                if t.extrinsic_index is not None
                                else None
                            ),
                        )
                        for t in transfers
                    ),
                    rewards=tuple(
                        TransferEntry(
                            ts_us=r.reward.timestamp_us,
                            block=r.reward.block_number,
                            direction="in",
                            counterparty=None,
                            amount=r.reward.amount,
                            extrinsic=None,
                        )
                        for r in reversed(rewards[-10:])
                    ),
                    rewards_24h_amount=sum(r.reward.amount for r in day),
                    movements=tuple(
                        TransferEntry(
                            ts_us=m.timestamp_us,
                            block=m.block_number,
                            direction=m.direction.value,
                            counterparty=None,
                            amount=m.amount,
                            extrinsic=None,
                            kind=MOVEMENT_NAMES[m.kind],
                        )
                        for m in movements
                    ),
                    moved_in_24h=moved_in,
                    moved_out_24h=moved_out,
                )
            )
        return views

    async def labels(self) -> list[str]:
        if "wallets" not in await self.tables():
            return []
        return [w.label for w in await WalletStore(self._db).wallets()]

    async def detail(self, address: str, now_us: int, days: int = 30) -> WalletDetail | None:
        """One wallet (by address or label): its view, balance history and rewards by kind."""
        found = [w for w in await self.all(now_us) if address in (w.address, w.label)]
        if not found:
            return None
        wallet = found[0]
        since = now_us - days * DAY_US
        # The last balance of each of ~200 time slices: a chart's worth, whatever the history.
        slice_us = max(1, days * DAY_US // 200)
        points = await self._rows(
            "SELECT ts_us, free, reserved FROM wallet_balances WHERE id IN (SELECT MAX(id)"
            " FROM wallet_balances WHERE address = ? AND ts_us >= ? AND ts_us <= ?"
            " GROUP BY ts_us / ?) ORDER BY ts_us",
            (wallet.address, since, now_us, slice_us),
        )
        kinds = await self._rows(
            f"SELECT kind, COUNT(*) AS n,{HI_LO} FROM chain_rewards"
            " WHERE address = ? AND ts_us >= ? AND ts_us <= ? GROUP BY kind ORDER BY kind",
            (wallet.address, since, now_us),
        )
        return WalletDetail(
            wallet=wallet,
            balance_history=tuple(
                BalancePoint(r["ts_us"], int(r["free"]) + int(r["reserved"])) for r in points
            ),
            rewards_by_kind=tuple(
                KindTotal(r["kind"], int(r["n"]), int(r["hi"]) * 10**9 + int(r["lo"]))
                for r in kinds
            ),
            history_since_us=since,
        )
