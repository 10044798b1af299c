"""Benchmark: how fast a win is told, and how fast its message is edited (issue 11, point 5).

Run: ``.venv/bin/python bench/bench_wins.py [--wins 8] [--block-seconds 6] [--env KEY=VALUE]``

``cosmos run`` (bot mode, the real discord.py client) runs as a separate process against the
fake Discord (tests/fakes/discord_api.py) and the fake node (tests/fakes/rpc_node.py, the real
runtime metadata from ../shared/chain), with one farmer log file and alice's wallet
(farmer-a), all with the default settings unless ``--env`` says otherwise. This process appends
"Successfully signed reward hash" lines to the log in real time and builds blocks on the fake
chain every ``--block-seconds``, the block after each win crediting it (a block or a vote
reward to alice), with block timestamps from the wall clock.

Printed (each from outside cosmos, polling what the fake Discord received every 5 ms):
- log line -> message: the line written and flushed -> the channel message posted;
- chain credit -> edit: the crediting block reaching the settle depth on the node (cosmos can
  count it from then) -> the message edited; and from the block's creation (settle included);
- signed, never credited -> marked "signed but not credited".
A history line (an hour old, in the backlog) must announce nothing: counted too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from collectors.chain import ss58  # noqa: E402
from tests.fakes.discord_api import CHANNEL_ID, GUILD_ID, FakeDiscord  # noqa: E402
from tests.fakes.rpc_node import (  # noqa: E402
    FakeChain,
    FakeRpcNode,
    block_reward,
    vote_reward,
)

CHAIN_DIR = REPO.parent / "shared" / "chain"
ALICE_KEY = bytes([1]) * 32
AI3 = 10**18
FARM = "01JZAAAAAAAAAAAAAAAAAAAAAA"
SETTLE = 3  # cosmos's default settle depth


def stamp(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def signed_line(t: float, n: int) -> str:
    return (
        f"{stamp(t)}  INFO {{farm_index=0}}: subspace_farmer::single_disk_farm::reward_signing:"
        f" Successfully signed reward hash 0x{n:064x}\n"
    )


def header(t: float) -> str:
    where = "{farm_index=0}: subspace_farmer::commands::farm:"
    return f"{stamp(t)}  INFO {where} Farm 0:\n{stamp(t)}  INFO {where}   ID: {FARM}\n"


def cosmos_env(
    fake: FakeDiscord, node: FakeRpcNode, log: Path, db: Path, extra: list[str]
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COSMOS_")}
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "COSMOS_DATABASE_PATH": str(db),
            "COSMOS_FARMER_NAME": "farmer-a",
            "COSMOS_DISCORD__TOKEN": "test-token",
            "COSMOS_DISCORD__GUILD_ID": str(GUILD_ID),
            "COSMOS_DISCORD__CHANNEL_ID": str(CHANNEL_ID),
            "COSMOS_DISCORD__API_BASE_URL": fake.api_base,
            "COSMOS_DISCORD__GATEWAY_URL": fake.gateway_url,
            "COSMOS_LOGS__FILES": json.dumps(
                [{"path": str(log), "role": "farmer", "host": "rig-1", "farmer": "farmer-a"}]
            ),
            "COSMOS_WALLETS__RPC_URLS": json.dumps([node.url]),
            "COSMOS_WALLETS__ACCOUNTS": json.dumps(
                [{"address": ss58.encode(ALICE_KEY), "label": "alice", "farmer": "farmer-a"}]
            ),
        }
    )
    env.update(item.split("=", 1) for item in extra)  # type: ignore[misc]
    return env


class Chain:
    """The fake node's chain, with blocks stamped by the wall clock."""

    def __init__(self, node: FakeRpcNode) -> None:
        self.node = node

    def add(self, events: list[dict[str, Any]] | None = None) -> int:
        with self.node.lock:
            chain = self.node.chain
            chain.add_block(events)
            chain.best.timestamp_ms = int(time.time() * 1000)
            return chain.best.number


def is_win(message: dict[str, Any]) -> bool:
    """A message about a win (the daily summary or an alert may be posted too)."""
    return any(f["name"] == "Farm" for e in message["embeds"] for f in e.get("fields", []))


def summary(name: str, values: list[float]) -> str:
    if not values:
        return f"{name}: no samples"
    ms = sorted(v * 1000 for v in values)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return (
        f"{name}: n={len(ms)} median {statistics.median(ms):.0f} ms, p95 {p95:.0f} ms,"
        f" max {ms[-1]:.0f} ms"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wins", type=int, default=8)
    parser.add_argument("--block-seconds", type=float, default=6.0)
    parser.add_argument("--uncredited-timeout", type=float, default=150.0)
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for cosmos")
    args = parser.parse_args()
    if not CHAIN_DIR.is_dir():
        sys.exit(f"{CHAIN_DIR} is absent: the fake node needs the chain metadata")

    fake = FakeDiscord()
    await fake.start()
    chain = FakeChain(start_ms=int(time.time() * 1000) - 20 * 6_000)
    chain.add_blocks(20)
    node = FakeRpcNode(CHAIN_DIR, chain).start()
    blocks = Chain(node)
    messages = fake.channel_messages[CHANNEL_ID]
    with tempfile.TemporaryDirectory() as tmp:
        log, db, out_path = Path(tmp) / "farmer.log", Path(tmp) / "cosmos.db", Path(tmp) / "out"
        now = time.time()
        log.write_text(header(now - 7200) + signed_line(now - 3600, 1))  # history
        env_file = Path(tmp) / "cosmos.env"  # empty: everything comes from the environment
        env_file.write_text("")
        out = out_path.open("wb")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "--env-file", str(env_file), "run",
            env=cosmos_env(fake, node, log, db, args.env), cwd=REPO, stdout=out, stderr=out,
        )  # fmt: skip
        out.close()
        announce: list[float] = []
        credit_settled: list[float] = []
        credit_block: list[float] = []
        try:
            # Ready: the bot is logged in and the wallet follower has read the head.
            await asyncio.sleep(8.0)
            if proc.returncode is not None:
                raise RuntimeError("cosmos exited:\n" + out_path.read_text()[-3000:])
            history_wins = sum(1 for m in messages if is_win(m))

            async def wait_for(check: Any) -> float:
                start = time.monotonic()
                while not check():
                    if time.monotonic() - start > 60:
                        raise TimeoutError(out_path.read_text()[-3000:])
                    await asyncio.sleep(0.005)
                return time.monotonic()

            for n in range(args.wins):
                blocks.add()
                await asyncio.sleep(args.block_seconds)
                before = len(messages)
                with log.open("a") as f:
                    f.write(signed_line(time.time(), 100 + n))
                    f.flush()
                written = time.monotonic()
                arrived = await wait_for(lambda b=before: len(messages) > b)
                announce.append(arrived - written)
                message_id = messages[-1]["id"]
                reward = block_reward if n % 2 == 0 else vote_reward
                amount = AI3 // 10 if n % 2 == 0 else AI3 // 100
                blocks.add([reward(ALICE_KEY, amount)])
                made = time.monotonic()
                settled = made
                for _ in range(SETTLE):
                    await asyncio.sleep(args.block_seconds)
                    blocks.add()
                    settled = time.monotonic()
                edited = await wait_for(lambda m=message_id: any(e[0] == m for e in fake.edits))
                credit_settled.append(edited - settled)
                credit_block.append(edited - made)
                print(
                    f"win {n}: message {announce[-1] * 1000:.0f} ms after the line; edited"
                    f" {credit_settled[-1] * 1000:.0f} ms after the credit settled"
                    f" ({credit_block[-1]:.1f} s after its block)",
                    flush=True,
                )

            # A win the chain never credits: marked after the link window, on a balance poll.
            before = len(messages)
            with log.open("a") as f:
                f.write(signed_line(time.time(), 2))
                f.flush()
            pending_uncredited = time.monotonic()
            await wait_for(lambda: len(messages) > before)
            uncredited_id = messages[-1]["id"]

            async def mark_uncredited() -> float:
                while not any(
                    e[0] == uncredited_id and "not credited" in json.dumps(e[1]) for e in fake.edits
                ):
                    if time.monotonic() - pending_uncredited > args.uncredited_timeout:
                        raise TimeoutError("never marked 'signed but not credited'")
                    blocks.add()
                    await asyncio.sleep(args.block_seconds)
                return time.monotonic() - pending_uncredited

            uncredited_s = await mark_uncredited()
            total_messages = sum(1 for m in messages if is_win(m)) - history_wins
        finally:
            if proc.returncode is None:
                proc.terminate()
                await proc.wait()
            node.stop()
            await fake.stop()

    print()
    print(f"history lines announced: {history_wins} (expected 0)")
    print(f"win messages for {args.wins + 1} live wins: {total_messages} (one per win)")
    print(summary("log line -> message", announce))
    print(summary("chain credit settled -> edit", credit_settled))
    print(summary("crediting block made -> edit (settle depth included)", credit_block))
    print(f"signed, never credited -> marked: {uncredited_s:.1f} s")


if __name__ == "__main__":
    asyncio.run(main())
