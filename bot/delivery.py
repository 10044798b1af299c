"""The delivery loop: outbox -> notifier, exactly once as far as Discord lets us.

Each pass claims the due items (oldest first), sends each, and marks it sent only after Discord
accepted it (the message id is stored with the mark, in one transaction). A failure leaves the
item pending with a retry time: Discord's ``retry_after`` for a 429, else exponential backoff up
to 15 minutes, so an outage of any length delays messages and drops none. A message Discord can
never accept (400) is marked dead.

The window between "Discord accepted" and "marked sent": a graceful stop waits for the item in
flight to be marked (see ``_finish_on_stop``). After a hard crash in that window the item is
still pending and is sent again after the restart.
- Channel messages carry a nonce derived from the fact's dedupe key, with ``enforce_nonce``:
  Discord answers a resend within its dedupe window (a few minutes) with the message it already
  created, so the retry right after the restart does not post twice.
- Webhooks have no nonce. There the window stays open for the few milliseconds between the HTTP
  answer and the SQLite commit; a crash exactly then re-posts that one message after restart
  (at-least-once). Losing a notification is never possible: it is marked only after acceptance.

Rewards can be sent each, batched (one message per ``rewards_batch_minutes``) or not at all.

Follow-ups (see ``collectors.store.outbox``) wait for their original: an edit is applied to the
message the original became (the whole batch message re-rendered when it was batched), a
correction is posted; both are dropped when the original was never delivered (withdrawn, or
rewards "off"). Edits are idempotent, so a crash between "edited" and "marked" repeats an edit,
never a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

from bot.embeds import rewards_batch_embed
from bot.notifiers import DeliveryError, MessageGone, Notifier, Outgoing, RouteRefused, Sent
from collectors.clock import Clock
from collectors.models.notify import Delivered, OutboxItem, Topic
from collectors.store.bot_state import HELD_PREFIX, BotStateStore
from collectors.store.outbox import Original, OutboxStore

log = logging.getLogger("cosmos.delivery")

MAX_BACKOFF_S = 900.0
# A stop waits this long for a message in flight to be answered and recorded (the whole stop
# stays within about two seconds); past it the item stays pending and is sent after restart.
STOP_GRACE_S = 1.2

T = TypeVar("T")
BATCH_DUE_KEY = "rewards:batch_due_us"


async def finish_on_stop(work: Coroutine[Any, Any, T], grace: float = STOP_GRACE_S) -> T:
    """Run ``work`` to its end even when the caller is cancelled (then re-raise).

    A graceful stop (SIGTERM) that cancelled between "Discord accepted" and "stored" would
    post that message again after the restart; so a stop waits (bounded) for the send in
    flight and its bookkeeping, then stops.
    """
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(task, grace)
        raise


def backoff_seconds(attempts: int) -> float:
    """5 s, 10 s, 20 s, … up to 15 minutes."""
    return float(min(MAX_BACKOFF_S, 5.0 * 2 ** min(attempts, 10)))


class DeliveryLoop:
    def __init__(
        self,
        outbox: OutboxStore,
        state: BotStateStore,
        notifier: Notifier,
        clock: Clock,
        *,
        rewards_mode: str = "each",
        rewards_batch_minutes: float = 60.0,
        batch_size: int = 50,
        # A win is told within 2 s of its log line: the outbox is looked at twice a second
        # (one indexed SELECT on an idle database).
        interval: float = 0.5,
    ) -> None:
        self._outbox = outbox
        self._state = state
        self._notifier = notifier
        self._clock = clock
        self._rewards_mode = rewards_mode
        self._batch_us = int(rewards_batch_minutes * 60 * 1_000_000)
        self._batch_size = batch_size
        self.interval = interval

    async def iteration(self) -> float | None:
        """One pass; returns the delay before the next one."""
        now = self._clock.now_us()
        due = await self._outbox.due(now, self._batch_size)
        items = [i for i in due if i.refers_to is None]
        follow_ups = [i for i in due if i.refers_to is not None]
        rewards = [i for i in items if _is_reward(i)]
        others = [i for i in items if not _is_reward(i)]
        if self._rewards_mode == "each":
            others = items
        elif self._rewards_mode == "off" and rewards:
            await self._state.mark_delivered([i.id for i in rewards], "off", None, now)
        elif rewards:
            delay = await self._batch(rewards, now)
            if delay is not None:
                return delay
        for item in others:
            delay = await self._send_one(item)
            if delay is not None:
                return delay
        # After the originals of this pass, so an edit finds its original delivered.
        for item in follow_ups:
            delay = await self._follow_up(item)
            if delay is not None:
                return delay
        return 0.0 if len(due) >= self._batch_size else None

    async def _follow_up(self, item: OutboxItem) -> float | None:
        assert item.refers_to is not None
        now = self._clock.now_us()
        original = await self._outbox.original(item.refers_to)
        delivered = original.delivered if original else None
        if original is not None and delivered is None and original.state == "pending":
            wait_until = max(original.next_attempt_us, now + int(self.interval * 1e6))
            await self._state.defer([item.id], wait_until)
            return None
        if original is None or delivered is None or delivered.target == "off":
            # Nobody was told the first time, so there is nothing to edit or correct.
            await self._outbox.withdraw(item.id, now, "its first message was never sent")
            return None
        if not item.edit:
            return await self._send_one(item)
        return await finish_on_stop(self._edit(item, original, delivered))

    async def _edit(self, item: OutboxItem, original: Original, d: Delivered) -> float | None:
        try:
            await self._notifier.update(d, await self._as_it_reads_now(original, d))
        except MessageGone:
            log.warning("the message of %s was deleted; not edited", item.refers_to)
            await self._outbox.mark_failed(
                item.id, "message deleted", self._clock.now_us(), give_up=True
            )
            return None
        except DeliveryError as exc:
            return await self._failed([item], exc)
        await self._state.mark_delivered([item.id], d.target, d.message_id, self._clock.now_us())
        return None

    async def _as_it_reads_now(self, original: Original, d: Delivered) -> Outgoing:
        """The original's message from the current payloads (of the whole batch, if batched)."""
        items = await self._outbox.same_message(d)
        if len(items) <= 1:
            return Outgoing.of(original.item)
        embed = rewards_batch_embed(items, min(i.created_us for i in items), d.delivered_us)
        return Outgoing(Topic.REWARDS.value, (embed,), "", f"{len(items)} rewards")

    async def _send_one(self, item: OutboxItem) -> float | None:
        return await finish_on_stop(self._deliver_one(item))

    async def _deliver_one(self, item: OutboxItem) -> float | None:
        try:
            sent = await self._notifier.send(await Outgoing.render(item))
        except DeliveryError as exc:
            return await self._failed([item], exc)
        except Exception as exc:  # a bug rendering one item must not block the others
            log.exception("could not deliver notification %s", item.notification.dedupe_key)
            await self._outbox.mark_failed(
                item.id,
                f"{type(exc).__name__}: {exc}",
                self._clock.now_us() + int(backoff_seconds(item.attempts) * 1e6),
            )
            return None
        await self._done([item], sent)
        return None

    async def _failed(self, items: Sequence[OutboxItem], exc: DeliveryError) -> float | None:
        """Record the failure; returns the pause for a retryable one (the target is unwell)."""
        now = self._clock.now_us()
        if isinstance(exc, RouteRefused):
            # Held, not retried: the route's guard sends nothing more; they are made due again
            # when a look finds the route accepting, or at the next start (see bot.refusals).
            until = now + int(MAX_BACKOFF_S * 1e6)
            for item in items:
                await self._outbox.mark_failed(item.id, f"{HELD_PREFIX}{exc}", until)
            return None
        wait = (
            exc.retry_after if exc.retry_after is not None else backoff_seconds(items[0].attempts)
        )
        for item in items:
            await self._outbox.mark_failed(
                item.id, str(exc), now + int(wait * 1e6), give_up=exc.permanent
            )
        keys = ", ".join(i.notification.dedupe_key for i in items)
        if exc.permanent:
            log.error("dropping notification %s: %s", keys, exc)
            return None
        log.warning("notification %s not delivered (%s); retrying in %.0f s", keys, exc, wait)
        return wait

    async def _done(self, items: Sequence[OutboxItem], sent: Sent) -> None:
        await self._state.mark_delivered(
            [i.id for i in items], sent.target, sent.message_id, self._clock.now_us()
        )

    async def _batch(self, rewards: list[OutboxItem], now: int) -> float | None:
        """Hold rewards until the batch is due, then send them as one message."""
        stored = await self._state.get(BATCH_DUE_KEY)
        due_us = int(stored) if stored else None
        if due_us is None:
            due_us = min(i.created_us for i in rewards) + self._batch_us
            await self._state.set(BATCH_DUE_KEY, str(due_us), now)
        if now < due_us:
            await self._outbox_defer(rewards, due_us)
            return None
        ids = sorted(i.id for i in rewards)
        embed = rewards_batch_embed(rewards, min(i.created_us for i in rewards), now)
        nonce = hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:25]
        message = Outgoing(Topic.REWARDS.value, (embed,), nonce, f"{len(ids)} rewards")

        async def deliver() -> float | None:
            try:
                sent = await self._notifier.send(message)
            except DeliveryError as exc:
                return await self._failed(rewards, exc)
            await self._done(rewards, sent)
            await self._state.delete(BATCH_DUE_KEY)
            return None

        return await finish_on_stop(deliver())

    async def _outbox_defer(self, items: Sequence[OutboxItem], until_us: int) -> None:
        await self._state.defer([i.id for i in items], until_us)


def _is_reward(item: OutboxItem) -> bool:
    n = item.notification
    return not n.immediate and (n.route or n.topic.value) == Topic.REWARDS.value
