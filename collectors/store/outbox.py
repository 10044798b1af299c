"""Outbox SQL: enqueue (idempotent by dedupe key), claim due items, mark sent or failed.

Follow-ups refer to an earlier item by its dedupe key (see m0055): an *edit* makes the
original's message show the original's current payload (``edit_in`` stores the new payload on
the original and queues the edit), a *follow* is a new message sent only if the original was
delivered (a correction). Both are items of their own, so each goes out once across restarts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import aiosqlite

from collectors.models.notify import (
    ChartHint,
    Delivered,
    Notification,
    OutboxItem,
    Severity,
    Topic,
)
from collectors.store.database import Database


def _encode(n: Notification) -> str:
    return json.dumps(
        {
            "severity": n.severity.value,
            "title": n.title,
            "body": n.body,
            "fields": [list(f) for f in n.fields],
            "url": n.url,
            "occurred_us": n.occurred_us,
            "footer": n.footer,
            "route": n.route,
            "chart": _encode_chart(n.chart),
            "immediate": n.immediate,
        },
        ensure_ascii=False,
    )


def _decode(dedupe_key: str, topic: str, payload: str) -> Notification:
    data: dict[str, Any] = json.loads(payload)
    return Notification(
        dedupe_key=dedupe_key,
        topic=Topic(topic),
        severity=Severity(data["severity"]),
        title=data["title"],
        body=data.get("body", ""),
        fields=tuple((str(a), str(b)) for a, b in data.get("fields", [])),
        url=data.get("url"),
        occurred_us=data.get("occurred_us"),
        footer=data.get("footer"),
        route=data.get("route") or None,
        chart=_decode_chart(data.get("chart")),
        immediate=bool(data.get("immediate", False)),
    )


def _encode_chart(chart: ChartHint | None) -> dict[str, Any] | None:
    if chart is None:
        return None
    return {
        "title": chart.title,
        "start_us": chart.start_us,
        "step_seconds": chart.step_seconds,
        "series": [[name, list(values)] for name, values in chart.series],
    }


def _decode_chart(data: dict[str, Any] | None) -> ChartHint | None:
    if not data:
        return None
    return ChartHint(
        title=str(data["title"]),
        start_us=int(data["start_us"]),
        step_seconds=int(data["step_seconds"]),
        series=tuple((str(name), tuple(int(v) for v in values)) for name, values in data["series"]),
    )


async def enqueue_in(conn: aiosqlite.Connection, notification: Notification, now_us: int) -> bool:
    """Add to the outbox inside the caller's transaction; False when the key is already there.

    Call it in the same transaction that stores the fact, so a fact is never stored without its
    notification nor announced without being stored.
    """
    cursor = await conn.execute(
        "INSERT OR IGNORE INTO outbox (dedupe_key, topic, payload, created_us, next_attempt_us)"
        " VALUES (?, ?, ?, ?, ?)",
        (notification.dedupe_key, notification.topic.value, _encode(notification), now_us, now_us),
    )
    return cursor.rowcount == 1


# A correction: (the new message saying what went wrong, the original as it should now read).
Corrector = Callable[[Notification], tuple[Notification, Notification]]


async def edit_in(
    conn: aiosqlite.Connection, original_key: str, replacement: Notification, now_us: int, tag: str
) -> bool:
    """Make the original's message read ``replacement``; False without such an original, or
    when this edit (``tag``) was made before.

    The replacement becomes the original's payload at once (a message not sent yet goes out
    as it now reads); the edit item ``edit:<tag>:<original key>`` edits a delivered one.
    """
    replacement = replace_key(replacement, original_key)
    async with conn.execute(
        "SELECT 1 FROM outbox WHERE dedupe_key = ? AND refers_to IS NULL", (original_key,)
    ) as cur:
        if await cur.fetchone() is None:
            return False
    cursor = await conn.execute(
        "INSERT OR IGNORE INTO outbox (dedupe_key, topic, payload, created_us, next_attempt_us,"
        " refers_to, edit) VALUES (?, ?, ?, ?, ?, ?, 1)",
        (
            f"edit:{tag}:{original_key}",
            replacement.topic.value,
            _encode(replacement),
            now_us,
            now_us,
            original_key,
        ),
    )
    if cursor.rowcount != 1:
        return False  # this edit was made before
    await conn.execute(
        "UPDATE outbox SET payload = ? WHERE dedupe_key = ? AND refers_to IS NULL",
        (_encode(replacement), original_key),
    )
    return True


async def follow_in(
    conn: aiosqlite.Connection, original_key: str, notification: Notification, now_us: int
) -> bool:
    """A new message sent only if the original was delivered (not withdrawn, not "off")."""
    cursor = await conn.execute(
        "INSERT OR IGNORE INTO outbox (dedupe_key, topic, payload, created_us, next_attempt_us,"
        " refers_to, edit) VALUES (?, ?, ?, ?, ?, ?, 0)",
        (
            notification.dedupe_key,
            notification.topic.value,
            _encode(notification),
            now_us,
            now_us,
            original_key,
        ),
    )
    return cursor.rowcount == 1


async def retract_in(
    conn: aiosqlite.Connection, keys: Iterable[str], now_us: int, correct: Corrector
) -> int:
    """The facts behind ``keys`` did not happen after all: tell whoever was told.

    Not sent yet: withdrawn (never sent). Delivered (or in flight right now): a correction
    follows and the first message is edited; the delivery loop drops both when the original
    turns out never to have been delivered. Returns how many were corrected or withdrawn.
    """
    done = 0
    for key in keys:
        async with conn.execute(
            "SELECT o.id, o.state, o.topic, o.payload, d.outbox_id IS NOT NULL AS delivered"
            " FROM outbox o LEFT JOIN outbox_delivery d ON d.outbox_id = o.id"
            " WHERE o.dedupe_key = ? AND o.refers_to IS NULL",
            (key,),
        ) as cur:
            row = await cur.fetchone()
        if row is None or (row["state"] == "dead" and not row["delivered"]):
            continue
        if row["state"] == "pending":
            await _withdraw(conn, row["id"], now_us, "withdrawn: the fact was undone")
        message, struck = correct(_decode(key, row["topic"], row["payload"]))
        if await follow_in(conn, key, message, now_us):
            await edit_in(conn, key, struck, now_us, "retract")
            done += 1
    return done


async def _withdraw(conn: aiosqlite.Connection, item_id: int, now_us: int, why: str) -> None:
    await conn.execute(
        "UPDATE outbox SET state = 'dead', withdrawn_us = ?, last_error = ?"
        " WHERE id = ? AND state = 'pending'",
        (now_us, why, item_id),
    )


def replace_key(n: Notification, key: str) -> Notification:
    if n.dedupe_key == key:
        return n
    return Notification(
        dedupe_key=key,
        topic=n.topic,
        severity=n.severity,
        title=n.title,
        body=n.body,
        fields=n.fields,
        url=n.url,
        occurred_us=n.occurred_us,
        footer=n.footer,
        route=n.route,
        chart=n.chart,
        immediate=n.immediate,
    )


@dataclass(frozen=True, slots=True)
class Original:
    """The item a follow-up refers to, as it stands now."""

    item: OutboxItem
    state: str
    next_attempt_us: int
    delivered: Delivered | None


def _item(row: aiosqlite.Row) -> OutboxItem:
    return OutboxItem(
        id=row["id"],
        notification=_decode(row["dedupe_key"], row["topic"], row["payload"]),
        attempts=row["attempts"],
        created_us=row["created_us"],
        refers_to=row["refers_to"],
        edit=bool(row["edit"]),
    )


_ITEM_COLUMNS = (
    "o.id, o.dedupe_key, o.topic, o.payload, o.attempts, o.created_us, o.refers_to, o.edit"
)


class OutboxStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def enqueue(self, notification: Notification, now_us: int) -> bool:
        async with self._db.transaction() as conn:
            return await enqueue_in(conn, notification, now_us)

    async def due(self, now_us: int, limit: int = 20) -> list[OutboxItem]:
        """Pending items whose next attempt is due, oldest first."""
        async with self._db.conn.execute(
            f"SELECT {_ITEM_COLUMNS} FROM outbox o"
            " WHERE o.state = 'pending' AND o.next_attempt_us <= ? ORDER BY o.id LIMIT ?",
            (now_us, limit),
        ) as cur:
            rows = await cur.fetchall()
        return [_item(row) for row in rows]

    async def original(self, key: str) -> Original | None:
        async with self._db.conn.execute(
            f"SELECT {_ITEM_COLUMNS}, o.state, o.next_attempt_us, d.target, d.message_id,"
            " d.delivered_us FROM outbox o LEFT JOIN outbox_delivery d ON d.outbox_id = o.id"
            " WHERE o.dedupe_key = ? AND o.refers_to IS NULL",
            (key,),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        delivered = None
        if row["target"] is not None:
            delivered = Delivered(row["target"], row["message_id"], row["delivered_us"])
        return Original(_item(row), row["state"], row["next_attempt_us"], delivered)

    async def same_message(self, delivered: Delivered) -> list[OutboxItem]:
        """The original items delivered as one message (several when rewards were batched)."""
        if delivered.message_id is None:
            return []
        async with self._db.conn.execute(
            f"SELECT {_ITEM_COLUMNS} FROM outbox o JOIN outbox_delivery d ON d.outbox_id = o.id"
            " WHERE d.target = ? AND d.message_id = ? AND o.refers_to IS NULL ORDER BY o.id",
            (delivered.target, delivered.message_id),
        ) as cur:
            return [_item(row) for row in await cur.fetchall()]

    async def withdraw(self, item_id: int, now_us: int, why: str) -> None:
        async with self._db.transaction() as conn:
            await _withdraw(conn, item_id, now_us, why)

    async def mark_sent(self, item_id: int, now_us: int) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE outbox SET state = 'sent', sent_us = ?, attempts = attempts + 1,"
                " last_error = NULL WHERE id = ?",
                (now_us, item_id),
            )

    async def mark_failed(
        self, item_id: int, error: str, retry_at_us: int, *, give_up: bool = False
    ) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_us = ?,"
                " state = CASE WHEN ? THEN 'dead' ELSE state END WHERE id = ?",
                (error[:500], retry_at_us, give_up, item_id),
            )

    async def counts(self) -> dict[str, int]:
        async with self._db.conn.execute(
            "SELECT CASE WHEN withdrawn_us IS NOT NULL AND state = 'dead' THEN 'withdrawn'"
            " ELSE state END AS state, COUNT(*) AS n FROM outbox GROUP BY 1"
        ) as cur:
            return {row["state"]: row["n"] for row in await cur.fetchall()}
