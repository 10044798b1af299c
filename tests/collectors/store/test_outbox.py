from __future__ import annotations

from collectors.models.notify import Notification, Severity, Topic
from collectors.store.database import Database
from collectors.store.outbox import OutboxStore


def _note(key: str) -> Notification:
    return Notification(
        dedupe_key=key,
        topic=Topic.TRANSFERS,
        severity=Severity.INFO,
        title="Transfer in",
        body="1.5 AI3",
        fields=(("From", "su…"),),
        route=Topic.ALERTS,
    )


async def test_enqueue_is_idempotent_and_round_trips(db: Database) -> None:
    outbox = OutboxStore(db)
    assert await outbox.enqueue(_note("t:1"), 10)
    assert not await outbox.enqueue(_note("t:1"), 11)
    due = await outbox.due(now_us=10)
    assert [item.notification for item in due] == [_note("t:1")]


async def test_failed_items_wait_and_sent_items_leave(db: Database) -> None:
    outbox = OutboxStore(db)
    await outbox.enqueue(_note("a"), 10)
    await outbox.enqueue(_note("b"), 10)
    a, b = await outbox.due(now_us=10)
    await outbox.mark_failed(a.id, "429", retry_at_us=100)
    await outbox.mark_sent(b.id, 20)
    assert await outbox.due(now_us=50) == []
    (retry,) = await outbox.due(now_us=100)
    assert retry.notification.dedupe_key == "a"
    assert retry.attempts == 1
    assert await outbox.counts() == {"pending": 1, "sent": 1}
