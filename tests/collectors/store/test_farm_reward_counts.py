"""Signed rewards per farm (m0100): equal to a count of the rewards table after the log store
writes batches (read twice: nothing counted twice), after rows change or are wiped; filled from
the rewards already stored when the migration runs."""

from __future__ import annotations

import io
from pathlib import Path

from bot.ingest_command import backfill
from collectors.clock import FakeClock
from collectors.models.views import Scope
from collectors.store.database import Database, discover_migrations
from collectors.store.logs import LogStore
from collectors.store.wipe import WipeStore
from tests.bot.seed import seed
from tests.conftest import FIXTURES

COUNTED = (
    "SELECT farm_id, count(*) FROM rewards WHERE outcome = 'signed' AND farm_id IS NOT NULL"
    " GROUP BY farm_id ORDER BY farm_id"
)


async def rows(db: Database, sql: str) -> list[tuple[object, ...]]:
    async with db.conn.execute(sql) as cur:
        return [tuple(r) for r in await cur.fetchall()]


async def kept(db: Database) -> list[tuple[object, ...]]:
    return await rows(db, "SELECT farm_id, signed FROM farm_reward_counts ORDER BY farm_id")


async def test_counts_follow_batches_updates_and_wipes(tmp_path: Path) -> None:
    log = tmp_path / "farmer.json.log"
    log.write_bytes((FIXTURES / "golden" / "farmer-mix.json.log").read_bytes())
    path = tmp_path / "cosmos.db"
    for _ in range(2):  # the second time from a forgotten position: every line read again
        await backfill([log], path, "me", clock=FakeClock(), progress=io.StringIO())
        async with Database(path) as db, db.transaction() as conn:
            await conn.execute("UPDATE log_sources SET position = NULL")
    async with Database(path) as db:
        counted = await rows(db, COUNTED)
        assert len(counted) == 3
        assert await kept(db) == counted
        summary = {f.farm_id: f.signed_rewards for f in await LogStore(db).farms()}
        assert summary == dict(counted)

        first, second = str(counted[0][0]), str(counted[1][0])
        async with db.transaction() as conn:
            await conn.execute(
                "UPDATE rewards SET farm_id = ? WHERE id IN"
                " (SELECT id FROM rewards WHERE farm_id = ? AND outcome = 'signed' LIMIT 3)",
                (second, first),
            )
            await conn.execute(
                "UPDATE rewards SET outcome = 'solution_failed' WHERE id IN"
                " (SELECT id FROM rewards WHERE farm_id = ? AND outcome = 'signed' LIMIT 2)",
                (second,),
            )
        assert await kept(db) == await rows(db, COUNTED)

        await WipeStore(db).wipe(Scope.FARM, first)
        assert [r for r in await kept(db) if r[1]] == await rows(db, COUNTED)
        assert first not in {f.farm_id for f in await LogStore(db).farms()}


async def test_migration_counts_rewards_already_stored(tmp_path: Path, clock: FakeClock) -> None:
    before = [m for m in discover_migrations() if m.version < 100]
    db = Database(tmp_path / "old.db")
    await db.initialize(before)
    try:
        await seed(db, clock.now_us(), days=3)
    finally:
        await db.close()
    async with Database(tmp_path / "old.db") as db:
        counted = await rows(db, COUNTED)
        assert counted
        assert await kept(db) == counted
