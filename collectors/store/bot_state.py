"""Small persistent state of the presentation side: dashboard message ids, command-sync hash,
and the Discord message each outbox item became."""

from __future__ import annotations

from collections.abc import Sequence

from collectors.store.database import Database

# ``last_error`` of an outbox item held because its place refuses it (see bot.refusals).
HELD_PREFIX = "held: "


class BotStateStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, key: str) -> str | None:
        sql = "SELECT value FROM bot_state WHERE key = ?"
        async with self._db.conn.execute(sql, (key,)) as cur:
            row = await cur.fetchone()
        return None if row is None else str(row["value"])

    async def set(self, key: str, value: str, now_us: int) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO bot_state (key, value, updated_us) VALUES (?, ?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value,"
                " updated_us = excluded.updated_us",
                (key, value, now_us),
            )

    async def delete(self, key: str) -> None:
        async with self._db.transaction() as conn:
            await conn.execute("DELETE FROM bot_state WHERE key = ?", (key,))

    async def mark_delivered(
        self, item_ids: Sequence[int], target: str, message_id: str | None, now_us: int
    ) -> None:
        """Mark outbox items sent and remember the message they became, in one transaction."""
        async with self._db.transaction() as conn:
            for item_id in item_ids:
                # A withdrawn item that was in flight was delivered all the same: its
                # follow-ups (the correction) then go out too.
                await conn.execute(
                    "UPDATE outbox SET state = 'sent', sent_us = ?, attempts = attempts + 1,"
                    " last_error = NULL WHERE id = ?"
                    " AND (state = 'pending' OR withdrawn_us IS NOT NULL)",
                    (now_us, item_id),
                )
                await conn.execute(
                    "INSERT OR REPLACE INTO outbox_delivery"
                    " (outbox_id, target, message_id, delivered_us) VALUES (?, ?, ?, ?)",
                    (item_id, target, message_id, now_us),
                )

    async def defer(self, item_ids: Sequence[int], until_us: int) -> None:
        """Hold pending outbox items until a time (a reward batch), without counting an attempt."""
        async with self._db.transaction() as conn:
            for item_id in item_ids:
                await conn.execute(
                    "UPDATE outbox SET next_attempt_us = ? WHERE id = ? AND state = 'pending'",
                    (until_us, item_id),
                )

    async def message_id(self, item_id: int) -> str | None:
        async with self._db.conn.execute(
            "SELECT message_id FROM outbox_delivery WHERE outbox_id = ?", (item_id,)
        ) as cur:
            row = await cur.fetchone()
        return None if row is None else row["message_id"]

    async def release_held(self, now_us: int) -> int:
        """Make messages held for a refusing route due now (the settings may have been fixed)."""
        async with self._db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE outbox SET next_attempt_us = ? WHERE state = 'pending'"
                " AND last_error LIKE ? || '%'",
                (now_us, HELD_PREFIX),
            )
            return cur.rowcount

    async def held(self) -> list[tuple[str, int]]:
        """(reason, messages) held for refusing routes."""
        async with self._db.conn.execute(
            "SELECT last_error, COUNT(*) AS n FROM outbox WHERE state = 'pending'"
            " AND last_error LIKE ? || '%' GROUP BY last_error ORDER BY last_error",
            (HELD_PREFIX,),
        ) as cur:
            rows = await cur.fetchall()
        return [(str(r["last_error"]).removeprefix(HELD_PREFIX), int(r["n"])) for r in rows]
