"""/dashboard: one channel message the bot keeps editing, across restarts."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs._reply import say
from bot.delivery import finish_on_stop
from bot.notifiers import ChannelNotifier
from collectors.format import every

if TYPE_CHECKING:
    from bot.context import BotContext

CHANNEL_KEY = "dashboard:channel"
MESSAGE_KEY = "dashboard:message"


async def refresh_channel_dashboard(ctx: BotContext, client: discord.Client) -> None:
    """Edit the dashboard message /dashboard posted, if any (the root's loop calls this)."""
    if not client.is_ready():
        return
    channel_id = await ctx.state.get(CHANNEL_KEY)
    if channel_id is not None:
        poster = ChannelNotifier(client, int(channel_id))
        await ctx.dashboard.refresh(MESSAGE_KEY, poster, create=False)


class DashboardCog(commands.Cog):
    """/dashboard posts the message; the root's dashboard loop keeps editing it."""

    def __init__(self, ctx: BotContext, client: discord.Client) -> None:
        self.ctx = ctx
        self.client = client

    @app_commands.command(name="dashboard", description="Post a live dashboard here")
    @app_commands.default_permissions(manage_guild=True)
    async def dashboard(self, interaction: discord.Interaction) -> None:
        if interaction.channel_id is None:
            await say(interaction, "Use /dashboard in a server channel.")
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        # A channel message (not the interaction reply): it stays editable after the
        # interaction token expires.
        poster = ChannelNotifier(self.client, interaction.channel_id)
        old_channel = await self.ctx.state.get(CHANNEL_KEY)
        if old_channel != str(interaction.channel_id):
            await self.ctx.state.delete(MESSAGE_KEY)
        now = self.ctx.services.clock.now_us()
        await self.ctx.state.set(CHANNEL_KEY, str(interaction.channel_id), now)
        embeds = await self.ctx.dashboard.embeds()

        async def post() -> None:
            message_id = await poster.post(embeds)
            await self.ctx.state.set(MESSAGE_KEY, message_id, now)

        await finish_on_stop(post())
        await say(
            interaction, f"Dashboard posted; it is updated {every(self.ctx.dashboard.interval_s)}."
        )
