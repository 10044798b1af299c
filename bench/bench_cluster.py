"""Farming-cluster figures: how fast plotter and controller lines are ingested, and how long the
``/cluster`` view (and the dashboard built on it) takes over a week of busy plotters.

Prints figures; asserts nothing. Run from the repository root:

    .venv/bin/python bench/bench_cluster.py [--plotters 4] [--days 7] [--sector-seconds 10]

Each plotter finishes a sector every ``--sector-seconds`` (a fast GPU plotter); its log is the
``Plot sector request`` / ``Finished plotting sector successfully`` pair per sector, in the
format the fixtures (tests/fixtures/logs/cluster-2026-06) were written from.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from collectors.clock import FakeClock, to_us
from collectors.ingest import LogIngestor
from collectors.models.logs import LogLine, SourceRef
from collectors.store.database import Database
from collectors.store.farmers import FarmerStore
from collectors.store.views import ViewStore

START = datetime(2026, 6, 13, tzinfo=UTC)
KEYS = [f"{i:02x}" * 32 for i in range(1, 9)]


def _stamp(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def plotter_lines(index: int, days: float, sector_s: float) -> list[LogLine]:
    out: list[LogLine] = []
    t = to_us(START) + index * 1_000
    end = t + int(days * 86_400e6)
    sector = 0
    while t < end:
        key = KEYS[sector % len(KEYS)]
        span = f"{{public_key={key} sector_index={sector}}}: subspace_farmer::cluster::plotter: "
        for text, at in (("Plot sector request", t), ("Finished plotting sector successfully", t)):
            stamp = at + (int(sector_s * 1e6) - 1 if text.startswith("Finished") else 0)
            out.append(LogLine(f"{_stamp(stamp)}  INFO {span}{text}", str(len(out)), stamp))
        t += int(sector_s * 1e6)
        sector += 1
    return out


async def run(plotters: int, days: float, sector_s: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "bench.db")
        await db.initialize()
        clock = FakeClock()
        clock.set(START)
        farmers = FarmerStore(db)
        await farmers.ensure_primary("hub", clock.now_us(), "hub")
        ingestor = LogIngestor(db, farmers, clock)
        total = 0
        started = time.perf_counter()
        for p in range(plotters):
            ref = SourceRef(f"docker:hub:plotter:plotter-{p}", "plotter", "hub", "hub", "main")
            lines = plotter_lines(p, days, sector_s)
            for i in range(0, len(lines), 5000):
                await ingestor.ingest(ref, lines[i : i + 5000])
            total += len(lines)
        elapsed = time.perf_counter() - started
        print(f"plotter lines ingested: {total:,} in {elapsed:.1f} s ({total / elapsed:,.0f}/s)")
        clock.set(datetime.fromtimestamp(to_us(START) / 1e6 + days * 86_400, tz=UTC))
        views = ViewStore(db)
        for name, read in (
            ("/cluster view", lambda: views.cluster.all(clock.now_us())),
            ("dashboard", lambda: views.dashboard.build(clock.now_us())),
        ):
            times = []
            for _ in range(5):
                t0 = time.perf_counter()
                await read()
                times.append(time.perf_counter() - t0)
            print(f"{name}: median {sorted(times)[2] * 1000:.1f} ms over 5 reads")
        (cluster,) = await views.cluster.all(clock.now_us())
        print(
            "sectors in 24 h per plotter:",
            ", ".join(f"{c.name} {c.sectors_24h}" for c in cluster.plotters),
        )
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plotters", type=int, default=4)
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--sector-seconds", type=float, default=10.0)
    args = parser.parse_args()
    asyncio.run(run(args.plotters, args.days, args.sector_seconds))


if __name__ == "__main__":
    main()
