"""/farms and /farm."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs._reply import reply, say
from bot.embeds import clip, farm_embeds, farms_embeds
from collectors.format import short_id

if TYPE_CHECKING:
    from bot.context import BotContext


class FarmsCog(commands.Cog):
    def __init__(self, ctx: BotContext) -> None:
        self.ctx = ctx

    def _now(self) -> int:
        return self.ctx.services.clock.now_us()

    @app_commands.command(name="farms", description="Every farm of every farmer")
    async def farms(self, interaction: discord.Interaction) -> None:
        summaries = await self.ctx.views.farms.summaries(self._now())
        await reply(interaction, farms_embeds(summaries, self._now()))

    @app_commands.command(name="farm", description="One farm: size, sectors, proving, rewards")
    @app_commands.describe(farm="farm id, directory or farmer")
    async def farm(self, interaction: discord.Interaction, farm: str) -> None:
        farm_id = await self.ctx.views.farms.resolve(farm)
        detail = await self.ctx.views.farms.detail(farm_id, self._now()) if farm_id else None
        if detail is None:
            await say(interaction, f"No farm matches {farm!r}. Try /farms for the list.")
            return
        await reply(interaction, farm_embeds(detail))

    @farm.autocomplete("farm")
    async def farm_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        choices = await self.ctx.views.farms.search(current)
        return [
            app_commands.Choice(
                name=clip(
                    " · ".join(p for p in (c.farmer, c.directory, short_id(c.farm_id)) if p), 100
                ),
                value=c.farm_id,
            )
            for c in choices
        ]
