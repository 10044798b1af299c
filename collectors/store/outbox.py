"""Outbox SQL: enqueue (idempotent by dedupe key), claim due items, mark sent or failed."""

from __future__ import annotations

import json
from typing import Any

import aiosqlite

from collectors.models.notify import ChartHint, Notification, OutboxItem, Severity, Topic
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


class OutboxStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def enqueue(self, notification: Notification, now_us: int) -> bool:
        async with self._db.transaction() as conn:
            return await enqueue_in(conn, notification, now_us)

    async def due(self, now_us: int, limit: int = 20) -> list[OutboxItem]:
        """Pending items whose next attempt is due, oldest first."""
        async with self._db.conn.execute(
            "SELECT id, dedupe_key, topic, payload, attempts, created_us FROM outbox"
            " WHERE state = 'pending' AND next_attempt_us <= ? ORDER BY id LIMIT ?",
            (now_us, limit),
        ) as cur:
            rows = await cur.fetchall()
        return [
            OutboxItem(
                id=row["id"],
                notification=_decode(row["dedupe_key"], row["topic"], row["payload"]),
                attempts=row["attempts"],
                created_us=row["created_us"],
            )
            for row in rows
        ]

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
            "SELECT state, COUNT(*) AS n FROM outbox GROUP BY state"
        ) as cur:
            return {row["state"]: row["n"] for row in await cur.fetchall()}
