"""m0060 widens the rewards outcomes without losing a row or a chain reward's link to it."""

from __future__ import annotations

from pathlib import Path

from collectors.store.database import Database, discover_migrations


async def test_rebuild_keeps_rows_ids_and_chain_links(tmp_path: Path) -> None:
    path = tmp_path / "cosmos.db"
    before = [m for m in discover_migrations() if m.version < 60]
    db = Database(path)
    await db.initialize(before)
    try:
        assert await db.schema_version() < 60
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO farmer (id, name, created_us, updated_us) VALUES (1, 'rig', 0, 0)"
            )
            await conn.execute(
                "INSERT INTO log_sources (id, key, role, updated_us) VALUES (1, 'f', 'farmer', 0)"
            )
            await conn.execute(
                "INSERT INTO rewards (id, source_id, farmer_id, farm_id, ts_us, outcome,"
                " reward_hash, reward_key, line_hash) VALUES (7, 1, 1, 'F', 5, 'signed',"
                " '0xab', 42, 9)"
            )
            await conn.execute(
                "INSERT INTO chain_rewards (address, kind, amount, block_number, block_hash,"
                " event_index, reward_log_id) VALUES ('su1', 'vote', '1', 1, '0x1', 0, 7)"
            )
    finally:
        await db.close()
    async with Database(path) as db:
        await db.initialize()
        async with db.conn.execute("SELECT id, outcome, reward_key FROM rewards") as cur:
            assert [tuple(r) for r in await cur.fetchall()] == [(7, "signed", 42)]
        async with db.conn.execute("SELECT reward_log_id FROM chain_rewards") as cur:
            assert [tuple(r) for r in await cur.fetchall()] == [(7,)]
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO rewards (source_id, ts_us, outcome, line_hash)"
                " VALUES (1, 6, 'prove_failed', 10)"
            )
        async with db.conn.execute("PRAGMA foreign_key_check") as cur:
            assert list(await cur.fetchall()) == []
        async with db.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'rewards'"
            " AND name NOT LIKE 'sqlite_%' ORDER BY name"
        ) as cur:
            names = [r[0] for r in await cur.fetchall()]
        assert names == ["rewards_farm_ts", "rewards_key", "rewards_ts", "rewards_ts_cover"]
