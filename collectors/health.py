"""Self-health: what each collector last did (``/healthz`` on the web server), a heartbeat ping.

cosmos is healthy while every supervised task is running and no loop has failed several times
in a row or gone quiet. Parts that only carry news out (the Discord connection, a webhook that
refuses) make it "degraded", not dead: collecting goes on and the outbox keeps every message.
``/healthz`` answers 200 (ok or degraded) or 503 (unhealthy) with each part as JSON; the
heartbeat URL (a dead-man's switch such as healthchecks.io) is fetched every minute unless
unhealthy, so the far side notices when cosmos stops or gets stuck.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

import aiohttp

from collectors.alerts.summary import local_text
from collectors.clock import Clock
from collectors.format import duration
from collectors.models.alerts import Activity, StatusOverview
from collectors.runner import LoopStatus, Supervisor, run_forever
from collectors.service import Collector
from collectors.settings import Settings

log = logging.getLogger(__name__)

FAILURES_UNHEALTHY = 3
COLLECTOR_TASK_PREFIX = "collector:"
# A loop with no successful iteration for this long is stuck (longest loop interval is minutes).
QUIET_UNHEALTHY_US = 15 * 60 * 1_000_000


@dataclass(frozen=True, slots=True)
class CollectorHealth:
    name: str
    running: bool
    healthy: bool
    iterations: int | None
    last_ok_us: int | None
    failures_in_row: int
    last_error: str | None
    last_error_us: int | None
    note: str


@dataclass(frozen=True, slots=True)
class PartHealth:
    """A part that carries news out (Discord, a webhook): when not ok, cosmos is degraded."""

    name: str
    ok: bool
    note: str
    since_us: int | None = None


@dataclass(frozen=True, slots=True)
class HealthReport:
    healthy: bool
    now_us: int
    collectors: tuple[CollectorHealth, ...]
    parts: tuple[PartHealth, ...] = ()

    @property
    def status(self) -> str:
        """``ok``, ``degraded`` (collecting, but some news cannot get out) or ``unhealthy``."""
        if not self.healthy:
            return "unhealthy"
        return "ok" if all(p.ok for p in self.parts) else "degraded"

    @property
    def http_status(self) -> int:
        return 503 if not self.healthy else 200

    def to_json(self) -> str:
        return json.dumps(
            {
                "status": self.status,
                "now_us": self.now_us,
                "collectors": [asdict(c) for c in self.collectors],
                "parts": [asdict(p) for p in self.parts],
            },
            ensure_ascii=False,
        )


PartSource = Callable[[], Iterable[PartHealth]]


class Parts:
    """Where the composition root registers the outward parts it starts (Discord, webhooks).

    The health report reads it live, so a part added after the health server started shows.
    """

    def __init__(self) -> None:
        self._sources: dict[str, PartSource] = {}

    def register(self, name: str, source: PartSource) -> None:
        self._sources[name] = source

    def unregister(self, name: str) -> None:
        self._sources.pop(name, None)

    def current(self) -> tuple[PartHealth, ...]:
        return tuple(part for source in self._sources.values() for part in source())


def assess(
    expected: Iterable[str],
    running: Iterable[str],
    statuses: Mapping[str, LoopStatus],
    now_us: int,
) -> HealthReport:
    """Pure: the health of each expected task from the supervisor's view of it."""
    running_set = set(running)
    names = list(dict.fromkeys([*expected, *statuses]))
    out: list[CollectorHealth] = []
    for name in names:
        status = statuses.get(name)
        is_running = name in running_set
        note = "running" if is_running else "not running"
        healthy = is_running
        if status is not None:
            if status.failures_in_row >= FAILURES_UNHEALTHY:
                healthy = False
                note = f"failing ({status.failures_in_row} times in a row)"
            elif status.last_ok_us is not None and now_us - status.last_ok_us > QUIET_UNHEALTHY_US:
                healthy = False
                note = "no successful run for more than 15 minutes"
        out.append(
            CollectorHealth(
                name=name,
                running=is_running,
                healthy=healthy,
                iterations=status.iterations if status else None,
                last_ok_us=status.last_ok_us if status else None,
                failures_in_row=status.failures_in_row if status else 0,
                last_error=status.last_error if status else None,
                last_error_us=status.last_error_us if status else None,
                note=note,
            )
        )
    return HealthReport(all(c.healthy for c in out), now_us, tuple(out))


ReportSource = Callable[[], HealthReport]


def report_source(
    supervisor: Supervisor,
    collectors: Iterable[Collector],
    clock: Clock,
    parts: Parts | None = None,
) -> ReportSource:
    """Health of the supervised collectors, using each collector's own loop status if it has
    one (a collector may expose ``status: LoopStatus``), and of the outward ``parts``."""
    tasks = list(collectors)

    def report() -> HealthReport:
        statuses = dict(supervisor.statuses)
        for collector in tasks:
            status = getattr(collector, "status", None)
            if isinstance(status, LoopStatus):
                statuses[collector.name] = status
        expected = [c.name for c in tasks if c.name != HealthServer.name]
        statuses.pop(HealthServer.name, None)
        # The composition root names a collector's task "collector:<name>".
        running = [name.removeprefix(COLLECTOR_TASK_PREFIX) for name in supervisor.running]
        report = assess(expected, running, statuses, clock.now_us())
        if parts is None:
            return report
        return dataclasses.replace(report, parts=parts.current())

    return report


class HealthServer:
    """A collector-shaped service: the heartbeat loop. ``/healthz`` is served by the web server
    (bot/web), from the same :data:`ReportSource`."""

    name = "health"

    def __init__(
        self,
        report: ReportSource,
        *,
        heartbeat_url: str | None,
        heartbeat_seconds: float = 60.0,
    ) -> None:
        self._report = report
        self._heartbeat_url = heartbeat_url
        self._heartbeat_seconds = heartbeat_seconds
        self.status = LoopStatus("heartbeat")

    async def ping_once(self, session: aiohttp.ClientSession) -> bool:
        """Ping the heartbeat URL unless unhealthy (degraded still collects); True when pinged.

        Raises on a failed ping."""
        if self._heartbeat_url is None or not self._report().healthy:
            return False
        timeout = aiohttp.ClientTimeout(total=10)
        async with session.get(self._heartbeat_url, timeout=timeout) as response:
            if response.status >= 400:
                raise RuntimeError(f"heartbeat URL answered HTTP {response.status}")
        return True

    async def run(self) -> None:
        if self._heartbeat_url is None:
            await asyncio.Event().wait()  # nothing to ping: idle until cancelled
        async with aiohttp.ClientSession() as session:

            async def beat() -> None:
                await self.ping_once(session)

            await run_forever(
                "heartbeat", beat, interval=self._heartbeat_seconds, status=self.status
            )


def format_status(
    overview: StatusOverview,
    timezone: str,
    live: HealthReport | None,
    held: Sequence[tuple[str, int]] = (),
) -> str:
    """``cosmos status``: each source's last activity, open alerts, the outbox, the process."""

    def when(us: int | None) -> str:
        if us is None:
            return "never"
        return f"{local_text(us, timezone)} ({duration(overview.now_us - us)} ago)"

    lines = [f"cosmos status at {local_text(overview.now_us, timezone)}", ""]
    if live is None:
        lines.append("Process: not answering on /healthz (not running, or COSMOS_WEB__PORT=0)")
    else:
        state = {"ok": "healthy", "degraded": "DEGRADED", "unhealthy": "UNHEALTHY"}[live.status]
        lines.append(f"Process: {state}")
        for p in live.parts:
            since = f" since {when(p.since_us)}" if p.since_us is not None and not p.ok else ""
            lines.append(f"  {'ok ' if p.ok else 'BAD'} {p.name}: {p.note}{since}")
        for c in live.collectors:
            # A collector with loops of its own (one per endpoint) has no single "last ok":
            # each of its sources is listed below.
            last = f", last ok {when(c.last_ok_us)}" if c.iterations is not None else ""
            error = f"; last error: {c.last_error}" if c.last_error else ""
            lines.append(f"  {'ok ' if c.healthy else 'BAD'} {c.name}: {c.note}{last}{error}")
    lines.append("")
    lines.append("Sources, endpoints and wallets:")
    if not overview.activity:
        lines.append("  none stored yet")
    for a in overview.activity:
        mark = "ok " if a.ok else "BAD"
        lines.append(f"  {mark} [{a.kind}] {a.name}: {a.note} {when(a.last_us)}")
    lines.append("")
    lines.append(f"Open alerts: {len(overview.open_alerts)}")
    for alert in overview.open_alerts:
        lines.append(f"  [{alert.severity.value}] {alert.title} (since {when(alert.opened_us)})")
    lines.append("")
    summary = overview.last_summary
    lines.append(
        f"Last daily summary: {summary[0]}, queued {when(summary[1])}"
        if summary
        else "Last daily summary: none yet"
    )
    outbox = ", ".join(f"{n} {state}" for state, n in overview.outbox) or "empty"
    lines.append(f"Notification outbox: {outbox}")
    for reason, count in held:
        lines.append(
            f"  BAD {count} held: {reason} (fixed in Discord, they go out by themselves; "
            "a wrong setting needs fixing and a restart)"
        )
    return "\n".join(lines)


def parse_report(text: str) -> HealthReport:
    """A ``/healthz`` JSON answer back into a report (for ``cosmos status``)."""
    data = json.loads(text)
    return HealthReport(
        healthy=data["status"] != "unhealthy",
        now_us=int(data["now_us"]),
        collectors=tuple(CollectorHealth(**c) for c in data["collectors"]),
        parts=tuple(PartHealth(**p) for p in data.get("parts", [])),
    )


async def fetch_live_report(
    port: int | None, timeout_s: float = 2.0, *, token: str | None = None
) -> HealthReport | None:
    """The running process's own report, if one answers on 127.0.0.1."""
    if not port:
        return None
    url = f"http://127.0.0.1:{port}/healthz"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as session,
            session.get(url, headers=headers) as response,
        ):
            return parse_report(await response.text())
    except (aiohttp.ClientError, TimeoutError, ValueError, KeyError, TypeError):
        return None


async def status_text(settings: Settings, clock: Clock) -> str:
    """``cosmos status`` from the database (and the live process when it answers)."""
    from collectors.store.alerts import status_overview
    from collectors.store.bot_state import BotStateStore
    from collectors.store.database import Database
    from collectors.store.wallets import WalletStore

    if not settings.database_path.exists():
        return f"No database at {settings.database_path} yet: cosmos has not run here."
    async with Database(settings.database_path) as db:
        overview = await status_overview(db, clock.now_us())
        held = await BotStateStore(db).held()
        block = await WalletStore(db).last_block() if settings.wallets.accounts else None
    if settings.wallets.accounts:
        seen = (
            Activity(
                "chain", "blocks", block.timestamp_us, True, f"last block seen #{block.number:,}"
            )
            if block is not None
            else Activity("chain", "blocks", None, False, "no block seen yet; last")
        )
        overview = dataclasses.replace(overview, activity=(*overview.activity, seen))
    overview = dataclasses.replace(overview, activity=as_configured(overview.activity, settings))
    token = settings.web.token.get_secret_value() if settings.web.token else None
    live = await fetch_live_report(settings.web_port, token=token)
    return format_status(overview, settings.alerts.timezone, live, held)


def as_configured(activity: Sequence[Activity], settings: Settings) -> tuple[Activity, ...]:
    """The stored activity held against the settings and this machine: a configured log file
    that is gone is BAD whatever was read from it before; a configured source, endpoint or
    wallet with nothing stored yet is listed as such, not left out."""
    from collectors.logs_collector import file_key
    from collectors.metrics_collector import target_key, target_label

    out = list(activity)
    names = {a.name for a in out}
    for entry in settings.logs.files if settings.logs.enabled else []:
        name = f"{entry.role} {file_key(entry.host, entry.path)}"
        if entry.path.expanduser().exists():
            if name not in names:
                out.append(Activity("log", name, None, False, "nothing read yet; last line"))
            continue
        stored = next((a for a in out if a.name == name), None)
        missing = Activity("log", name, stored.last_us if stored else None, False, "")
        missing = dataclasses.replace(missing, note="the file does not exist; last line")
        out = [missing if a.name == name else a for a in out] if stored else [*out, missing]
    for target in settings.metrics.targets:
        name = f"{target_label(target)} ({target_key(target)})"  # no password of the URL
        if not any(f"({target_key(target)})" in a.name for a in out):
            out.append(Activity("metrics", name, None, False, "never scraped"))
    for wallet in settings.wallets.accounts:
        if not any(wallet.address in a.name for a in out):
            out.append(
                Activity("wallet", f"{wallet.label} ({wallet.address})", None, False, "never read")
            )
    return tuple(out)
