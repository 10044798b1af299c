from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from collectors.store.database import Database, Migration, StoreError, discover_migrations

CORE_TABLES = {"events", "farmer", "farms", "rewards", "plots", "log_sources", "outbox"}


async def _tables(db: Database) -> set[str]:
    async with db.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'") as cur:
        return {row[0] for row in await cur.fetchall()}


async def test_initialize_creates_file_tables_and_wal(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "cosmos.db"
    async with Database(path) as db:
        assert await _tables(db) >= CORE_TABLES
        assert await db.schema_version() == discover_migrations()[-1].version
        async with db.conn.execute("PRAGMA journal_mode") as cur:
            assert (await cur.fetchone())[0] == "wal"
    assert path.is_file()


async def test_initialize_twice_keeps_data_and_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "cosmos.db"
    async with Database(path) as db, db.transaction() as conn:
        await conn.execute(
            "INSERT INTO farmer (name, is_primary, created_us, updated_us) VALUES ('a', 1, 1, 1)"
        )
    async with Database(path) as db, db.conn.execute("SELECT COUNT(*) FROM farmer") as cur:
        assert (await cur.fetchone())[0] == 1


async def test_migrations_apply_in_order_and_only_once(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    first = [Migration(1, "a", "CREATE TABLE a (x INTEGER);")]
    db = Database(path)
    await db.initialize(first)
    await db.close()
    second = [*first, Migration(2, "b", "CREATE TABLE b (y TEXT); -- a comment; with semicolons")]
    db = Database(path)
    await db.initialize(second)
    try:
        assert await db.schema_version() == 2
        assert {"a", "b"} <= await _tables(db)
    finally:
        await db.close()


async def _insert_twice(db: Database) -> None:
    sql = "INSERT INTO farmer (name, is_primary, created_us, updated_us) VALUES ('x', 0, 1, 1)"
    async with db.transaction() as conn:
        await conn.execute(sql)
        await conn.execute(sql)


async def test_failed_transaction_rolls_back(db: Database) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        await _insert_twice(db)
    async with db.conn.execute("SELECT COUNT(*) FROM farmer") as cur:
        assert (await cur.fetchone())[0] == 0


async def test_unwritable_location_gives_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="COSMOS_DATABASE_PATH"):
        await Database(blocker / "cosmos.db").initialize()


async def test_garbage_file_is_reported_not_crashed(tmp_path: Path) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not sqlite" * 1000)
    with pytest.raises(StoreError, match="not usable"):
        await Database(path).initialize()


async def test_full_disk_is_a_clear_error_and_keeps_stored_rows(db: Database) -> None:
    # max_page_count caps the file like a full disk would: SQLite answers SQLITE_FULL.
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO farmer (name, is_primary, created_us, updated_us) VALUES ('kept', 0, 1, 1)"
        )
    async with db.conn.execute("PRAGMA page_count") as cur:
        pages = (await cur.fetchone())[0]
    await db.conn.execute(f"PRAGMA max_page_count = {pages + 2}")

    async def fill() -> None:
        async with db.transaction() as conn:
            for i in range(2000):
                await conn.execute(
                    "INSERT INTO farmer (name, is_primary, created_us, updated_us)"
                    " VALUES (?, 0, 1, 1)",
                    (f"farmer-{i}-" + "x" * 500,),
                )

    with pytest.raises(StoreError, match=r"disk holding .* is full"):
        await fill()
    async with db.conn.execute("SELECT name FROM farmer") as cur:
        assert [row[0] for row in await cur.fetchall()] == ["kept"]
    async with db.conn.execute("PRAGMA integrity_check") as cur:
        assert (await cur.fetchone())[0] == "ok"
    # Space comes back: writing works again without reopening.
    await db.conn.execute("PRAGMA max_page_count = 1073741823")
    await fill()
