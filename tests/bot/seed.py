"""Seed a database for the bot's pages: farmers, farms, rewards, events, plots.

Direct SQL into the core tables (m0001), as the log pipeline stores them.
"""

from __future__ import annotations

import json
import random

from collectors.store.database import Database

HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US


def farm_id(n: int) -> str:
    return f"01JC6R9K{n:018d}"


async def seed(
    db: Database,
    now_us: int,
    *,
    farms: int = 3,
    days: float = 2.0,
    rewards_per_farm_day: float = 4.0,
    misses_per_farm_day: float = 0.5,
    farmers: tuple[str, ...] = ("alpha", "beta"),
    rng_seed: int = 7,
) -> list[str]:
    """Returns the farm ids. Farm 0 is plotting, farm 1 has an error; the rest are farming."""
    rng = random.Random(rng_seed)
    ids = [farm_id(i) for i in range(farms)]
    async with db.transaction() as conn:
        for i, name in enumerate(farmers):
            await conn.execute(
                "INSERT OR IGNORE INTO farmer (name, is_primary, host, created_us, updated_us)"
                " VALUES (?, ?, ?, ?, ?)",
                (name, 1 if i == 0 else 0, f"host-{name}", now_us, now_us),
            )
        async with conn.execute("SELECT id, name FROM farmer ORDER BY id") as cur:
            farmer_ids = {r["name"]: r["id"] for r in await cur.fetchall()}
        cursor = await conn.execute(
            "INSERT INTO log_sources (key, role, farmer_id, position, updated_us)"
            " VALUES ('file:local:/var/log/farmer.log', 'farmer', ?, NULL, ?)",
            (farmer_ids[farmers[0]], now_us),
        )
        source = cursor.lastrowid
        first = now_us - int(days * DAY_US)
        farm_rows = []
        for i, fid in enumerate(ids):
            owner = farmer_ids[farmers[i % len(farmers)]]
            farm_rows.append(
                (
                    fid,
                    owner,
                    i,
                    "0x" + f"{i:064x}",
                    4 * 2**40,
                    "4.0 TiB",
                    f"/mnt/farm{i}",
                    first,
                    now_us,
                )
            )
        await conn.executemany(
            "INSERT INTO farms (farm_id, farmer_id, farm_index, public_key, allocated_bytes,"
            " allocated_text, directory, first_seen_us, last_seen_us)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            farm_rows,
        )
        rewards = []
        line = 0
        span = now_us - first
        for i, fid in enumerate(ids):
            owner = farmer_ids[farmers[i % len(farmers)]]
            n_won = int(days * rewards_per_farm_day)
            n_missed = int(days * misses_per_farm_day)
            for k in range(n_won + n_missed):
                line += 1
                ts = first + rng.randrange(span)
                outcome = (
                    "signed"
                    if k < n_won
                    else rng.choice(["solution_failed", "proving_skipped", "signature_failed"])
                )
                rewards.append(
                    (
                        source,
                        owner,
                        fid,
                        ts,
                        outcome,
                        f"0x{line:064x}" if k < n_won else None,
                        rng.randrange(10**9),
                        None,
                        line,
                    )
                )
        await conn.executemany(
            "INSERT INTO rewards (source_id, farmer_id, farm_id, ts_us, outcome, reward_hash,"
            " slot, detail, line_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rewards,
        )
        events = []
        for d in range(int(days * 24)):  # hourly informant/plotting noise, like real logs
            ts = first + d * HOUR_US
            line += 1
            events.append((source, ts, "node_informant", None, line, json.dumps({"peers": 40})))
        if farms > 1:
            for k in range(3):
                line += 1
                events.append(
                    (
                        source,
                        now_us - (k + 1) * HOUR_US,
                        "farm_exited",
                        ids[1],
                        line,
                        json.dumps(
                            {"error": "Plotting I/O error: Input/output error (os error 5)"}
                        ),
                    )
                )
        line += 1
        events.append(
            (source, now_us - 3 * HOUR_US, "plotting", ids[0], line, json.dumps({"percent": 40.0}))
        )
        line += 1
        events.append((source, now_us - 2 * HOUR_US, "claimed_block", None, line, None))
        line += 1
        events.append((source, now_us - HOUR_US, "claimed_vote", None, line, None))
        await conn.executemany(
            "INSERT INTO events (source_id, ts_us, kind, farm_id, line_hash, data)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            events,
        )
        await conn.execute(
            "INSERT INTO plots (farm_id, kind, percent, sector_index, ts_us, complete_us)"
            " VALUES (?, 'plotting', 70.0, 612, ?, NULL)",
            (ids[0], now_us - HOUR_US),
        )
    return ids


WALLET = "sugWALLETaddress000000000000000000000000000000000"
OTHER = "suOTHERaddress00000000000000000000000000000000000"
AI3 = 10**18


async def seed_chain(db: Database, now_us: int, *, blocks: int = 24) -> None:
    """Wallets, balances, transfers and chain rewards, through the wallets area's store."""
    from collectors.models.chain import (
        BalanceSnapshot,
        BlockActivity,
        ChainBlock,
        ChainReward,
        Direction,
        RewardKind,
        Transfer,
    )
    from collectors.store.wallets import WalletConfig, WalletStore

    store = WalletStore(db)
    await store.sync_wallets(
        [WalletConfig(WALLET, "main", None, 0), WalletConfig(OTHER, "cold", None, 0)], now_us
    )
    for n in range(blocks):
        ts = now_us - (blocks - n) * HOUR_US
        block = ChainBlock(1_000 + n, f"0x{n:064x}", f"0x{n - 1:064x}", ts)
        rewards = (
            ChainReward(
                WALLET,
                RewardKind.VOTE if n % 2 else RewardKind.BLOCK,
                AI3 // 10 + n,
                block.number,
                block.hash,
                1,
                ts,
            ),
        )
        transfers = ()
        if n == blocks - 2:
            transfers = (
                Transfer(WALLET, Direction.OUT, OTHER, 5 * AI3, block.number, block.hash, 2, 1, ts),
            )
        await store.record_block(BlockActivity(block, transfers, rewards), ts)
    await store.record_balances(
        [BalanceSnapshot(WALLET, now_us, 1_000 + blocks, 12 * AI3 + 345 * AI3 // 1000, 0, 0)],
        0,
    )


async def seed_node(db: Database, now_us: int) -> None:
    """One node endpoint, through the metrics area's store."""
    from collectors.models.metrics import NodeSnapshot, TargetKind
    from collectors.store.metrics import MetricsStore, TargetRef

    target = TargetRef(
        "node:http://127.0.0.1:9615/metrics",
        TargetKind.NODE,
        "node-1",
        "local",
        "http://127.0.0.1:9615/metrics",
    )
    snapshot = NodeSnapshot(
        best=3_245_133,
        finalized=3_245_033,
        sync_target=3_245_134,
        peers=40,
        major_syncing=False,
        version="0.1.0",
        node_name="node-1",
        chain="mainnet",
    )
    await MetricsStore(db).record_node_scrape(target, snapshot, now_us)
