"""Farmer rows: the configured (primary) farmer and any other farmers named in the settings."""

from __future__ import annotations

from dataclasses import dataclass

from collectors.store.database import Database


@dataclass(frozen=True, slots=True)
class Farmer:
    id: int
    name: str
    is_primary: bool
    host: str | None


class FarmerStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def ensure_primary(self, name: str, now_us: int, host: str | None = None) -> Farmer:
        """Look the configured farmer up; insert it when missing; rename it when the name changed.

        A rename replaces the old row's name in place, so farms and rewards stay attached. If
        another (non-primary) row already holds the new name, that row becomes the primary one.
        """
        async with self._db.transaction() as conn:
            async with conn.execute("SELECT id, name FROM farmer WHERE is_primary = 1") as cur:
                primary = await cur.fetchone()
            async with conn.execute("SELECT id FROM farmer WHERE name = ?", (name,)) as cur:
                same_name = await cur.fetchone()
            if primary is not None and primary["name"] == name:
                farmer_id = primary["id"]
            elif same_name is not None:
                await conn.execute("UPDATE farmer SET is_primary = 0 WHERE is_primary = 1")
                await conn.execute(
                    "UPDATE farmer SET is_primary = 1, updated_us = ? WHERE id = ?",
                    (now_us, same_name["id"]),
                )
                farmer_id = same_name["id"]
            elif primary is not None:
                await conn.execute(
                    "UPDATE farmer SET name = ?, updated_us = ? WHERE id = ?",
                    (name, now_us, primary["id"]),
                )
                farmer_id = primary["id"]
            else:
                cursor = await conn.execute(
                    "INSERT INTO farmer (name, is_primary, host, created_us, updated_us)"
                    " VALUES (?, 1, ?, ?, ?)",
                    (name, host, now_us, now_us),
                )
                farmer_id = cursor.lastrowid
        return Farmer(int(farmer_id), name, True, host)

    async def ensure(self, name: str, now_us: int, host: str | None = None) -> Farmer:
        """A farmer named in the settings (a remote host's farmer); created on first sight."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO farmer (name, is_primary, host, created_us, updated_us)"
                " VALUES (?, 0, ?, ?, ?) ON CONFLICT(name) DO NOTHING",
                (name, host, now_us, now_us),
            )
            async with conn.execute(
                "SELECT id, name, is_primary, host FROM farmer WHERE name = ?", (name,)
            ) as cur:
                row = await cur.fetchone()
        assert row is not None
        return Farmer(row["id"], row["name"], bool(row["is_primary"]), row["host"])

    async def all(self) -> list[Farmer]:
        async with self._db.conn.execute(
            "SELECT id, name, is_primary, host FROM farmer ORDER BY is_primary DESC, name"
        ) as cur:
            rows = await cur.fetchall()
        return [Farmer(r["id"], r["name"], bool(r["is_primary"]), r["host"]) for r in rows]
