"""Everything cosmos shares, built once: settings, store, clock, supervisor and collectors.

The composition root (:mod:`bot.app`) builds a :class:`Services` and passes it (or the parts
each needs) into constructors; nothing here knows about Discord.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from collectors.clock import Clock, SystemClock
from collectors.health import Parts, ReportSource, report_source
from collectors.runner import Supervisor
from collectors.service import Collector
from collectors.settings import Settings
from collectors.store.database import Database
from collectors.store.farmers import Farmer, FarmerStore
from collectors.store.outbox import OutboxStore


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
    # The outward parts (Discord, webhooks) the health report shows; filled by the root.
    parts: Parts = field(default_factory=Parts)
    # Every part's health, for /healthz wherever it is served.
    health: ReportSource | None = None


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
    services.health = report_source(
        services.supervisor, services.collectors, services.clock, services.parts
    )
    if settings.web_port:
        from bot.web.server import WebServer

        # Pages, API, /metrics and /healthz: started with the collectors in every mode.
        services.collectors.append(WebServer.of(services, services.health))
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
    if heartbeat:
        from collectors.health import HealthServer

        report = report_source(
            services.supervisor, list(collectors), services.clock, services.parts
        )
        collectors.append(HealthServer(report, heartbeat_url=heartbeat))
    return collectors
