"""A webhook or channel that answers 401/403/404 is held, not retried; probes that send
nothing look at it again with backoff, and once Discord accepts it (fixed in Discord) its kept
messages go out in order, each once, without a restart. Fixed settings resume at the start.

``cosmos run`` (real HTTP webhook notifier, real discord.py client) against the fake Discord on
127.0.0.1; time for the looks again is driven with a FakeClock.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot import app
from bot.doctor import check_held_messages
from bot.notifiers import Outgoing, RouteRefused, WebhookNotifier
from bot.refusals import Refusals
from collectors.clock import FakeClock, SystemClock
from collectors.health import status_text
from collectors.models.notify import Topic
from collectors.settings import Settings
from tests.bot.conftest import BOT_OPTIONS, bot_settings, make_settings
from tests.bot.helpers import eventually
from tests.bot.test_modes import enqueue, ours, outbox_counts, running
from tests.bot.test_never_deaf import free_port
from tests.fakes.discord_api import CHANNEL_ID, OTHER_CHANNEL_ID, FakeDiscord

ALERTS_HOOK = "/api/webhooks/7001/alerts"


def settings_for(tmp_path: Path, fake: FakeDiscord, port: int) -> Settings:
    settings = make_settings(
        tmp_path,
        webhook_url=fake.webhook_url(),
        webhooks={"alerts": fake.webhook_url(7001, "alerts")},
    )
    web = settings.web.model_copy(update={"port": port})  # /healthz is on the web server
    return settings.model_copy(update={"web": web})


def posts(fake: FakeDiscord, path: str) -> int:
    """Messages sent (or tried) there."""
    return sum(1 for m, p, _ in fake.requests if m == "POST" and p.startswith(path))


def looks(fake: FakeDiscord, path: str) -> int:
    """Probes: a GET of the webhook or the channel, which sends nothing."""
    return sum(1 for m, p, _ in fake.requests if m == "GET" and p == path)


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
        refused_once = posts(fake_discord, ALERTS_HOOK)
        url = f"http://127.0.0.1:{settings.web_port}/healthz"
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            body = json.loads(await response.text())
        # An hour later (past every backoff) the held route was looked at, but no message
        # was sent to it again.
        clock.advance(3600)
        await eventually(lambda: looks(fake_discord, ALERTS_HOOK) > 0)
        await asyncio.sleep(1.0)  # several delivery passes
        assert posts(fake_discord, ALERTS_HOOK) == refused_once == 1
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


# --- fixed in Discord: no restart --------------------------------------------------------


@asynccontextmanager
async def cosmos(
    settings: Settings, clock: FakeClock, bot_options: dict[str, Any] | None = None
) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(app.run(settings, stop, clock=clock, bot_options=bot_options))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def route_part(settings: Settings, name: str = "route alerts") -> dict[str, Any]:
    url = f"http://127.0.0.1:{settings.web_port}/healthz"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        body = json.loads(await response.text())
    return dict(next(p for p in body["parts"] if p["name"] == name))


def bot_with_web(tmp_path: Path) -> Settings:
    settings = bot_settings(tmp_path, channels={"alerts": OTHER_CHANNEL_ID})
    web = settings.web.model_copy(update={"port": free_port()})
    return settings.model_copy(update={"web": web})


def now_clock() -> FakeClock:
    return FakeClock(int(time.time() * 1_000_000))


async def test_a_webhook_fixed_in_discord_is_released_without_a_restart(
    tmp_path: Path, fake_discord: FakeDiscord
) -> None:
    settings = settings_for(tmp_path, fake_discord, free_port())
    await enqueue(settings, "a1", "a2", "a3", topic=Topic.ALERTS)
    fake_discord.refuse(ALERTS_HOOK, 404)
    default = fake_discord.webhook_messages[7000]
    alerts = fake_discord.webhook_messages[7001]
    clock = now_clock()
    async with cosmos(settings, clock):
        await eventually(lambda: "Discord refuses the alerts route" in titles(default))
        held = await route_part(settings)
        fake_discord.accept(ALERTS_HOOK)  # e.g. the webhook was briefly 404 on Discord's side
        clock.advance(61)  # past the first look again
        await eventually(lambda: len(ours(alerts)) == 3)
        await eventually(lambda: "Discord accepts the alerts route again" in titles(default))
        released = await route_part(settings)
        # Later passes and looks send none of them again; a new message goes straight out.
        await enqueue(settings, "a4", topic=Topic.ALERTS)
        clock.advance(3600)
        await eventually(lambda: len(ours(alerts)) == 4)
        in_doctor = await check_held_messages(settings.database_path)
    assert held["ok"] is False
    assert released["ok"] is True
    assert ours(alerts) == ["Note a1", "Note a2", "Note a3", "Note a4"]
    assert posts(fake_discord, ALERTS_HOOK) == 1 + 4  # the refused one, then each once
    assert looks(fake_discord, ALERTS_HOOK) == 1
    assert in_doctor == []
    assert (await outbox_counts(settings)).get("pending", 0) == 0
    assert "held" not in await status_text(settings, SystemClock())


async def test_a_route_still_refused_stays_held_and_is_looked_at_less_often(
    tmp_path: Path, fake_discord: FakeDiscord
) -> None:
    settings = settings_for(tmp_path, fake_discord, free_port())
    await enqueue(settings, "a1", "a2", topic=Topic.ALERTS)
    fake_discord.refuse(ALERTS_HOOK, 403)
    default = fake_discord.webhook_messages[7000]
    clock = now_clock()
    async with cosmos(settings, clock):
        await eventually(lambda: "Discord refuses the alerts route" in titles(default))
        first = await route_part(settings)
        clock.advance(61)
        await eventually(lambda: looks(fake_discord, ALERTS_HOOK) == 1)
        await note_says(settings, "every 120 s")
        clock.advance(121)
        await eventually(lambda: looks(fake_discord, ALERTS_HOOK) == 2)
        await note_says(settings, "every 240 s")
        still = await route_part(settings)
    assert "every 60 s" in first["note"]
    assert still["ok"] is False
    assert "(403" in still["note"]
    assert posts(fake_discord, ALERTS_HOOK) == 1  # looked at, never sent to again
    assert ours(fake_discord.webhook_messages[7001]) == []
    assert (await outbox_counts(settings)).get("pending") == 2
    assert len(await check_held_messages(settings.database_path)) == 1


async def note_says(settings: Settings, text: str, seconds: float = 20.0) -> None:
    """Wait (bounded) until the alerts route's /healthz note says ``text``."""
    async with asyncio.timeout(seconds):
        while text not in (await route_part(settings))["note"]:  # noqa: ASYNC110 - a test poll
            await asyncio.sleep(0.05)


async def test_a_restart_during_the_hold_keeps_the_messages_and_still_releases_them(
    tmp_path: Path, fake_discord: FakeDiscord
) -> None:
    settings = settings_for(tmp_path, fake_discord, free_port())
    await enqueue(settings, "a1", "a2", "a3", topic=Topic.ALERTS)
    fake_discord.refuse(ALERTS_HOOK, 401)
    default = fake_discord.webhook_messages[7000]
    alerts = fake_discord.webhook_messages[7001]
    clock = now_clock()
    async with cosmos(settings, clock):
        await eventually(lambda: "Discord refuses the alerts route" in titles(default))
    assert (await outbox_counts(settings)).get("pending") == 3
    async with cosmos(settings, clock):
        # The restart tries the route once for real (the setting may have been fixed) and
        # holds it again.
        await eventually(lambda: posts(fake_discord, ALERTS_HOOK) == 2)
        await note_says(settings, "messages held")
        fake_discord.accept(ALERTS_HOOK)
        clock.advance(61)
        await eventually(lambda: len(ours(alerts)) == 3)
        await eventually(lambda: "Discord accepts the alerts route again" in titles(default))
    async with cosmos(settings, clock):  # and nothing goes out twice after another restart
        await enqueue(settings, "a4", topic=Topic.ALERTS)
        await eventually(lambda: len(ours(alerts)) == 4)
    assert ours(alerts) == ["Note a1", "Note a2", "Note a3", "Note a4"]
    assert posts(fake_discord, ALERTS_HOOK) == 2 + 4
    assert titles(default).count("Discord refuses the alerts route") == 1  # once a day
    assert (await outbox_counts(settings)).get("pending", 0) == 0


async def test_a_channel_the_bot_gets_back_is_released_without_a_restart(
    tmp_path: Path, fake_discord: FakeDiscord
) -> None:
    settings = bot_with_web(tmp_path)
    await enqueue(settings, "c1", "c2", topic=Topic.ALERTS)
    channel = f"/api/v10/channels/{OTHER_CHANNEL_ID}"
    fake_discord.refuse(channel, 403)  # the bot lost access to the alerts channel
    default = fake_discord.channel_messages[CHANNEL_ID]
    alerts = fake_discord.channel_messages[OTHER_CHANNEL_ID]
    clock = now_clock()
    async with cosmos(settings, clock, BOT_OPTIONS):
        await eventually(lambda: "Discord refuses the alerts route" in titles(default))
        clock.advance(61)
        await eventually(lambda: looks(fake_discord, channel) == 1)
        await note_says(settings, "every 120 s")  # still refused, the answer taken in
        fake_discord.accept(channel)  # access granted again, in Discord
        clock.advance(121)
        await eventually(lambda: len(ours(alerts)) == 2)
        await eventually(lambda: "Discord accepts the alerts route again" in titles(default))
        await enqueue(settings, "c3", topic=Topic.ALERTS)
        await eventually(lambda: len(ours(alerts)) == 3)
    assert ours(alerts) == ["Note c1", "Note c2", "Note c3"]
    assert posts(fake_discord, f"{channel}/messages") == 1 + 3
    assert looks(fake_discord, channel) == 2
    assert (await outbox_counts(settings)).get("pending", 0) == 0


async def test_a_channel_the_bot_sees_but_may_not_post_in_stays_held_until_allowed(
    tmp_path: Path, fake_discord: FakeDiscord
) -> None:
    settings = bot_with_web(tmp_path)
    await enqueue(settings, "c1", "c2", topic=Topic.ALERTS)
    fake_discord.deny_send(OTHER_CHANNEL_ID)
    channel = f"/api/v10/channels/{OTHER_CHANNEL_ID}"
    default = fake_discord.channel_messages[CHANNEL_ID]
    alerts = fake_discord.channel_messages[OTHER_CHANNEL_ID]
    clock = now_clock()
    async with cosmos(settings, clock, BOT_OPTIONS):
        await eventually(lambda: "Discord refuses the alerts route" in titles(default))
        # The look sees the channel, and that the bot lacks Send Messages there: no post.
        clock.advance(61)
        await eventually(lambda: looks(fake_discord, channel) == 1)
        await note_says(settings, "the bot lacks Send Messages in channel 3001")
        fake_discord.allow_send(OTHER_CHANNEL_ID)
        clock.advance(121)
        await eventually(lambda: len(ours(alerts)) == 2)
    assert ours(alerts) == ["Note c1", "Note c2"]
    assert posts(fake_discord, f"{channel}/messages") == 1 + 2
    assert looks(fake_discord, channel) == 2


async def test_looks_at_a_refused_webhook_double_up_to_the_most_and_send_nothing(
    fake_discord: FakeDiscord,
) -> None:
    clock = now_clock()
    refusals = Refusals(clock, recheck_s=60, recheck_max_s=1800)
    fake_discord.refuse(ALERTS_HOOK, 404)
    async with aiohttp.ClientSession() as session:
        hook = refusals.guard(
            WebhookNotifier(session, fake_discord.webhook_url(7001, "alerts")), "alerts"
        )
        with pytest.raises(RouteRefused):
            await hook.send(Outgoing("alerts", (), "", "one"))
        waits = []
        for _ in range(7):
            clock.advance(refusals.wait_s(hook.target))
            await refusals.look_again()
            waits.append(refusals.wait_s(hook.target))
        assert await refusals.release() == []  # still refused: nothing released
        fake_discord.accept(ALERTS_HOOK)
        await refusals.look_again()  # not due yet
        clock.advance(1800)
        await refusals.look_again()
        released = await refusals.release()
        sent = await hook.send(Outgoing("alerts", (), "", "two"))
    assert waits == [120, 240, 480, 960, 1800, 1800, 1800]
    assert looks(fake_discord, ALERTS_HOOK) == 8
    assert posts(fake_discord, ALERTS_HOOK) == 2  # the refused one, then the one after release
    assert [r.target for r in released] == ["webhook:7001"]
    assert sent.message_id is not None
    assert refusals.health()[0].ok is True


async def test_a_look_that_gets_no_answer_keeps_the_route_held_at_the_same_pace(
    fake_discord: FakeDiscord,
) -> None:
    clock = now_clock()
    refusals = Refusals(clock, recheck_s=60, recheck_max_s=1800)
    fake_discord.refuse(ALERTS_HOOK, 404)
    async with aiohttp.ClientSession() as session:
        url = fake_discord.webhook_url(7001, "alerts")
        hook = refusals.guard(WebhookNotifier(session, url), "alerts")
        with pytest.raises(RouteRefused):
            await hook.send(Outgoing("alerts", (), "", "one"))
        fake_discord.accept(ALERTS_HOOK)
        fake_discord.fail(ALERTS_HOOK, 503, method="GET")  # Discord unwell at that moment
        clock.advance(60)
        await refusals.look_again()
        held = await refusals.release()
        wait = refusals.wait_s(hook.target)
        clock.advance(60)
        await refusals.look_again()
        released = await refusals.release()
    assert held == []
    assert wait == 60  # no answer is no refusal: the pace stays
    assert [r.target for r in released] == ["webhook:7001"]
    assert looks(fake_discord, ALERTS_HOOK) == 2


async def test_a_route_whose_look_passes_but_sending_is_refused_backs_off_all_the_same(
    fake_discord: FakeDiscord,
) -> None:
    clock = now_clock()
    refusals = Refusals(clock, recheck_s=60, recheck_max_s=1800)
    fake_discord.fail(ALERTS_HOOK, 403, times=1 << 30, method="POST")  # GET answers, POST not
    async with aiohttp.ClientSession() as session:
        url = fake_discord.webhook_url(7001, "alerts")
        hook = refusals.guard(WebhookNotifier(session, url), "alerts")
        waits = []
        for _ in range(3):
            with pytest.raises(RouteRefused):
                await hook.send(Outgoing("alerts", (), "", "one"))
            waits.append(refusals.wait_s(hook.target))
            clock.advance(waits[-1])
            await refusals.look_again()
            assert len(await refusals.release()) == 1
        fake_discord.failures.clear()
        await hook.send(Outgoing("alerts", (), "", "one"))
    assert waits == [60, 120, 240]
    assert refusals.wait_s(hook.target) == 60  # a message went through: the pace starts over
    assert posts(fake_discord, ALERTS_HOOK) == 4
