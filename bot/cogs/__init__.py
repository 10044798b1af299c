"""Thin cogs: read through the store, render through :mod:`bot.embeds`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from discord.ext import commands

if TYPE_CHECKING:
    from bot.client import CosmosBot


def all_cogs(bot: CosmosBot) -> list[commands.Cog]:
    from bot.cogs.admin import AdminCog
    from bot.cogs.collectors import CollectorCog
    from bot.cogs.dashboard import DashboardCog
    from bot.cogs.farms import FarmsCog
    from bot.cogs.nodes import NodesCog
    from bot.cogs.rewards import RewardsCog
    from bot.cogs.wallets import WalletsCog

    services = bot.context.services
    cogs: list[commands.Cog] = [
        CollectorCog(collector, services.supervisor) for collector in services.collectors
    ]
    cogs += [
        FarmsCog(bot),
        RewardsCog(bot),
        NodesCog(bot),
        WalletsCog(bot),
        DashboardCog(bot),
        AdminCog(bot),
    ]
    return cogs
