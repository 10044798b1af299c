"""Outbox delivery: each notification posted once, across outages, crashes and restarts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from bot.delivery import DeliveryLoop
from bot.notifiers import ChannelNotifier, ConsoleNotifier, Outgoing, Sent, WebhookNotifier
from collectors.clock import FakeClock
from collectors.models.notify import ChartHint, Notification, Severity, Topic
from collectors.store.bot_state import BotStateStore
from collectors.store.database import Database
from collectors.store.outbox import OutboxStore
from tests.bot.conftest import bot_settings, start_bot
from tests.fakes.discord_api import CHANNEL_ID, FakeDiscord


def note(
    key: str, topic: Topic = Topic.TRANSFERS, severity: Severity = Severity.INFO
) -> Notification:
    return Notification(
        dedupe_key=key,
        topic=topic,
        severity=severity,
        title=f"Transfer {key}",
        body="1.5 AI3 in",
        fields=(("From", "su123…"),),
        occurred_us=1_750_406_000_000_000,
    )


async def drain(loop: DeliveryLoop, clock: FakeClock, passes: int = 200) -> int:
    """Run passes, moving the fake clock by each returned delay, until nothing is pending."""
    outbox = loop._outbox  # the same store the loop claims from
    for n in range(passes):
        delay = await loop.iteration()
        clock.advance(delay if delay else 1.0)
        if (await outbox.counts()).get("pending", 0) == 0:
            return n + 1
    raise AssertionError("the outbox never drained")


def titles(messages: list[dict]) -> list[str]:
    return [m["embeds"][0]["title"] for m in messages]


async def test_webhook_outage_delays_but_posts_each_message_once(
    db: Database, clock: FakeClock, fake_discord: FakeDiscord
) -> None:
    outbox = OutboxStore(db)
    for i in range(5):
        await outbox.enqueue(note(f"t{i}"), clock.now_us())
    fake_discord.fail("/api/webhooks/", 429, times=3, retry_after=2.5)
    fake_discord.fail("/api/webhooks/", 503, times=4)
    fake_discord.fail("/api/webhooks/", 502, times=2)
    async with aiohttp.ClientSession() as session:
        notifier = WebhookNotifier(session, fake_discord.webhook_url())
        loop = DeliveryLoop(outbox, BotStateStore(db), notifier, clock)
        start = clock.now_us()
        await drain(loop, clock)
    posted = fake_discord.webhook_messages[7000]
    assert titles(posted) == [f"Transfer t{i}" for i in range(5)]
    assert await outbox.counts() == {"sent": 5}
    # The 429s were honoured (2.5 s each) and the 5xx backed off: the fake clock moved on.
    assert clock.now_us() - start >= 3 * 2.5e6
    statuses = [status for _, path, status in fake_discord.requests if "webhooks" in path]
    assert statuses.count(429) == 3
    assert statuses.count(503) == 4


async def test_a_malformed_message_is_dropped_not_retried_forever(
    db: Database, clock: FakeClock, fake_discord: FakeDiscord
) -> None:
    outbox = OutboxStore(db)
    await outbox.enqueue(note("bad"), clock.now_us())
    await outbox.enqueue(note("good"), clock.now_us())
    fake_discord.fail("/api/webhooks/", 400, times=1)
    async with aiohttp.ClientSession() as session:
        loop = DeliveryLoop(
            outbox, BotStateStore(db), WebhookNotifier(session, fake_discord.webhook_url()), clock
        )
        await drain(loop, clock)
    assert titles(fake_discord.webhook_messages[7000]) == ["Transfer good"]
    assert await outbox.counts() == {"dead": 1, "sent": 1}


async def test_rewards_batched_into_one_message_per_interval(
    db: Database, clock: FakeClock, fake_discord: FakeDiscord
) -> None:
    outbox = OutboxStore(db)
    for i in range(3):
        await outbox.enqueue(note(f"r{i}", Topic.REWARDS, Severity.SUCCESS), clock.now_us())
    await outbox.enqueue(note("t"), clock.now_us())
    async with aiohttp.ClientSession() as session:
        loop = DeliveryLoop(
            outbox,
            BotStateStore(db),
            WebhookNotifier(session, fake_discord.webhook_url()),
            clock,
            rewards_mode="batched",
            rewards_batch_minutes=30,
        )
        await loop.iteration()
        assert titles(fake_discord.webhook_messages[7000]) == ["Transfer t"]
        clock.advance(29 * 60)
        await loop.iteration()
        assert len(fake_discord.webhook_messages[7000]) == 1
        clock.advance(61)
        await loop.iteration()
    posted = fake_discord.webhook_messages[7000]
    assert titles(posted) == ["Transfer t", "3 rewards"]
    assert "Transfer r2" in posted[1]["embeds"][0]["fields"][0]["value"]
    assert await outbox.counts() == {"sent": 4}


async def test_rewards_off_are_marked_without_sending(db: Database, clock: FakeClock) -> None:
    outbox = OutboxStore(db)
    await outbox.enqueue(note("r", Topic.REWARDS), clock.now_us())
    loop = DeliveryLoop(outbox, BotStateStore(db), ConsoleNotifier(), clock, rewards_mode="off")
    await loop.iteration()
    assert await outbox.counts() == {"sent": 1}


async def test_channel_resend_after_a_crash_is_deduplicated_by_the_nonce(
    tmp_path: Path, fake_discord: FakeDiscord, clock: FakeClock
) -> None:
    running = await start_bot(bot_settings(tmp_path), clock, collectors=False)
    try:
        db = running.services.db
        outbox = OutboxStore(db)
        await outbox.enqueue(note("crash"), clock.now_us())
        (item,) = await outbox.due(clock.now_us())
        notifier = ChannelNotifier(running.bot, CHANNEL_ID)
        # Discord accepts the message, then the process dies before marking it sent.
        first = await notifier.send(Outgoing.of(item))
        assert (await outbox.counts()) == {"pending": 1}
        # After the restart the loop sends it again: Discord answers with the same message.
        loop = DeliveryLoop(outbox, BotStateStore(db), notifier, clock)
        await loop.iteration()
        assert len(fake_discord.channel_messages[CHANNEL_ID]) == 1
        assert await BotStateStore(db).message_id(item.id) == first.message_id
        assert await outbox.counts() == {"sent": 1}
    finally:
        await running.close()


async def test_channel_outage_with_429_and_5xx_posts_each_message_once(
    tmp_path: Path, fake_discord: FakeDiscord, clock: FakeClock
) -> None:
    running = await start_bot(bot_settings(tmp_path), clock, collectors=False)
    try:
        db = running.services.db
        outbox = OutboxStore(db)
        for i in range(4):
            await outbox.enqueue(note(f"c{i}"), clock.now_us())
        path = f"/channels/{CHANNEL_ID}/messages"
        # discord.py itself retries a few 429s (honouring retry_after); the rest reach us.
        fake_discord.fail(path, 429, times=7, retry_after=0.01, method="POST")
        fake_discord.fail(path, 503, times=3, method="POST")
        loop = DeliveryLoop(
            outbox, BotStateStore(db), ChannelNotifier(running.bot, CHANNEL_ID), clock
        )
        await drain(loop, clock)
        assert titles(fake_discord.channel_messages[CHANNEL_ID]) == [
            f"Transfer c{i}" for i in range(4)
        ]
        statuses = [status for method, p, status in fake_discord.requests if p.endswith(path)]
        assert statuses.count(429) == 7
        assert statuses.count(503) == 3
        assert await outbox.counts() == {"sent": 4}
    finally:
        await running.close()


@pytest.mark.parametrize("severity", list(Severity))
async def test_notification_colour_follows_severity(
    db: Database, clock: FakeClock, fake_discord: FakeDiscord, severity: Severity
) -> None:
    outbox = OutboxStore(db)
    await outbox.enqueue(note("s", Topic.ALERTS, severity), clock.now_us())
    async with aiohttp.ClientSession() as session:
        loop = DeliveryLoop(
            outbox, BotStateStore(db), WebhookNotifier(session, fake_discord.webhook_url()), clock
        )
        await loop.iteration()
    (posted,) = fake_discord.webhook_messages[7000]
    colours = {
        Severity.INFO: 0x3498DB,
        Severity.SUCCESS: 0x2ECC71,
        Severity.WARNING: 0xF1C40F,
        Severity.ERROR: 0xE74C3C,
    }
    assert posted["embeds"][0]["color"] == colours[severity]
    assert "<t:1750406000:R>" in posted["embeds"][0]["description"]


class SlowNotifier:
    """Discord accepts, but only after the loop has been told to stop."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.sent: list[str] = []

    async def send(self, message: Outgoing) -> Sent:
        self.started.set()
        await self.release.wait()
        self.sent.append(message.nonce)
        return Sent("slow", "42")


async def test_a_stop_during_delivery_finishes_the_item_in_flight(
    db: Database, clock: FakeClock
) -> None:
    outbox = OutboxStore(db)
    await outbox.enqueue(note("inflight"), clock.now_us())
    notifier = SlowNotifier()
    loop = DeliveryLoop(outbox, BotStateStore(db), notifier, clock)
    task = asyncio.create_task(loop.iteration())
    await notifier.started.wait()
    task.cancel()
    await asyncio.sleep(0)
    notifier.release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(notifier.sent) == 1
    assert await outbox.counts() == {"sent": 1}


def summary_with_chart() -> Notification:
    hint = ChartHint(
        "Wins and misses by hour",
        1_750_320_000_000_000,
        3600,
        (("won", tuple(range(24))), ("missed", (1,) * 24)),
    )
    return Notification(
        "summary:2025-06-20", Topic.SUMMARY, Severity.INFO, "Daily summary", chart=hint
    )


async def test_a_chart_hint_is_drawn_and_attached_to_a_webhook_message(
    db: Database, clock: FakeClock, fake_discord: FakeDiscord
) -> None:
    outbox = OutboxStore(db)
    await outbox.enqueue(summary_with_chart(), clock.now_us())
    async with aiohttp.ClientSession() as session:
        loop = DeliveryLoop(
            outbox, BotStateStore(db), WebhookNotifier(session, fake_discord.webhook_url()), clock
        )
        await loop.iteration()
    (posted,) = fake_discord.webhook_messages[7000]
    assert posted["embeds"][0]["image"]["url"] == "attachment://chart.png"
    assert posted["attachments"][0]["filename"] == "chart.png"
    name, png = fake_discord.attachments[-1]
    assert (name, png[:4]) == ("chart.png", b"\x89PNG")


async def test_a_chart_hint_is_attached_to_a_channel_message(
    tmp_path: Path, fake_discord: FakeDiscord, clock: FakeClock
) -> None:
    running = await start_bot(bot_settings(tmp_path), clock, collectors=False)
    try:
        db = running.services.db
        await OutboxStore(db).enqueue(summary_with_chart(), clock.now_us())
        notifier = ChannelNotifier(running.bot, CHANNEL_ID)
        await DeliveryLoop(OutboxStore(db), BotStateStore(db), notifier, clock).iteration()
        (posted,) = fake_discord.channel_messages[CHANNEL_ID]
        assert posted["embeds"][0]["image"]["url"] == "attachment://chart.png"
        assert fake_discord.attachments[-1][0] == "chart.png"
    finally:
        await running.close()
