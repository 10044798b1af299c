"""A websocket JSON-RPC service that is not a Substrate node (no chain files needed)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import WSMsgType, web

from collectors.sources.chain import ChainClient, NotASubstrateNode
from tests.collectors.wallets.conftest import serving


@pytest.fixture
async def other_json_rpc() -> AsyncIterator[str]:
    """Answers every call with JSON-RPC's "Method not found", as another kind of node does."""

    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            call = message.json()
            await ws.send_json(
                {
                    "jsonrpc": "2.0",
                    "id": call.get("id"),
                    "error": {"code": -32601, "message": "Method not found"},
                }
            )
        return ws

    async with serving(handle) as url:
        yield url


async def test_json_rpc_that_is_not_substrate_is_named(other_json_rpc: str) -> None:
    chain = ChainClient([other_json_rpc], timeout=5, first_backoff=0.01, max_backoff=0.05)
    try:
        with pytest.raises(NotASubstrateNode, match="not a Substrate node") as err:
            await chain.connect()
        assert other_json_rpc in str(err.value)
    finally:
        await chain.close()
