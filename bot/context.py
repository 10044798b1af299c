"""What the slash commands read and render from, built once from the services.

Cogs receive this (and, where they post, the Discord client as a plain ``discord.Client``),
never the bot object, so ``bot.cogs`` imports neither the client nor the composition root.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.dashboard import Dashboard
from bot.services import Services
from collectors.store.bot_state import BotStateStore
from collectors.store.views import ViewStore
from collectors.store.wipe import WipeStore


@dataclass
class BotContext:
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
