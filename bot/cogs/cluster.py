"""/cluster: the farming cluster's controllers, caches, plotters and cluster farmers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs._reply import reply
from bot.embeds import cluster_embeds

if TYPE_CHECKING:
    from bot.context import BotContext


class ClusterCog(commands.Cog):
    def __init__(self, ctx: BotContext) -> None:
        self.ctx = ctx

    @app_commands.command(
        name="cluster", description="Farming cluster: plotters in use, caches, farms"
    )
    async def cluster(self, interaction: discord.Interaction) -> None:
        now = self.ctx.services.clock.now_us()
        await reply(interaction, cluster_embeds(await self.ctx.views.cluster.all(now), now))
