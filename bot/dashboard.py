"""The live dashboard: one message, edited in place, found again after a restart.

The message id is stored (bot_state) under a key per destination, so a restart edits the same
message; if someone deleted it, a new one is posted and remembered.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

import discord

from bot.delivery import finish_on_stop
from bot.embeds import dashboard_embeds
from bot.notifiers import MessageGone
from collectors.clock import Clock
from collectors.store.bot_state import BotStateStore
from collectors.store.views import ViewStore

log = logging.getLogger("cosmos.dashboard")


class Poster(Protocol):
    async def post(self, embeds: Sequence[discord.Embed]) -> str: ...

    async def edit(self, message_id: str, embeds: Sequence[discord.Embed]) -> None: ...


class Dashboard:
    def __init__(
        self, views: ViewStore, state: BotStateStore, clock: Clock, interval_s: float
    ) -> None:
        self._views = views
        self._state = state
        self._clock = clock
        self.interval_s = interval_s

    async def embeds(self) -> list[discord.Embed]:
        view = await self._views.dashboard.build(self._clock.now_us())
        return dashboard_embeds(view, self.interval_s)

    async def refresh(self, key: str, poster: Poster, *, create: bool = True) -> str | None:
        """Edit the stored message (or post one when there is none); returns its id."""
        embeds = await self.embeds()
        message_id = await self._state.get(key)
        if message_id:
            try:
                await poster.edit(message_id, embeds)
                return message_id
            except MessageGone:
                log.info("the dashboard message %s was deleted; posting a new one", message_id)
                await self._state.delete(key)
        if not create:
            return None

        async def post() -> str:
            posted = await poster.post(embeds)
            await self._state.set(key, posted, self._clock.now_us())
            return posted

        # Posted but not remembered would mean a second dashboard after a restart.
        return await finish_on_stop(post())
