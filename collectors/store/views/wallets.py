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
from collectors.store.views.rewards import RewardReads
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

_OWN_REWARDS = "address = ? AND ts_us >= ? AND ts_us <= ? AND kind IN ('block', 'vote')"


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
            # The last 10 block and vote rewards of the week, newest first, and the day's sum.
            rewards = await self._rows(
                f"SELECT ts_us, block_number, amount FROM chain_rewards WHERE {_OWN_REWARDS}"
                " ORDER BY ts_us DESC, block_number DESC, event_index DESC LIMIT 10",
                (w.address, now_us - 7 * DAY_US, now_us),
            )
            (day,) = await self._rows(
                f"SELECT {HI_LO} FROM chain_rewards WHERE {_OWN_REWARDS}",
                (w.address, now_us - DAY_US, now_us),
            )
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
                            ts_us=r["ts_us"],
                            block=r["block_number"],
                            direction="in",
                            counterparty=None,
                            amount=int(r["amount"]),
                            extrinsic=None,
                        )
                        for r in rewards
                    ),
                    rewards_24h_amount=int(day["hi"] or 0) * 10**9 + int(day["lo"] or 0),
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
        since = (now_us // DAY_US - (days - 1)) * DAY_US  # whole UTC days, today partial
        # The last balance of each of ~200 time slices: a chart's worth, whatever the history.
        slice_us = max(1, days * DAY_US // 200)
        points = await self._rows(
            "SELECT ts_us, free, reserved FROM wallet_balances WHERE id IN (SELECT MAX(id)"
            " FROM wallet_balances WHERE address = ? AND ts_us >= ? AND ts_us <= ?"
            " GROUP BY ts_us / ?) ORDER BY ts_us",
            (wallet.address, since, now_us, slice_us),
        )
        kinds = await self._kinds(wallet.address, since, now_us)
        return WalletDetail(
            wallet=wallet,
            balance_history=tuple(
                BalancePoint(r["ts_us"], int(r["free"]) + int(r["reserved"])) for r in points
            ),
            rewards_by_kind=kinds,
            history_since_us=since,
        )

    async def _kinds(self, address: str, since_us: int, now_us: int) -> tuple[KindTotal, ...]:
        """Block and vote rewards since ``since_us``: settled days from the daily totals."""
        split = since_us
        rolled = await RewardReads(self._db).refresh_rollups(now_us)
        if rolled is not None:
            split = max(since_us, min(rolled, now_us))
        totals: dict[str, list[int]] = {}
        parts = [
            (
                "SELECT kind, SUM(n) AS n, SUM(hi) AS hi, SUM(lo) AS lo FROM chain_reward_days"
                " WHERE address = ? AND day >= ? AND day < ? GROUP BY kind",
                (address, since_us // DAY_US, split // DAY_US),
            )
        ]
        parts.append(
            (
                f"SELECT kind, COUNT(*) AS n,{HI_LO} FROM chain_rewards WHERE address = ?"
                " AND ts_us >= ? AND ts_us <= ? AND kind IN ('block', 'vote') GROUP BY kind",
                (address, split, now_us),
            )
        )
        for sql, params in parts if split > since_us else parts[1:]:
            for r in await self._rows(sql, params):
                total = totals.setdefault(r["kind"], [0, 0])
                total[0] += int(r["n"])
                total[1] += int(r["hi"] or 0) * 10**9 + int(r["lo"] or 0)
        return tuple(KindTotal(kind, n, amount) for kind, (n, amount) in sorted(totals.items()))
