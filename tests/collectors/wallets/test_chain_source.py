"""The substrate adapter, with the real substrate-interface against the fake node."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from collectors.sources.chain import ChainClient, ChainUnavailable, NotASubstrateNode, WrongChain
from tests.collectors.wallets.conftest import AI3, ALICE, ALICE_KEY, BOB, BOB_KEY, CAROL, serving
from tests.conftest import CHAIN, needs_chain
from tests.fakes.rpc_node import (
    Balance,
    FakeChain,
    FakeRpcNode,
    running_node,
    transfer,
    vote_reward,
)

pytestmark = needs_chain


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def client(*urls: str) -> ChainClient:
    return ChainClient(list(urls), timeout=5, first_backoff=0.01, max_backoff=0.05)


@pytest.fixture
async def http_server() -> AsyncIterator[str]:
    """A web server that is not a node: plain HTML at /."""

    async def page(_: web.Request) -> web.Response:
        return web.Response(text="<html>router login</html>", content_type="text/html")

    async with serving(page) as url:
        yield url


async def test_connect_reports_the_chain(node: FakeRpcNode) -> None:
    c = client(node.url)
    try:
        info = await c.connect()
    finally:
        await c.close()
    assert (info.url, info.chain, info.ss58_prefix) == (node.url, "Autonomys Chronos", 6094)
    assert (info.spec_name, info.spec_version) == ("subspace", 6)


async def test_balances_of_all_wallets_in_one_storage_query(node: FakeRpcNode) -> None:
    node.chain.balances[ALICE_KEY] = Balance(free=12 * AI3, reserved=3, frozen=2 * AI3)
    node.chain.balances[BOB_KEY] = Balance(free=5)
    c = client(node.url)
    try:
        await c.connect()
        before = node.calls["state_queryStorageAt"]
        balances = await c.balances([ALICE, BOB, CAROL])
        assert node.calls["state_queryStorageAt"] == before + 1
    finally:
        await c.close()
    assert [(b.address, b.free, b.reserved, b.frozen) for b in balances] == [
        (ALICE, 12 * AI3, 3, 2 * AI3),
        (BOB, 5, 0, 0),
        (CAROL, 0, 0, 0),  # an account that does not exist has nothing
    ]


async def test_read_block_decodes_real_events_in_three_round_trips(node: FakeRpcNode) -> None:
    events = [transfer(ALICE_KEY, BOB_KEY, 7 * AI3), vote_reward(BOB_KEY, 1)]
    block_hash = node.chain.add_block(events)
    c = client(node.url)
    try:
        await c.connect()
        before = sum(node.calls.values())
        read = await c.read_block(10)
        trips = sum(node.calls.values()) - before
        beyond = await c.read_block(11)
    finally:
        await c.close()
    assert read is not None
    assert beyond is None
    assert trips == 3
    assert (read.block.number, read.block.hash) == (10, block_hash)
    assert read.block.parent_hash == node.chain.canonical[9]
    assert read.block.timestamp_us == node.chain.blocks[block_hash].timestamp_ms * 1000
    names = [(r["event"]["module_id"], r["event"]["event_id"]) for r in read.records]
    assert names == [("Balances", "Transfer"), ("Rewards", "VoteReward")]


async def test_dropped_connection_is_reopened_and_the_read_retried(node: FakeRpcNode) -> None:
    c = client(node.url)
    try:
        await c.connect()
        node.drop_on["chain_getHeader"] = 1
        assert await c.best_number() == 9
        assert node.connections == 2
        assert c.reconnects == 1
    finally:
        await c.close()


async def test_a_reconnect_keeps_the_decoded_runtime(node: FakeRpcNode) -> None:
    """Metadata is fetched and decoded once, not again on each reconnect (memory, CPU)."""
    c = client(node.url)
    try:
        await c.connect()
        read = await c.read_block(3)
        assert read is not None
        for reconnects in range(1, 6):
            node.drop_on["chain_getHeader"] = 1
            assert await c.best_number() == 9
            assert c.reconnects == reconnects
            again = await c.read_block(3)
            assert again is not None
            assert again.records == read.records  # still decoded with the same runtime
        assert node.connections == 6
        assert node.calls["state_getMetadata"] == 1
    finally:
        await c.close()
    # A closed client starts from scratch.
    try:
        await c.connect()
        assert node.calls["state_getMetadata"] == 2
    finally:
        await c.close()


async def test_node_that_keeps_dropping_gives_a_clear_error_then_recovers(
    node: FakeRpcNode,
) -> None:
    c = client(node.url)
    try:
        await c.connect()
        node.drop_on["chain_getHeader"] = 2
        with pytest.raises(ChainUnavailable, match=r"(dropped|lost) the connection"):
            await c.best_number()
        await asyncio.sleep(0.1)  # the client's reconnect backoff in this test is 0.01-0.05 s
        assert await c.best_number() == 9
    finally:
        await c.close()


async def test_nothing_listening_is_unavailable_with_the_reason() -> None:
    url = f"ws://127.0.0.1:{free_port()}"
    # A backoff no busy test machine outlasts between the two calls.
    c = ChainClient([url], timeout=5, first_backoff=600, max_backoff=600)
    try:
        with pytest.raises(ChainUnavailable, match=r"cannot reach .*connection refused"):
            await c.connect()
        # Backing off: an immediate second call does not hammer the dead URL.
        with pytest.raises(ChainUnavailable, match="next attempt in"):
            await c.connect()
    finally:
        await c.close()


async def test_a_web_page_is_not_a_substrate_node(http_server: str) -> None:
    c = client(http_server)
    try:
        with pytest.raises(NotASubstrateNode, match=r"HTTP 200 .*not a Substrate node"):
            await c.connect()
    finally:
        await c.close()


async def test_a_node_of_another_network_is_refused() -> None:
    chain = FakeChain()
    chain.add_blocks(3)
    with running_node(CHAIN, chain, ss58_format=42, chain_name="Polkadot") as other:
        c = client(other.url)
        try:
            with pytest.raises(WrongChain, match=r"'Polkadot' with SS58 prefix 42.*su"):
                await c.connect()
        finally:
            await c.close()


async def test_falls_back_to_the_next_url(node: FakeRpcNode) -> None:
    dead = f"ws://127.0.0.1:{free_port()}"
    c = client(dead, node.url)
    try:
        info = await c.connect()
    finally:
        await c.close()
    assert info.url == node.url
