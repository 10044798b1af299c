"""The three ways cosmos runs; each starts the collectors and the delivery loop.

- bot: the Discord client (collectors hosted by cogs), notifications to channels.
- webhook: no token; notifications and the dashboard through incoming webhooks; no commands.
- console: neither; notifications are printed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
import yarl

from bot.client import BotContext, CosmosBot
from bot.dashboard import Dashboard
from bot.delivery import DeliveryLoop
from bot.notifiers import (
    DASHBOARD,
    ChannelNotifier,
    ConsoleNotifier,
    Notifier,
    TopicRouter,
    WebhookNotifier,
)
from collectors.settings import DiscordSettings, SettingsError
from collectors.store.bot_state import BotStateStore
from collectors.store.views import ViewStore

if TYPE_CHECKING:
    from bot.app import Services

log = logging.getLogger("cosmos")

DELIVERY_LOOP = "delivery"
WEBHOOK_DASHBOARD_LOOP = "dashboard:webhook"


def delivery_loop(services: Services, notifier: Notifier, **options: Any) -> DeliveryLoop:
    d = services.settings.discord
    return DeliveryLoop(
        services.outbox,
        BotStateStore(services.db),
        notifier,
        services.clock,
        rewards_mode=d.rewards_mode,
        rewards_batch_minutes=d.rewards_batch_minutes,
        **options,
    )


def start_collectors(services: Services) -> None:
    for collector in services.collectors:
        services.supervisor.start(f"collector:{collector.name}", collector.run())


async def run_console(services: Services, stop: asyncio.Event) -> None:
    start_collectors(services)
    loop = delivery_loop(services, ConsoleNotifier())
    services.supervisor.start_loop(DELIVERY_LOOP, loop.iteration, interval=loop.interval)
    await stop.wait()


def webhook_router(settings: DiscordSettings, session: aiohttp.ClientSession) -> TopicRouter:
    default: Notifier = ConsoleNotifier()
    if settings.webhook_url is not None:
        default = WebhookNotifier(session, settings.webhook_url.get_secret_value())
    routes: dict[str, Notifier] = {
        topic: WebhookNotifier(session, url.get_secret_value())
        for topic, url in settings.webhooks.items()
    }
    return TopicRouter(routes, default)


async def run_webhook(services: Services, stop: asyncio.Event) -> None:
    async with aiohttp.ClientSession() as session:
        router = webhook_router(services.settings.discord, session)
        start_collectors(services)
        loop = delivery_loop(services, router)
        services.supervisor.start_loop(DELIVERY_LOOP, loop.iteration, interval=loop.interval)
        poster = router.for_topic(DASHBOARD)
        if isinstance(poster, WebhookNotifier):
            views = ViewStore(services.db)
            dashboard = Dashboard(
                views,
                BotStateStore(services.db),
                services.clock,
                services.settings.discord.dashboard_seconds,
            )
            key = f"dashboard:{poster.target}"

            async def refresh() -> float | None:
                await dashboard.refresh(key, poster)
                return None

            services.supervisor.start_loop(
                WEBHOOK_DASHBOARD_LOOP,
                refresh,
                interval=services.settings.discord.dashboard_seconds,
            )
        try:
            await stop.wait()
        finally:
            # The loops use the session: stop them before it closes.
            await services.supervisor.stop()


def channel_router(settings: DiscordSettings, client: discord.Client) -> TopicRouter:
    default: Notifier = ConsoleNotifier()
    if settings.channel_id is not None:
        default = ChannelNotifier(client, settings.channel_id)
    routes: dict[str, Notifier] = {
        topic: ChannelNotifier(client, channel_id)
        for topic, channel_id in settings.channels.items()
    }
    if settings.channel_id is None and not routes:
        log.warning(
            "no Discord channel configured (COSMOS_DISCORD__CHANNEL_ID): notifications are "
            "printed to the console"
        )
    return TopicRouter(routes, default)


class BotDelivery:
    """The delivery loop of bot mode: waits until the client is logged in and ready."""

    def __init__(self, bot: CosmosBot, loop: DeliveryLoop) -> None:
        self._bot = bot
        self._loop = loop
        self.interval = loop.interval

    async def iteration(self) -> float | None:
        if not self._bot.is_ready():
            return 1.0
        return await self._loop.iteration()


def point_discord_at(settings: DiscordSettings) -> None:
    """Use the configured API and gateway addresses (Discord's own unless a proxy is set).

    discord.py reads both from class attributes; one bot runs per process, so setting them
    here, before the client exists, is enough.
    """
    discord.http.Route.BASE = settings.api_base_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.gateway_url)


async def run_bot(
    services: Services, stop: asyncio.Event, bot_options: dict[str, Any] | None = None
) -> None:
    settings = services.settings.discord
    assert settings.token is not None
    point_discord_at(settings)
    bot = CosmosBot(BotContext.of(services), **(bot_options or {}))
    delivery = BotDelivery(bot, delivery_loop(services, channel_router(settings, bot)))
    async with bot:
        services.supervisor.start_loop(
            DELIVERY_LOOP, delivery.iteration, interval=delivery.interval
        )
        bot_task = asyncio.create_task(bot.start_with_retry(settings.token.get_secret_value()))
        stop_task = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait({bot_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop_task.cancel()
            await services.supervisor.stop(DELIVERY_LOOP)
            if not bot_task.done():
                await bot.close()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(bot_task, return_exceptions=True)
        if bot_task in done and not bot_task.cancelled():
            exc = bot_task.exception()
            if isinstance(exc, discord.LoginFailure):
                raise SettingsError(
                    "Discord refused the bot token (COSMOS_DISCORD__TOKEN). Copy it again from "
                    "the Developer Portal, Bot page, or remove it to run webhook-only."
                ) from exc
            if exc is not None:
                raise exc
