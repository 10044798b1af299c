"""What every read module shares: the connection, a row helper, schema look-ups, constants."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aiosqlite

from collectors.store.database import Database

HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US
WEEK_US = 7 * DAY_US

# A signed reward hash is a won block or vote; the other outcomes the log pipeline stores
# (solution_failed, proving_skipped, signature_failed) are misses.
REWARD_OUTCOMES = ("signed",)
# Event kinds that mean a farm has a problem.
ERROR_KINDS = (
    "farm_exited",
    "farm_stopped",
    "plot_failed",
    "farming_error",
    "sector_send_failed",
    "farm_creation_failed",
    "plotter_timeout",  # a cluster farm's plotter stopped answering
)
# Farm events worth showing on /farm beside the errors (today's upstream, UPSTREAM.md).
FARM_EVENT_KINDS = ("farm_resized", "farm_exited_ok", "plot_retry")
IN_REWARD = "outcome IN (" + ",".join(f"'{o}'" for o in REWARD_OUTCOMES) + ")"
IN_ERROR = "kind IN (" + ",".join(f"'{k}'" for k in ERROR_KINDS) + ")"

# Sum of decimal TEXT amounts (too large for SQLite integers), exact: the part above the last
# 9 digits and the last 9 digits are summed apart; amount = hi * 10**9 + lo.
HI_LO = (
    " SUM(CAST(CASE WHEN length(amount) > 9 THEN substr(amount, 1, length(amount) - 9)"
    " ELSE '0' END AS INTEGER)) AS hi, SUM(CAST(substr(amount, -9) AS INTEGER)) AS lo"
)


class ReadBase:
    """One area's reads over the shared connection; every method is one or a few indexed queries."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @property
    def _conn(self) -> aiosqlite.Connection:
        return self._db.conn

    async def _rows(
        self, sql: str, params: Sequence[Any] | dict[str, Any] = ()
    ) -> list[aiosqlite.Row]:
        async with self._conn.execute(sql, params) as cur:
            return list(await cur.fetchall())

    async def tables(self) -> frozenset[str]:
        rows = await self._rows("SELECT name FROM sqlite_master WHERE type = 'table'")
        return frozenset(r["name"] for r in rows)

    async def _columns(self, table: str) -> frozenset[str]:
        return frozenset(r["name"] for r in await self._rows(f'PRAGMA table_info("{table}")'))

    async def _hint(self, table: str, index: str) -> str:
        """Name the covering index for the planner (statistics can mislead it), if present."""
        found = await self._rows(
            "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ? AND tbl_name = ?",
            (index, table),
        )
        return f" INDEXED BY {index}" if found else ""
