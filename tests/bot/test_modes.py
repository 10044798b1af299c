"""``cosmos run`` in each mode, end to end: restarts never re-announce nor lose a notification."""

from __future__ import annotations

import asyncio
import logging
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

from bot import app
from bot.app import Mode, choose_mode
from bot.services import build_services
from collectors.clock import FakeClock
from collectors.models.notify import Notification, Severity, Topic
from collectors.settings import Settings, SettingsError
from collectors.store.database import Database
from collectors.store.outbox import OutboxStore
from tests.bot.conftest import BOT_OPTIONS, TOKEN, bot_settings, make_bot, make_settings
from tests.bot.helpers import eventually
from tests.bot.helpers import running as run_cosmos
from tests.bot.seed import seed
from tests.fakes.discord_api import CHANNEL_ID, OTHER_CHANNEL_ID, FakeDiscord


def ours(messages: list[dict]) -> list[str]:
    """Titles of this test's notes and the dashboard (the alert engine may add its own)."""
    titles = [m["embeds"][0]["title"] for m in messages]
    return [t for t in titles if t.startswith(("Note ", "cosmos dashboard"))]


def note(key: str, topic: Topic = Topic.TRANSFERS) -> Notification:
    return Notification(key, topic, Severity.INFO, f"Note {key}", body="body")


async def enqueue(settings: Settings, *keys: str, topic: Topic = Topic.TRANSFERS) -> None:
    """A producer writing to the same database file, as the collectors do."""
    db = Database(settings.database_path)
    await db.initialize()
    try:
        outbox = OutboxStore(db)
        for key in keys:
            await outbox.enqueue(note(key, topic), 0)
    finally:
        await db.close()


async def outbox_counts(settings: Settings) -> dict[str, int]:
    async with Database(settings.database_path) as db:
        return await OutboxStore(db).counts()


def running(settings: Settings) -> AbstractAsyncContextManager[asyncio.Task[None]]:
    return run_cosmos(settings, BOT_OPTIONS)


def test_mode_is_chosen_from_the_settings(tmp_path: Path) -> None:
    assert choose_mode(make_settings(tmp_path)) is Mode.CONSOLE
    hook = "https://discord.com/api/webhooks/1/abc"
    assert choose_mode(make_settings(tmp_path, webhook_url=hook)) is Mode.WEBHOOK
    assert choose_mode(make_settings(tmp_path, token="t", webhook_url=hook)) is Mode.BOT


async def test_console_mode_prints_notifications_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(tmp_path)
    await enqueue(settings, "a")
    caplog.set_level(logging.INFO, logger="cosmos.notify")
    async with running(settings):
        await eventually(lambda: "Note a" in caplog.text)
    async with running(settings):
        await asyncio.sleep(0.3)
    assert caplog.text.count("[transfers/info] Note a | body") == 1
    assert (await outbox_counts(settings)).get("pending", 0) == 0


async def test_webhook_mode_end_to_end(tmp_path: Path, fake_discord: FakeDiscord) -> None:
    alerts_hook = fake_discord.webhook_url(7001, "alerts")
    settings = make_settings(
        tmp_path, webhook_url=fake_discord.webhook_url(), webhooks={"alerts": alerts_hook}
    )
    async with Database(settings.database_path) as db:
        await seed(db, 1_750_406_400_000_000)
    await enqueue(settings, "t1", "t2")
    await enqueue(settings, "alert1", topic=Topic.ALERTS)
    hook = fake_discord.webhook_messages[7000]
    async with running(settings):
        # Two notifications and the dashboard on the default webhook, the alert on its own.
        await eventually(
            lambda: len(ours(hook)) == 3 and len(ours(fake_discord.webhook_messages[7001])) == 1
        )
    assert sorted(ours(hook)) == ["Note t1", "Note t2", "cosmos dashboard"]
    assert ours(fake_discord.webhook_messages[7001]) == ["Note alert1"]
    dashboard_id = next(m["id"] for m in hook if m["embeds"][0]["title"] == "cosmos dashboard")
    # A notification written while cosmos is down is sent after the restart; nothing is
    # re-announced, and the dashboard message is edited in place, not posted again.
    await enqueue(settings, "t3")
    async with running(settings):
        await eventually(lambda: len(ours(hook)) == 4 and len(fake_discord.edits) >= 1)
    assert ours(hook).count("Note t1") == 1
    assert ours(hook)[-1] == "Note t3"
    assert fake_discord.edits[0][0] == dashboard_id
    assert ("PATCH", f"/api/webhooks/7000/hooktoken/messages/{dashboard_id}", 200) in (
        fake_discord.requests
    )
    assert (await outbox_counts(settings)).get("pending", 0) == 0
    assert fake_discord.sync_calls == []  # no commands in webhook-only mode


async def test_an_alert_rule_with_a_webhook_of_its_own(
    tmp_path: Path, fake_discord: FakeDiscord
) -> None:
    settings = make_settings(
        tmp_path,
        webhook_url=fake_discord.webhook_url(),
        webhooks={
            "alerts": fake_discord.webhook_url(7001, "alerts"),
            "farm_error": fake_discord.webhook_url(7002, "farm"),
        },
    )
    async with Database(settings.database_path) as db:
        outbox = OutboxStore(db)
        # As the alert engine writes them: each alert names its rule as its route.
        for key, rule in (("farm-down", "farm_error"), ("endpoint-down", "endpoint_down")):
            await outbox.enqueue(
                Notification(key, Topic.ALERTS, Severity.ERROR, f"Note {key}", route=rule), 0
            )
    async with running(settings):
        await eventually(
            lambda: (
                bool(ours(fake_discord.webhook_messages[7002]))
                and bool(ours(fake_discord.webhook_messages[7001]))
            )
        )
    assert ours(fake_discord.webhook_messages[7002]) == ["Note farm-down"]
    assert ours(fake_discord.webhook_messages[7001]) == ["Note endpoint-down"]


def test_unknown_channel_keys_are_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown key"):
        make_settings(tmp_path, channels={"farm_eror": 1})


async def test_webhook_mode_survives_a_long_outage_across_a_restart(
    tmp_path: Path, fake_discord: FakeDiscord
) -> None:
    settings = make_settings(tmp_path, webhook_url=fake_discord.webhook_url())
    await enqueue(settings, "o1", "o2")
    fake_discord.fail("/api/webhooks/7000/hooktoken", 429, times=1000, retry_after=0.05)
    async with running(settings):
        await eventually(lambda: len(fake_discord.requests) >= 3)
    assert (await outbox_counts(settings)).get("sent", 0) == 0
    fake_discord.failures.clear()
    async with running(settings):
        await eventually(lambda: len(ours(fake_discord.webhook_messages[7000])) >= 3)
        await asyncio.sleep(0.2)
    titles = ours(fake_discord.webhook_messages[7000])
    assert sorted(titles) == ["Note o1", "Note o2", "cosmos dashboard"]
    assert (await outbox_counts(settings)).get("pending", 0) == 0


async def test_bot_mode_delivers_to_channels_once_across_restarts(
    tmp_path: Path, fake_discord: FakeDiscord
) -> None:
    settings = bot_settings(tmp_path, channels={"alerts": OTHER_CHANNEL_ID})
    await enqueue(settings, "b1")
    await enqueue(settings, "alert", topic=Topic.ALERTS)
    async with running(settings):
        await eventually(
            lambda: (
                bool(fake_discord.channel_messages[CHANNEL_ID])
                and bool(fake_discord.channel_messages[OTHER_CHANNEL_ID])
            )
        )
    await enqueue(settings, "b2")
    async with running(settings):
        await eventually(lambda: len(ours(fake_discord.channel_messages[CHANNEL_ID])) == 2)
        await asyncio.sleep(0.2)
    # (At 08:00 UTC the alert engine adds its daily summary: only this test's notes count.)
    assert ours(fake_discord.channel_messages[CHANNEL_ID]) == ["Note b1", "Note b2"]
    assert ours(fake_discord.channel_messages[OTHER_CHANNEL_ID]) == ["Note alert"]
    assert len(fake_discord.sync_calls) == 1  # not re-synced on the restart
    assert (await outbox_counts(settings)).get("pending", 0) == 0


async def test_a_wrong_token_is_a_clear_error(tmp_path: Path, fake_discord: FakeDiscord) -> None:
    settings = make_settings(tmp_path, token="wrong", channel_id=CHANNEL_ID)
    with pytest.raises(SettingsError, match="Discord refused the bot token"):
        await asyncio.wait_for(app.run(settings, asyncio.Event(), bot_options=BOT_OPTIONS), 10)


async def test_the_bot_logs_in_once_discord_is_reachable_again(
    tmp_path: Path, fake_discord: FakeDiscord, clock: FakeClock
) -> None:
    services = await build_services(bot_settings(tmp_path), clock)
    bot = make_bot(services)
    fake_discord.fail("/users/@me", 503, times=3)
    task = asyncio.create_task(bot.start_with_retry(TOKEN, first_wait=0.01))
    try:
        await asyncio.wait_for(bot.wait_until_ready(), 10)
        logins = [s for _, p, s in fake_discord.requests if p.endswith("/users/@me")]
        assert logins == [503, 503, 503, 200]
    finally:
        await bot.close()
        await asyncio.gather(task, return_exceptions=True)
        await services.db.close()
