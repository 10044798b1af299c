"""Places that refuse: a webhook answering 401/403/404 (deleted, or a wrong URL), a channel the
bot cannot see.

Resending to such a place cannot help, so after its first refusal a route is held: no message
is sent there, its messages wait in the outbox (marked as held), the problem is told once on
every other route and shows in ``/healthz``, ``cosmos status`` and ``cosmos doctor``.

A held route is looked at again now and then with a probe that sends nothing (a webhook's
``GET``, the channel fetched with the bot's permissions there), first after
``COSMOS_DISCORD__REFUSED_RECHECK_SECONDS`` and then twice as long each time, up to
``REFUSED_RECHECK_MAX_SECONDS``. When Discord accepts the route again (the farmer fixed the
webhook or the channel in Discord), it is released: its kept messages go out in order through
the delivery loop, and the other routes are told. A wrong setting is read again only at the
next start, which releases the held messages at once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import discord

from bot.notifiers import Outgoing, RouteNotifier, RouteRefused, Sent
from collectors.clock import Clock
from collectors.health import PartHealth
from collectors.models.notify import Delivered

log = logging.getLogger("cosmos.delivery")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Refusal:
    target: str  # "webhook:123", "channel:456"
    name: str  # how the settings name the route: "default", "alerts", …
    reason: str
    since_us: int


OnRefused = Callable[[Refusal], Awaitable[None]]
# Makes the held messages due now; returns how many.
ReleaseMessages = Callable[[int], Awaitable[int]]


class Refusals:
    """The routes held this run, the guard each route's notifier is wrapped in, and the
    looks again at held routes."""

    def __init__(
        self,
        clock: Clock,
        on_refused: OnRefused | None = None,
        *,
        on_accepted: OnRefused | None = None,
        release_messages: ReleaseMessages | None = None,
        recheck_s: float = 60.0,
        recheck_max_s: float = 1800.0,
    ) -> None:
        self._clock = clock
        self._on_refused = on_refused
        self._on_accepted = on_accepted
        self._release_messages = release_messages
        self._recheck_s = recheck_s
        self._recheck_max_s = max(recheck_s, recheck_max_s)
        self.held: dict[str, Refusal] = {}
        self.guarded: list[GuardedNotifier] = []
        # Looks that failed in a row, per target. A route refused again after a release before
        # any message went through counts as one too: a look that passes where sending does
        # not (a refusal the probe cannot see) still backs off.
        self._failed_looks: dict[str, int] = {}
        self._released_unproven: set[str] = set()
        self.next_look_us: dict[str, int] = {}
        # Probes passed; released by the delivery loop before its next pass (see release).
        self._accepting: set[str] = set()

    def guard(self, notifier: RouteNotifier, name: str) -> GuardedNotifier:
        guarded = GuardedNotifier(notifier, name, self)
        self.guarded.append(guarded)
        return guarded

    def wait_s(self, target: str) -> float:
        failed = min(self._failed_looks.get(target, 0), 30)
        return float(min(self._recheck_max_s, self._recheck_s * 2**failed))

    def _look_later(self, target: str) -> float:
        wait = self.wait_s(target)
        self.next_look_us[target] = self._clock.now_us() + int(wait * 1e6)
        return wait

    async def refused(self, target: str, name: str, exc: RouteRefused) -> None:
        if target in self.held:
            return
        refusal = Refusal(target, name, str(exc), self._clock.now_us())
        self.held[target] = refusal
        if target in self._released_unproven:
            self._released_unproven.discard(target)
            self._failed_looks[target] = self._failed_looks.get(target, 0) + 1
        wait = self._look_later(target)
        log.error(
            "the %s route (%s) refuses messages: %s. Its messages are kept in the outbox; "
            "cosmos looks again in %.0f s and sends them once Discord accepts the route.",
            name,
            target,
            exc,
            wait,
        )
        if self._on_refused is not None:
            await self._on_refused(refusal)

    def delivered(self, target: str) -> None:
        self._failed_looks.pop(target, None)
        self._released_unproven.discard(target)

    async def look_again(self) -> None:
        """Probe every held route whose time has come (no message is sent)."""
        looked: set[str] = set()
        for g in self.guarded:
            target = g.target
            if target in looked or target not in self.held or target in self._accepting:
                continue
            if self.next_look_us.get(target, 0) > self._clock.now_us():
                continue
            looked.add(target)
            try:
                await g.probe()
            except RouteRefused as exc:
                self.held[target] = replace(self.held[target], reason=str(exc))  # why, now
                self._failed_looks[target] = self._failed_looks.get(target, 0) + 1
                wait = self._look_later(target)
                log.info("the %s route still refuses (%s); next look in %.0f s", g.name, exc, wait)
                continue
            except Exception as exc:  # Discord unreachable (or a bug): no answer, no hurry
                wait = self._look_later(target)
                log.warning(
                    "could not look at the %s route (%s); again in %.0f s", g.name, exc, wait
                )
                continue
            log.info("the %s route (%s) accepts messages again", g.name, target)
            self._accepting.add(target)

    async def release(self) -> list[Refusal]:
        """Release the routes whose probe passed: their held messages are made due now.

        Called by the delivery loop before a pass, so no pass sees a route half released.
        """
        released = [self.held.pop(t) for t in sorted(self._accepting) if t in self.held]
        self._accepting.clear()
        if not released:
            return []
        for refusal in released:
            self.next_look_us.pop(refusal.target, None)
            self._released_unproven.add(refusal.target)
        if self._release_messages is not None:
            # Messages of a route still held are made due too: its guard holds them again
            # without a request.
            await self._release_messages(self._clock.now_us())
        if self._on_accepted is not None:
            for refusal in released:
                await self._on_accepted(refusal)
        return released

    def health(self) -> list[PartHealth]:
        parts = []
        for g in self.guarded:
            refusal = self.held.get(g.target)
            if refusal is None:
                parts.append(PartHealth(f"route {g.name}", True, f"{g.target} accepts messages"))
            else:
                note = (
                    f"{g.target} refuses: {refusal.reason}; messages held, "
                    f"looked at again every {self.wait_s(g.target):.0f} s"
                )
                parts.append(PartHealth(f"route {g.name}", False, note, refusal.since_us))
        return parts


class GuardedNotifier:
    """A route's notifier that stops at its first refusal (no request is sent after it)."""

    def __init__(self, inner: RouteNotifier, name: str, refusals: Refusals) -> None:
        self._inner = inner
        self.name = name
        self._refusals = refusals
        self.target: str = inner.target

    async def _through(self, call: Awaitable[T]) -> T:
        held = self._refusals.held.get(self.target)
        if held is not None:
            close = getattr(call, "close", None)
            if close is not None:
                close()  # never started: no request goes out
            raise RouteRefused(held.reason)
        try:
            result = await call
        except RouteRefused as exc:
            await self._refusals.refused(self.target, self.name, exc)
            raise
        self._refusals.delivered(self.target)
        return result

    async def probe(self) -> None:
        await self._inner.probe()

    async def send(self, message: Outgoing) -> Sent:
        return await self._through(self._inner.send(message))

    async def update(self, delivered: Delivered, message: Outgoing) -> None:
        await self._through(self._inner.update(delivered, message))

    async def post(self, embeds: Sequence[discord.Embed]) -> str:
        return str(await self._through(self._inner.post(embeds)))  # type: ignore[attr-defined]

    async def edit(self, message_id: str, embeds: Sequence[discord.Embed]) -> None:
        await self._through(self._inner.edit(message_id, embeds))  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> Any:
        # Anything else a notifier offers goes to the inner one.
        return getattr(self._inner, name)
