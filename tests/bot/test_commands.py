"""The real discord.py client against the fake Discord: command sync and every command's reply."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from collectors.clock import FakeClock
from tests.bot.conftest import RunningBot, bot_settings, start_bot
from tests.bot.seed import seed
from tests.fakes.discord_api import GUILD_ID, FakeDiscord


@pytest.fixture
async def running(
    tmp_path: Path, fake_discord: FakeDiscord, clock: FakeClock
) -> AsyncIterator[RunningBot]:
    running = await start_bot(bot_settings(tmp_path), clock)
    await seed(running.services.db, clock.now_us())
    try:
        yield running
    finally:
        await running.close()


async def test_commands_are_synced_to_the_guild(
    running: RunningBot, fake_discord: FakeDiscord
) -> None:
    assert fake_discord.sync_calls == [str(GUILD_ID)]
    names = {c["name"] for c in fake_discord.commands[str(GUILD_ID)]}
    assert names == {"farms", "farm", "rewards", "node", "farmer", "wallet", "dashboard", "wipe"}


async def test_farms(running: RunningBot, fake_discord: FakeDiscord) -> None:
    reply = await fake_discord.interact("farms")
    (embed,) = reply.embeds
    assert embed["title"] == "Farms (3)"
