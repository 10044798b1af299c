"""Places that refuse: a webhook answering 401/403/404 (deleted, or a wrong URL), a channel the
bot cannot see.

Retrying such a place cannot help until the settings change, so after its first refusal a
route is held: nothing more is sent there, its messages wait in the outbox (marked as held),
the problem is told once on every other route and shows in ``/healthz``, ``cosmos status`` and
``cosmos doctor``. The next start (with the settings fixed) releases the held messages at once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import discord

from bot.notifiers import Notifier, Outgoing, RouteRefused, Sent
from collectors.clock import Clock
from collectors.health import PartHealth

log = logging.getLogger("cosmos.delivery")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Refusal:
    target: str  # "webhook:123", "channel:456"
    name: str  # how the settings name the route: "default", "alerts", …
    reason: str
    since_us: int


OnRefused = Callable[[Refusal], Awaitable[None]]


class Refusals:
    """The routes held this run, and the guard each route's notifier is wrapped in."""

    def __init__(self, clock: Clock, on_refused: OnRefused | None = None) -> None:
        self._clock = clock
        self._on_refused = on_refused
        self.held: dict[str, Refusal] = {}
        self.guarded: list[GuardedNotifier] = []

    def guard(self, notifier: Notifier, name: str) -> GuardedNotifier:
        guarded = GuardedNotifier(notifier, name, self)
        self.guarded.append(guarded)
        return guarded

    async def refused(self, target: str, name: str, exc: RouteRefused) -> None:
        if target in self.held:
            return
        refusal = Refusal(target, name, str(exc), self._clock.now_us())
        self.held[target] = refusal
        log.error(
            "the %s route (%s) refuses messages: %s. Its messages are kept in the outbox and "
            "sent once the settings are fixed and cosmos restarted.",
            name,
            target,
            exc,
        )
        if self._on_refused is not None:
            await self._on_refused(refusal)

    def health(self) -> list[PartHealth]:
        parts = []
        for g in self.guarded:
            refusal = self.held.get(g.target)
            if refusal is None:
                parts.append(PartHealth(f"route {g.name}", True, f"{g.target} accepts messages"))
            else:
                note = f"{g.target} refuses: {refusal.reason}; messages held"
                parts.append(PartHealth(f"route {g.name}", False, note, refusal.since_us))
        return parts


class GuardedNotifier:
    """A route's notifier that stops at its first refusal (no request is sent after it)."""

    def __init__(self, inner: Notifier, name: str, refusals: Refusals) -> None:
        self._inner = inner
        self.name = name
        self._refusals = refusals
        self.target: str = getattr(inner, "target", name)

    async def _through(self, call: Awaitable[T]) -> T:
        held = self._refusals.held.get(self.target)
        if held is not None:
            close = getattr(call, "close", None)
            if close is not None:
                close()  # never started: no request goes out
            raise RouteRefused(held.reason)
        try:
            return await call
        except RouteRefused as exc:
            await self._refusals.refused(self.target, self.name, exc)
            raise

    async def send(self, message: Outgoing) -> Sent:
        return await self._through(self._inner.send(message))

    async def post(self, embeds: Sequence[discord.Embed]) -> str:
        return str(await self._through(self._inner.post(embeds)))  # type: ignore[attr-defined]

    async def edit(self, message_id: str, embeds: Sequence[discord.Embed]) -> None:
        await self._through(self._inner.edit(message_id, embeds))  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> Any:
        # Anything else a notifier offers (edits of earlier messages) goes to the inner one.
        return getattr(self._inner, name)
