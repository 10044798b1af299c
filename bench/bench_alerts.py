"""Time of one alert evaluation and one daily summary on a big farm's database.

100 farms, a year of rewards (signed and missed), farm error lines, 48 h of per-minute farm
metric snapshots, a node target, and wallets with a day of balances and transfers. Times the
gathering of inputs, the rules, a whole ``evaluate_once`` (gather, rules, state machine, one
write transaction) and the summary's reads. The engine runs every 30 s: target well under 1 s.

Run: .venv/bin/python bench/bench_alerts.py [--farms 100] [--per-day 10] [--runs 20]
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

from collectors.alerts.engine import build_alert_engine
from collectors.alerts.rules import evaluate
from collectors.clock import FakeClock
from collectors.settings import AlertsSettings
from collectors.store.alerts import AlertInputReader
from collectors.store.database import Database

MIN_US = 60_000_000
DAY_US = 1440 * MIN_US
NOW_US = 1_750_406_400_000_000
AI3 = 10**18
MISSES = ("solution_failed", "proving_skipped", "signature_failed")


def left(farm: int, minutes_ago: int) -> int:
    """Sectors not yet plotted: odd farms are plotting, one sector every 10 minutes."""
    return 100 + minutes_ago // 10 if farm % 2 else 0


async def populate(db: Database, farms: int, per_day: float, days: int) -> dict[str, int]:
    rng = random.Random(1)
    first = NOW_US - days * DAY_US
    farm_ids = [f"01JC6R9K{n:018d}" for n in range(farms)]
    counts: dict[str, int] = {}
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO farmer (name, is_primary, created_us, updated_us)"
            " VALUES ('alpha', 1, 0, 0), ('beta', 0, 0, 0)"
        )
        await conn.execute(
            "INSERT INTO log_sources (id, key, role, farmer_id, updated_us) VALUES"
            " (1, 'file:local:farmer.log', 'farmer', 1, 0), (2, 'file:local:node.log', 'node',"
            " NULL, 0)"
        )
        await conn.executemany(
            "INSERT INTO farms (farm_id, farmer_id, farm_index, allocated_bytes, first_seen_us,"
            " last_seen_us) VALUES (?, ?, ?, ?, ?, ?)",
            [(f, 1 + i % 2, i, 4 * 2**40, first, NOW_US) for i, f in enumerate(farm_ids)],
        )
        rewards = []
        for k in range(int(farms * per_day * days)):
            outcome = "signed" if rng.random() > 0.05 else rng.choice(MISSES)
            ts = first + rng.randrange(days * DAY_US)
            rewards.append(
                (
                    1,
                    1 + k % 2,
                    rng.choice(farm_ids),
                    ts,
                    outcome,
                    f"0x{k:064x}" if outcome == "signed" else None,
                    k,
                )
            )
        await conn.executemany(
            "INSERT INTO rewards (source_id, farmer_id, farm_id, ts_us, outcome, reward_hash,"
            " line_hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
            rewards,
        )
        counts["rewards"] = len(rewards)
        events = [
            (
                1,
                first + rng.randrange(days * DAY_US),
                rng.choice(("farming_error", "plot_failed")),
                rng.choice(farm_ids),
                k,
                '{"error": "I/O"}',
            )
            for k in range(farms * days)
        ]
        events += [
            (2, NOW_US - k * 5_000_000, "node_imported", None, 10**7 + k, None)
            for k in range(17_280)
        ]  # the last day of node imports
        await conn.executemany(
            "INSERT INTO events (source_id, ts_us, kind, farm_id, line_hash, data)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            events,
        )
        counts["events"] = len(events)
        await conn.execute(
            "INSERT INTO metrics_targets (target_key, kind, label, host, url, up, since_us,"
            " last_ok_us, last_attempt_us) VALUES ('node:http://n/metrics', 'node', 'node',"
            " 'local', 'http://n/metrics', 1, 0, ?, ?)",
            (NOW_US, NOW_US),
        )
        await conn.execute(
            "INSERT INTO node_metrics (target_key, ts_us, best, sync_target, peers, major_syncing)"
            " VALUES ('node:http://n/metrics', ?, 100, 100, 40, 0)",
            (NOW_US,),
        )
        await conn.executemany(
            "INSERT INTO farm_metrics (farm_id, farmer_id, target_key, ts_us, sectors_plotted,"
            " sectors_not_plotted, sectors_about_to_expire, sectors_expired, auditing_count,"
            " proving_success, proving_timeout, proving_rejected, proving_failed,"
            " farming_errors, skipped_slots) VALUES (?, 1, 'farmer:x', ?, 1000, ?, 0, 0, 0, 0,"
            " 0, 0, 0, 0, 0)",
            [(f, NOW_US, left(i, 0)) for i, f in enumerate(farm_ids)],
        )
        # Half the farms are still plotting, one sector every 10 minutes.
        snapshots = [
            (f, NOW_US - m * MIN_US, left(i, m))
            for i, f in enumerate(farm_ids)
            for m in range(48 * 60)
        ]
        await conn.executemany(
            "INSERT INTO farm_metric_snapshots (farm_id, ts_us, sectors_plotted,"
            " sectors_not_plotted, sectors_about_to_expire, sectors_expired, auditing_count,"
            " auditing_sum, proving_success, proving_timeout, proving_rejected, proving_failed,"
            " farming_errors, skipped_slots) VALUES (?, ?, 1000, ?, 0, 0, 0, 0, 0, 0, 0, 0, 0,"
            " 0)",
            snapshots,
        )
        counts["farm_metric_snapshots"] = len(snapshots)
        for w in range(5):
            address = f"suWALLET{w}"
            await conn.execute(
                "INSERT INTO wallets (address, label, added_us) VALUES (?, ?, 0)",
                (address, f"wallet {w}"),
            )
            await conn.executemany(
                "INSERT INTO wallet_balances (address, ts_us, block_number, free, reserved,"
                " frozen) VALUES (?, ?, ?, ?, '0', '0')",
                [
                    (address, NOW_US - m * 15 * MIN_US, 10**6 - m * 150, str(1000 * AI3))
                    for m in range(96)
                ],
            )
    return counts


async def main(farms: int, per_day: float, runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "bench.db")
        await db.initialize()
        start = time.perf_counter()
        counts = await populate(db, farms, per_day, 365)
        print(f"populated in {time.perf_counter() - start:.1f} s: {counts}")
        settings = AlertsSettings(summary_enabled=False)
        reader = AlertInputReader(db)
        clock = FakeClock(NOW_US)
        engine = build_alert_engine(db, settings, clock)
        gather, rules, whole, summary = [], [], [], []
        for _ in range(runs):
            clock.advance(30)
            t0 = time.perf_counter()
            inputs = await reader.gather(clock.now_us(), settings)
            t1 = time.perf_counter()
            conditions = evaluate(inputs, settings)
            t2 = time.perf_counter()
            await engine.evaluate_once()
            t3 = time.perf_counter()
            await reader.summary("2025-06-20", "UTC", clock.now_us() - DAY_US, clock.now_us())
            t4 = time.perf_counter()
            gather.append(t1 - t0)
            rules.append(t2 - t1)
            whole.append(t3 - t2)
            summary.append(t4 - t3)
        print(f"{farms} farms, {len(conditions)} conditions each, {runs} runs (median, max):")
        for name, times in (
            ("gather inputs", gather),
            ("rules", rules),
            ("evaluate_once", whole),
            ("daily summary reads", summary),
        ):
            print(
                f"  {name:20s} {statistics.median(times) * 1000:8.1f} ms"
                f" {max(times) * 1000:8.1f} ms"
            )
        await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--farms", type=int, default=100)
    parser.add_argument("--per-day", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.farms, args.per_day, args.runs))
