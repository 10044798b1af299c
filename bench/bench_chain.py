"""Benchmark: wallet catch-up speed against the fake node, and RPC round trips per block.

Run: ``.venv/bin/python bench/bench_chain.py [--blocks 2000]`` (needs ../shared/chain).
``--reconnects 300`` instead measures memory: the node drops the connection before each of 300
follower rounds (a new block and a balance poll each), and the cosmos process' RSS is printed
every 25 reconnects.

The fake node (tests/fakes/rpc_node.py, real Chronos metadata, scalecodec-encoded storage) runs
in a separate process on 127.0.0.1 so its encoding does not share cosmos' GIL. Each block holds
an ExtrinsicSuccess and a transfer between strangers; every 10th block pays a vote reward (with
its Balances.Deposit) to a watched wallet, every 50th a transfer to one. The collector starts
with a cursor at the old head, then catches up ``--blocks`` settled blocks with 1 and with 100
watched wallets, writing to a real SQLite file. Round trips are counted by the node.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import multiprocessing
import sys
import tempfile
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from collectors.chain import ss58
from collectors.clock import FakeClock
from collectors.settings import Wallet, WalletsSettings
from collectors.sources.chain import ChainClient
from collectors.store.database import Database
from collectors.store.farmers import FarmerStore
from collectors.store.wallets import WalletStore
from collectors.wallet_collector import WalletCollector
from tests.conftest import CHAIN
from tests.fakes.rpc_node import (
    Balance,
    FakeChain,
    FakeRpcNode,
    deposit,
    extrinsic_success,
    transfer,
    vote_reward,
)

AI3 = 10**18
STRANGER_A = bytes([200]) * 32
STRANGER_B = bytes([201]) * 32


def wallet_key(i: int) -> bytes:
    return i.to_bytes(2, "big") * 16


def serve(blocks: int, conn: Connection) -> None:
    """Child process: build the chain, serve it, report counts on request, stop on 'stop'."""
    chain = FakeChain()
    chain.add_blocks(10)
    node = FakeRpcNode(CHAIN, chain).start()
    for i in range(100):
        chain.balances[wallet_key(i)] = Balance(free=(i + 1) * AI3)
    conn.send(node.url)
    while True:
        message = conn.recv()
        if message == "stop":
            break
        if message == "grow":
            with node.lock:
                for n in range(blocks):
                    events: list[dict[str, Any]] = [
                        extrinsic_success(0),
                        transfer(STRANGER_A, STRANGER_B, n + 1),
                    ]
                    if n % 10 == 0:
                        events += [deposit(wallet_key(0), AI3), vote_reward(wallet_key(0), AI3)]
                    if n % 50 == 0:
                        events.append(transfer(STRANGER_A, wallet_key(n % 100), 2 * AI3))
                    chain.add_block(events)
                chain.add_blocks(3)
            conn.send(len(chain.canonical))
        if message == "calls":
            with node.lock:
                conn.send(dict(node.calls))
        if message == "drop":
            # The next head read finds the connection gone, like a node restart.
            with node.lock:
                node.drop_on["chain_getHeader"] += 1
                chain.add_block([extrinsic_success(0), transfer(STRANGER_A, wallet_key(0), 1)])
            conn.send(node.connections)
    node.stop()


async def run_case(watched: int, blocks: int) -> dict[str, float]:
    parent, child = multiprocessing.Pipe()
    proc = multiprocessing.Process(target=serve, args=(blocks, child), daemon=True)
    proc.start()
    url = parent.recv()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "bench.db")
        await db.initialize()
        accounts = [
            Wallet(address=ss58.encode(wallet_key(i)), label=f"w{i}", farmer="bench")
            for i in range(watched)
        ]
        settings = WalletsSettings(rpc_urls=[url], accounts=accounts, lookback_blocks=10**6)
        client = ChainClient(settings.rpc_urls, timeout=30)
        clock = FakeClock()
        collector = WalletCollector(
            settings,
            store=WalletStore(db),
            chain=client,
            farmers=FarmerStore(db),
            clock=clock,
            explorer_url="https://autonomys.subscan.io",
        )
        try:
            await collector.follow_once()  # connects; cursor at the old settled head
            parent.send("grow")
            parent.recv()
            parent.send("calls")
            before = parent.recv()
            started = time.perf_counter()
            cpu_started = time.process_time()
            while await collector.follow_once() is not None:
                pass
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
            parent.send("calls")
            after = parent.recv()
            trips = sum(after.values()) - sum(before.values())

            await collector.poll_balances()  # first poll builds the storage keys
            parent.send("calls")
            before_balances = sum(parent.recv().values())
            balance_started = time.perf_counter()
            await collector.poll_balances()
            balance_ms = (time.perf_counter() - balance_started) * 1000
            parent.send("calls")
            balance_trips = sum(parent.recv().values()) - before_balances

            stored = await WalletStore(db).transfers(limit=10**6)
            rewards = await WalletStore(db).chain_rewards(0, 2**62)
        finally:
            await client.close()
            await db.close()
            parent.send("stop")
            proc.join(10)
    return {
        "blocks_per_s": blocks / elapsed,
        "cpu_ms_per_block": cpu * 1000 / blocks,
        "trips_per_block": trips / blocks,
        "balance_poll_ms": balance_ms,
        "balance_poll_trips": balance_trips,
        "transfers": len(stored),
        "rewards": len(rewards),
    }


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run_reconnects(reconnects: int, every: int = 25) -> None:
    parent, child = multiprocessing.Pipe()
    proc = multiprocessing.Process(target=serve, args=(0, child), daemon=True)
    proc.start()
    url = parent.recv()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "bench.db")
        await db.initialize()
        accounts = [Wallet(address=ss58.encode(wallet_key(0)), label="w0", farmer="bench")]
        settings = WalletsSettings(rpc_urls=[url], accounts=accounts, settle_depth=0)
        client = ChainClient(settings.rpc_urls, timeout=30, first_backoff=0.0)
        collector = WalletCollector(
            settings,
            store=WalletStore(db),
            chain=client,
            farmers=FarmerStore(db),
            clock=FakeClock(),
            explorer_url="https://autonomys.subscan.io",
        )
        try:
            await collector.follow_once()
            await collector.poll_balances()
            gc.collect()
            first = rss_mib()
            print(f"  reconnects    0: RSS {first:6.1f} MiB, {threading.active_count()} threads")
            started = time.perf_counter()
            for n in range(1, reconnects + 1):
                parent.send("drop")
                connections = parent.recv()
                while await collector.follow_once() is not None:
                    pass
                await collector.poll_balances()
                if n % every == 0:
                    gc.collect()
                    rss = rss_mib()
                    print(
                        f"  reconnects {n:>4}: RSS {rss:6.1f} MiB ({(rss / first - 1):+.1%}),"
                        f" {threading.active_count()} threads, client reconnects"
                        f" {client.reconnects}, node connections {connections}"
                    )
            elapsed = time.perf_counter() - started
            print(f"  {reconnects} reconnects in {elapsed:.1f} s")
        finally:
            await client.close()
            await db.close()
            parent.send("stop")
            proc.join(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--blocks", type=int, default=2_000)
    parser.add_argument("--reconnects", type=int, default=0, help="measure memory instead")
    args = parser.parse_args()
    if not (CHAIN / "chronos_genesis_metadata_v14.hex").is_file():
        sys.exit(f"needs the chain metadata in {CHAIN}")
    if args.reconnects:
        # One "connection lost; reconnecting" warning per reconnect is expected here.
        logging.getLogger("collectors.sources.chain").setLevel(logging.ERROR)
        print(f"RSS of the cosmos process across {args.reconnects} RPC reconnects")
        asyncio.run(run_reconnects(args.reconnects))
        return
    print(f"catch-up of {args.blocks} settled blocks, fake node in another process on 127.0.0.1")
    for watched in (1, 100):
        r = asyncio.run(run_case(watched, args.blocks))
        print(
            f"  {watched:>3} wallet(s): {r['blocks_per_s']:7.1f} blocks/s,"
            f" {r['cpu_ms_per_block']:.2f} ms CPU/block (cosmos process),"
            f" {r['trips_per_block']:.2f} RPC round trips/block;"
            f" stored {r['transfers']:.0f} transfers, {r['rewards']:.0f} rewards;"
            f" warm balance poll: {r['balance_poll_trips']:.0f} round trips,"
            f" {r['balance_poll_ms']:.1f} ms"
        )


if __name__ == "__main__":
    main()
