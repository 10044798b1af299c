"""A webhook that answers 401/403/404 is held, not retried; fixed settings resume delivery.

``cosmos run`` in webhook mode against the fake Discord on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import aiohttp
import pytest

from bot import app
from bot.doctor import check_held_messages
from collectors.clock import FakeClock, SystemClock
from collectors.health import status_text
from collectors.models.notify import Topic
from collectors.settings import Settings
from tests.bot.conftest import make_settings
from tests.bot.helpers import eventually
from tests.bot.test_modes import enqueue, ours, outbox_counts, running
from tests.bot.test_never_deaf import free_port
from tests.fakes.discord_api import FakeDiscord

ALERTS_HOOK = "/api/webhooks/7001/alerts"


def settings_for(tmp_path: Path, fake: FakeDiscord, port: int) -> Settings:
    settings = make_settings(
        tmp_path,
        webhook_url=fake.webhook_url(),
        webhooks={"alerts": fake.webhook_url(7001, "alerts")},
    )
    web = settings.web.model_copy(update={"port": port})  # /healthz is on the web server
    return settings.model_copy(update={"web": web})


def calls(fake: FakeDiscord, path: str) -> int:
    return sum(1 for _, p, _ in fake.requests if p.startswith(path))


@pytest.mark.parametrize("status", [401, 403, 404])
async def test_a_refusing_webhook_is_held_told_elsewhere_and_resumed_after_a_fix(
    tmp_path: Path, fake_discord: FakeDiscord, status: int
) -> None:
    settings = settings_for(tmp_path, fake_discord, free_port())
    await enqueue(settings, "a1", "a2", topic=Topic.ALERTS)
    await enqueue(settings, "t1")
    fake_discord.fail(ALERTS_HOOK, status, times=1_000_000)
    default = fake_discord.webhook_messages[7000]
    clock = FakeClock(int(time.time() * 1_000_000))
    stop = asyncio.Event()
    task = asyncio.create_task(app.run(settings, stop, clock=clock))
    try:
        # The problem is told on the default webhook, next to the other messages.
        await eventually(lambda: any("refuses the alerts route" in t for t in titles(default)))
        await eventually(lambda: "Note t1" in ours(default))
        refused_once = calls(fake_discord, ALERTS_HOOK)
        url = f"http://127.0.0.1:{settings.web_port}/healthz"
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            body = json.loads(await response.text())
        # An hour later (past every backoff) the held route is still not tried again.
        clock.advance(3600)
        await eventually(lambda: calls(fake_discord, "/api/webhooks/7000/") > 0)
        await asyncio.sleep(1.0)  # several delivery passes
        assert calls(fake_discord, ALERTS_HOOK) == refused_once == 1
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    assert response.status == 200
    assert body["status"] == "degraded"
    route = next(p for p in body["parts"] if p["name"] == "route alerts")
    assert route["ok"] is False
    assert f"({status}" in route["note"]
    assert (await outbox_counts(settings)).get("pending") == 2  # kept, not dropped

    text = await status_text(settings, SystemClock())
    assert "2 held: webhook refused" in text
    doctor = await check_held_messages(settings.database_path)
    assert [c.detail for c in doctor] == [
        f"2 message(s) held: webhook refused ({status} Service Unavailable); check the webhook URL"
    ]

    fake_discord.failures.clear()  # the setting is fixed
    async with running(settings):
        await eventually(lambda: len(ours(fake_discord.webhook_messages[7001])) == 2, 10)
    assert sorted(ours(fake_discord.webhook_messages[7001])) == ["Note a1", "Note a2"]
    assert (await outbox_counts(settings)).get("pending", 0) == 0
    assert await check_held_messages(settings.database_path) == []


def titles(messages: list[dict]) -> list[str]:
    return [m["embeds"][0]["title"] for m in messages]
