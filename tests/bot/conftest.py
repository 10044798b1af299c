"""Fixtures for the bot: a fake Discord on 127.0.0.1 that the real discord.py client talks to."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import pytest
import yarl

from bot.app import COMMANDS_LOOP
from bot.client import CosmosBot
from bot.cogs import all_cogs
from bot.context import BotContext
from bot.services import Services, build_services
from collectors.clock import FakeClock
from collectors.settings import Settings
from tests.fakes.discord_api import CHANNEL_ID, GUILD_ID, FakeDiscord

TOKEN = "test-token"


@pytest.fixture
async def fake_discord(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord()
    await fake.start()
    monkeypatch.setattr(discord.http.Route, "BASE", fake.api_base)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url)
    )
    # bot.app.run points discord.py at the configured addresses itself.
    monkeypatch.setenv("COSMOS_DISCORD__API_BASE_URL", fake.api_base)
    monkeypatch.setenv("COSMOS_DISCORD__GATEWAY_URL", fake.gateway_url)
    try:
        yield fake
    finally:
        await fake.stop()


def make_settings(tmp_path: Path, **discord_settings: Any) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_path=tmp_path / "cosmos.db",
        farmer_name="alpha",
        discord=discord_settings,
        # The daily summary runs on the wall clock: a run near its hour would add a message.
        alerts={"summary_enabled": False},
    )


def bot_settings(tmp_path: Path, **extra: Any) -> Settings:
    return make_settings(tmp_path, token=TOKEN, guild_id=GUILD_ID, channel_id=CHANNEL_ID, **extra)


BOT_OPTIONS: dict[str, Any] = {"guild_ready_timeout": 0.05}


class RunningBot:
    def __init__(self, bot: CosmosBot, services: Services, task: asyncio.Task[None]) -> None:
        self.bot = bot
        self.services = services
        self.task = task

    async def close(self) -> None:
        await self.bot.close()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.services.supervisor.stop()
        await self.services.db.close()


def make_bot(services: Services) -> CosmosBot:
    """The client as the composition root builds it: its cogs get the context, not the bot."""
    context = BotContext.of(services)
    return CosmosBot(context, lambda client: all_cogs(context, client), **BOT_OPTIONS)


async def start_bot(settings: Settings, clock: FakeClock, *, collectors: bool = True) -> RunningBot:
    """The bot with its cogs and command sync (and the collectors, unless ``collectors=False``),
    once it is ready and its commands are synced."""
    services = await build_services(settings, clock)
    if collectors:
        for collector in services.collectors:
            services.supervisor.start(f"collector:{collector.name}", collector.run())
    bot = make_bot(services)
    services.supervisor.start_loop(COMMANDS_LOOP, bot.sync_iteration, interval=0.05)
    task = asyncio.create_task(bot.start(TOKEN))

    async def synced() -> None:
        await bot.wait_until_ready()
        while not bot.synced:  # noqa: ASYNC110 - a test poll, bounded by the wait below
            await asyncio.sleep(0.02)

    ready = asyncio.create_task(synced())
    await asyncio.wait({task, ready}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
    if not ready.done():
        ready.cancel()
        await bot.close()
        await services.supervisor.stop()
        await services.db.close()
        if task.done() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
        raise TimeoutError("the bot did not become ready")
    return RunningBot(bot, services, task)
