"""Thin cogs: read through the store, render through :mod:`bot.embeds`."""

from __future__ import annotations

import discord
from discord.ext import commands

from bot.context import BotContext


def all_cogs(ctx: BotContext, client: discord.Client) -> list[commands.Cog]:
    """Every slash command's cog, each given the context it reads (the collectors are not
    cogs: the composition root runs them whether Discord is there or not)."""
    from bot.cogs.admin import AdminCog
    from bot.cogs.cluster import ClusterCog
    from bot.cogs.dashboard import DashboardCog
    from bot.cogs.farms import FarmsCog
    from bot.cogs.nodes import NodesCog
    from bot.cogs.rewards import RewardsCog
    from bot.cogs.wallets import WalletsCog

    return [
        FarmsCog(ctx),
        RewardsCog(ctx),
        NodesCog(ctx),
        ClusterCog(ctx),
        WalletsCog(ctx),
        DashboardCog(ctx, client),
        AdminCog(ctx),
    ]
