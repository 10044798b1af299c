"""Notifiers deliver outbox items; they decide nothing about what to say."""

from __future__ import annotations

import logging
from typing import Protocol

from collectors.models.notify import OutboxItem

log = logging.getLogger("cosmos.notify")


class DeliveryError(RuntimeError):
    """Delivery failed; ``retry_after`` (seconds) when the far side said when to try again."""

    def __init__(self, message: str, *, retry_after: float | None = None, permanent: bool = False):
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


class Notifier(Protocol):
    async def deliver(self, item: OutboxItem) -> None:
        """Deliver or raise :class:`DeliveryError`."""
        ...


class ConsoleNotifier:
    """With neither a bot token nor a webhook: notifications go to the console log."""

    async def deliver(self, item: OutboxItem) -> None:
        n = item.notification
        parts = [f"[{n.topic.value}/{n.severity.value}] {n.title}"]
        if n.body:
            parts.append(n.body)
        parts.extend(f"{name}: {value}" for name, value in n.fields)
        if n.url:
            parts.append(n.url)
        log.info(" | ".join(parts))
