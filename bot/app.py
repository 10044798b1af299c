"""The composition root: the whole life of ``cosmos run``, top to bottom.

1. Settings are loaded and checked (``bot.__main__``); the services are built (:mod:`bot.services`).
2. Collecting starts first, in every mode: sources, alert engine, health server and heartbeat.
   Nothing here waits for Discord.
3. The way out is chosen by the settings: ``bot`` (a token: the Discord client is one more
   supervised part, which may be down), ``webhook`` (webhook URLs only, no commands) or
   ``console`` (neither: notifications are printed).
4. The delivery loop drains the outbox to it, and the dashboard loop edits the dashboard.
5. SIGINT/SIGTERM (or ``stop``) ends it all within about two seconds: loops are cancelled (a
   message in flight is given a moment to be recorded), the client closes, the database last.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import signal
from enum import StrEnum
from typing import Any

import aiohttp
import discord
import yarl

from bot.client import CosmosBot
from bot.cogs import all_cogs
from bot.cogs.dashboard import refresh_channel_dashboard
from bot.context import BotContext
from bot.delivery import DeliveryLoop
from bot.notifiers import (
    DASHBOARD,
    ChannelNotifier,
    ConsoleNotifier,
    Notifier,
    TopicRouter,
    WebhookNotifier,
)
from bot.refusals import GuardedNotifier, OnRefused, Refusal, Refusals
from bot.services import Services, build_services
from collectors.clock import Clock
from collectors.models.notify import Notification, Severity, Topic
from collectors.settings import DiscordSettings, Settings, SettingsError

log = logging.getLogger("cosmos")

__all__ = ["Mode", "Services", "build_services", "choose_mode", "run"]

DISCORD_TASK = "discord"
COMMANDS_LOOP = "discord:commands"
DELIVERY_LOOP = "delivery"
DASHBOARD_LOOP = "dashboard"
ROUTES_LOOP = "routes:look-again"
# What a stop may take, part by part (the whole stays within about two seconds).
CLIENT_CLOSE_S = 0.5
DISCORD_RESTART_S = 30.0


class Mode(StrEnum):
    BOT = "bot"
    WEBHOOK = "webhook"
    CONSOLE = "console"


def choose_mode(settings: Settings) -> Mode:
    d = settings.discord
    if d.token is not None and d.token.get_secret_value():
        return Mode.BOT
    if d.webhook_url is not None or d.webhooks:
        return Mode.WEBHOOK
    return Mode.CONSOLE


async def run(
    settings: Settings,
    stop: asyncio.Event | None = None,
    *,
    clock: Clock | None = None,
    bot_options: dict[str, Any] | None = None,
) -> None:
    """Run cosmos until ``stop`` is set or SIGINT/SIGTERM arrives.

    ``bot_options`` go to the Discord client (tests pass timeouts there).
    """
    stop = stop or asyncio.Event()
    stop_on_signals(stop)
    open_files = raise_open_files_limit()
    services = await build_services(settings, clock)
    mode = choose_mode(settings)
    warn_if_nothing_to_watch(settings)
    log.info(
        "cosmos starting in %s mode, database %s, up to %d open files",
        mode.value,
        settings.database_path,
        open_files,
    )
    context = BotContext.of(services)
    fatal: list[Exception] = []
    bot: CosmosBot | None = None
    try:
        async with aiohttp.ClientSession() as session:
            try:
                # Collect first: never behind Discord.
                for collector in services.collectors:
                    services.supervisor.start(f"collector:{collector.name}", collector.run())
                if mode is Mode.BOT:
                    bot = start_discord(context, stop, fatal, bot_options or {})
                refusals = Refusals(
                    services.clock,
                    tell_other_routes(context),
                    on_accepted=tell_other_routes(context, accepted=True),
                    release_messages=context.state.release_held,
                    recheck_s=settings.discord.refused_recheck_seconds,
                    recheck_max_s=settings.discord.refused_recheck_max_seconds,
                )
                router = build_router(settings.discord, mode, session, bot, refusals)
                services.parts.register("routes", refusals.health)
                await context.state.release_held(services.clock.now_us())
                start_delivery(context, router, bot, refusals)
                start_dashboard(context, router, bot)
                await stop.wait()
            finally:
                log.info("cosmos stopping")
                # The loops use the session and the client: stop them first.
                await services.supervisor.stop()
                if bot is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(bot.close(), CLIENT_CLOSE_S)
    finally:
        await services.db.close()
    if fatal:
        raise fatal[0]


# --- start-up -----------------------------------------------------------------------------


def stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)


def raise_open_files_limit(wanted: int = 65_536) -> int:
    """Lift the soft limit on open files towards the hard one; returns the limit in force.

    Every Docker host costs a few sockets per container and every endpoint one; the usual soft
    limit of 1,024 is reached at about 80 hosts.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open-files limit from %d: %s", soft, exc)
            return soft
        return target
    return soft


def warn_if_nothing_to_watch(settings: Settings) -> None:
    if settings.logs.docker or settings.logs.files or settings.metrics.targets:
        return
    if settings.wallets.accounts:
        return
    log.warning(
        "nothing to watch yet: set log sources, metrics endpoints or wallets in .env "
        "(every setting is in .env.example; `cosmos doctor` checks them), "
        "or see cosmos at work with `cosmos demo`"
    )


# --- the Discord client: one supervised part ------------------------------------------------


def point_discord_at(settings: DiscordSettings) -> None:
    """Use the configured API and gateway addresses (Discord's own unless a proxy is set).

    discord.py reads both from class attributes; one bot runs per process, so setting them
    here, before the client exists, is enough.
    """
    discord.http.Route.BASE = settings.api_base_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.gateway_url)


def start_discord(
    context: BotContext, stop: asyncio.Event, fatal: list[Exception], options: dict[str, Any]
) -> CosmosBot:
    services = context.services
    settings = services.settings.discord
    assert settings.token is not None
    token = settings.token.get_secret_value()
    point_discord_at(settings)
    bot = CosmosBot(context, lambda client: all_cogs(context, client), **options)
    services.parts.register(DISCORD_TASK, bot.health)

    async def stay_connected() -> None:
        while True:
            try:
                await bot.start_with_retry(token)
            except discord.LoginFailure as exc:
                fatal.append(
                    SettingsError(
                        "Discord refused the bot token (COSMOS_DISCORD__TOKEN). Copy it again "
                        "from the Developer Portal, Bot page, or remove it to run webhook-only."
                    )
                )
                fatal[-1].__cause__ = exc
                stop.set()
                return
            except (discord.DiscordException, aiohttp.ClientError, OSError) as exc:
                bot.last_problem = f"{type(exc).__name__}: {exc}"
                log.warning(
                    "the Discord client stopped (%s); starting it again in %.0f s",
                    bot.last_problem,
                    DISCORD_RESTART_S,
                )
            if bot.is_closed():
                return
            await asyncio.sleep(DISCORD_RESTART_S)

    services.supervisor.start(DISCORD_TASK, stay_connected())
    services.supervisor.start_loop(COMMANDS_LOOP, bot.sync_iteration, interval=1.0)
    return bot


# --- the way out: console, webhooks or channels ---------------------------------------------


def build_router(
    settings: DiscordSettings,
    mode: Mode,
    session: aiohttp.ClientSession,
    bot: CosmosBot | None,
    refusals: Refusals,
) -> TopicRouter:
    """A notifier per topic (or rule), each guarded: a place that refuses is held."""
    if mode is Mode.CONSOLE:
        log.info("console mode: no Discord token or webhook; notifications are printed")
        return TopicRouter({}, ConsoleNotifier())
    if bot is None:
        log.info("webhook-only mode: notifications and the dashboard, no slash commands")
        default: Notifier = ConsoleNotifier()
        if settings.webhook_url is not None:
            url = settings.webhook_url.get_secret_value()
            default = refusals.guard(WebhookNotifier(session, url), "default")
        hooks: dict[str, Notifier] = {
            topic: refusals.guard(WebhookNotifier(session, url.get_secret_value()), topic)
            for topic, url in settings.webhooks.items()
        }
        return TopicRouter(hooks, default)
    if settings.channel_id is None and not settings.channels:
        log.warning(
            "no Discord channel configured (COSMOS_DISCORD__CHANNEL_ID): notifications are "
            "printed to the console"
        )
    default = ConsoleNotifier()
    if settings.channel_id is not None:
        default = refusals.guard(ChannelNotifier(bot, settings.channel_id), "default")
    channels: dict[str, Notifier] = {
        topic: refusals.guard(ChannelNotifier(bot, channel_id), topic)
        for topic, channel_id in settings.channels.items()
    }
    return TopicRouter(channels, default)


def tell_other_routes(context: BotContext, *, accepted: bool = False) -> OnRefused:
    """When a place refuses, or accepts again, say so (once a day each) on every other route,
    through the outbox."""
    services = context.services

    async def tell(refusal: Refusal) -> None:
        d = services.settings.discord
        places: dict[str, str | None] = {"default": None}
        places.update({k: k for k in (*d.webhooks, *d.channels)})
        now = services.clock.now_us()
        day = now // 86_400_000_000
        if accepted:
            kind, severity = "route-accepted", Severity.SUCCESS
            title = f"Discord accepts the {refusal.name} route again"
            body = "Its kept messages are sent now, in order."
        else:
            kind, severity = "route-refused", Severity.ERROR
            title = f"Discord refuses the {refusal.name} route"
            body = (
                f"{refusal.reason}. Its messages are kept. cosmos looks at the route again "
                "by itself and sends them once Discord accepts it (fixed in Discord); a wrong "
                "setting needs fixing and a restart (`cosmos doctor` checks it)."
            )
        for name, route in places.items():
            if name == refusal.name:
                continue
            notice = Notification(
                dedupe_key=f"{kind}:{refusal.target}:{name}:{day}",
                # A topic with no place of its own lands on the default place.
                topic=Topic.ALERTS if route is not None else _default_topic(d),
                severity=severity,
                title=title,
                body=body,
                route=route,
            )
            await services.outbox.enqueue(notice, now)

    return tell


def _default_topic(settings: DiscordSettings) -> Topic:
    overridden = {*settings.webhooks, *settings.channels}
    return next((t for t in Topic if t.value not in overridden), Topic.ALERTS)


def start_delivery(
    context: BotContext, router: Notifier, bot: CosmosBot | None, refusals: Refusals
) -> None:
    services = context.services
    d = services.settings.discord
    delivery = DeliveryLoop(
        services.outbox,
        context.state,
        router,
        services.clock,
        rewards_mode=d.rewards_mode,
        rewards_batch_minutes=d.rewards_batch_minutes,
    )

    async def iteration() -> float | None:
        if bot is not None and not bot.is_ready():
            return 1.0  # the outbox keeps everything until Discord is back
        # Here, between passes: a route is never released in the middle of one.
        await refusals.release()
        return await delivery.iteration()

    async def look_again() -> float | None:
        if bot is None or bot.is_ready():
            await refusals.look_again()
        return None

    services.supervisor.start_loop(DELIVERY_LOOP, iteration, interval=delivery.interval)
    # Probes are due by the clock; this only notices the time has come.
    services.supervisor.start_loop(ROUTES_LOOP, look_again, interval=1.0)


def start_dashboard(context: BotContext, router: TopicRouter, bot: CosmosBot | None) -> None:
    """Keep the dashboard message edited: the channel one /dashboard posted, or the webhook's."""
    services = context.services
    poster = router.for_topic(DASHBOARD)
    if bot is None and isinstance(poster, ConsoleNotifier):
        return
    webhook = poster if bot is None and isinstance(poster, GuardedNotifier) else None

    async def refresh() -> float | None:
        if webhook is not None and bot is None:
            await context.dashboard.refresh(f"dashboard:{webhook.target}", webhook)
            return None
        if bot is not None:
            await refresh_channel_dashboard(context, bot)
        return None

    services.supervisor.start_loop(
        DASHBOARD_LOOP, refresh, interval=services.settings.discord.dashboard_seconds
    )
