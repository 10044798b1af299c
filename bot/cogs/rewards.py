"""/rewards: counts and amounts per farm and wallet, with a chart."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.charts import CHART_FILENAME, ChartCache
from bot.cogs._reply import reply
from bot.embeds import rewards_embeds
from collectors.models.views import RewardsReport
from collectors.store.views import PERIODS, ViewStore, period_us

if TYPE_CHECKING:
    from bot.context import BotContext

PERIOD_CHOICES = [app_commands.Choice(name=name, value=name) for name in PERIODS]


async def build_rewards_reply(
    views: ViewStore,
    now_us: int,
    period: str = "7d",
    farmer: str | None = None,
    wallet: str | None = None,
    *,
    charts: ChartCache | None = None,
) -> tuple[RewardsReport, list[discord.Embed], bytes]:
    """Queries, embeds and chart (drawn off the event loop, or the same one as last time when
    its data has not changed)."""
    report = await views.rewards.report(now_us, period_us(period), farmer=farmer, wallet=wallet)
    subject = f" of {farmer}" if farmer else f" to {wallet}" if wallet else ""
    embeds = rewards_embeds(report, f"Rewards{subject}, last {period}", CHART_FILENAME)
    png = await (charts or ChartCache(0)).rewards(report)
    return report, embeds, png


class RewardsCog(commands.Cog):
    def __init__(self, ctx: BotContext) -> None:
        self.ctx = ctx
        self.charts = ChartCache()

    @app_commands.command(name="rewards", description="Rewards per farm and wallet, with a chart")
    @app_commands.describe(
        period="how far back", farmer="only this farmer", wallet="only this wallet"
    )
    @app_commands.choices(period=PERIOD_CHOICES)
    async def rewards(
        self,
        interaction: discord.Interaction,
        period: app_commands.Choice[str] | None = None,
        farmer: str | None = None,
        wallet: str | None = None,
    ) -> None:
        # The chart takes a moment: acknowledge first, so Discord's 3 s never runs out.
        await interaction.response.defer(thinking=True)
        _, embeds, png = await build_rewards_reply(
            self.ctx.views,
            self.ctx.services.clock.now_us(),
            period.value if period else "7d",
            farmer,
            wallet,
            charts=self.charts,
        )
        await reply(interaction, embeds, file=discord.File(io.BytesIO(png), CHART_FILENAME))

    @rewards.autocomplete("farmer")
    async def farmer_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        names = [f.name for f in await self.ctx.services.farmers.all()]
        return [
            app_commands.Choice(name=n, value=n) for n in names if current.lower() in n.lower()
        ][:25]

    @rewards.autocomplete("wallet")
    async def wallet_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        labels = await self.ctx.views.wallets.labels()
        return [
            app_commands.Choice(name=n, value=n) for n in labels if current.lower() in n.lower()
        ][:25]
