"""The Discord client: one more supervised part of cosmos, which may be down.

- Cogs are added once, however often discord.py runs ``setup_hook`` (it does on every login).
- Slash commands are synced by :meth:`CosmosBot.sync_iteration`, a loop of the root's supervisor
  that waits for ready and retries on its own; a failed sync never stops the client. Commands go
  to ``settings.discord.guild_id`` (instant) or globally, and only when their schemas changed
  since the last sync (a hash is stored), so restarts do not hit Discord's rate limits.
- A login that cannot reach Discord is retried with backoff; once connected discord.py
  reconnects by itself. Only a refused token ends it (:class:`discord.LoginFailure`).
- An interaction that arrives too late to answer (replayed after a reconnect) is one log line.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from bot.context import BotContext
from collectors.health import PartHealth

log = logging.getLogger("cosmos.bot")

SYNC_HASH_KEY = "commands:hash"
# Once synced, the loop only compares hashes now and then (a reconnect may bring a new app id).
SYNC_RECHECK_S = 3600.0
UNKNOWN_INTERACTION = 10062
LOGIN_MAX_WAIT_S = 300.0


class CosmosTree(app_commands.CommandTree[discord.Client]):
    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        original = getattr(error, "original", error)
        name = interaction.command.qualified_name if interaction.command else "interaction"
        if isinstance(original, discord.NotFound) and original.code == UNKNOWN_INTERACTION:
            log.warning(
                "/%s came too late to answer (Discord allows 3 s; replayed after a reconnect?)",
                name,
            )
            return
        if isinstance(original, discord.InteractionResponded):
            log.warning("/%s was already answered", name)
            return
        log.error("/%s failed: %s", name, original, exc_info=original)


class CosmosBot(commands.Bot):
    def __init__(
        self,
        context: BotContext,
        cogs: Callable[[discord.Client], list[commands.Cog]],
        *,
        login_first_wait: float = 5.0,
        **options: Any,
    ) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            help_command=None,
            allowed_mentions=discord.AllowedMentions.none(),
            tree_cls=CosmosTree,
            **options,
        )
        self.context = context
        self._make_cogs = cogs
        self._login_first_wait = login_first_wait
        self._cogs_added = False
        self.synced = False
        self.down_since_us: int | None = _now_us()
        self.last_problem = "not connected yet"

    # --- lifecycle ------------------------------------------------------------------------

    async def setup_hook(self) -> None:
        # discord.py calls this after every successful login; a retried login must not add
        # the cogs twice ("Cog named … already loaded").
        if self._cogs_added:
            return
        for cog in self._make_cogs(self):
            await self.add_cog(cog)
        self._cogs_added = True

    async def start_with_retry(self, token: str, *, first_wait: float | None = None) -> None:
        """Log in, retrying while Discord cannot be reached, then stay connected.

        A bad token fails at once (:class:`discord.LoginFailure`); an outage only delays the
        bot. Cancelling the task stops it at once, whatever it is waiting for.
        """
        first_wait = self._login_first_wait if first_wait is None else first_wait
        attempt = 0
        while True:
            try:
                await self.login(token)
                break
            except discord.LoginFailure:
                self.last_problem = "Discord refused the token"
                raise
            except (aiohttp.ClientError, OSError, discord.HTTPException) as exc:
                wait = min(LOGIN_MAX_WAIT_S, first_wait * 2**attempt)
                attempt += 1
                self.last_problem = f"cannot log in: {exc}"
                log.warning("cannot log in to Discord (%s); retrying in %.0f s", exc, wait)
                await asyncio.sleep(wait)
        await self.connect()

    async def on_ready(self) -> None:
        self.down_since_us = None
        log.info("connected to Discord as %s", self.user)

    async def on_resumed(self) -> None:
        self.down_since_us = None

    async def on_disconnect(self) -> None:
        if self.down_since_us is None:
            self.down_since_us = _now_us()
            self.last_problem = "connection to Discord lost; reconnecting"

    def health(self) -> list[PartHealth]:
        if self.is_ready() and not self.is_closed() and self.down_since_us is None:
            note = "connected" + ("" if self.synced else ", slash commands not synced yet")
            return [PartHealth("discord", True, note)]
        return [PartHealth("discord", False, self.last_problem, self.down_since_us)]

    # --- slash commands -------------------------------------------------------------------

    async def sync_iteration(self) -> float | None:
        """One pass of the sync loop: after ready, sync if needed; raises to be retried."""
        if not self.is_ready():
            return 1.0
        await self.sync_commands()
        return SYNC_RECHECK_S

    def command_schemas(self, guild: discord.abc.Snowflake | None) -> list[dict[str, Any]]:
        return [c.to_dict(self.tree) for c in self.tree.get_commands(guild=guild)]

    async def sync_commands(self) -> bool:
        """Sync when the schemas (or the target guild) changed; True when a sync happened."""
        guild_id = self.context.services.settings.discord.guild_id
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
            if not self.synced:
                log.info("slash commands unchanged; not syncing")
            self.synced = True
            return False
        synced = await self.tree.sync(guild=guild)
        await self.context.state.set(SYNC_HASH_KEY, digest, self.context.services.clock.now_us())
        where = f"guild {guild_id}" if guild_id else "all guilds (global; may take an hour)"
        log.info("synced %d slash commands to %s", len(synced), where)
        self.synced = True
        return True


def _now_us() -> int:
    return time.time_ns() // 1000
