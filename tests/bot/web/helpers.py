"""A web server on 127.0.0.1 (port 0) over a seeded database, and a client for it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp

from bot.web.server import WebServer
from collectors.clock import Clock
from collectors.health import HealthReport
from collectors.settings import WebSettings
from collectors.store.database import Database
from collectors.store.views import ViewStore
from collectors.store.wipe import WipeStore

TOKEN = "web-test-token-0123456789"


@asynccontextmanager
async def serving(
    db: Database, clock: Clock, *, token: str | None = None, healthy: bool = True
) -> AsyncIterator[str]:
    """The base URL of a running server; stopped on exit."""
    server = WebServer(
        WebSettings(token=token),
        port=0,
        views=ViewStore(db),
        wipe=WipeStore(db),
        clock=clock,
        report=lambda: HealthReport(healthy, clock.now_us(), ()),
        timezone="UTC",
    )
    await server.start()
    try:
        yield f"http://127.0.0.1:{server.bound_port}"
    finally:
        await server.stop()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def get(
    session: aiohttp.ClientSession, url: str, **kwargs: object
) -> tuple[int, str, aiohttp.typedefs.LooseHeaders]:
    async with session.get(url, **kwargs) as response:  # type: ignore[arg-type]
        return response.status, await response.text(), response.headers
