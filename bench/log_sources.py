"""Throughput of the log sources on a backlog: lines/s read from a file and through the real
docker SDK against the fake Engine API (no database; non-TTY frames streamed, TTY read in bulk
windows), and, with ``--ingest``, from a file through the log pipeline into a real SQLite file.

    .venv/bin/python -m bench.log_sources [--lines 200000] [--ingest]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from collectors.models.logs import SourceRef
from collectors.sources.docker_logs import DockerContainerSource
from collectors.sources.file_logs import FileLogSource
from tests.fakes.docker_engine import FakeDockerEngine

LINE = (
    "2025-06-20T08:00:{s:02d}.{us:06d}Z  INFO {{farm_index=1}}:{{sector_index={i}}}: "
    "subspace_farmer::single_disk_farm::plotting: Plotting sector (16.21% complete)"
)


def make_lines(count: int) -> list[str]:
    return [LINE.format(s=i % 60, us=i % 1_000_000, i=i) for i in range(count)]


async def drain(source: FileLogSource | DockerContainerSource, count: int) -> float:
    start = time.perf_counter()
    seen = 0
    stream = source.batches(None)
    try:
        async for batch in stream:
            seen += len(batch)
            if seen >= count:
                break
    finally:
        await stream.aclose()
    return time.perf_counter() - start


async def bench_file(lines: list[str], folder: Path) -> None:
    path = folder / "farmer.log"
    path.write_text("".join(line + "\n" for line in lines))
    ref = SourceRef(f"file:local:{path}", "farmer")
    took = await drain(FileLogSource(ref, path), len(lines))
    size = path.stat().st_size / 1_048_576
    print(
        f"file source:   {len(lines):>9,} lines {size:6.1f} MiB in {took:6.2f} s "
        f"= {len(lines) / took:>9,.0f} lines/s"
    )


async def bench_docker(lines: list[str], folder: Path, tty: bool) -> None:
    with FakeDockerEngine(folder) as engine:
        container = engine.add_container("farmer", "ghcr.io/autonomys/farmer:latest", tty=tty)
        # A backlog: the lines were logged over the last two days, one every 0.5 s or so.
        span_ns = 2 * 86400 * 1_000_000_000
        first_ns = time.time_ns() - span_ns
        container.created = first_ns // 1_000_000_000
        step = span_ns // len(lines)
        for i, line in enumerate(lines):
            engine.append_entry("farmer", line, first_ns + i * step)
        engine.flush()
        ref = SourceRef("docker:local:farmer:farmer", "farmer")
        source = DockerContainerSource(ref, engine.base_url, "farmer", batch_seconds=0.05)
        took = await drain(source, len(lines))
    kind = "TTY (raw)" if tty else "frames"
    print(
        f"docker {kind:9}: {len(lines):>9,} lines in {took:6.2f} s "
        f"= {len(lines) / took:>9,.0f} lines/s (real SDK, fake Engine on a Unix socket)"
    )


async def bench_ingest(lines: list[str], folder: Path) -> None:
    from collectors.clock import SystemClock
    from collectors.ingest import LogIngestor
    from collectors.logs_collector import LogCollector, file_key
    from collectors.settings import LogFile, LogsSettings
    from collectors.store.database import Database
    from collectors.store.farmers import FarmerStore

    path = folder / "ingest.log"
    path.write_text("".join(line + "\n" for line in lines))
    db = Database(folder / "bench.db")
    await db.initialize()
    clock = SystemClock()
    farmers = FarmerStore(db)
    await farmers.ensure_primary("bench", clock.now_us())
    collector = LogCollector(
        LogsSettings(files=[LogFile(path=path, role="farmer")]),
        LogIngestor(db, farmers, clock),
        clock,
        farmer_name="bench",
        progress_seconds=3600,
    )
    key = file_key("local", path)
    start = time.perf_counter()
    task = asyncio.get_running_loop().create_task(collector.run())
    while True:
        done = {s.key: s.lines_ingested for s in collector.source_statuses()}.get(key, 0)
        if done >= len(lines):
            break
        await asyncio.sleep(0.05)
    took = time.perf_counter() - start
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await db.close()
    print(
        f"file -> LogIngestor -> SQLite: {len(lines):,} lines in {took:.2f} s "
        f"= {len(lines) / took:,.0f} lines/s"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--tty-lines", type=int, default=200_000)
    parser.add_argument("--ingest", action="store_true", help="also through the log pipeline")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-logs-") as tmp:
        folder = Path(tmp)
        lines = make_lines(args.lines)
        await bench_file(lines, folder)
        await bench_docker(lines, folder, tty=False)
        await bench_docker(make_lines(args.tty_lines), folder, tty=True)
        if args.ingest:
            await bench_ingest(lines, folder)


if __name__ == "__main__":
    asyncio.run(main())
