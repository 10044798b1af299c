"""Where ``cosmos ingest`` spends its time (CPU seconds), stage by stage, each run alone:
read + decode, plan (parse + resolve farms), write (SQLite), then a cProfile of decode + plan.

    .venv/bin/python bench/profile_ingest.py [PATH] [--lines 200000] [--top 25]

PATH defaults to bench/out/farmer-1000000.json.log (see bench_speed.py); only its first
``--lines`` lines are used.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import itertools
import pstats
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from collectors.clock import SystemClock  # noqa: E402
from collectors.ingest import plan_batch  # noqa: E402
from collectors.models.events import SourceCursor  # noqa: E402
from collectors.parsing.decode import DecodedLine, LineDecoder, detect_framing  # noqa: E402
from collectors.store.database import Database  # noqa: E402
from collectors.store.farmers import FarmerStore  # noqa: E402
from collectors.store.logs import LogStore  # noqa: E402

BATCH = 20_000


def decode(data: bytes) -> list[DecodedLine]:
    decoder = LineDecoder(detect_framing(data[:1024]))
    out: list[DecodedLine] = []
    for start in range(0, len(data), 1 << 20):
        out.extend(decoder.feed(data[start : start + (1 << 20)]))
    out.extend(decoder.flush())
    return out


def plan(lines: list[DecodedLine]) -> list:  # type: ignore[type-arg]
    cursor = SourceCursor(None, None, None, None, ())
    plans = []
    for start in range(0, len(lines), BATCH):
        p = plan_batch(cursor, lines[start : start + BATCH], 0, f"p{start}")
        cursor = p.batch.cursor
        plans.append(p)
    return plans


async def write(plans: list, folder: Path) -> None:  # type: ignore[type-arg]
    async with Database(folder / "profile.db") as db:
        farmers = FarmerStore(db)
        await farmers.ensure_primary("bench", 0)
        store = LogStore(db)
        now_us = SystemClock().now_us()
        source = await store.source("file:local:x", "farmer", None, now_us)
        for p in plans:
            # The real time, as cosmos ingest gives: at 0 every win would look fresh (to be
            # announced), which an old log's never are.
            await store.write(source, p.batch, now_us)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "path", nargs="?", type=Path, default=REPO / "bench" / "out" / "farmer-1000000.json.log"
    )
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    with args.path.open("rb") as f:
        data = b"".join(itertools.islice(f, args.lines))
    n = args.lines

    started = time.process_time()
    lines = decode(data)
    decode_s = time.process_time() - started
    started = time.process_time()
    plans = plan(lines)
    plan_s = time.process_time() - started
    with tempfile.TemporaryDirectory() as tmp:
        started = time.process_time()
        asyncio.run(write(plans, Path(tmp)))
        write_s = time.process_time() - started
    rows = sum(len(p.batch.rewards) + len(p.batch.events) for p in plans)
    print(f"{n:,} lines of {args.path.name}")
    for name, s in (("read+decode", decode_s), ("plan", plan_s), ("write", write_s)):
        print(f"  {name:<12} {s:6.2f} s  {n / s:>10,.0f} lines/s")
    print(f"  ({rows:,} reward and event rows written)")

    profile = cProfile.Profile()
    profile.enable()
    plan(decode(data))
    profile.disable()
    pstats.Stats(profile).sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
