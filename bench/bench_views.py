"""Server-side time to build the /farms and /rewards replies, and every web page, API reply and
/metrics, on a year of data.

100 farms, one year of rewards (signed and missed, as the log pipeline stores them), node claim
events, farm errors and linked chain rewards with amounts. Times the whole reply: queries, embed
rendering and, for /rewards, the PNG chart. Target: under 100 ms each. Settled days are read
from daily totals (built once, printed separately), the last two days live.

Web replies are timed over HTTP on 127.0.0.1 and reported as the server's own time (its
Server-Timing header): targets under 100 ms per page or API reply, /metrics under 50 ms.

Run: .venv/bin/python bench/bench_views.py [--farms 100] [--per-day 10] [--runs 20] [--web-only]
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
    parser.add_argument("--web-only", action="store_true", help="skip the Discord replies")
    parser.add_argument("--keep", type=Path, help="seed this database once and reuse it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "bench.db"
        reuse = path.exists()
        db = Database(path)
        await db.initialize()
        start = time.perf_counter()
        sizes = await populate(db, args.farms, args.per_day, args.days) if not reuse else {}
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

        for period in args.periods.split(",") if not args.web_only else ():

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
        try:
            await bench_web(db, args.runs, seed=not reuse)
        finally:
            await db.close()


async def add_web_extras(db: Database, days: int) -> None:
    """A year of hourly balances of the wallet, alert states and queued notifications."""
    first = NOW_US - days * DAY_US
    hour = DAY_US // 24
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO wallet_balances (address, ts_us, block_number, free, reserved, frozen)"
            " VALUES ('suWALLET', ?, ?, ?, '0', '0')",
            [(first + h * hour, h, str(AI3 * (1000 + h))) for h in range(days * 24)],
        )
        await conn.executemany(
            "INSERT INTO alert_state (rule, subject, phase, severity, title, detail, opened_us,"
            " updated_us) VALUES ('farm_error', ?, 'firing', 'error', ?, '', ?, ?)",
            [(f"farm {i}", f"Farm {i} stopped", NOW_US, NOW_US) for i in range(10)],
        )


async def bench_web(db: Database, runs: int, *, seed: bool = True) -> None:
    from bot.web.server import WebServer
    from collectors.clock import FakeClock
    from collectors.health import HealthReport
    from collectors.settings import WebSettings
    from collectors.store.wipe import WipeStore

    if seed:
        await add_web_extras(db, 365)
    clock = FakeClock(NOW_US)
    server = WebServer(
        WebSettings(),
        port=0,
        views=ViewStore(db),
        wipe=WipeStore(db),
        clock=clock,
        report=lambda: HealthReport(True, NOW_US, ()),
    )
    await server.start()
    try:
        await time_replies(f"http://127.0.0.1:{server.bound_port}", runs)
    finally:
        await server.stop()


async def time_replies(base: str, runs: int) -> None:
    import aiohttp

    farm = f"01JC6R9K{0:018d}"
    paths = [
        "/",
        f"/farms/{farm}",
        "/farmers/alpha",
        "/wallets/suWALLET",
        "/alerts",
        *(f"/rewards?period={p}" for p in ("24h", "7d", "30d", "1y")),
        "/api/v1/status",
        "/api/v1/dashboard",
        "/api/v1/farms",
        f"/api/v1/farms/{farm}",
        "/api/v1/farmers",
        "/api/v1/wallets/suWALLET",
        "/api/v1/alerts",
        *(f"/api/v1/rewards?period={p}" for p in ("24h", "7d", "30d", "1y")),
        "/metrics",
        "/healthz",
    ]
    print("web (server time from Server-Timing; target < 100 ms, /metrics < 50 ms):")
    worst: dict[str, float] = {}
    async with aiohttp.ClientSession() as session:
        for path in paths:
            samples = []
            size = 0
            for _ in range(runs):
                async with session.get(base + path) as response:
                    body = await response.read()
                    assert response.status == 200, (path, response.status)
                    timing = response.headers["Server-Timing"]
                samples.append(float(timing.partition("dur=")[2]))
                size = len(body)
            samples.sort()
            p95 = samples[max(0, int(len(samples) * 0.95) - 1)]
            worst[path] = p95
            print(
                f"  {path:<34} median {statistics.median(samples):7.1f} ms"
                f"   p95 {p95:7.1f} ms   max {samples[-1]:7.1f} ms   {size / 1024:7.1f} KiB"
            )
    over = [p for p, ms in worst.items() if ms >= (50 if p == "/metrics" else 100)]
    print("web: every reply within its target (p95)" if not over else f"web: OVER: {over}")


if __name__ == "__main__":
    asyncio.run(main())
