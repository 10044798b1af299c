"""The Discord client: a ``commands.Bot`` with its services injected; cogs load in setup_hook.

Slash commands are synced to ``settings.discord.guild_id`` (instant) or globally, and only when
their schemas changed since the last sync (a hash is stored), so restarts do not hit Discord's
command rate limits.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
from discord.ext import commands

from bot.dashboard import Dashboard
from collectors.settings import Settings
from collectors.store.bot_state import BotStateStore
from collectors.store.views import ViewStore
from collectors.store.wipe import WipeStore

if TYPE_CHECKING:
    from bot.app import Services

log = logging.getLogger("cosmos.bot")

SYNC_HASH_KEY = "commands:hash"


@dataclass
class BotContext:
    """What the cogs read and render from, built once from the services."""

    services: Services
    views: ViewStore
    state: BotStateStore
    wipe: WipeStore
    dashboard: Dashboard

    @classmethod
    def of(cls, services: Services) -> BotContext:
        views = ViewStore(services.db)
        state = BotStateStore(services.db)
        return cls(
            services=services,
            views=views,
            state=state,
            wipe=WipeStore(services.db),
            dashboard=Dashboard(
                views, state, services.clock, services.settings.discord.dashboard_seconds
            ),
        )


class CosmosBot(commands.Bot):
    def __init__(self, context: BotContext, **options: Any) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            help_command=None,
            allowed_mentions=discord.AllowedMentions.none(),
            **options,
        )
        self.context = context
        self.synced = False

    @property
    def settings(self) -> Settings:
        return self.context.services.settings

    async def start_with_retry(self, token: str, *, first_wait: float = 5.0) -> None:
        """Log in, retrying while Discord cannot be reached, then stay connected.

        A bad token fails at once (:class:`discord.LoginFailure`); an outage at start only
        delays the bot (discord.py itself reconnects once connected).
        """
        attempt = 0
        while True:
            try:
                await self.login(token)
                break
            except discord.LoginFailure:
                raise
            except (aiohttp.ClientError, OSError, discord.HTTPException) as exc:
                wait = min(300.0, first_wait * 2**attempt)
                attempt += 1
                log.warning("cannot log in to Discord (%s); retrying in %.0f s", exc, wait)
                await asyncio.sleep(wait)
        await self.connect()

    async def setup_hook(self) -> None:
        from bot.cogs import all_cogs

        for cog in all_cogs(self):
            await self.add_cog(cog)
        await self.sync_commands()

    def command_schemas(self, guild: discord.abc.Snowflake | None) -> list[dict[str, Any]]:
        return [c.to_dict(self.tree) for c in self.tree.get_commands(guild=guild)]

    async def sync_commands(self) -> bool:
        """Sync when the schemas (or the target guild) changed; True when a sync happened."""
        guild_id = self.settings.discord.guild_id
        guild = discord.Object(id=guild_id) if guild_id else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        schemas = self.command_schemas(guild)
        digest = hashlib.sha256(
            json.dumps(
                {"guild": guild_id, "app": self.application_id, "commands": schemas},
                sort_keys=True,
                default=str,
            ).encode()
        ).hexdigest()
        if await self.context.state.get(SYNC_HASH_KEY) == digest:
            log.info("slash commands unchanged; not syncing")
            return False
        synced = await self.tree.sync(guild=guild)
        await self.context.state.set(SYNC_HASH_KEY, digest, self.context.services.clock.now_us())
        where = f"guild {guild_id}" if guild_id else "all guilds (global; may take an hour)"
        log.info("synced %d slash commands to %s", len(synced), where)
        self.synced = True
        return True
