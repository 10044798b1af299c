"""LogIngestor on a real SQLite file: samples, restarts, the farm-index swap, node state."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from collectors.clock import FakeClock
from collectors.ingest import LogIngestor, StaleBatchError
from collectors.models.events import EventKind
from collectors.models.logs import LogLine, SourceRef
from collectors.parsing.decode import Framing, LineDecoder, detect_framing
from collectors.store.database import Database
from collectors.store.farmers import FarmerStore
from tests.conftest import FIXTURES, SAMPLES, needs_samples

LOGS = FIXTURES / "logs"
ZAE = "01JC6R9K9F4W3Y8P6N5V1C2ZAE"
YZD = "01JC6R9K8Q3X2V7N5M4T0B1YZD"
CEF = "01JD2Q7H5M8R3T6W9Y0A2B4CEF"
FARM_A = "01JZAAAAAAAAAAAAAAAAAAAAAA"
FARM_B = "01JZBBBBBBBBBBBBBBBBBBBBBB"


def log_lines(path: Path) -> list[LogLine]:
    data = path.read_bytes()
    decoder = LineDecoder(detect_framing(data[:4096]))
    decoded = decoder.feed(data) + decoder.flush()
    return [LogLine(d.text, str(d.end_offset), d.received_us) for d in decoded]


async def make_ingestor(db: Database, clock: FakeClock) -> LogIngestor:
    farmers = FarmerStore(db)
    await farmers.ensure_primary("rig", clock.now_us())
    return LogIngestor(db, farmers, clock)


async def rows(db: Database, sql: str, *args: object) -> list[tuple[object, ...]]:
    async with db.conn.execute(sql, args) as cur:
        return [tuple(r) for r in await cur.fetchall()]


async def count(db: Database, table: str) -> int:
    return int((await rows(db, f"SELECT count(*) FROM {table}"))[0][0])  # type: ignore[call-overload]


async def table_counts(db: Database) -> dict[str, int]:
    tables = ["events", "rewards", "farms", "farm_index_map", "plots", "node_state"]
    return {t: await count(db, t) for t in tables}


async def rewards_by_farm(db: Database) -> dict[object, object]:
    got = await rows(
        db,
        "SELECT farm_id, count(*) FROM rewards WHERE outcome = 'signed' GROUP BY farm_id",
    )
    return dict(got)


FARMER = SourceRef("file:local:/logs/farmer.log", "farmer")
NODE = SourceRef("file:local:/logs/node.log", "node")


@needs_samples
@pytest.mark.parametrize("name", ["farmer.log", "farmer-json.log"])
async def test_farmer_sample_facts_in_the_store(db: Database, clock: FakeClock, name: str) -> None:
    ingestor = await make_ingestor(db, clock)
    lines = log_lines(SAMPLES / name)
    stats = await ingestor.ingest(FARMER, lines)
    assert stats.lines == 274
    assert stats.by_kind[EventKind.REWARD_SIGNED] == 14
    assert stats.rewards_written == 16  # 14 signed, 1 failed solution, 1 proving skipped
    assert stats.unresolved_farm == 0
    assert await rewards_by_farm(db) == {YZD: 8, ZAE: 5, CEF: 1}
    missed = await rows(
        db,
        "SELECT outcome, farm_id, slot, sector_index FROM rewards"
        " WHERE outcome != 'signed' ORDER BY ts_us",
    )
    assert missed == [
        ("solution_failed", ZAE, 19427118, 288),
        ("proving_skipped", CEF, 19431904, 17),
    ]
    farms = await rows(
        db, "SELECT farm_id, farm_index, directory, allocated_bytes FROM farms ORDER BY farm_index"
    )
    assert farms == [
        (ZAE, 0, "/farms/hdd1", round(3.6 * 2**40)),
        (YZD, 1, "/farms/nvme0", round(1.8 * 2**40)),
        (CEF, 2, "/farms/hdd2", round(931.3 * 2**30)),
    ]
    kinds = dict(await rows(db, "SELECT kind, count(*) FROM events GROUP BY kind"))
    assert kinds["farm_exited"] + kinds["farm_stopped"] == 5
    assert kinds["plot_failed"] == 1
    assert kinds["replotting_complete"] == 1
    assert kinds["farmer_start"] == 2
    assert "plotting" not in kinds  # progress is not an event: it is in plots
    assert "replotting" not in kinds
    down = await rows(db, "SELECT DISTINCT farm_id FROM events WHERE kind LIKE 'farm_%ed'")
    assert down == [(CEF,)]
    plots = await rows(
        db,
        "SELECT farm_id, kind, percent, sector_index, complete_us IS NOT NULL FROM plots"
        " ORDER BY farm_id",
    )
    assert plots == [
        (YZD, "replotting", 100.0, None, 1),  # index 0 of run 1 finished replotting
        (ZAE, "plotting", 17.88, 675, 0),  # index 1 in run 1, index 0 in run 2: sectors go on
        (CEF, "plotting", 6.36, 60, 0),
    ]
    assert await ingestor.position(FARMER) == lines[-1].position


@needs_samples
async def test_farm_index_swap_resolves_through_each_runs_map(
    db: Database, clock: FakeClock
) -> None:
    ingestor = await make_ingestor(db, clock)
    await ingestor.ingest(FARMER, log_lines(SAMPLES / "farmer.log"))
    runs = await rows(
        db,
        "SELECT run_start_us, farm_index, farm_id FROM farm_index_map"
        " ORDER BY run_start_us, farm_index",
    )
    first, second = sorted({r[0] for r in runs})
    assert [r[1:] for r in runs if r[0] == first] == [(0, YZD), (1, ZAE), (2, CEF)]
    assert [r[1:] for r in runs if r[0] == second] == [(0, ZAE), (1, YZD), (2, CEF)]
    # The first reward (run 1, index 0) is …YZD's; the last one (run 2, index 0) is …ZAE's.
    ordered = await rows(
        db, "SELECT farm_index, farm_id FROM rewards WHERE outcome = 'signed' ORDER BY ts_us"
    )
    assert ordered[0] == (0, YZD)
    assert ordered[-1] == (0, ZAE)


@needs_samples
async def test_first_seen_is_the_farms_earliest_line_whatever_the_batching(
    db: Database, clock: FakeClock
) -> None:
    ingestor = await make_ingestor(db, clock)
    lines = log_lines(SAMPLES / "farmer.log")
    # Both farmer runs in one batch, then the same again in two batches: same first/last seen.
    await ingestor.ingest(FARMER, lines)
    whole = await rows(db, "SELECT farm_id, first_seen_us, last_seen_us FROM farms ORDER BY 1")
    other = SourceRef("file:local:/logs/farmer-copy.log", "farmer")
    await ingestor.ingest(other, lines[150:])
    await ingestor.ingest(other, lines[:150])
    assert (
        await rows(db, "SELECT farm_id, first_seen_us, last_seen_us FROM farms ORDER BY 1") == whole
    )
    first_seen = {farm: first for farm, first, _ in whole}
    # …YZD's block is printed at 08:00:05 in the first run and again at 10:02:46 in the second.
    assert first_seen[YZD] == 1_750_406_405_510_776
    assert all(first < last for _, first, last in whole)


@needs_samples
@pytest.mark.parametrize("split", [1, 17, 100, 137, 250])
async def test_restart_at_any_point_gives_the_same_rows(
    tmp_path: Path, clock: FakeClock, split: int
) -> None:
    lines = log_lines(SAMPLES / "farmer.log")
    whole = Database(tmp_path / "whole.db")
    await whole.initialize()
    await (await make_ingestor(whole, clock)).ingest(FARMER, lines)
    expected = await table_counts(whole)
    expected_rewards = await rewards_by_farm(whole)
    await whole.close()

    path = tmp_path / "parts.db"
    db = Database(path)
    await db.initialize()
    await (await make_ingestor(db, clock)).ingest(FARMER, lines[:split])
    await db.close()  # the process stops here

    db = Database(path)
    await db.initialize()
    ingestor = await make_ingestor(db, clock)
    position = await ingestor.position(FARMER)
    assert position == lines[split - 1].position
    rest = [line for line in lines if int(line.position) > int(position)]
    await ingestor.ingest(FARMER, rest)
    assert await table_counts(db) == expected
    assert await rewards_by_farm(db) == expected_rewards == {YZD: 8, ZAE: 5, CEF: 1}
    # Lines seen again (a lost position) add nothing.
    stats = await ingestor.ingest(FARMER, lines)
    assert (stats.events_written, stats.rewards_written) == (0, 0)
    assert await table_counts(db) == expected
    await db.close()


async def test_restart_append_fixture_exact_counts(tmp_path: Path, clock: FakeClock) -> None:
    """Without ../shared: ingest, stop, the log grows, ingest again: exact rows, no duplicates."""
    lines = log_lines(LOGS / "farmer-current.log")
    path = tmp_path / "cosmos.db"
    db = Database(path)
    await db.initialize()
    stats = await (await make_ingestor(db, clock)).ingest(FARMER, lines[:30])
    assert stats.by_kind[EventKind.REWARD_SIGNED] == 3
    assert await rewards_by_farm(db) == {FARM_A: 2, FARM_B: 1}
    await db.close()

    db = Database(path)
    await db.initialize()
    ingestor = await make_ingestor(db, clock)
    assert await ingestor.position(FARMER) == lines[29].position
    stats = await ingestor.ingest(FARMER, lines[30:])
    assert stats.unresolved_farm == 0  # the run-2 map was rebuilt across the restart
    assert await rewards_by_farm(db) == {FARM_A: 4, FARM_B: 2}
    assert await count(db, "rewards") == 8  # 6 signed, 1 failed solution, 1 proving skipped
    kinds = dict(await rows(db, "SELECT kind, count(*) FROM events GROUP BY kind"))
    assert kinds == {
        "farmer_start": 2,
        "farmer_shutdown": 1,
        "piece_cache_synced": 1,
        "initial_plotting_complete": 1,
        "replotting_complete": 1,
        "plot_failed": 1,
        "farm_exited": 1,
        "farm_stopped": 1,
    }
    down = await rows(db, "SELECT farm_id FROM events WHERE kind = 'farm_exited'")
    assert down == [(FARM_B,)]  # index 0 in run 2
    assert await rows(db, "SELECT farm_id, farm_index FROM farms ORDER BY farm_index") == [
        (FARM_B, 0),
        (FARM_A, 1),
    ]
    await ingestor.ingest(FARMER, lines)
    assert await count(db, "rewards") == 8
    assert await count(db, "events") == 9
    await db.close()


async def test_restart_in_the_middle_of_a_farm_block(tmp_path: Path, clock: FakeClock) -> None:
    lines = log_lines(LOGS / "farmer-current.log")
    path = tmp_path / "cosmos.db"
    for cut in (2, 3, 5, 9):
        db = Database(path)
        await db.initialize()
        await (await make_ingestor(db, clock)).ingest(FARMER, lines[:cut])
        await db.close()
        db = Database(path)
        await db.initialize()
        ingestor = await make_ingestor(db, clock)
        await ingestor.ingest(FARMER, lines[cut:])
        assert await rows(
            db, "SELECT farm_id, directory, public_key IS NOT NULL FROM farms ORDER BY farm_id"
        ) == [(FARM_A, "/farms/a", 1), (FARM_B, "/farms/b", 1)]
        assert await rewards_by_farm(db) == {FARM_A: 4, FARM_B: 2}
        await ingestor.forget_position(FARMER)
        assert await ingestor.position(FARMER) is None
        await db.close()


async def test_old_formats_resolve_farms(db: Database, clock: FakeClock) -> None:
    ingestor = await make_ingestor(db, clock)
    await ingestor.ingest(FARMER, log_lines(LOGS / "farmer-2024-02.log"))
    assert await rows(db, "SELECT farm_id, farm_index, directory FROM farms ORDER BY 2") == [
        ("01HKZ4QW3N8E5R7T9Y1U2I3O4P", 0, "/mnt/ssd0"),
        ("01HKZ4QW3N8E5R7T9Y1U2I3O4Q", 1, "/mnt/hdd1"),
    ]
    assert await rewards_by_farm(db) == {"01HKZ4QW3N8E5R7T9Y1U2I3O4Q": 1}
    plots = await rows(db, "SELECT farm_id, kind, percent, sector_index FROM plots ORDER BY 1")
    assert plots == [
        ("01HKZ4QW3N8E5R7T9Y1U2I3O4P", "plotting", 100.0, None),  # initial plotting complete
        ("01HKZ4QW3N8E5R7T9Y1U2I3O4Q", "plotting", 12.34, 5),
    ]


async def test_ansi_log_gives_the_same_rows_as_plain(tmp_path: Path, clock: FakeClock) -> None:
    results = []
    for name in ("farmer-current.log", "farmer-ansi.log"):
        db = Database(tmp_path / f"{name}.db")
        await db.initialize()
        await (await make_ingestor(db, clock)).ingest(FARMER, log_lines(LOGS / name))
        results.append(
            (
                await table_counts(db),
                await rows(db, "SELECT ts_us, kind, farm_id, line_hash FROM events ORDER BY 1"),
                await rewards_by_farm(db),
            )
        )
        await db.close()
    assert results[0][0] == results[1][0]
    assert [r[:3] for r in results[0][1]] == [r[:3] for r in results[1][1]]
    assert results[0][2] == results[1][2]


@needs_samples
async def test_node_sample_state_and_events(db: Database, clock: FakeClock) -> None:
    ingestor = await make_ingestor(db, clock)
    lines = log_lines(SAMPLES / "node.log")
    stats = await ingestor.ingest(NODE, lines[:60])
    await ingestor.ingest(NODE, lines[60:])
    assert stats.by_kind[EventKind.NODE_INFORMANT] > 0
    state = await rows(
        db, "SELECT state, peers, best, finalized, imported_number, version FROM node_state"
    )
    assert state == [("idle", 38, 3245176, 3245076, 3245176, "0.1.11-3f9d2a6c81e")]
    kinds = dict(await rows(db, "SELECT kind, count(*) FROM events GROUP BY kind"))
    assert kinds == {
        "claimed_vote": 1,
        "claimed_block": 1,
        "solution_ignored": 1,
        "node_version": 1,
        "node_chain": 1,
        "node_name": 1,
        "metrics_server": 1,
    }
    slots = await rows(
        db, "SELECT kind, data FROM events WHERE kind LIKE 'claimed%' ORDER BY ts_us"
    )
    assert slots == [
        ("claimed_vote", '{"slot": 19426981}'),
        ("claimed_block", '{"slot": 19427259}'),
    ]


async def test_node_fixtures_older_lines_do_not_win(db: Database, clock: FakeClock) -> None:
    ingestor = await make_ingestor(db, clock)
    await ingestor.ingest(NODE, log_lines(LOGS / "node-current.log"))
    await ingestor.ingest(NODE, log_lines(LOGS / "node-2023.log"))  # replayed old history
    state = await rows(db, "SELECT state, best, imported_number FROM node_state")
    assert state == [("idle", 3245131, 3245134)]
    assert dict(await rows(db, "SELECT kind, count(*) FROM events GROUP BY kind")) == {
        "node_version": 2,
        "node_chain": 1,
        "node_reorg": 2,
        "claimed_vote": 2,
        "claimed_block": 2,
        "solution_ignored": 1,
    }


async def test_unmatched_lines_counted_per_day_with_a_sample(
    db: Database, clock: FakeClock
) -> None:
    ingestor = await make_ingestor(db, clock)
    lines = [
        LogLine("2025-06-20T08:00:01.0Z  INFO x: nothing to see", "1"),
        LogLine("2025-06-20T09:00:01.0Z  INFO x: nothing either", "2"),
        LogLine("\x1b[2m2025-06-21T08:00:01.0Z\x1b[0m  INFO x: other day", "3"),
        LogLine("\x00\xff garbage ###", "4", received_us=1_750_406_400_000_000),
    ]
    stats = await ingestor.ingest(FARMER, lines)
    assert (stats.matched, stats.unmatched) == (0, 4)
    got = await rows(db, "SELECT day, count, sample FROM unmatched_lines ORDER BY day")
    assert got == [
        ("2025-06-20", 3, "2025-06-20T08:00:01.0Z  INFO x: nothing to see"),
        ("2025-06-21", 1, "\x1b[2m2025-06-21T08:00:01.0Z\x1b[0m  INFO x: other day"),
    ]
    assert await ingestor.position(FARMER) == "4"


async def test_reward_read_from_two_sources_counts_once(db: Database, clock: FakeClock) -> None:
    ingestor = await make_ingestor(db, clock)
    lines = log_lines(LOGS / "farmer-current.log")
    await ingestor.ingest(FARMER, lines)
    await ingestor.ingest(SourceRef("docker:local:farmer", "farmer"), lines)
    assert await count(db, "rewards WHERE outcome = 'signed'") == 6


async def test_a_failed_write_changes_nothing(db: Database, clock: FakeClock) -> None:
    ingestor = await make_ingestor(db, clock)
    lines = log_lines(LOGS / "farmer-current.log")
    await ingestor.ingest(FARMER, lines[:20])
    before = await table_counts(db)
    await db.conn.execute(
        "CREATE TRIGGER boom BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
    )
    with pytest.raises(Exception, match="disk on fire"):
        await ingestor.ingest(FARMER, lines[20:])
    assert await table_counts(db) == before
    assert await ingestor.position(FARMER) == lines[19].position
    await db.conn.execute("DROP TRIGGER boom")
    await ingestor.ingest(FARMER, lines[20:])
    assert await rewards_by_farm(db) == {FARM_A: 4, FARM_B: 2}


async def test_garbage_gives_no_rows_and_no_exception(db: Database, clock: FakeClock) -> None:
    rng = random.Random(3)
    noise = bytes(rng.getrandbits(8) for _ in range(200_000))
    truncated = b'{"log":"2025-06-20T08:10:38.952780Z  INFO {farm_index=0}: x: Successfully sig'
    huge = b"2025-06-20T08:10:38.952780Z  INFO x: " + b"A" * 1_000_000 + b"\n"
    ingestor = await make_ingestor(db, clock)
    for framing in Framing:
        for data in (noise, truncated, huge):
            decoder = LineDecoder(framing)
            decoded = decoder.feed(data) + decoder.flush()
            lines = [LogLine(d.text, str(d.end_offset), d.received_us) for d in decoded]
            if lines:
                stats = await ingestor.ingest(FARMER, lines)
                assert stats.matched == 0
    for table in ("events", "rewards", "farms", "plots", "node_state", "farm_index_map"):
        assert await count(db, table) == 0, table
    samples = await rows(db, "SELECT max(length(sample)) FROM unmatched_lines")
    assert samples[0][0] is not None
    assert int(samples[0][0]) <= 500  # type: ignore[call-overload]


async def test_pipelined_prepare_and_commit(db: Database, clock: FakeClock) -> None:
    ingestor = await make_ingestor(db, clock)
    lines = log_lines(LOGS / "farmer-current.log")
    first = await ingestor.prepare(FARMER, lines[:20], lines[19].position)
    second = await ingestor.prepare(FARMER, lines[20:], lines[-1].position)  # on top of first
    await db.conn.execute(
        "CREATE TRIGGER boom BEFORE INSERT ON rewards BEGIN SELECT RAISE(ABORT, 'full'); END"
    )
    with pytest.raises(Exception, match="full"):
        await ingestor.commit(first)
    with pytest.raises(StaleBatchError):
        await ingestor.commit(second)  # it was planned on a state that never got stored
    await db.conn.execute("DROP TRIGGER boom")
    assert await ingestor.position(FARMER) is None
    first = await ingestor.prepare(FARMER, lines[:20], lines[19].position)
    second = await ingestor.prepare(FARMER, lines[20:], lines[-1].position)
    await ingestor.commit(first)
    stats = await ingestor.commit(second)
    assert stats.unresolved_farm == 0
    assert await rewards_by_farm(db) == {FARM_A: 4, FARM_B: 2}
    assert await ingestor.position(FARMER) == lines[-1].position
