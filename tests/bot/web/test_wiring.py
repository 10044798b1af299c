"""The composition root starts the one web server in every mode (console, webhook, bot)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import aiohttp
import pytest

from bot import app
from collectors.settings import Settings, WebSettings
from tests.bot.conftest import BOT_OPTIONS, bot_settings, make_settings
from tests.fakes.discord_api import FakeDiscord


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def answers(settings: Settings) -> tuple[int, int]:
    """Run cosmos until /healthz and / answer on the configured port; their statuses."""
    stop = asyncio.Event()
    task = asyncio.create_task(app.run(settings, stop, bot_options=BOT_OPTIONS))
    base = f"http://127.0.0.1:{settings.web.port}"
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(200):
                try:
                    async with (
                        session.get(base + "/healthz") as health,
                        session.get(base + "/") as dashboard,
                    ):
                        return health.status, dashboard.status
                except aiohttp.ClientConnectionError:
                    assert not task.done(), task
                    await asyncio.sleep(0.05)
        raise AssertionError("the web server did not answer")
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


def with_web(settings: Settings) -> Settings:
    return settings.model_copy(update={"web": WebSettings(port=free_port())})


async def test_console_mode_serves_the_web(tmp_path: Path) -> None:
    assert await answers(with_web(make_settings(tmp_path))) == (200, 200)


async def test_webhook_mode_serves_the_web(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, webhook_url="http://127.0.0.1:9/api/webhooks/1/abc")
    assert await answers(with_web(settings)) == (200, 200)


async def test_bot_mode_serves_the_web(tmp_path: Path, fake_discord: FakeDiscord) -> None:
    assert await answers(with_web(bot_settings(tmp_path))) == (200, 200)


async def test_port_zero_turns_the_server_off(tmp_path: Path) -> None:
    services = await app.build_services(make_settings(tmp_path))
    try:
        assert "web" not in [c.name for c in services.collectors]
    finally:
        await services.db.close()
    services = await app.build_services(with_web(make_settings(tmp_path)))
    try:
        assert "web" in [c.name for c in services.collectors]
    finally:
        await services.db.close()


def test_refuses_to_start_public_without_token(monkeypatch: pytest.MonkeyPatch) -> None:
    from collectors.settings import SettingsError, load_settings

    monkeypatch.setenv("COSMOS_WEB__HOST", "0.0.0.0")
    monkeypatch.setenv("COSMOS_WEB__PORT", "8477")
    with pytest.raises(SettingsError, match="will not start without COSMOS_WEB__TOKEN"):
        load_settings(None)
