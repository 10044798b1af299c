"""The log collector end to end: real files and the real docker SDK against the fake Engine,
the real log pipeline (LogIngestor) and a real SQLite file; restarts must neither lose nor
repeat a line."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from collectors.clock import FakeClock
from collectors.ingest import LogIngestor
from collectors.logs_collector import LogCollector, docker_key, file_key
from collectors.models.logs import LogLine, SourceRef
from collectors.settings import DockerHost, LogFile, LogsSettings, Settings
from collectors.sources.docker_logs import DockerPosition
from collectors.sources.file_logs import FilePosition
from collectors.store.database import Database
from collectors.store.farmers import FarmerStore
from tests.collectors.sources.helpers import wait_until
from tests.conftest import FIXTURES, SAMPLES, needs_samples
from tests.fakes.docker_engine import FakeDockerEngine

SMALL_FARMER_LOG = FIXTURES / "sources" / "farmer-small.log"
FARMER_IMAGE = "ghcr.io/autonomys/farmer:mainnet-2025-jun-18"
NODE_IMAGE = "ghcr.io/autonomys/node:mainnet-2025-jun-18"
COUNTED = ("events", "rewards", "farms", "farm_index_map", "plots")


def farmer_lines() -> list[str]:
    source = SAMPLES / "farmer.log" if (SAMPLES / "farmer.log").is_file() else SMALL_FARMER_LOG
    return source.read_text(encoding="utf-8").splitlines()


def node_lines() -> list[str]:
    path = SAMPLES / "node.log"
    if path.is_file():
        return path.read_text(encoding="utf-8").splitlines()
    return [
        f"2025-07-01T07:0{i}:00.000000Z  INFO Consensus: substrate: ✨ Imported #{100 + i} "
        f"(0x{i:04x}…{i:04x})"
        for i in range(8)
    ]


async def table_counts(db: Database) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table in COUNTED:
        async with db.conn.execute(f"SELECT COUNT(*) FROM {table}") as cur:
            row = await cur.fetchone()
        counts[table] = int(row[0]) if row else 0
    async with db.conn.execute("SELECT COALESCE(SUM(count), 0) FROM unmatched_lines") as cur:
        row = await cur.fetchone()
    counts["unmatched"] = int(row[0]) if row else 0
    return counts


async def make_ingestor(db: Database, clock: FakeClock) -> LogIngestor:
    farmers = FarmerStore(db)
    await farmers.ensure_primary("farmer1", clock.now_us())
    return LogIngestor(db, farmers, clock)


async def reference_counts(
    tmp_path: Path, clock: FakeClock, role: str, lines: list[str], name: str
) -> dict[str, int]:
    """What the pipeline stores for these lines read in one go, in a database of its own."""
    ref_db = Database(tmp_path / f"reference-{name}.db")
    await ref_db.initialize()
    try:
        ingestor = await make_ingestor(ref_db, clock)
        ref = SourceRef(f"reference:{name}", role, "local", "farmer1")  # type: ignore[arg-type]
        for i, text in enumerate(lines):
            await ingestor.ingest(ref, [LogLine(text, f"ref:{i}")])
        return await table_counts(ref_db)
    finally:
        await ref_db.close()


@contextlib.asynccontextmanager
async def running(collector: LogCollector) -> AsyncIterator[LogCollector]:
    task = asyncio.get_running_loop().create_task(collector.run())
    try:
        yield collector
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def collector_for(
    settings: LogsSettings, ingestor: LogIngestor, clock: FakeClock, **kwargs: float
) -> LogCollector:
    options: dict[str, float] = {
        "file_poll_seconds": 0.02,
        "discover_seconds": 0.1,
        "batch_seconds": 0.05,
        **kwargs,
    }
    return LogCollector(settings, ingestor, clock, farmer_name="farmer1", **options)  # type: ignore[arg-type]


def write(path: Path, lines: list[str], mode: str = "a") -> None:
    with path.open(mode, encoding="utf-8") as f:
        f.writelines(line + "\n" for line in lines)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[FakeDockerEngine]:
    with FakeDockerEngine(tmp_path) as fake:
        yield fake


# --- files --------------------------------------------------------------------------------------


async def test_file_backfill_then_restart_stores_each_line_once(
    tmp_path: Path, db: Database, clock: FakeClock
) -> None:
    lines = farmer_lines()
    half = len(lines) // 2
    path = tmp_path / "farmer.log"
    write(path, lines[:half], mode="w")
    ingestor = await make_ingestor(db, clock)
    settings = LogsSettings(files=[LogFile(path=path, role="farmer")])
    ref = SourceRef(file_key("local", path), "farmer", "local", "farmer1")

    async def stored_offset() -> int | None:
        pos = FilePosition.decode(await ingestor.position(ref))
        return pos.offset if pos else None

    async def reached(size: int) -> None:
        for _ in range(1500):
            if await stored_offset() == size:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"stored offset {await stored_offset()} never reached {size}")

    async with running(collector_for(settings, ingestor, clock)) as collector:
        await reached(path.stat().st_size)
        [status] = collector.source_statuses()
        assert status.key == f"file:local:{path}"
        assert status.lines_ingested == half
        assert status.farmer == "farmer1"
    # cosmos is stopped; the farmer keeps logging; cosmos starts again.
    write(path, lines[half:])
    async with running(collector_for(settings, ingestor, clock)) as collector:
        await reached(path.stat().st_size)
        await wait_until(lambda: collector.source_statuses()[0].state == "live")
        assert collector.source_statuses()[0].lines_ingested == len(lines) - half
    assert await table_counts(db) == await reference_counts(
        tmp_path, clock, "farmer", lines, "farmer"
    )


async def test_the_same_collector_can_be_stopped_and_started_again(
    tmp_path: Path, db: Database, clock: FakeClock
) -> None:
    path = tmp_path / "node.log"
    lines = node_lines()
    write(path, lines[:3], mode="w")
    ingestor = await make_ingestor(db, clock)
    collector = collector_for(
        LogsSettings(files=[LogFile(path=path, role="node")]), ingestor, clock
    )
    async with running(collector):
        await wait_until(lambda: [s.lines_ingested for s in collector.source_statuses()] == [3])
    write(path, lines[3:])
    async with running(collector):
        await wait_until(
            lambda: [s.lines_ingested for s in collector.source_statuses()] == [len(lines) - 3]
        )


@needs_samples
async def test_sample_farmer_log_rewards(tmp_path: Path, db: Database, clock: FakeClock) -> None:
    path = tmp_path / "farmer-json.log"
    shutil.copyfile(SAMPLES / "farmer-json.log", path)
    ingestor = await make_ingestor(db, clock)
    settings = LogsSettings(files=[LogFile(path=path, role="farmer")])
    async with running(collector_for(settings, ingestor, clock)) as collector:
        await wait_until(
            lambda: (
                bool(collector.source_statuses())
                and collector.source_statuses()[0].lines_ingested == 274
            )
        )
    async with db.conn.execute("SELECT COUNT(*) FROM rewards WHERE reward_hash IS NOT NULL") as cur:
        row = await cur.fetchone()
    assert row is not None
    assert row[0] == 14


async def test_one_failing_source_does_not_stop_the_others(
    tmp_path: Path, db: Database, clock: FakeClock
) -> None:
    good = tmp_path / "node.log"
    write(good, node_lines(), mode="w")
    bad = tmp_path / "not-a-file"
    bad.mkdir()  # opening works, reading fails: the source's loop fails and retries
    ingestor = await make_ingestor(db, clock)
    settings = LogsSettings(
        files=[LogFile(path=bad, role="farmer"), LogFile(path=good, role="node")],
        reconnect_seconds=0.05,
    )
    async with running(collector_for(settings, ingestor, clock)) as collector:

        def by_key() -> dict[str, str]:
            return {s.key: s.state for s in collector.source_statuses()}

        await wait_until(
            lambda: (
                by_key().get(file_key("local", good)) == "live"
                and by_key().get(file_key("local", bad)) == "failing"
            )
        )
        statuses = {s.key: s for s in collector.source_statuses()}
        assert statuses[file_key("local", good)].lines_ingested == len(node_lines())
        assert "IsADirectoryError" in (statuses[file_key("local", bad)].last_error or "")
        assert collector.status.failures_in_row >= 1
        # Fixed by hand: the failing source recovers on its next attempt, the error is cleared.
        bad.rmdir()
        write(bad, farmer_lines()[:3], mode="w")
        await wait_until(lambda: by_key().get(file_key("local", bad)) == "live")
        assert collector.status.failures_in_row == 0
        statuses = {s.key: s for s in collector.source_statuses()}
        assert statuses[file_key("local", bad)].lines_ingested == 3


async def test_progress_is_logged_during_a_long_backfill(
    tmp_path: Path, db: Database, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="collectors.logs_collector")
    path = tmp_path / "big.log"
    lines = farmer_lines()
    write(path, lines * 40, mode="w")
    ingestor = await make_ingestor(db, clock)
    settings = LogsSettings(files=[LogFile(path=path, role="farmer")])
    collector = collector_for(settings, ingestor, clock, progress_seconds=0.0, batch_lines=500)
    async with running(collector):
        await wait_until(lambda: "caught up after" in caplog.text, within=120)
    assert "reading the backlog" in caplog.text
    assert "MiB left" in caplog.text
    assert f"caught up after {len(lines) * 40:,} lines" in caplog.text


# --- Docker -------------------------------------------------------------------------------------


async def test_docker_by_image_and_name_backfill_follow_and_restart(
    tmp_path: Path, db: Database, clock: FakeClock, engine: FakeDockerEngine
) -> None:
    farmer, node = farmer_lines(), node_lines()
    engine.add_container("autonomys-farmer-1", FARMER_IMAGE)  # found by image
    engine.add_container("my-node", NODE_IMAGE)  # found by name
    engine.add_container("unrelated", "redis:7")
    third = len(farmer) // 3
    engine.append("autonomys-farmer-1", *farmer[:third])
    engine.append("my-node", *node)
    ingestor = await make_ingestor(db, clock)
    settings = LogsSettings(
        docker=[DockerHost(base_url=engine.base_url, node_container="my-node")],
        reconnect_seconds=0.05,
    )
    farmer_key = docker_key("local", "farmer", "autonomys-farmer-1")
    node_key = docker_key("local", "node", "my-node")

    def ingested(collector: LogCollector) -> dict[str, int]:
        return {s.key: s.lines_ingested for s in collector.source_statuses()}

    async with running(collector_for(settings, ingestor, clock)) as collector:
        await wait_until(lambda: ingested(collector) == {farmer_key: third, node_key: len(node)})
        # Live: the farmer logs more, then its container restarts (the stream ends).
        engine.append("autonomys-farmer-1", *farmer[third : 2 * third])
        await wait_until(lambda: ingested(collector).get(farmer_key) == 2 * third)
        engine.restart("autonomys-farmer-1")
        await wait_until(lambda: len(engine.log_requests("autonomys-farmer-1")) >= 2)
        assert "unrelated" not in {s.key.rsplit(":", 1)[-1] for s in collector.source_statuses()}
    # cosmos stopped; the farmer logs on; cosmos starts again and resumes with ``since``.
    engine.append("autonomys-farmer-1", *farmer[2 * third :])
    requests_before = len(engine.log_requests("autonomys-farmer-1"))
    async with running(collector_for(settings, ingestor, clock)) as collector:
        await wait_until(lambda: ingested(collector).get(farmer_key) == len(farmer) - 2 * third)
        await wait_until(lambda: ingested(collector).get(node_key) is not None)
        await asyncio.sleep(0.3)  # nothing more may come: the node's lines were all stored
        assert ingested(collector)[node_key] == 0
    resumed = engine.log_requests("autonomys-farmer-1")[requests_before]
    assert "since" in resumed
    pos = DockerPosition.decode(
        await ingestor.position(SourceRef(farmer_key, "farmer", "local", "farmer1"))
    )
    assert pos is not None
    assert pos.container_id == engine.get("autonomys-farmer-1").id
    farmer_counts = await reference_counts(tmp_path, clock, "farmer", farmer, "farmer")
    node_counts = await reference_counts(tmp_path, clock, "node", node, "node")
    both = {k: farmer_counts[k] + node_counts[k] for k in farmer_counts}
    assert await table_counts(db) == both


async def test_compose_services_named_in_the_config_are_followed(
    tmp_path: Path, db: Database, clock: FakeClock, engine: FakeDockerEngine
) -> None:
    """The compose example's ``farmer_container: farmer`` finds ``<project>-farmer-1``."""
    labels = {"com.docker.compose.project": "cosmos", "com.docker.compose.service": "farmer"}
    engine.add_container("cosmos-farmer-1", "registry.local/farmer-build:7", labels=labels)
    engine.append("cosmos-farmer-1", *farmer_lines())
    ingestor = await make_ingestor(db, clock)
    settings = LogsSettings(
        docker=[DockerHost(base_url=engine.base_url, farmer_container="farmer")],
        reconnect_seconds=0.05,
    )
    key = docker_key("local", "farmer", "cosmos-farmer-1")
    async with running(collector_for(settings, ingestor, clock)) as collector:
        await wait_until(
            lambda: (
                {s.key: s.lines_ingested for s in collector.source_statuses()}.get(key)
                == len(farmer_lines())
            )
        )
        assert [s.key for s in collector.source_statuses()] == [key]


async def test_docker_recreated_container_is_read_from_its_start(
    tmp_path: Path, db: Database, clock: FakeClock, engine: FakeDockerEngine
) -> None:
    node = node_lines()
    engine.add_container("node", NODE_IMAGE)
    engine.append("node", *node[:5])
    ingestor = await make_ingestor(db, clock)
    settings = LogsSettings(
        docker=[DockerHost(base_url=engine.base_url, node_container="node", farmer_container="f")],
        reconnect_seconds=0.05,
    )
    key = docker_key("local", "node", "node")
    async with running(collector_for(settings, ingestor, clock)) as collector:

        def lines_of_node() -> int:
            return {s.key: s.lines_ingested for s in collector.source_statuses()}.get(key, 0)

        await wait_until(lambda: lines_of_node() == 5)
        fresh = engine.recreate("node")
        engine.append("node", *node[5:])
        await wait_until(lambda: lines_of_node() == len(node))
        # The farmer container named in the settings does not exist: said, not fatal.
        missing = docker_key("local", "farmer", "f")
        await wait_until(
            lambda: {s.key: s.state for s in collector.source_statuses()}[missing] == "waiting"
        )
        statuses = {s.key: s for s in collector.source_statuses()}
        assert "no container named 'f'" in (
            statuses[docker_key("local", "farmer", "f")].last_error or ""
        )
    pos = DockerPosition.decode(await ingestor.position(SourceRef(key, "node", "local", "farmer1")))
    assert pos is not None
    assert pos.container_id == fresh.id


async def test_docker_down_at_start_then_up(
    tmp_path: Path,
    db: Database,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    engine = FakeDockerEngine(tmp_path)  # not started: the socket is missing
    ingestor = await make_ingestor(db, clock)
    settings = LogsSettings(docker=[DockerHost(base_url=engine.base_url)], reconnect_seconds=0.05)
    try:
        async with running(collector_for(settings, ingestor, clock)) as collector:
            await wait_until(lambda: "is not reachable" in caplog.text)
            await asyncio.sleep(0.3)  # several retries
            assert caplog.text.count("is not reachable") == 1
            assert collector.source_statuses() == []
            engine.start()
            engine.add_container("farmer", FARMER_IMAGE)
            engine.append("farmer", *farmer_lines()[:10])
            await wait_until(
                lambda: [s.lines_ingested for s in collector.source_statuses()] == [10]
            )
            assert "reachable again" in caplog.text
    finally:
        engine.close()


# --- composition root ---------------------------------------------------------------------------


async def test_build_collectors_adds_the_log_collector(tmp_path: Path) -> None:
    from bot.services import build_services

    log_file = tmp_path / "farmer.log"
    settings = Settings(
        database_path=tmp_path / "cosmos.db",
        farmer_name="farmer1",
        logs=LogsSettings(files=[LogFile(path=log_file, role="farmer")]),
    )
    services = await build_services(settings)
    try:
        assert [c for c in services.collectors if isinstance(c, LogCollector)]
    finally:
        await services.db.close()
    quiet = Settings(database_path=tmp_path / "quiet.db", farmer_name="farmer1")
    services = await build_services(quiet)
    try:
        assert not [c for c in services.collectors if isinstance(c, LogCollector)]
    finally:
        await services.db.close()
