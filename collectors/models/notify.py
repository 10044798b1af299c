"""Notifications: what the collectors and rules want said, before any notifier renders it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    INFO = "info"
    SUCCESS = "success"
    WARNING = "warning"
    ERROR = "error"


class Topic(StrEnum):
    TRANSFERS = "transfers"
    REWARDS = "rewards"
    ALERTS = "alerts"
    SUMMARY = "summary"


@dataclass(frozen=True, slots=True)
class ChartHint:
    """Data for a chart the notifier may draw under the message (the daily summary's wins by
    hour): equal steps from ``start_us``, one named series of counts each."""

    title: str
    start_us: int
    step_seconds: int
    series: tuple[tuple[str, tuple[int, ...]], ...]


@dataclass(frozen=True, slots=True)
class Notification:
    """One message to deliver once.

    ``dedupe_key`` names the fact being announced (``transfer:<block hash>:<event index>``,
    ``alert:<rule>:<subject>:<transition>:<n>``); enqueueing the same key twice stores it once.
    """

    dedupe_key: str
    topic: Topic
    severity: Severity
    title: str
    body: str = ""
    fields: tuple[tuple[str, str], ...] = ()
    url: str | None = None
    occurred_us: int | None = None
    footer: str | None = None
    # Where to deliver when that place is configured, before the topic's own channel or
    # webhook: another topic's name, or an alert rule's name with a channel of its own.
    route: str | None = None
    chart: ChartHint | None = None
    # Sent at once even when rewards are batched: a correction must not wait an hour.
    immediate: bool = False


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    notification: Notification
    attempts: int
    created_us: int
    # A follow-up of the item with this dedupe key: ``edit`` its message (to show that item's
    # current payload), or else a new message sent only if that item was delivered.
    refers_to: str | None = None
    edit: bool = False


@dataclass(frozen=True, slots=True)
class Delivered:
    """Where an outbox item went: ``target`` ("channel:ID", "webhook:ID", "console", "off")
    and the message it became (None when the target has no messages)."""

    target: str
    message_id: str | None
    delivered_us: int
