"""/wallet."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs._reply import reply, say
from bot.embeds import wallet_embeds

if TYPE_CHECKING:
    from bot.context import BotContext


class WalletsCog(commands.Cog):
    def __init__(self, ctx: BotContext) -> None:
        self.ctx = ctx

    @app_commands.command(name="wallet", description="A wallet: balance, transfers and rewards")
    @app_commands.describe(label="wallet label from the settings")
    async def wallet(self, interaction: discord.Interaction, label: str) -> None:
        now = self.ctx.services.clock.now_us()
        wallets = await self.ctx.views.wallets.all(now, label)
        if not wallets:
            known = ", ".join(await self.ctx.views.wallets.labels()) or "none configured"
            await say(interaction, f"No wallet labelled {label!r}. Known wallets: {known}.")
            return
        explorer = self.ctx.services.settings.discord.explorer_url
        await reply(interaction, wallet_embeds(wallets[0], explorer))

    @wallet.autocomplete("label")
    async def label_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        labels = await self.ctx.views.wallets.labels()
        return [
            app_commands.Choice(name=n, value=n) for n in labels if current.lower() in n.lower()
        ][:25]
