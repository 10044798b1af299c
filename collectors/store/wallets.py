"""Wallet SQL: watched wallets, block cursor, balances, transfers, chain rewards, gaps.

Amounts are TEXT decimal integers (see m0020); this module converts them to and from ``int``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import aiosqlite

from collectors.corrections import reorg_correction
from collectors.models.chain import (
    BalanceSnapshot,
    BlockActivity,
    ChainBlock,
    ChainReward,
    Direction,
    Gap,
    IncidentKind,
    Movement,
    MovementKind,
    OperatorIncident,
    RewardKind,
    StoredReward,
    Transfer,
    WatchedWallet,
)
from collectors.models.events import RewardOutcome
from collectors.models.notify import Notification
from collectors.store.database import Database
from collectors.store.outbox import enqueue_in, retract_in
from collectors.store.wins import credit_in, settle_uncredited_in, uncredit_block_in

# The ``rewards.outcome`` the log pipeline stores for a "Successfully signed reward hash" line.
SIGNED_REWARD_OUTCOME = RewardOutcome.SIGNED.value

Fact = Transfer | StoredReward | Movement
Announcer = Callable[[Fact], Notification | None]


@dataclass(frozen=True, slots=True)
class WalletConfig:
    address: str
    label: str
    farmer_id: int | None
    scan_back_blocks: int
    low_balance: int | None = None  # smallest unit; None: no low-balance alert
    operator_id: int | None = None


@dataclass(frozen=True, slots=True)
class RecordResult:
    transfers: int
    rewards: int
    announced: int
    movements: int = 0


@dataclass(frozen=True, slots=True)
class Rewind:
    """What forgetting the blocks above a fork point removed.

    ``removed``: the stored facts of the abandoned blocks (each with its ``dedupe_key``, which is
    also its announcement's key); ``balances``: balance readings taken on the abandoned branch.
    """

    blocks: tuple[int, ...]
    removed: tuple[Fact, ...] = ()
    balances: int = 0


@dataclass(frozen=True, slots=True)
class RewardTotal:
    count: int
    amount: int


class WalletStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    # --- wallets ---------------------------------------------------------------------------

    async def sync_wallets(
        self, configured: Sequence[WalletConfig], now_us: int
    ) -> list[WatchedWallet]:
        """Insert new wallets (no start block yet), refresh label and farmer of known ones.

        Wallets no longer configured keep their rows, so their history stays viewable.
        """
        async with self._db.transaction() as conn:
            for w in configured:
                await conn.execute(
                    "INSERT INTO wallets (address, label, farmer_id, added_us, start_block,"
                    " scan_back_blocks, scan_back_done, low_balance, operator_id)"
                    " VALUES (?, ?, ?, ?, NULL, ?, 0, ?, ?)"
                    " ON CONFLICT(address) DO UPDATE SET label = excluded.label,"
                    " farmer_id = excluded.farmer_id, low_balance = excluded.low_balance,"
                    " operator_id = excluded.operator_id",
                    (
                        w.address,
                        w.label,
                        w.farmer_id,
                        now_us,
                        w.scan_back_blocks,
                        str(w.low_balance) if w.low_balance is not None else None,
                        w.operator_id,
                    ),
                )
        wanted = {w.address for w in configured}
        return [w for w in await self.wallets() if w.address in wanted]

    async def start_wallets(
        self, addresses: Iterable[str], start_block: int, *, scan_back_done: bool
    ) -> None:
        async with self._db.transaction() as conn:
            await conn.executemany(
                "UPDATE wallets SET start_block = ?, scan_back_done = ? WHERE address = ?",
                [(start_block, int(scan_back_done), a) for a in addresses],
            )

    async def finish_scan_back(self, address: str) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE wallets SET scan_back_done = 1 WHERE address = ?", (address,)
            )

    async def wallets(self) -> list[WatchedWallet]:
        async with self._db.conn.execute(
            "SELECT address, label, farmer_id, start_block, scan_back_blocks, scan_back_done"
            " FROM wallets ORDER BY label, address"
        ) as cur:
            rows = await cur.fetchall()
        return [
            WatchedWallet(
                address=r["address"],
                label=r["label"],
                farmer_id=r["farmer_id"],
                start_block=r["start_block"],
                scan_back_blocks=r["scan_back_blocks"],
                scan_back_done=bool(r["scan_back_done"]),
            )
            for r in rows
        ]

    # --- processed blocks ------------------------------------------------------------------

    async def last_block(self) -> ChainBlock | None:
        async with self._db.conn.execute(
            "SELECT number, hash, parent_hash, ts_us FROM chain_blocks ORDER BY number DESC LIMIT 1"
        ) as cur:
            row = await cur.fetchone()
        return _block(row) if row else None

    async def block(self, number: int) -> ChainBlock | None:
        async with self._db.conn.execute(
            "SELECT number, hash, parent_hash, ts_us FROM chain_blocks WHERE number = ?",
            (number,),
        ) as cur:
            row = await cur.fetchone()
        return _block(row) if row else None

    async def record_block(
        self,
        activity: BlockActivity,
        now_us: int,
        *,
        advance_cursor: bool = True,
        announce: Announcer | None = None,
        link_window_us: int = 30_000_000,
    ) -> RecordResult:
        """Store one settled block's transfers and rewards (and the cursor) in one transaction.

        ``announce`` turns each newly stored row into a notification, enqueued in the same
        transaction; rows already stored (a re-scan) are neither duplicated nor re-announced.
        """
        transfers = rewards = announced = movements = 0
        async with self._db.transaction() as conn:
            if advance_cursor:
                b = activity.block
                await conn.execute(
                    "INSERT OR REPLACE INTO chain_blocks (number, hash, parent_hash, ts_us,"
                    " processed_us) VALUES (?, ?, ?, ?, ?)",
                    (b.number, b.hash, b.parent_hash, b.timestamp_us, now_us),
                )
                # A balance read at this height on a branch that lost says nothing any more.
                await conn.execute(
                    "DELETE FROM wallet_balances WHERE block_number = ? AND block_hash IS NOT NULL"
                    " AND block_hash != ?",
                    (b.number, b.hash),
                )
            for t in activity.transfers:
                cursor = await conn.execute(
                    "INSERT OR IGNORE INTO wallet_transfers (address, direction, counterparty,"
                    " amount, block_number, block_hash, event_index, extrinsic_index, ts_us)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        t.address,
                        t.direction.value,
                        t.counterparty,
                        str(t.amount),
                        t.block_number,
                        t.block_hash,
                        t.event_index,
                        t.extrinsic_index,
                        t.timestamp_us,
                    ),
                )
                if cursor.rowcount != 1:
                    continue
                transfers += 1
                if announce and (n := announce(t)) and await enqueue_in(conn, n, now_us):
                    announced += 1
            for r in activity.rewards:
                stored = await _insert_reward(conn, r, link_window_us)
                if stored is None:
                    continue
                rewards += 1
                if await credit_in(conn, r.block_hash, r.event_index, now_us):
                    continue  # the win's message from the farmer log now tells it
                if announce and (n := announce(stored)) and await enqueue_in(conn, n, now_us):
                    announced += 1
            for m in activity.movements:
                cursor = await conn.execute(
                    "INSERT OR IGNORE INTO wallet_movements (address, kind, direction, amount,"
                    " block_number, block_hash, event_index, ts_us, source, operator_id)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        m.address,
                        m.kind.value,
                        m.direction.value,
                        str(m.amount),
                        m.block_number,
                        m.block_hash,
                        m.event_index,
                        m.timestamp_us,
                        m.source,
                        m.operator_id,
                    ),
                )
                if cursor.rowcount != 1:
                    continue
                movements += 1
                if announce and (n := announce(m)) and await enqueue_in(conn, n, now_us):
                    announced += 1
            await conn.executemany(
                "INSERT OR IGNORE INTO operator_incidents (address, operator_id, kind, detail,"
                " block_number, block_hash, event_index, ts_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        i.address,
                        i.operator_id,
                        i.kind.value,
                        i.detail,
                        i.block_number,
                        i.block_hash,
                        i.event_index,
                        i.timestamp_us,
                    )
                    for i in activity.incidents
                ],
            )
        return RecordResult(transfers, rewards, announced, movements)

    async def rewind_to(self, number: int, now_us: int = 0) -> Rewind:
        """Forget processed blocks above ``number`` (abandoned by a reorg) and their rows.

        In the same transaction, their notifications still waiting in the outbox are withdrawn
        and those already delivered get a correction (their message struck through); what was
        removed is returned.
        """
        removed: list[Fact] = []
        balances = 0
        async with self._db.transaction() as conn:
            async with conn.execute(
                "SELECT number, hash FROM chain_blocks WHERE number > ? ORDER BY number", (number,)
            ) as cur:
                abandoned = [(r["number"], r["hash"]) for r in await cur.fetchall()]
            for _, block_hash in abandoned:
                async with conn.execute(
                    "SELECT * FROM wallet_transfers WHERE block_hash = ? ORDER BY event_index",
                    (block_hash,),
                ) as cur:
                    removed += [_transfer(r) for r in await cur.fetchall()]
                async with conn.execute(
                    "SELECT * FROM chain_rewards WHERE block_hash = ? ORDER BY event_index",
                    (block_hash,),
                ) as cur:
                    removed += [_stored_reward(r) for r in await cur.fetchall()]
                async with conn.execute(
                    "SELECT * FROM wallet_movements WHERE block_hash = ? ORDER BY event_index",
                    (block_hash,),
                ) as cur:
                    removed += [_movement(r) for r in await cur.fetchall()]
                await uncredit_block_in(conn, block_hash, now_us)  # wins it credited
                for table in ("wallet_transfers", "chain_rewards", "wallet_movements"):
                    await conn.execute(f"DELETE FROM {table} WHERE block_hash = ?", (block_hash,))
                await conn.execute(
                    "DELETE FROM operator_incidents WHERE block_hash = ?", (block_hash,)
                )
                cursor = await conn.execute(
                    "DELETE FROM wallet_balances WHERE block_hash = ?", (block_hash,)
                )
                balances += cursor.rowcount
            keys = sorted({f.dedupe_key for f in removed})
            await retract_in(conn, keys, now_us, reorg_correction)
            await conn.execute("DELETE FROM chain_blocks WHERE number > ?", (number,))
        return Rewind(tuple(n for n, _ in abandoned), tuple(removed), balances)

    async def prune_blocks(self, below: int) -> None:
        """Drop cursor history older than ``below`` (kept only for reorg walks)."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "DELETE FROM chain_blocks WHERE number < ?"
                " AND number < (SELECT MAX(number) FROM chain_blocks)",
                (below,),
            )

    # --- gaps ------------------------------------------------------------------------------

    async def record_gap(self, gap: Gap) -> bool:
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT OR IGNORE INTO chain_gaps (from_block, to_block, detected_us, reason)"
                " VALUES (?, ?, ?, ?)",
                (gap.from_block, gap.to_block, gap.detected_us, gap.reason),
            )
        return cursor.rowcount == 1

    async def gaps(self, since_us: int | None = None) -> list[Gap]:
        async with self._db.conn.execute(
            "SELECT from_block, to_block, detected_us, reason FROM chain_gaps"
            " WHERE detected_us >= ? ORDER BY from_block",
            (since_us or 0,),
        ) as cur:
            rows = await cur.fetchall()
        return [Gap(r["from_block"], r["to_block"], r["detected_us"], r["reason"]) for r in rows]

    # --- balances --------------------------------------------------------------------------

    async def record_balances(
        self, snapshots: Sequence[BalanceSnapshot], history_every_us: int
    ) -> int:
        """Store a snapshot when it differs from the last one or the last one is old enough."""
        stored = 0
        async with self._db.transaction() as conn:
            for s in snapshots:
                async with conn.execute(
                    "SELECT ts_us, free, reserved, frozen FROM wallet_balances WHERE address = ?"
                    " ORDER BY ts_us DESC, id DESC LIMIT 1",
                    (s.address,),
                ) as cur:
                    last = await cur.fetchone()
                if (
                    last is not None
                    and (int(last["free"]), int(last["reserved"]), int(last["frozen"]))
                    == (s.free, s.reserved, s.frozen)
                    and s.ts_us - last["ts_us"] < history_every_us
                ):
                    continue
                await conn.execute(
                    "INSERT INTO wallet_balances (address, ts_us, block_number, block_hash, free,"
                    " reserved, frozen) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        s.address,
                        s.ts_us,
                        s.block_number,
                        s.block_hash,
                        str(s.free),
                        str(s.reserved),
                        str(s.frozen),
                    ),
                )
                stored += 1
        return stored

    async def latest_balances(self) -> dict[str, BalanceSnapshot]:
        async with self._db.conn.execute(
            "SELECT b.* FROM wallet_balances b JOIN (SELECT address, MAX(id) AS id"
            " FROM wallet_balances GROUP BY address) last ON last.id = b.id"
        ) as cur:
            return {r["address"]: _snapshot(r) for r in await cur.fetchall()}

    async def balance_history(
        self, address: str, since_us: int, until_us: int | None = None
    ) -> list[BalanceSnapshot]:
        async with self._db.conn.execute(
            "SELECT * FROM wallet_balances WHERE address = ? AND ts_us >= ? AND ts_us <= ?"
            " ORDER BY ts_us, id",
            (address, since_us, until_us if until_us is not None else 2**62),
        ) as cur:
            return [_snapshot(r) for r in await cur.fetchall()]

    # --- transfers and rewards -------------------------------------------------------------

    async def transfers(
        self, address: str | None = None, since_us: int | None = None, limit: int = 50
    ) -> list[Transfer]:
        """Newest first."""
        async with self._db.conn.execute(
            "SELECT * FROM wallet_transfers WHERE (? IS NULL OR address = ?)"
            " AND (? IS NULL OR ts_us >= ?) ORDER BY block_number DESC, event_index DESC LIMIT ?",
            (address, address, since_us, since_us, limit),
        ) as cur:
            return [_transfer(r) for r in await cur.fetchall()]

    async def movements(
        self, address: str | None = None, since_us: int | None = None, limit: int = 50
    ) -> list[Movement]:
        """Deposits, withdrawals, fees and operator income; newest first."""
        async with self._db.conn.execute(
            "SELECT * FROM wallet_movements WHERE (? IS NULL OR address = ?)"
            " AND (? IS NULL OR ts_us >= ?) ORDER BY block_number DESC, event_index DESC LIMIT ?",
            (address, address, since_us, since_us, limit),
        ) as cur:
            return [_movement(r) for r in await cur.fetchall()]

    async def incidents(self, since_us: int) -> list[OperatorIncident]:
        """Operator slashes and offline reports since ``since_us``, oldest first."""
        async with self._db.conn.execute(
            "SELECT * FROM operator_incidents WHERE ts_us >= ? ORDER BY block_number, event_index",
            (since_us,),
        ) as cur:
            return [incident_of(r) for r in await cur.fetchall()]

    async def chain_rewards(
        self,
        since_us: int,
        until_us: int,
        *,
        address: str | None = None,
        farmer_id: int | None = None,
        farm_id: str | None = None,
        kinds: Iterable[RewardKind] = (RewardKind.BLOCK, RewardKind.VOTE),
    ) -> list[StoredReward]:
        """Rewards with ``since_us <= ts < until_us``, oldest first; fees only if asked."""
        kind_list = [k.value for k in kinds]
        marks = ",".join("?" * len(kind_list))
        async with self._db.conn.execute(
            f"SELECT * FROM chain_rewards WHERE ts_us >= ? AND ts_us < ? AND kind IN ({marks})"
            " AND (? IS NULL OR address = ?) AND (? IS NULL OR farmer_id = ?)"
            " AND (? IS NULL OR farm_id = ?) ORDER BY block_number, event_index",
            (
                since_us,
                until_us,
                *kind_list,
                address,
                address,
                farmer_id,
                farmer_id,
                farm_id,
                farm_id,
            ),
        ) as cur:
            return [_stored_reward(r) for r in await cur.fetchall()]

    async def reward_totals(
        self,
        since_us: int,
        until_us: int,
        by: Literal["address", "farmer_id", "farm_id"] = "address",
        kinds: Iterable[RewardKind] = (RewardKind.BLOCK, RewardKind.VOTE),
    ) -> dict[str | int | None, RewardTotal]:
        """Count and exact sum per wallet, farmer or farm (None: not linked)."""
        totals: dict[str | int | None, RewardTotal] = {}
        for stored in await self.chain_rewards(since_us, until_us, kinds=kinds):
            key: str | int | None = {
                "address": stored.reward.address,
                "farmer_id": stored.farmer_id,
                "farm_id": stored.farm_id,
            }[by]
            prev = totals.get(key, RewardTotal(0, 0))
            totals[key] = RewardTotal(prev.count + 1, prev.amount + stored.reward.amount)
        return totals

    async def link_pending_farms(
        self, since_us: int, link_window_us: int, now_us: int | None = None
    ) -> int:
        """Retry the farm link for recent rewards whose log line had not arrived yet."""
        linked = 0
        async with self._db.transaction() as conn:
            async with conn.execute(
                "SELECT id, farmer_id, ts_us, block_hash, event_index FROM chain_rewards"
                " WHERE farm_id IS NULL"
                " AND reward_log_id IS NULL AND farmer_id IS NOT NULL AND kind != 'fees'"
                " AND ts_us >= ?",
                (since_us,),
            ) as cur:
                pending = list(await cur.fetchall())
            for row in pending:
                match = await _nearest_signed_reward(
                    conn, row["farmer_id"], row["ts_us"], link_window_us
                )
                if match is not None:
                    await conn.execute(
                        "UPDATE chain_rewards SET reward_log_id = ?, farm_id = ? WHERE id = ?",
                        (match[0], match[1], row["id"]),
                    )
                    when = now_us if now_us is not None else since_us
                    await credit_in(conn, row["block_hash"], row["event_index"], when)
                    linked += 1
        return linked

    async def settle_wins(self, now_us: int, window_us: int) -> int:
        """Mark announced wins the chain never credited within ``window_us``."""
        async with self._db.transaction() as conn:
            return await settle_uncredited_in(conn, now_us, window_us)


async def _insert_reward(
    conn: aiosqlite.Connection, r: ChainReward, link_window_us: int
) -> StoredReward | None:
    async with conn.execute("SELECT farmer_id FROM wallets WHERE address = ?", (r.address,)) as cur:
        row = await cur.fetchone()
    farmer_id: int | None = row["farmer_id"] if row else None
    match = None
    if farmer_id is not None and r.kind is not RewardKind.FEES and r.timestamp_us is not None:
        match = await _nearest_signed_reward(conn, farmer_id, r.timestamp_us, link_window_us)
    cursor = await conn.execute(
        "INSERT OR IGNORE INTO chain_rewards (address, kind, amount, block_number, block_hash,"
        " event_index, ts_us, farmer_id, farm_id, reward_log_id)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            r.address,
            r.kind.value,
            str(r.amount),
            r.block_number,
            r.block_hash,
            r.event_index,
            r.timestamp_us,
            farmer_id,
            match[1] if match else None,
            match[0] if match else None,
        ),
    )
    if cursor.rowcount != 1:
        return None
    return StoredReward(r, farmer_id, match[1] if match else None)


async def _nearest_signed_reward(
    conn: aiosqlite.Connection, farmer_id: int, ts_us: int, window_us: int
) -> tuple[int, str | None] | None:
    """The farmer's closest signed-reward log line within the window not linked yet."""
    async with conn.execute(
        "SELECT r.id, r.farm_id FROM rewards r WHERE r.outcome = ? AND r.farmer_id = ?"
        " AND r.ts_us BETWEEN ? AND ?"
        " AND NOT EXISTS (SELECT 1 FROM chain_rewards c WHERE c.reward_log_id = r.id)"
        " ORDER BY ABS(r.ts_us - ?), r.id LIMIT 1",
        (SIGNED_REWARD_OUTCOME, farmer_id, ts_us - window_us, ts_us + window_us, ts_us),
    ) as cur:
        row = await cur.fetchone()
    return (int(row["id"]), row["farm_id"]) if row else None


def _block(row: aiosqlite.Row) -> ChainBlock:
    return ChainBlock(row["number"], row["hash"], row["parent_hash"], row["ts_us"])


def _snapshot(row: aiosqlite.Row) -> BalanceSnapshot:
    return BalanceSnapshot(
        address=row["address"],
        ts_us=row["ts_us"],
        block_number=row["block_number"],
        free=int(row["free"]),
        reserved=int(row["reserved"]),
        frozen=int(row["frozen"]),
        block_hash=row["block_hash"],
    )


def incident_of(row: aiosqlite.Row) -> OperatorIncident:
    """An ``operator_incidents`` row as its model (the alert inputs read them too)."""
    return OperatorIncident(
        address=row["address"],
        operator_id=row["operator_id"],
        kind=IncidentKind(row["kind"]),
        detail=row["detail"],
        block_number=row["block_number"],
        block_hash=row["block_hash"],
        event_index=row["event_index"],
        timestamp_us=row["ts_us"],
    )


def _transfer(row: aiosqlite.Row) -> Transfer:
    return Transfer(
        address=row["address"],
        direction=Direction(row["direction"]),
        counterparty=row["counterparty"],
        amount=int(row["amount"]),
        block_number=row["block_number"],
        block_hash=row["block_hash"],
        event_index=row["event_index"],
        extrinsic_index=row["extrinsic_index"],
        timestamp_us=row["ts_us"],
    )


def _movement(row: aiosqlite.Row) -> Movement:
    return Movement(
        address=row["address"],
        kind=MovementKind(row["kind"]),
        direction=Direction(row["direction"]),
        amount=int(row["amount"]),
        block_number=row["block_number"],
        block_hash=row["block_hash"],
        event_index=row["event_index"],
        timestamp_us=row["ts_us"],
        source=row["source"],
        operator_id=row["operator_id"],
    )


def _stored_reward(row: aiosqlite.Row) -> StoredReward:
    reward = ChainReward(
        address=row["address"],
        kind=RewardKind(row["kind"]),
        amount=int(row["amount"]),
        block_number=row["block_number"],
        block_hash=row["block_hash"],
        event_index=row["event_index"],
        timestamp_us=row["ts_us"],
    )
    return StoredReward(reward, row["farmer_id"], row["farm_id"])
