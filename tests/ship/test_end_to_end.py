"""cosmos as a process against local fakes of everything it talks to.

A fake Docker Engine streams the sample farmer and node logs, two HTTP servers serve the sample
metrics, a fake RPC node serves the real chain metadata, and a fake Discord takes the bot's
gateway session and REST calls. The test appends log lines, adds blocks with a reward and a
transfer, takes a metrics endpoint down, restarts cosmos, and checks the database, that every
message was posted once, and that the dashboard message is edited in place across the restart.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from collectors.chain.ss58 import encode
from tests.conftest import CHAIN, SAMPLES, needs_chain, needs_samples
from tests.fakes.discord_api import CHANNEL_ID, GUILD_ID, FakeDiscord
from tests.fakes.docker_engine import FakeDockerEngine
from tests.fakes.rpc_node import FakeRpcNode, block_reward, deposit, transfer

REPO = Path(__file__).resolve().parents[2]
WALLET_KEY = bytes(range(1, 33))
STRANGER_KEY = bytes(range(101, 133))
AI3 = 10**18
pytestmark = [needs_samples, needs_chain]


class MetricsServer:
    """One metrics endpoint on 127.0.0.1 that can go down and come back on the same port."""

    def __init__(self, body: str) -> None:
        self.body = body
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/metrics"

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(text=self.body, content_type="text/plain")


class Cosmos:
    """``cosmos run`` in a child process, its output kept in a file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        out = self.log.open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "--env-file", os.devnull, "run",
            env=self.env, stdout=out, stderr=out,
        )  # fmt: skip
        out.close()

    async def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), 30)

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


def query(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    if not db.exists():
        return []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return conn.execute(sql, args).fetchall()
    except sqlite3.OperationalError:  # not migrated yet
        return []
    finally:
        conn.close()


def count(db: Path, sql: str, *args: Any) -> int:
    rows = query(db, sql, *args)
    return int(rows[0][0]) if rows else 0


async def until(what: str, check: Callable[[], bool], cosmos: Cosmos, seconds: float = 60) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not check():
        if cosmos.proc is not None and cosmos.proc.returncode is not None:
            pytest.fail(
                f"cosmos exited ({cosmos.proc.returncode}) waiting for {what}:\n"
                + cosmos.log.read_text()[-4000:]
            )
        if loop.time() > deadline:
            pytest.fail(
                f"timed out waiting for {what}; cosmos said:\n" + cosmos.log.read_text()[-4000:]
            )
        await asyncio.sleep(0.2)


def sent_messages(fake: FakeDiscord) -> list[dict[str, Any]]:
    return list(fake.channel_messages[CHANNEL_ID])


def message_text(message: dict[str, Any]) -> str:
    parts = [message.get("content") or ""]
    for embed in message.get("embeds", []):
        parts += [embed.get("title") or "", embed.get("description") or ""]
        parts += [f"{f['name']}: {f['value']}" for f in embed.get("fields", [])]
    return "\n".join(parts)


def with_text(fake: FakeDiscord, *needles: str) -> list[dict[str, Any]]:
    return [
        m for m in sent_messages(fake)
        if all(n.lower() in message_text(m).lower() for n in needles)
    ]  # fmt: skip


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


async def test_cosmos_end_to_end(tmp_path: Path, fake_discord: FakeDiscord) -> None:
    farmer_lines = (SAMPLES / "farmer.log").read_text().splitlines()
    node_lines = (SAMPLES / "node.log").read_text().splitlines()
    db = tmp_path / "cosmos.db"

    engine = FakeDockerEngine().start()
    engine.add_container("autonomys-farmer", "ghcr.io/autonomys/farmer:mainnet-2025-jun-18")
    engine.add_container("autonomys-node", "ghcr.io/autonomys/node:mainnet-2025-jun-18")
    engine.append("autonomys-farmer", *farmer_lines[:200])
    engine.append("autonomys-node", *node_lines)

    farmer_metrics = MetricsServer((SAMPLES / "farmer_metrics.txt").read_text())
    node_metrics = MetricsServer((SAMPLES / "node_metrics.txt").read_text())
    await farmer_metrics.start()
    await node_metrics.start()

    rpc = FakeRpcNode(CHAIN)
    rpc.chain.add_blocks(5)
    rpc.start()

    wallet = encode(WALLET_KEY)
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "COSMOS_DATABASE_PATH": str(db),
        "COSMOS_FARMER_NAME": "e2e-farmer",
        "COSMOS_LOGS__DOCKER": json.dumps([{"base_url": engine.base_url, "host": "box-1"}]),
        "COSMOS_METRICS__TARGETS": json.dumps(
            [
                {"url": farmer_metrics.url, "kind": "farmer", "interval_seconds": 1},
                {"url": node_metrics.url, "kind": "node", "interval_seconds": 1},
            ]
        ),
        "COSMOS_METRICS__TIMEOUT_SECONDS": "2",
        "COSMOS_WALLETS__RPC_URLS": json.dumps([rpc.url]),
        "COSMOS_WALLETS__ACCOUNTS": json.dumps(
            [{"address": wallet, "label": "rewards", "farmer": "e2e-farmer"}]
        ),
        "COSMOS_WALLETS__POLL_SECONDS": "0.5",
        "COSMOS_WALLETS__SETTLE_DEPTH": "2",
        "COSMOS_DISCORD__TOKEN": "test-token",
        "COSMOS_DISCORD__GUILD_ID": str(GUILD_ID),
        "COSMOS_DISCORD__CHANNEL_ID": str(CHANNEL_ID),
        "COSMOS_DISCORD__API_BASE_URL": fake_discord.api_base,
        "COSMOS_DISCORD__GATEWAY_URL": fake_discord.gateway_url,
        "COSMOS_DISCORD__DASHBOARD_SECONDS": "2",
        "COSMOS_ALERTS__INTERVAL_SECONDS": "1",
        "COSMOS_ALERTS__ENDPOINT_DOWN_MINUTES": "0.05",
        "COSMOS_ALERTS__GRACE_MINUTES": json.dumps({"endpoint_down": 0}),
        "COSMOS_ALERTS__RESOLVE_GRACE_MINUTES": "0",
        "COSMOS_ALERTS__SUMMARY_ENABLED": "false",
    }
    cosmos = Cosmos(env, tmp_path / "cosmos.out")
    try:
        await cosmos.start()
        # Backfill: the first 200 farmer lines hold the three farm blocks and the first rewards.
        await until(
            "the farms from the farmer log",
            lambda: count(db, "SELECT COUNT(*) FROM farms") >= 3,
            cosmos,
        )
        await until(
            "the node log",
            lambda: count(db, "SELECT COUNT(*) FROM node_state WHERE best IS NOT NULL") == 1,
            cosmos,
        )
        await until("the bot's gateway session", fake_discord.identified.is_set, cosmos)

        # Live: the rest of the farmer log arrives while cosmos follows.
        engine.append("autonomys-farmer", *farmer_lines[200:])
        await until(
            "all 14 signed rewards",
            lambda: count(db, "SELECT COUNT(*) FROM rewards WHERE outcome = 'signed'") == 14,
            cosmos,
        )
        await until(
            "metrics snapshots",
            lambda: count(db, "SELECT COUNT(*) FROM metrics_targets WHERE up = 1") == 2,
            cosmos,
        )

        # The dashboard: posted once, then edited in place.
        await fake_discord.interact("dashboard")
        await until("the dashboard edits", lambda: len(fake_discord.edits) >= 2, cosmos)
        dashboard_ids = {message_id for message_id, _ in fake_discord.edits}
        assert len(dashboard_ids) == 1

        # On chain: a block reward and a transfer in for the watched wallet, then settle them.
        rpc.chain.add_block(
            [block_reward(WALLET_KEY, 3 * AI3 // 10), deposit(WALLET_KEY, 3 * AI3 // 10)]
        )
        rpc.chain.add_block([transfer(STRANGER_KEY, WALLET_KEY, 12 * AI3)])
        rpc.chain.add_blocks(3)
        await until(
            "the transfer notification",
            lambda: bool(with_text(fake_discord, "received 12 AI3", "sudN34w3")),
            cosmos,
        )
        await until(
            "the reward notification",
            lambda: bool(with_text(fake_discord, "Block reward 0.3 AI3")),
            cosmos,
        )

        # A metrics endpoint goes down: one alert.
        await farmer_metrics.stop()
        await until(
            "the endpoint-down alert",
            lambda: bool(with_text(fake_discord, farmer_metrics.url.split("//")[1].split("/")[0])),
            cosmos,
            seconds=90,
        )

        before_restart = {
            table: count(db, f"SELECT COUNT(*) FROM {table}")
            for table in ("events", "rewards", "farms", "plots", "outbox")
        }
        messages_before = len(sent_messages(fake_discord))
        assert await cosmos.stop() == 0

        # Restart: nothing re-read, nothing re-announced; the dashboard is edited again.
        edits_before = len(fake_discord.edits)
        await cosmos.start()
        await until(
            "the dashboard edited after the restart",
            lambda: len(fake_discord.edits) > edits_before + 1,
            cosmos,
        )
        assert {message_id for message_id, _ in fake_discord.edits} == dashboard_ids
        for table, rows in before_restart.items():
            if table != "outbox":
                assert count(db, f"SELECT COUNT(*) FROM {table}") == rows, table

        # New lines after the restart are read once; the endpoint comes back: resolved, once.
        engine.append(
            "autonomys-farmer",
            "2025-06-20T10:30:00.000001Z  INFO {farm_index=0}: subspace_farmer::single_disk_farm::"
            "reward_signing: Successfully signed reward hash 0x" + "ab" * 32,
        )
        await until(
            "the new reward line",
            lambda: count(db, "SELECT COUNT(*) FROM rewards WHERE outcome = 'signed'") == 15,
            cosmos,
        )
        await farmer_metrics.start()
        await until(
            "the endpoint back up",
            lambda: count(db, "SELECT COUNT(*) FROM metrics_targets WHERE up = 1") == 2,
            cosmos,
        )
        await until(
            "the resolved message",
            lambda: bool(with_text(fake_discord, "resolved")),
            cosmos,
            seconds=90,
        )
        await asyncio.sleep(3)  # let any wrongful repeat arrive before counting
        assert await cosmos.stop() == 0
    finally:
        await cosmos.kill()
        await farmer_metrics.stop()
        await node_metrics.stop()
        rpc.stop()
        engine.close()

    # The database: each fact once.
    assert count(db, "SELECT COUNT(*) FROM rewards WHERE outcome = 'signed'") == 15
    assert count(db, "SELECT COUNT(DISTINCT farm_id) FROM farms") == 3
    assert count(db, "SELECT COUNT(*) FROM events") == count(
        db, "SELECT COUNT(*) FROM (SELECT DISTINCT source_id, ts_us, line_hash FROM events)"
    )
    assert count(db, "SELECT COUNT(*) FROM outbox WHERE state != 'sent'") == 0

    # Discord: every message posted once; the dashboard is one message edited in place.
    (tmp_path / "discord.txt").write_text(
        "\n----\n".join(message_text(m) for m in sent_messages(fake_discord))
    )
    texts = Counter(message_text(m) for m in sent_messages(fake_discord))
    repeated = {text: n for text, n in texts.items() if n > 1}
    assert not repeated, repeated
    assert len(with_text(fake_discord, "resolved")) == 1
    assert len(sent_messages(fake_discord)) >= messages_before
