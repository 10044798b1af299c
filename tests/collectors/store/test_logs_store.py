"""LogStore on a real SQLite file: unique keys, the farms columns it owns, cursors."""

from __future__ import annotations

from collectors.clock import FakeClock
from collectors.models.events import (
    EventKind,
    EventRecord,
    FarmMapping,
    FarmRecord,
    LogBatch,
    NodeState,
    PlotKind,
    PlotState,
    RewardOutcome,
    RewardRecord,
    SourceCursor,
    SyncState,
    UnmatchedCount,
)
from collectors.store.database import Database
from collectors.store.farmers import FarmerStore
from collectors.store.logs import LogStore

T0 = 1_750_406_400_000_000
FARM = "01JC6R9K9F4W3Y8P6N5V1C2ZAE"


async def rows(db: Database, sql: str) -> list[tuple[object, ...]]:
    async with db.conn.execute(sql) as cur:
        return [tuple(r) for r in await cur.fetchall()]


def batch(position: str, ts: int = T0) -> LogBatch:
    return LogBatch(
        cursor=SourceCursor(
            position=position,
            run_start_us=T0,
            header_index=0,
            last_ts_us=ts,
            index_map=((0, FARM),),
        ),
        lines=10,
        events=(EventRecord(ts, EventKind.FARMER_START, 123, data='{"node_rpc_url": null}'),),
        rewards=(
            RewardRecord(ts, RewardOutcome.SIGNED, 456, FARM, 0, reward_hash="0x" + "ab" * 32),
            RewardRecord(ts + 1, RewardOutcome.PROVING_SKIPPED, 789, FARM, 0, slot=5),
        ),
        farms=(FarmRecord(FARM, ts, ts, farm_index=0, directory="/farms/a"),),
        mappings=(FarmMapping(T0, 0, FARM, ts),),
        plots=(PlotState(FARM, PlotKind.PLOTTING, 12.5, 7, ts),),
        node=NodeState(ts_us=ts, state=SyncState.IDLE, peers=40, best=100, finalized=0),
        unmatched=(UnmatchedCount("2025-06-20", 3, "x"),),
    )


async def test_writing_the_same_batch_twice_adds_no_rows(db: Database, clock: FakeClock) -> None:
    store = LogStore(db)
    farmer = await FarmerStore(db).ensure_primary("rig", clock.now_us())
    source = await store.source("file:local:/x.log", "farmer", farmer.id, clock.now_us())
    first = await store.write(source, batch("100"), clock.now_us())
    assert (first.events, first.rewards) == (1, 2)
    again = await store.write(source, batch("100"), clock.now_us())
    assert (again.events, again.rewards) == (0, 0)
    for table, expected in [
        ("events", 1),
        ("rewards", 2),
        ("farms", 1),
        ("farm_index_map", 1),
        ("plots", 1),
        ("node_state", 1),
    ]:
        assert (await rows(db, f"SELECT count(*) FROM {table}"))[0][0] == expected, table
    assert await rows(db, "SELECT farmer_id FROM rewards") == [(farmer.id,), (farmer.id,)]
    reloaded = await store.source("file:local:/x.log", "farmer", None, clock.now_us())
    assert reloaded.id == source.id
    assert reloaded.farmer_id == farmer.id
    assert reloaded.cursor == SourceCursor("100", T0, 0, T0, ((0, FARM),))
    assert await rows(db, "SELECT lines_total FROM log_sources") == [(20,)]


async def test_farm_upsert_touches_only_the_log_columns(db: Database, clock: FakeClock) -> None:
    store = LogStore(db)
    source = await store.source("file:local:/x.log", "farmer", None, clock.now_us())
    # The metrics side knew the farm first and marked it inactive.
    await db.conn.execute(
        "INSERT INTO farms (farm_id, first_seen_us, last_seen_us, active) VALUES (?, 1, 2, 0)",
        (FARM,),
    )
    await store.write(source, batch("1", ts=T0 + 1000), clock.now_us())
    assert await rows(
        db, "SELECT farm_index, directory, first_seen_us, last_seen_us, active FROM farms"
    ) == [(0, "/farms/a", 1, T0 + 1000, 0)]  # seen times widen; active stays the metrics' call
    # An older line (history replayed late) does not move the index back.
    older = LogBatch(
        cursor=SourceCursor("2"), lines=1, farms=(FarmRecord(FARM, T0, T0, farm_index=3),)
    )
    await store.write(source, older, clock.now_us())
    assert await rows(db, "SELECT farm_index, directory FROM farms") == [(0, "/farms/a")]
    newer = LogBatch(
        cursor=SourceCursor("3"),
        lines=1,
        farms=(FarmRecord(FARM, T0 + 5000, T0 + 5000, farm_index=1),),
    )
    await store.write(source, newer, clock.now_us())
    assert await rows(db, "SELECT farm_index, directory FROM farms") == [(1, "/farms/a")]


async def test_plots_and_node_state_keep_the_latest(db: Database, clock: FakeClock) -> None:
    store = LogStore(db)
    source = await store.source("file:local:/n.log", "node", None, clock.now_us())
    await store.write(source, batch("1", ts=T0 + 10), clock.now_us())
    stale = LogBatch(
        cursor=SourceCursor("2"),
        lines=1,
        plots=(PlotState(FARM, PlotKind.REPLOTTING, 1.0, 1, T0),),
        node=NodeState(
            ts_us=T0,
            state=SyncState.SYNCING,
            peers=1,
            best=1,
            finalized=0,
            imported_number=99,
            imported_us=T0,
        ),
    )
    await store.write(source, stale, clock.now_us())
    assert await rows(db, "SELECT kind, percent FROM plots") == [("plotting", 12.5)]
    assert await rows(db, "SELECT state, peers, best, imported_number FROM node_state") == [
        ("idle", 40, 100, 99)
    ]
    assert await rows(db, "SELECT count, sample FROM unmatched_lines") == [(3, "x")]


async def test_reset_cursor_forgets_position_not_rows(db: Database, clock: FakeClock) -> None:
    store = LogStore(db)
    source = await store.source("file:local:/x.log", "farmer", None, clock.now_us())
    await store.write(source, batch("100"), clock.now_us())
    await store.reset_cursor(source, clock.now_us())
    reloaded = await store.source("file:local:/x.log", "farmer", None, clock.now_us())
    assert reloaded.cursor == SourceCursor()
    assert (await rows(db, "SELECT count(*) FROM rewards"))[0][0] == 2
    summary = await store.farms()
    assert [(f.farm_id, f.farm_index, f.signed_rewards) for f in summary] == [(FARM, 0, 1)]
