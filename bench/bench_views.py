"""Server-side time to build the /farms and /rewards replies on a year of data.

100 farms, one year of rewards (signed and missed, as the log pipeline stores them), node claim
events, farm errors and linked chain rewards with amounts. Times the whole reply: queries, embed
rendering and, for /rewards, the PNG chart. Target: under 100 ms each. Settled days are read
from daily totals (built once, printed separately), the last two days live.

Run: .venv/bin/python bench/bench_views.py [--farms 100] [--per-day 10] [--runs 20]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.charts import ChartCache
from bot.cogs.rewards import build_rewards_reply
from bot.embeds import farms_embeds, pack
from collectors.store.database import Database
from collectors.store.views import ViewStore

DAY_US = 86_400_000_000
NOW_US = 1_750_406_400_000_000
AI3 = 10**18


async def populate(db: Database, farms: int, per_day: float, days: int) -> dict[str, int]:
    rng = random.Random(1)
    first = NOW_US - days * DAY_US
    farm_ids = [f"01JC6R9K{n:018d}" for n in range(farms)]
    rewards, events, chain = [], [], []
    line = 0
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO farmer (name, is_primary, created_us, updated_us)"
            " VALUES ('alpha', 1, 0, 0), ('beta', 0, 0, 0)"
        )
        await conn.execute(
            "INSERT INTO log_sources (id, key, role, farmer_id, updated_us)"
            " VALUES (1, 'file:local:farmer.log', 'farmer', 1, 0)"
        )
        await conn.executemany(
            "INSERT INTO farms (farm_id, farmer_id, farm_index, allocated_bytes, allocated_text,"
            " directory, first_seen_us, last_seen_us) VALUES (?, ?, ?, ?, '4.0 TiB', ?, ?, ?)",
            [
                (fid, 1 + i % 2, i, 4 * 2**40, f"/mnt/farm{i}", first, NOW_US)
                for i, fid in enumerate(farm_ids)
            ],
        )
        await conn.execute(
            "INSERT INTO wallets (address, label, added_us) VALUES ('suWALLET', 'main', 0)"
        )
        n_rewards = int(farms * per_day * days)
        for k in range(n_rewards):
            line += 1
            fid = farm_ids[k % farms]
            ts = first + rng.randrange(days * DAY_US)
            missed = rng.random() < 0.1
            outcome = "solution_failed" if missed else "signed"
            rewards.append(
                (
                    1,
                    1 + (k % farms) % 2,
                    fid,
                    ts,
                    outcome,
                    None if missed else f"0x{line:064x}",
                    line,
                )
            )
            if not missed:
                kind = "claimed_vote" if rng.random() < 0.9 else "claimed_block"
                events.append((1, ts + 1, kind, None, line))
                chain.append(
                    (
                        "suWALLET",
                        "vote" if kind == "claimed_vote" else "block",
                        str(AI3 // 10 + rng.randrange(AI3 // 100)),
                        line,
                        f"0x{line:064x}",
                        ts,
                        fid,
                    )
                )
        for _ in range(farms * days // 10):  # occasional farm errors
            line += 1
            events.append(
                (
                    1,
                    first + rng.randrange(days * DAY_US),
                    "farming_error",
                    farm_ids[rng.randrange(farms)],
                    line,
                )
            )
        await conn.executemany(
            "INSERT INTO rewards (source_id, farmer_id, farm_id, ts_us, outcome, reward_hash,"
            " line_hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
            rewards,
        )
        await conn.executemany(
            "INSERT INTO events (source_id, ts_us, kind, farm_id, line_hash)"
            " VALUES (?, ?, ?, ?, ?)",
            events,
        )
        await conn.executemany(
            "INSERT INTO chain_rewards (address, kind, amount, block_number, block_hash,"
            " event_index, ts_us, farm_id) VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
            chain,
        )
        await conn.executemany(
            "INSERT INTO plots (farm_id, kind, percent, ts_us) VALUES (?, 'replotting', ?, ?)",
            [(fid, 50.0, NOW_US) for fid in farm_ids[:5]],
        )
    await db.conn.execute("ANALYZE")
    return {"rewards": len(rewards), "events": len(events), "chain_rewards": len(chain)}


async def timed(label: str, runs: int, fn: object) -> None:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        await fn()  # type: ignore[operator]
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    p95 = samples[max(0, int(len(samples) * 0.95) - 1)]
    print(
        f"{label:<34} median {statistics.median(samples):7.1f} ms   p95 {p95:7.1f} ms"
        f"   max {samples[-1]:7.1f} ms   ({runs} runs)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--farms", type=int, default=100)
    parser.add_argument("--per-day", type=float, default=10.0, help="rewards per farm per day")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--periods", default="24h,7d,30d,1y", help="comma-separated")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "bench.db")
        await db.initialize()
        start = time.perf_counter()
        sizes = await populate(db, args.farms, args.per_day, args.days)
        print(
            f"database: {args.farms} farms, {args.days} days: "
            + ", ".join(f"{v:,} {k}" for k, v in sizes.items())
            + f" (seeded in {time.perf_counter() - start:.1f} s)"
        )
        views = ViewStore(db)
        start = time.perf_counter()
        await views.rewards.refresh_rollups(NOW_US)
        print(
            f"daily totals of settled days built once in {time.perf_counter() - start:.2f} s"
            " (then only new days, on each /rewards)"
        )

        async def farms_reply() -> None:
            farms = await views.farms.summaries(NOW_US)
            messages = pack(farms_embeds(farms, NOW_US))
            assert sum(len(m) for m in messages) >= 1

        for period in args.periods.split(","):

            async def rewards_reply(period: str = period, charts: ChartCache | None = None) -> None:
                _, embeds, png = await build_rewards_reply(views, NOW_US, period, charts=charts)
                assert embeds
                assert png

            charts = ChartCache()

            async def rewards_again(period: str = period, charts: ChartCache = charts) -> None:
                await rewards_reply(period, charts)

            if period == "7d":
                await timed("/farms (queries + embeds)", args.runs, farms_reply)
            await timed(f"/rewards {period} (queries+embeds+chart)", args.runs, rewards_reply)
            await timed(f"/rewards {period} again, nothing new", args.runs, rewards_again)
        await db.close()


if __name__ == "__main__":
    asyncio.run(main())
