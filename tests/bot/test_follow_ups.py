"""Outbox follow-ups: a delivered message edited later, a correction after it, each once.

Webhooks (PATCH /webhooks/{id}/{token}/messages/{id}) and the console here; channel messages
through the real discord.py client in test_reorg_corrections and test_win_announcements.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import aiohttp
import pytest

from bot.delivery import DeliveryLoop
from bot.notifiers import ConsoleNotifier, Notifier, Outgoing, Sent, WebhookNotifier
from collectors.clock import FakeClock
from collectors.corrections import reorg_correction
from collectors.models.notify import Delivered, Notification, Severity, Topic
from collectors.store.bot_state import BotStateStore
from collectors.store.database import Database
from collectors.store.outbox import OutboxStore, edit_in, retract_in
from tests.bot.test_delivery import drain
from tests.fakes.discord_api import FakeDiscord


def win(key: str, title: str = "Reward signed by farm-1") -> Notification:
    return Notification(
        dedupe_key=key,
        topic=Topic.REWARDS,
        severity=Severity.SUCCESS,
        title=title,
        fields=(("Farm", "farm-1"),),
    )


async def edit(db: Database, clock: FakeClock, key: str, title: str, tag: str) -> bool:
    async with db.transaction() as conn:
        return await edit_in(conn, key, win(key, title), clock.now_us(), tag)


def loop_for(db: Database, clock: FakeClock, notifier: Notifier, **options: str) -> DeliveryLoop:
    return DeliveryLoop(OutboxStore(db), BotStateStore(db), notifier, clock, **options)  # type: ignore[arg-type]


async def test_a_delivered_webhook_message_is_edited_once_even_after_a_restart(
    db: Database, clock: FakeClock, fake_discord: FakeDiscord
) -> None:
    outbox = OutboxStore(db)
    await outbox.enqueue(win("win:1"), clock.now_us())
    async with aiohttp.ClientSession() as session:
        notifier = WebhookNotifier(session, fake_discord.webhook_url())
        await drain(loop_for(db, clock, notifier), clock)
        assert await edit(db, clock, "win:1", "Block reward 0.1 AI3 — farm-1", "credit")
        assert not await edit(db, clock, "win:1", "Block reward 0.1 AI3 — farm-1", "credit")
        assert not await edit(db, clock, "win:404", "nothing", "credit")
        # A new loop (a restart) sends what is pending, and only that.
        await drain(loop_for(db, clock, notifier), clock)
        await drain(loop_for(db, clock, notifier), clock)
    [message] = fake_discord.webhook_messages[7000]
    assert message["embeds"][0]["title"] == "Block reward 0.1 AI3 — farm-1"
    assert len(fake_discord.edits) == 1
    assert [m for _, p, m in fake_discord.requests if "/messages/" in p] == [200]
    assert await outbox.counts() == {"sent": 2}


async def test_an_edit_before_the_first_send_goes_out_in_it_and_a_batch_is_re_rendered(
    db: Database, clock: FakeClock, fake_discord: FakeDiscord
) -> None:
    outbox = OutboxStore(db)
    for i in range(3):
        await outbox.enqueue(win(f"win:{i}", f"Reward signed {i}"), clock.now_us())
    async with aiohttp.ClientSession() as session:
        notifier = WebhookNotifier(session, fake_discord.webhook_url())
        loop = loop_for(db, clock, notifier, rewards_mode="batched")
        await loop.iteration()  # the batch is held for an hour
        await edit(db, clock, "win:0", "Block reward 0.1 AI3 (signed 0)", "credit")
        await loop.iteration()
        assert fake_discord.webhook_messages[7000] == []
        clock.advance(3600)
        await drain(loop, clock)
        [batch] = fake_discord.webhook_messages[7000]
        assert "Block reward 0.1 AI3 (signed 0)" in batch["embeds"][0]["fields"][0]["value"]
        # Credited after the batch went out: the batch message is edited, one line changed.
        await edit(db, clock, "win:2", "Vote reward 0.01 AI3 (signed 2)", "credit")
        await drain(loop, clock)
    [batch] = fake_discord.webhook_messages[7000]
    lines = batch["embeds"][0]["fields"][0]["value"]
    assert "Vote reward 0.01 AI3 (signed 2)" in lines
    assert "Block reward 0.1 AI3 (signed 0)" in lines
    assert "Reward signed 1" in lines
    assert batch["embeds"][0]["title"] == "3 rewards"


async def test_follow_ups_of_a_message_never_sent_are_dropped(
    db: Database, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    outbox = OutboxStore(db)
    await outbox.enqueue(win("win:off"), clock.now_us())
    await outbox.enqueue(dataclasses.replace(win("t:1"), topic=Topic.TRANSFERS), clock.now_us())
    async with db.transaction() as conn:  # undone before it was sent
        assert await retract_in(conn, ["t:1"], clock.now_us(), reorg_correction) == 1
    await edit(db, clock, "win:off", "Block reward 0.1 AI3", "credit")
    caplog.set_level(logging.INFO, "cosmos.notify")
    await drain(loop_for(db, clock, ConsoleNotifier(), rewards_mode="off"), clock)
    assert caplog.messages == []  # rewards are off, and the transfer was withdrawn
    assert await outbox.counts() == {"sent": 1, "withdrawn": 4}


async def test_the_console_prints_the_update_and_a_correction(
    db: Database, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    outbox = OutboxStore(db)
    await outbox.enqueue(dataclasses.replace(win("t:1"), topic=Topic.TRANSFERS), clock.now_us())
    caplog.set_level(logging.INFO, "cosmos.notify")
    loop = loop_for(db, clock, ConsoleNotifier())
    await drain(loop, clock)
    async with db.transaction() as conn:
        await retract_in(conn, ["t:1"], clock.now_us(), reorg_correction)
        await retract_in(conn, ["t:1"], clock.now_us(), reorg_correction)  # said once
    await drain(loop, clock)
    assert len(caplog.messages) == 3
    assert "Correction (chain reorg)" in caplog.messages[1]
    assert caplog.messages[2].startswith("[update] [transfers/warning] ~~Reward signed")


async def test_a_deleted_message_is_not_edited_again_and_again(
    db: Database, clock: FakeClock, fake_discord: FakeDiscord
) -> None:
    outbox = OutboxStore(db)
    await outbox.enqueue(win("win:1"), clock.now_us())
    async with aiohttp.ClientSession() as session:
        notifier = WebhookNotifier(session, fake_discord.webhook_url())
        await drain(loop_for(db, clock, notifier), clock)
        fake_discord.webhook_messages[7000].clear()  # someone deleted it
        await edit(db, clock, "win:1", "Block reward", "credit")
        await drain(loop_for(db, clock, notifier), clock)
    assert await outbox.counts() == {"sent": 1, "dead": 1}


class InFlight:
    """Holds the first send until released, so the fact can be undone while it is in flight."""

    target = "slow"

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.sent: list[str] = []
        self.updated: list[tuple[str | None, str]] = []

    async def send(self, message: Outgoing) -> Sent:
        self.started.set()
        await self.release.wait()
        self.sent.append(message.text)
        return Sent(self.target, str(len(self.sent)))

    async def update(self, delivered: Delivered, message: Outgoing) -> None:
        self.updated.append((delivered.message_id, message.text))


async def test_a_fact_undone_while_its_message_was_in_flight_is_still_corrected(
    db: Database, clock: FakeClock
) -> None:
    outbox = OutboxStore(db)
    await outbox.enqueue(dataclasses.replace(win("t:1"), topic=Topic.TRANSFERS), clock.now_us())
    notifier = InFlight()
    loop = loop_for(db, clock, notifier)  # type: ignore[arg-type]
    task = asyncio.create_task(loop.iteration())
    await notifier.started.wait()
    async with db.transaction() as conn:  # the reorg is noticed while Discord is answering
        await retract_in(conn, ["t:1"], clock.now_us(), reorg_correction)
    notifier.release.set()
    await task
    await drain(loop, clock)
    assert len(notifier.sent) == 2
    assert "Correction (chain reorg)" in notifier.sent[1]
    assert notifier.updated == [("1", notifier.updated[0][1])]
    assert "~~Reward signed by farm-1~~" in notifier.updated[0][1]
