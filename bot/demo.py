"""``cosmos demo [--webhook URL] [--seconds N]``: see cosmos work without a farm.

The bundled demo farm (:mod:`collectors.demo_data`) is written to a scratch directory, its
``/metrics`` bodies are served on 127.0.0.1, and cosmos runs on them with a scratch database (the
user's settings and database are never read or touched), printing notifications to the console
or sending them to the given webhook. At the end a short summary is read back from the store.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from aiohttp import web
from pydantic import SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from collectors.clock import Clock, SystemClock
from collectors.demo_data import (
    FARMS,
    DemoFiles,
    append_lines,
    farmer_metrics,
    live_lines,
    node_metrics,
    write_demo_logs,
)
from collectors.models.alerts import AlertState
from collectors.models.views import FarmSummary
from collectors.settings import (
    AlertsSettings,
    DiscordSettings,
    LogFile,
    LogsSettings,
    MetricsSettings,
    MetricsTarget,
    Settings,
    SettingsError,
    WalletsSettings,
    WebSettings,
)
from collectors.store.alerts import AlertStore
from collectors.store.database import Database
from collectors.store.views import ViewStore

DEMO_FARMER = "demo-farmer"
DATABASE_NAME = "cosmos-demo.db"
LIVE_SECONDS = 2.0


class DemoSettings(Settings):
    """The demo's settings come only from its own arguments: no environment, no ``.env``."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def demo_settings(
    workdir: Path,
    *,
    farmer_log: Path,
    node_log: Path,
    farmer_url: str,
    node_url: str,
    webhook_url: str | None = None,
    web_port: int = 0,
) -> Settings:
    if webhook_url is not None and "/api/webhooks/" not in webhook_url:
        raise SettingsError(
            "cosmos demo: --webhook is not a Discord webhook URL; it looks like"
            " https://discord.com/api/webhooks/ID/TOKEN (channel settings, Integrations, Webhooks)"
        )
    return DemoSettings(
        database_path=workdir / DATABASE_NAME,
        farmer_name=DEMO_FARMER,
        log_level="INFO",
        logs=LogsSettings(
            files=[
                LogFile(path=farmer_log, role="farmer", farmer=DEMO_FARMER),
                LogFile(path=node_log, role="node", farmer=DEMO_FARMER),
            ]
        ),
        metrics=MetricsSettings(
            targets=[
                MetricsTarget(url=farmer_url, kind="farmer", label="demo farmer"),
                MetricsTarget(url=node_url, kind="node", label="demo node"),
            ],
            interval_seconds=2.0,
            timeout_seconds=5.0,
        ),
        wallets=WalletsSettings(),
        discord=DiscordSettings(
            webhook_url=SecretStr(webhook_url) if webhook_url else None,
        ),
        # Alerts judged every few seconds so the demo's farm error shows up at once.
        alerts=AlertsSettings(interval_seconds=2.0, summary_enabled=False),
        web=WebSettings(port=web_port),
    )


# --- the demo metrics endpoints ---------------------------------------------------------------


class DemoMetricsServer:
    """Serves the demo farmer and node ``/metrics`` on 127.0.0.1; each scrape moves them on."""

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self._steps = {"farmer": 0, "node": 0}
        self.port = 0

    @property
    def farmer_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/farmer/metrics"

    @property
    def node_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/node/metrics"

    async def _farmer(self, request: web.Request) -> web.Response:
        self._steps["farmer"] += 1
        return web.Response(text=farmer_metrics(self._steps["farmer"]), content_type="text/plain")

    async def _node(self, request: web.Request) -> web.Response:
        self._steps["node"] += 1
        return web.Response(text=node_metrics(self._steps["node"]), content_type="text/plain")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/farmer/metrics", self._farmer)
        app.router.add_get("/node/metrics", self._node)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = int(server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


@contextlib.asynccontextmanager
async def serving_metrics() -> AsyncIterator[DemoMetricsServer]:
    server = DemoMetricsServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


# --- the summary ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DemoSummary:
    farms: tuple[FarmSummary, ...]
    rewards: int
    missed: int
    open_alerts: tuple[AlertState, ...]


async def read_summary(database_path: Path, now_us: int) -> DemoSummary:
    db = Database(database_path)
    await db.initialize()
    try:
        farms = await ViewStore(db).farms.summaries(now_us)
        alerts = await AlertStore(db).open_alerts()
    finally:
        await db.close()
    # Every demo reward belongs to a farm: the per-farm 24 h counts add up to the total.
    won = sum(farm.rewards_24h for farm in farms)
    missed = sum(farm.misses_24h for farm in farms)
    return DemoSummary(tuple(farms), won, missed, tuple(alerts))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def render_summary(summary: DemoSummary) -> str:
    lines = [f"What cosmos found in the demo farm ({len(summary.farms)} farms):"]
    for farm in summary.farms:
        percent = farm.plotted_percent
        if percent is None:
            percent = farm.plot_percent
        plotted = f"{percent:.1f}% plotted" if percent is not None else "plotting unknown"
        name = farm.directory or farm.farm_id
        lines.append(
            f"  farm {farm.farm_index} {name}: {plotted}, {_count(farm.rewards_24h, 'reward')},"
            f" status {farm.status.value}"
        )
    lines.append(f"Rewards in the last 24 h: {summary.rewards} signed, {summary.missed} missed")
    if summary.open_alerts:
        lines.append(f"Open alerts ({len(summary.open_alerts)}):")
        lines.extend(f"  - {alert.title}" for alert in summary.open_alerts)
    else:
        lines.append("Open alerts: none")
    return "\n".join(lines)


# --- running ----------------------------------------------------------------------------------


async def _play_live(files: DemoFiles, clock: Clock, stop: asyncio.Event) -> None:
    """Append what the farmer and node say next, every few seconds, so cosmos follows live."""
    step = 0
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), LIVE_SECONDS)
            return
        step += 1
        farmer, node = live_lines(clock.now_us(), step)
        await asyncio.to_thread(append_lines, files.farmer_log, farmer)
        await asyncio.to_thread(append_lines, files.node_log, node)


async def run_demo(
    out: TextIO,
    *,
    seconds: float | None = None,
    webhook_url: str | None = None,
    workdir: Path | None = None,
    stop: asyncio.Event | None = None,
    web_port: int = 0,
) -> DemoSummary:
    """Run the demo until ``seconds`` pass or ``stop`` is set (Ctrl+C sets it too).

    ``workdir`` keeps the demo files and database there; by default a temporary directory
    is used and removed afterwards.
    """
    from bot import app

    with contextlib.ExitStack() as cleanup:
        if workdir is None:
            workdir = Path(
                cleanup.enter_context(tempfile.TemporaryDirectory(prefix="cosmos-demo-"))
            )
        clock = SystemClock()
        files = write_demo_logs(workdir, clock.now_us())
        async with serving_metrics() as metrics:
            settings = demo_settings(
                workdir,
                farmer_log=files.farmer_log,
                node_log=files.node_log,
                farmer_url=metrics.farmer_url,
                node_url=metrics.node_url,
                webhook_url=webhook_url,
                web_port=web_port,
            )
            where = "to the webhook you gave" if webhook_url else "here, on the console"
            how_long = f"for {seconds:g} s" if seconds else "until you press Ctrl+C"
            out.write(
                "cosmos demo: a made-up farmer with "
                f"{len(FARMS)} farms and its node, so you can see cosmos work without a farm.\n"
                f"  logs:     {files.farmer_log} ({len(files.logs.farmer)} lines),"
                f" {files.node_log} ({len(files.logs.node)} lines)\n"
                f"  metrics:  {metrics.farmer_url} and {metrics.node_url}\n"
                f"  database: {settings.database_path} (a scratch copy: your own settings and"
                " database are not used)\n"
                f"  notifications go {where}; running {how_long}.\n"
                + (f"  web pages: http://127.0.0.1:{web_port}/\n" if web_port else "")
            )
            out.flush()
            stop = stop or asyncio.Event()
            timer = asyncio.get_running_loop().call_later(seconds, stop.set) if seconds else None
            try:
                async with asyncio.TaskGroup() as tasks:
                    tasks.create_task(app.run(settings, stop, clock=clock))
                    tasks.create_task(_play_live(files, clock, stop))
            finally:
                if timer is not None:
                    timer.cancel()
        summary = await read_summary(settings.database_path, clock.now_us())
        out.write(render_summary(summary) + "\n")
        out.flush()
        return summary


def cli(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level="INFO",
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    workdir = Path(args.dir) if args.dir else None
    asyncio.run(
        run_demo(
            sys.stdout,
            seconds=args.seconds,
            webhook_url=args.webhook,
            workdir=workdir,
            web_port=getattr(args, "web_port", 0),
        )
    )
    return 0
