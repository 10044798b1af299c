"""Clear stored data for a farm, a farmer, a wallet, or everything, across the tables that exist.

Tables are found by their columns (``farm_id``, ``farmer_id``, ``address``), so tables other areas
add are wiped too. Never touched (``KEEP``): the outbox (wiping it would let a fact be announced
again), the bot's own state, read positions and cursors (so old lines and blocks are not read
again), the alert state machine, and the configured (primary) farmer's row. Configuration rows
and wallet history that merely point at a farm or farmer (``LINKS``) lose the link, not the row.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiosqlite

from collectors.models.views import Scope
from collectors.store.database import Database

# Daily and weekly totals derived from the rows: cleared whole by any wipe, rebuilt on next read.
ROLLUPS = (
    "reward_days",
    "chain_reward_days",
    "claim_days",
    "reward_weeks",
    "chain_reward_weeks",
)
KEEP = frozenset(
    {
        "outbox",
        "outbox_delivery",
        "bot_state",
        "log_sources",
        "farm_index_map",
        "chain_blocks",
        "alert_state",
        "summary_runs",
        "sqlite_sequence",
        "farmer",
        "farm_reward_counts",  # kept right by triggers as rewards are deleted
        *ROLLUPS,
    }
)
LINKS = frozenset({"wallets", "metrics_targets", "chain_rewards"})
CONFIG = frozenset({"wallets", "metrics_targets"})

_Run = Callable[[str, str, tuple[object, ...]], Awaitable[None]]
_Unlink = Callable[[str, str, object], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class WipeResult:
    scope: Scope
    target: str | None
    rows: int
    tables: tuple[str, ...]


async def _columns(conn: aiosqlite.Connection) -> dict[str, set[str]]:
    async with conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ) as cur:
        names = [r[0] for r in await cur.fetchall()]
    out: dict[str, set[str]] = {}
    for name in names:
        async with conn.execute(f'PRAGMA table_info("{name}")') as cur:
            out[name] = {r[1] for r in await cur.fetchall()}
    return out


class WipeStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def wipe(self, scope: Scope, target: str | None = None) -> WipeResult:
        """Delete in one transaction; ValueError when the target is unknown."""
        async with self._db.transaction() as conn:
            columns = await _columns(conn)
            deleted: dict[str, int] = {}

            async def run(table: str, where: str, params: tuple[object, ...]) -> None:
                cursor = await conn.execute(f'DELETE FROM "{table}" WHERE {where}', params)
                if cursor.rowcount > 0:
                    deleted[table] = deleted.get(table, 0) + cursor.rowcount

            async def unlink(table: str, column: str, value: object) -> None:
                cursor = await conn.execute(
                    f'UPDATE "{table}" SET {column} = NULL WHERE {column} = ?', (value,)
                )
                if cursor.rowcount > 0:
                    deleted[table] = deleted.get(table, 0) + cursor.rowcount

            if scope is Scope.ALL:
                for table in columns:
                    if table not in KEEP and table not in CONFIG:
                        await run(table, "1 = 1", ())
                await run("farmer", "is_primary = 0", ())
            elif scope is Scope.FARM:
                if not target:
                    raise ValueError("name the farm to wipe")
                await self._wipe_farms(conn, columns, [target], run, unlink)
            elif scope is Scope.FARMER:
                farmer_id = await _one(conn, "SELECT id FROM farmer WHERE name = ?", target)
                if farmer_id is None:
                    raise ValueError(f"no farmer named {target!r}")
                async with conn.execute(
                    "SELECT farm_id FROM farms WHERE farmer_id = ?", (farmer_id,)
                ) as cur:
                    farm_ids = [r[0] for r in await cur.fetchall()]
                await self._wipe_farms(conn, columns, farm_ids, run, unlink, must_exist=False)
                for table, cols in columns.items():
                    if table in KEEP or "farmer_id" not in cols:
                        continue
                    if table in LINKS:
                        await unlink(table, "farmer_id", farmer_id)
                    else:
                        await run(table, "farmer_id = ?", (farmer_id,))
                await run("farmer", "id = ? AND is_primary = 0", (farmer_id,))
            else:
                await self._wipe_wallet(conn, columns, target, run)
            for table in ROLLUPS:
                if table in columns:
                    await conn.execute(f"DELETE FROM {table}")
            await conn.execute("DELETE FROM bot_state WHERE key LIKE 'rollup:%'")
        return WipeResult(scope, target, sum(deleted.values()), tuple(sorted(deleted)))

    @staticmethod
    async def _wipe_farms(
        conn: aiosqlite.Connection,
        columns: dict[str, set[str]],
        farm_ids: list[str],
        run: _Run,
        unlink: _Unlink,
        *,
        must_exist: bool = True,
    ) -> None:
        for farm_id in farm_ids:
            known = await _one(conn, "SELECT 1 FROM farms WHERE farm_id = ?", farm_id)
            if must_exist and known is None:
                raise ValueError(f"no farm {farm_id!r}")
            for table, cols in columns.items():
                if table in KEEP or table == "farms" or "farm_id" not in cols:
                    continue
                if table in LINKS:
                    await unlink(table, "farm_id", farm_id)
                else:
                    await run(table, "farm_id = ?", (farm_id,))
            await run("farms", "farm_id = ?", (farm_id,))

    @staticmethod
    async def _wipe_wallet(
        conn: aiosqlite.Connection, columns: dict[str, set[str]], label: str | None, run: _Run
    ) -> None:
        """A wallet's balances, transfers and rewards; the watched wallet itself stays."""
        if not label:
            raise ValueError("name the wallet to wipe")
        if "wallets" not in columns:
            raise ValueError("no wallet data is stored")
        address = await _one(
            conn, "SELECT address FROM wallets WHERE label = ? OR address = ?", label, label
        )
        if address is None:
            raise ValueError(f"no wallet {label!r}")
        for table, cols in columns.items():
            if table not in KEEP and table not in CONFIG and "address" in cols:
                await run(table, "address = ?", (address,))


async def _one(conn: aiosqlite.Connection, sql: str, *params: object) -> object | None:
    async with conn.execute(sql, params) as cur:
        row = await cur.fetchone()
    return None if row is None else row[0]
