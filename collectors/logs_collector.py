"""The log collector: runs every configured log source and hands its lines to the log pipeline.

One supervised loop per source (a file, or a node/farmer container on a Docker host): it asks
the ingestor where the source stopped, reads from there (backfill, oldest line first) and then
follows live. Each batch is stored with its resume position in one transaction, so a crash or
restart neither loses nor repeats a line. A source that fails is logged and retried with
backoff; the others go on. Docker hosts are searched for node and farmer containers now and then,
so a container started later is picked up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from collectors.clock import Clock
from collectors.models.logs import CLUSTER_ROLES, Role, SourceLine, SourceRef
from collectors.runner import LoopStatus, Supervisor
from collectors.settings import DEFAULT_CLUSTER, DockerHost, LogsSettings
from collectors.sources.docker_logs import (
    DockerContainerSource,
    DockerDiscovery,
    DockerUnavailableError,
    HostReachability,
    plaintext_warning,
)
from collectors.sources.file_logs import FileLogSource

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 300.0

SourceState = Literal["starting", "backfilling", "live", "waiting", "failing"]


class LogSource(Protocol):
    """What the collector needs of a source (files and Docker containers)."""

    ref: SourceRef
    backfilling: bool

    def batches(self, position: str | None) -> AsyncGenerator[Sequence[SourceLine], None]: ...

    def describe_left(self) -> str | None: ...

    def problem(self) -> str | None: ...


class Ingestor(Protocol):
    """The log pipeline's entry (:class:`collectors.ingest.LogIngestor`)."""

    async def position(self, source: SourceRef) -> str | None: ...

    async def ingest(self, source: SourceRef, lines: Sequence[SourceLine]) -> Any: ...


@dataclass(frozen=True, slots=True)
class LogSourceStatus:
    """One source as ``cosmos status`` shows it."""

    key: str
    role: Role
    host: str
    farmer: str | None
    state: SourceState
    lines_ingested: int
    last_line_us: int | None  # the transport's stamp of the last line, else when it was stored
    last_ingest_us: int | None
    last_error: str | None
    left: str | None  # while backfilling: bytes or time span still to read


@dataclass(slots=True)
class _Running:
    source: LogSource
    loop: LoopStatus
    lines: int = 0
    batches: int = 0
    last_line_us: int | None = None
    last_ingest_us: int | None = None
    alive_us: int | None = None
    progressed: bool = False
    caught_up: bool = False
    # Progress of the current backfill.
    started_at: float = 0.0
    lines_at_start: int = 0
    reported_at: float = 0.0


def file_key(host: str, path: Path) -> str:
    return f"file:{host}:{os.path.abspath(path.expanduser())}"


def docker_key(host: str, role: Role, container: str) -> str:
    return f"docker:{host}:{role}:{container}"


class LogCollector:
    """The log collector (:class:`collectors.service.Collector`)."""

    name = "logs"

    def __init__(
        self,
        settings: LogsSettings,
        ingestor: Ingestor,
        clock: Clock,
        *,
        farmer_name: str,
        file_poll_seconds: float = 0.5,
        discover_seconds: float = 60.0,
        progress_seconds: float = 5.0,
        batch_lines: int = 5000,
        batch_seconds: float = 0.5,
    ) -> None:
        self._settings = settings
        self._ingestor = ingestor
        self._clock = clock
        self._farmer_name = farmer_name
        self._file_poll_seconds = file_poll_seconds
        self._discover_seconds = discover_seconds
        self._progress_seconds = progress_seconds
        self._batch_lines = batch_lines
        self._batch_seconds = batch_seconds
        self._supervisor: Supervisor | None = None
        self._running: dict[str, _Running] = {}
        self._hosts: list[tuple[DockerHost, DockerDiscovery]] = []

    # --- building sources -----------------------------------------------------------------

    def file_sources(self) -> list[FileLogSource]:
        sources: dict[str, FileLogSource] = {}
        for entry in self._settings.files:
            key = file_key(entry.host, entry.path)
            if key in sources:
                log.warning("log file %s is configured twice; reading it once", entry.path)
                continue
            ref = SourceRef(
                key, entry.role, entry.host, entry.farmer or self._farmer_name, entry.cluster_name
            )
            sources[key] = FileLogSource(
                ref,
                Path(os.path.abspath(entry.path.expanduser())),
                max_line_bytes=self._settings.max_line_bytes,
                poll_seconds=self._file_poll_seconds,
                batch_lines=self._batch_lines,
            )
        return list(sources.values())

    def docker_source(
        self,
        host: DockerHost,
        role: Role,
        container: str,
        reachability: HostReachability,
        *,
        cluster: bool = False,
    ) -> DockerContainerSource:
        ref = SourceRef(
            docker_key(host.host, role, container),
            role,
            host.host,
            host.farmer or self._farmer_name,
            (host.cluster or DEFAULT_CLUSTER) if cluster or role in CLUSTER_ROLES else None,
        )
        return DockerContainerSource(
            ref,
            host.base_url,
            container,
            reachability=reachability,
            clock=self._clock,
            max_line_bytes=self._settings.max_line_bytes,
            reconnect_seconds=self._settings.reconnect_seconds,
            batch_lines=self._batch_lines,
            batch_seconds=self._batch_seconds,
        )

    # --- running ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Run every source until cancelled; then stop them all (threads and files closed)."""
        supervisor = Supervisor()
        self._supervisor = supervisor
        self._running = {}  # a collector stopped and started again (by a command) starts afresh
        try:
            for source in self.file_sources():
                self._start(source)
            for host in self._settings.docker:
                if (warning := plaintext_warning(host.base_url)) is not None:
                    log.warning("%s", warning)
                reachability = HostReachability(host.base_url, self._settings.reconnect_seconds)
                discovery = DockerDiscovery(host, reachability)
                self._hosts.append((host, discovery))
                supervisor.start_loop(
                    f"logs find containers {host.host}",
                    self._discovery_iteration(host, discovery, reachability),
                    interval=self._discover_seconds,
                )
            if not self._settings.files and not self._settings.docker:
                log.info("no log files or Docker hosts configured; the log collector is idle")
            await _forever()
        finally:
            await supervisor.stop()
            for _, discovery in self._hosts:
                discovery.close()
            self._hosts.clear()
            self._supervisor = None

    def _start(self, source: LogSource) -> None:
        key = source.ref.key
        if key in self._running or self._supervisor is None:
            return
        name = f"logs {key}"
        loop = self._supervisor.statuses.setdefault(name, LoopStatus(name))
        running = _Running(source, loop)
        self._running[key] = running
        self._supervisor.start(name, self._source_loop(running))
        log.info("reading logs of %s (%s, farmer %s)", key, source.ref.role, source.ref.farmer)

    def _discovery_iteration(
        self, host: DockerHost, discovery: DockerDiscovery, reachability: HostReachability
    ) -> Callable[[], Awaitable[float | None]]:
        async def iteration() -> float | None:
            try:
                targets = await discovery.targets()
            except DockerUnavailableError:
                # Already told once by the reachability tracker; look again soon.
                return self._settings.reconnect_seconds
            for role, names in targets.items():
                for container in names:
                    cluster = container in discovery.cluster_names
                    self._start(
                        self.docker_source(host, role, container, reachability, cluster=cluster)
                    )
            roles = {"farmer", "node"} - set(targets)
            if roles and not discovery.configured():
                log.debug("no %s container found on %s yet", " or ".join(sorted(roles)), host.host)
            return None

        return iteration

    async def _source_loop(self, running: _Running) -> None:
        """``run_forever`` for a source whose one iteration is endless: a failure is logged
        once per distinct message and retried with backoff, which starts over once the source
        has read again (a recovered source must not inherit a long backoff)."""
        status = running.loop
        base = self._settings.reconnect_seconds
        backoff = base
        last_message: str | None = None
        while True:
            running.progressed = False
            try:
                await self._follow(running)
                delay = base  # a source only ends on a bug or a vanished path: start it again
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if running.progressed:
                    backoff, last_message = base, None
                status.failures_in_row = 1 if running.progressed else status.failures_in_row + 1
                status.last_error = f"{type(exc).__name__}: {exc}"
                status.last_error_us = self._clock.now_us()
                if status.last_error != last_message:
                    log.warning(
                        "%s failed: %s (retrying with backoff)",
                        status.name,
                        status.last_error,
                        exc_info=log.isEnabledFor(logging.DEBUG),
                    )
                    last_message = status.last_error
                delay, backoff = backoff, min(MAX_BACKOFF_SECONDS, backoff * 2)
            await asyncio.sleep(delay)

    def _progressed(self, running: _Running, now_us: int) -> None:
        status = running.loop
        if status.failures_in_row:
            log.info("%s recovered after %d failed attempts", status.name, status.failures_in_row)
            status.failures_in_row = 0
        status.iterations += 1
        status.last_ok_us = now_us
        running.alive_us = now_us
        running.progressed = True

    async def _follow(self, running: _Running) -> None:
        """Resume from the stored position and ingest batches until the source ends or fails."""
        source, ref = running.source, running.source.ref
        position = await self._ingestor.position(ref)
        running.started_at = running.reported_at = time.monotonic()
        running.lines_at_start = running.lines
        running.caught_up = False
        async with contextlib.aclosing(source.batches(position)) as batches:
            async for batch in batches:
                now_us = self._clock.now_us()
                if batch:
                    await self._ingestor.ingest(ref, batch)
                    running.lines += len(batch)
                    running.batches += 1
                    running.last_ingest_us = now_us
                    running.last_line_us = batch[-1].received_us or now_us
                if batch or source.problem() is None:
                    self._progressed(running, now_us)
                self._report_progress(running)

    def _report_progress(self, running: _Running) -> None:
        source = running.source
        now = time.monotonic()
        read = running.lines - running.lines_at_start
        elapsed = max(now - running.started_at, 1e-6)
        if not source.backfilling:
            if not running.caught_up:
                running.caught_up = True
                if read:
                    log.info(
                        "%s: caught up after %s lines in %.1f s (%s lines/s); following live",
                        source.ref.key,
                        f"{read:,}",
                        elapsed,
                        f"{read / elapsed:,.0f}",
                    )
            return
        if now - running.reported_at < self._progress_seconds:
            return
        running.reported_at = now
        left = source.describe_left()
        log.info(
            "%s: reading the backlog: %s lines so far (%s lines/s)%s",
            source.ref.key,
            f"{read:,}",
            f"{read / elapsed:,.0f}",
            f", {left}" if left else "",
        )

    # --- status ----------------------------------------------------------------------------

    def source_statuses(self) -> list[LogSourceStatus]:
        """Every source's state, for ``cosmos status``."""
        out: list[LogSourceStatus] = []
        for key, running in self._running.items():
            source, ref = running.source, running.source.ref
            problem = source.problem()
            state: SourceState
            if running.loop.failures_in_row:
                state = "failing"
            elif problem is not None:
                state = "waiting"
            elif running.alive_us is None:
                state = "starting"
            else:
                state = "backfilling" if source.backfilling else "live"
            out.append(
                LogSourceStatus(
                    key=key,
                    role=ref.role,
                    host=ref.host,
                    farmer=ref.farmer,
                    state=state,
                    lines_ingested=running.lines,
                    last_line_us=running.last_line_us,
                    last_ingest_us=running.last_ingest_us,
                    last_error=problem or running.loop.last_error,
                    left=source.describe_left() if source.backfilling else None,
                )
            )
        return out

    @property
    def status(self) -> LoopStatus:
        """One summary for the health check: alive while any source reads or waits healthily."""
        summary = LoopStatus(self.name)
        runs = list(self._running.values())
        summary.iterations = sum(r.batches for r in runs)
        summary.failures_in_row = max((r.loop.failures_in_row for r in runs), default=0)
        alive = [r.alive_us for r in runs if r.alive_us is not None]
        summary.last_ok_us = max(alive) if alive else None
        errors = [e for e in (s.last_error for s in self.source_statuses()) if e]
        summary.last_error = "; ".join(errors) if errors else None
        summary.extra = {"sources": len(runs)}
        return summary


async def _forever() -> None:
    await asyncio.Event().wait()
