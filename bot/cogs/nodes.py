"""/node and /farmer."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs._reply import reply, say
from bot.embeds import farmer_embeds, node_embed

if TYPE_CHECKING:
    from bot.context import BotContext


class NodesCog(commands.Cog):
    def __init__(self, ctx: BotContext) -> None:
        self.ctx = ctx

    @app_commands.command(name="node", description="A node's sync state and peers")
    @app_commands.describe(name="node name (all nodes when empty)")
    async def node(self, interaction: discord.Interaction, name: str | None = None) -> None:
        now = self.ctx.services.clock.now_us()
        nodes = [n for n in await self.ctx.views.nodes.all(now) if name is None or n.name == name]
        if not nodes:
            known = ", ".join(n.name for n in await self.ctx.views.nodes.all()) or "none configured"
            await say(interaction, f"No node {name or ''} with metrics. Known nodes: {known}.")
            return
        await reply(interaction, [node_embed(n) for n in nodes])

    @node.autocomplete("name")
    async def node_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        names = [n.name for n in await self.ctx.views.nodes.all()]
        return [app_commands.Choice(name=n, value=n) for n in names if current in n][:25]

    @app_commands.command(name="farmer", description="A farmer: its farms, cache and plotting")
    @app_commands.describe(name="farmer name (the configured one when empty)")
    async def farmer(self, interaction: discord.Interaction, name: str | None = None) -> None:
        now = self.ctx.services.clock.now_us()
        farmers = await self.ctx.views.farmers.all(now, name)
        if not farmers:
            await say(interaction, f"No farmer named {name!r}.")
            return
        embeds = [e for f in farmers[:1] for e in farmer_embeds(f)]
        await reply(interaction, embeds)

    @farmer.autocomplete("name")
    async def farmer_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        names = [f.name for f in await self.ctx.services.farmers.all()]
        return [app_commands.Choice(name=n, value=n) for n in names if current in n][:25]
