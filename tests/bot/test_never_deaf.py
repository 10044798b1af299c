"""cosmos keeps collecting while Discord is away; the client comes and goes as one more part.

The real discord.py client against the fake Discord on 127.0.0.1, inside ``app.run``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import socket
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot import app
from collectors.models.notify import Topic
from collectors.settings import Settings
from collectors.store.database import Database
from tests.bot.conftest import TOKEN
from tests.bot.helpers import eventually
from tests.bot.helpers import running as run_cosmos
from tests.bot.test_modes import enqueue, outbox_counts
from tests.fakes.discord_api import CHANNEL_ID, GUILD_ID, FakeDiscord

FIXTURE_LOG = Path(__file__).resolve().parents[1] / "fixtures" / "sources" / "farmer-small.log"
OPTIONS: dict[str, Any] = {"guild_ready_timeout": 0.05, "login_first_wait": 0.05}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def settings_for(tmp_path: Path, fake: FakeDiscord, **discord: Any) -> Settings:
    log = tmp_path / "farmer.log"
    shutil.copy(FIXTURE_LOG, log)
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_path=tmp_path / "cosmos.db",
        farmer_name="alpha",
        logs={"files": [{"path": str(log), "role": "farmer"}]},
        alerts={"summary_enabled": False},
        web={"port": free_port()},
        discord={
            "token": TOKEN,
            "guild_id": GUILD_ID,
            "channel_id": CHANNEL_ID,
            "api_base_url": fake.api_base,
            "gateway_url": fake.gateway_url,
            **discord,
        },
    )


def running(settings: Settings) -> AbstractAsyncContextManager[asyncio.Task[None]]:
    return run_cosmos(settings, OPTIONS)


async def events_stored(settings: Settings) -> int:
    async with (
        Database(settings.database_path) as db,
        db.conn.execute("SELECT COUNT(*) FROM events") as cur,
    ):
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def healthz(settings: Settings) -> tuple[int, dict[str, Any]]:
    url = f"http://127.0.0.1:{settings.web_port}/healthz"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, json.loads(await response.text())


async def wait_for(check: Any, seconds: float = 20.0) -> Any:
    """Until the async ``check()`` returns something true (bounded)."""
    async with asyncio.timeout(seconds):
        while True:
            try:
                result = await check()
            except (aiohttp.ClientError, OSError):
                result = None
            if result:
                return result
            await asyncio.sleep(0.05)


async def test_collecting_and_healthz_go_on_while_discord_is_unreachable(
    tmp_path: Path, fake_discord: FakeDiscord
) -> None:
    settings = settings_for(tmp_path, fake_discord)
    await enqueue(settings, "kept")
    fake_discord.fail("/users/@me", 503, times=1_000_000)  # Discord is down
    async with running(settings) as task:
        assert await wait_for(lambda: events_stored(settings))

        async def degraded() -> dict[str, Any] | None:
            status, body = await healthz(settings)
            return body if status == 200 and body["status"] == "degraded" else None

        body = await wait_for(degraded)
        parts = {p["name"]: p for p in body["parts"]}
        assert parts["discord"]["ok"] is False
        assert "cannot log in" in parts["discord"]["note"]
        assert {c["name"] for c in body["collectors"]} >= {"logs", "alerts"}
        assert all(c["healthy"] for c in body["collectors"])
        assert (await outbox_counts(settings)).get("sent", 0) == 0  # kept for later
        assert not task.done()

        fake_discord.failures.clear()  # Discord is back: the outbox is delivered
        await eventually(lambda: bool(fake_discord.channel_messages[CHANNEL_ID]))

        async def ok() -> bool:
            return (await healthz(settings))[1]["status"] == "ok"

        assert await wait_for(ok)
    titles = [m["embeds"][0]["title"] for m in fake_discord.channel_messages[CHANNEL_ID]]
    assert "Note kept" in titles


async def test_a_failed_command_sync_is_retried_and_cosmos_goes_on(
    tmp_path: Path, fake_discord: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(tmp_path, fake_discord)
    fake_discord.fail(f"/guilds/{GUILD_ID}/commands", 503, times=2, method="PUT")
    async with running(settings) as task:
        await eventually(lambda: fake_discord.sync_calls == [str(GUILD_ID)])
        reply = await fake_discord.interact("farms")
        assert reply.messages
        assert not task.done()
    assert "already loaded" not in caplog.text
    puts = [s for m, p, s in fake_discord.requests if m == "PUT" and p.endswith("/commands")]
    assert puts == [503, 503, 200]


async def test_a_login_retried_after_a_failure_adds_the_cogs_once(
    tmp_path: Path, fake_discord: FakeDiscord
) -> None:
    # application_info fails after the token was accepted: discord.py's login runs
    # setup_hook only on success, and a second setup_hook must not add the cogs again.
    settings = settings_for(tmp_path, fake_discord)
    fake_discord.fail("/oauth2/applications/@me", 503, times=2)
    async with running(settings) as task:
        await eventually(lambda: fake_discord.sync_calls == [str(GUILD_ID)])
        assert (await fake_discord.interact("farms")).messages
        assert not task.done()


async def test_commands_are_answered_right_after_a_reconnect_and_a_stale_one_is_one_line(
    tmp_path: Path, fake_discord: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(tmp_path, fake_discord)
    caplog.set_level(logging.INFO)
    async with running(settings):
        await eventually(lambda: fake_discord.sync_calls == [str(GUILD_ID)])
        identified = len([r for r in fake_discord.requests if r[1] == "/gateway"])
        await fake_discord.drop_gateway()
        await eventually(
            lambda: (
                len([r for r in fake_discord.requests if r[1] == "/gateway"]) > identified
                and bool(fake_discord.sockets)
            )
        )
        # Replayed after the reconnect, too late: Discord refuses the answer.
        await fake_discord.interact("farms", expired=True)
        fresh = await fake_discord.interact("farms")
        assert fresh.responses[0]["type"] in (4, 5)  # answered or deferred
        await asyncio.sleep(0.2)
    late = [r for r in caplog.records if "came too late" in r.getMessage()]
    assert len(late) == 1
    assert late[0].exc_info is None
    assert "Traceback" not in caplog.text
    assert "Unknown interaction" not in caplog.text


async def test_a_refused_token_still_stops_with_a_clear_message(
    tmp_path: Path, fake_discord: FakeDiscord
) -> None:
    from collectors.settings import SettingsError

    settings = settings_for(tmp_path, fake_discord, token="wrong")
    with pytest.raises(SettingsError, match="Discord refused the bot token"):
        await asyncio.wait_for(app.run(settings, asyncio.Event(), bot_options=OPTIONS), 10)
    # The collectors ran until then and the database was closed cleanly.
    await enqueue(settings, "after", topic=Topic.ALERTS)
