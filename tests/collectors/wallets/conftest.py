"""Wallet test helpers: keys and addresses, a running fake node, a collector wired to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web

from collectors.chain import ss58
from collectors.clock import FakeClock
from collectors.settings import Wallet, WalletsSettings
from collectors.sources.chain import ChainClient
from collectors.store.database import Database
from collectors.store.farmers import FarmerStore
from collectors.store.wallets import WalletStore
from collectors.wallet_collector import MAX_KEPT_BLOCKS, WalletCollector
from tests.conftest import CHAIN
from tests.fakes.rpc_node import FakeChain, FakeRpcNode

ALICE_KEY = bytes([1]) * 32
BOB_KEY = bytes([2]) * 32
CAROL_KEY = bytes([3]) * 32
STRANGER_KEY = bytes([9]) * 32
ALICE = ss58.encode(ALICE_KEY)
BOB = ss58.encode(BOB_KEY)
CAROL = ss58.encode(CAROL_KEY)
STRANGER = ss58.encode(STRANGER_KEY)
AI3 = 10**18


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
def node() -> Iterator[FakeRpcNode]:
    chain = FakeChain()
    chain.add_blocks(10)
    fake = FakeRpcNode(CHAIN, chain).start()
    try:
        yield fake
    finally:
        fake.stop()


@dataclass
class Rig:
    collector: WalletCollector
    client: ChainClient
    store: WalletStore
    node: FakeRpcNode
    clock: FakeClock

    async def follow_until_idle(self, limit: int = 100) -> int:
        """Call the block loop until it has nothing left to do; returns the iterations."""
        for n in range(1, limit + 1):
            if await self.collector.follow_once() is None:
                return n
        raise AssertionError("the follower never became idle")


def wallets_settings(url: str, **overrides: Any) -> WalletsSettings:
    values: dict[str, Any] = {
        "rpc_urls": [url],
        "accounts": [Wallet(address=ALICE, label="alice", farmer="farmer-a")],
        "settle_depth": 3,
    }
    values.update(overrides)
    return WalletsSettings(**values)


async def make_rig(
    db: Database,
    node: FakeRpcNode,
    clock: FakeClock,
    keep_blocks: int = 1_000,
    max_kept_blocks: int = MAX_KEPT_BLOCKS,
    **overrides: Any,
) -> Rig:
    settings = wallets_settings(node.url, **overrides)
    client = ChainClient(settings.rpc_urls, timeout=5, first_backoff=0.01, max_backoff=0.05)
    store = WalletStore(db)
    collector = WalletCollector(
        settings,
        store=store,
        chain=client,
        farmers=FarmerStore(db),
        clock=clock,
        explorer_url="https://autonomys.subscan.io",
        batch_blocks=50,
        keep_blocks=keep_blocks,
        max_kept_blocks=max_kept_blocks,
    )
    return Rig(collector, client, store, node, clock)


@pytest.fixture
async def rig(db: Database, node: FakeRpcNode, clock: FakeClock) -> AsyncIterator[Rig]:
    r = await make_rig(db, node, clock)
    try:
        yield r
    finally:
        await r.client.close()


@asynccontextmanager
async def serving(handler: Handler) -> AsyncIterator[str]:
    """``handler`` at ``/`` of an HTTP server on 127.0.0.1; yields its ``ws://`` URL."""
    app = web.Application()
    app.router.add_get("/", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"ws://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
