"""The composition root: builds settings, store, collectors and notifiers, and runs one mode.

Modes: ``bot`` (a Discord bot token is set), ``webhook`` (webhook URLs only, no commands) and
``console`` (neither: notifications are printed). The collectors are the same in every mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import signal
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from collectors.clock import Clock, SystemClock
from collectors.runner import Supervisor
from collectors.service import Collector
from collectors.settings import Settings
from collectors.store.database import Database
from collectors.store.farmers import Farmer, FarmerStore
from collectors.store.outbox import OutboxStore

log = logging.getLogger("cosmos")


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


@dataclass
class Services:
    """Everything the collectors, cogs and notifiers share, built once."""

    settings: Settings
    db: Database
    clock: Clock
    supervisor: Supervisor
    farmers: FarmerStore
    outbox: OutboxStore
    primary_farmer: Farmer
    collectors: list[Collector] = field(default_factory=list)


async def build_services(settings: Settings, clock: Clock | None = None) -> Services:
    clock = clock or SystemClock()
    db = Database(settings.database_path)
    await db.initialize()
    farmers = FarmerStore(db)
    primary = await farmers.ensure_primary(settings.farmer_name, clock.now_us())
    services = Services(
        settings=settings,
        db=db,
        clock=clock,
        supervisor=Supervisor(),
        farmers=farmers,
        outbox=OutboxStore(db),
        primary_farmer=primary,
    )
    services.collectors.extend(build_collectors(services))
    return services


def build_collectors(services: Services) -> list[Collector]:
    """One collector per configured kind of source."""
    collectors: list[Collector] = []
    if services.settings.metrics.targets:
        from collectors.metrics_collector import MetricsCollector
        from collectors.store.metrics import MetricsStore

        collectors.append(
            MetricsCollector(
                services.settings.metrics,
                MetricsStore(services.db),
                services.farmers,
                services.primary_farmer,
                services.clock,
            )
        )
    logs = services.settings.logs
    if logs.enabled and (logs.docker or logs.files):
        from collectors.ingest import LogIngestor
        from collectors.logs_collector import LogCollector

        collectors.append(
            LogCollector(
                logs,
                LogIngestor(services.db, services.farmers, services.clock),
                services.clock,
                farmer_name=services.settings.farmer_name,
            )
        )
    wallets = services.settings.wallets
    if wallets.accounts:
        from collectors.sources.chain import ChainClient
        from collectors.store.wallets import WalletStore
        from collectors.wallet_collector import WalletCollector

        collectors.append(
            WalletCollector(
                wallets,
                store=WalletStore(services.db),
                chain=ChainClient(
                    wallets.rpc_urls,
                    timeout=wallets.rpc_timeout_seconds,
                    max_backoff=wallets.reconnect_max_seconds,
                ),
                farmers=services.farmers,
                clock=services.clock,
                explorer_url=services.settings.discord.explorer_url,
            )
        )
    alerts = services.settings.alerts
    if alerts.enabled or alerts.summary_enabled:
        from collectors.alerts.engine import build_alert_engine

        collectors.append(build_alert_engine(services.db, alerts, services.clock))
    heartbeat = alerts.heartbeat_url.get_secret_value() if alerts.heartbeat_url else None
    if alerts.health_port is not None or heartbeat:
        from collectors.health import HealthServer, report_source

        report = report_source(services.supervisor, list(collectors), services.clock)
        collectors.append(HealthServer(report, port=alerts.health_port, heartbeat_url=heartbeat))
    return collectors


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


async def run(
    settings: Settings,
    stop: asyncio.Event | None = None,
    *,
    clock: Clock | None = None,
    bot_options: dict[str, Any] | None = None,
) -> None:
    """Run cosmos until ``stop`` is set or SIGINT/SIGTERM arrives.

    Every mode runs the collectors and the outbox delivery loop; ``bot_options`` go to the
    Discord client (tests pass timeouts there).
    """
    from bot import modes

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    open_files = raise_open_files_limit()
    services = await build_services(settings, clock)
    if not (settings.logs.docker or settings.logs.files or settings.metrics.targets) and not (
        settings.wallets.accounts
    ):
        log.warning(
            "nothing to watch yet: set log sources, metrics endpoints or wallets in .env "
            "(every setting is in .env.example; `cosmos doctor` checks them), "
            "or see cosmos at work with `cosmos demo`"
        )
    mode = choose_mode(settings)
    log.info(
        "cosmos starting in %s mode, database %s, up to %d open files",
        mode.value,
        settings.database_path,
        open_files,
    )
    try:
        if mode is Mode.BOT:
            await modes.run_bot(services, stop, bot_options)
        elif mode is Mode.WEBHOOK:
            log.info("webhook-only mode: notifications and the dashboard, no slash commands")
            await modes.run_webhook(services, stop)
        else:
            log.info("console mode: no Discord token or webhook; notifications are printed")
            await modes.run_console(services, stop)
    finally:
        log.info("cosmos stopping")
        await services.supervisor.stop()
        await services.db.close()
