"""Node and farmer container logs through the Docker Engine API (the blocking ``docker`` SDK).

This is the one module that uses the SDK. A client is not thread-safe, so each one lives on
its own thread: one per followed container (its stream blocks) and one per host for finding
containers. Lines reach the event loop through a bounded channel (the reading thread waits
when the loop falls behind). A stream ends when the container stops, restarts or its log
rotates; the reader reconnects with ``since`` and skips what it already delivered.

The resume position is ``d1:<container id>:<timestamp ns>:<lines at that timestamp>``: Docker
stamps lines in nanoseconds, and a burst of lines can share a microsecond, so the position keeps
the nanosecond stamp and how many lines with exactly that stamp were delivered.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import ipaddress
import logging
import shutil
import threading
import time
import urllib.parse
from collections.abc import AsyncGenerator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import docker
import docker.errors
import requests
import urllib3.exceptions

from collectors.clock import Clock
from collectors.models.logs import Role, SourceRef
from collectors.parsing.decode import Framing, parse_rfc3339_us
from collectors.parsing.docker_stream import ChunkedBodyError, EngineLogDecoder, StampedLine
from collectors.settings import FARMER_IMAGES, NODE_IMAGES, DockerHost

log = logging.getLogger(__name__)

_POSITION_TAG = "d1"
DEFAULT_BATCH_LINES = 5000
MAX_RETRY_SECONDS = 60.0
# Backlog of a TTY container: bulk reads of about this much, over windows of this many seconds.
# Large, because the daemon scans its log file from the start for every window.
WINDOW_BYTES = 32 * 1024 * 1024
WINDOW_SECONDS = 600.0
MAX_WINDOW_SECONDS = 7 * 86400.0
# Errors that mean "Docker is not there right now" rather than "this container is missing".
_UNREACHABLE = (docker.errors.DockerException, requests.RequestException, OSError)

T = TypeVar("T")


# --- positions and images ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DockerPosition:
    container_id: str
    ts_ns: int
    lines_at_ts: int

    def encode(self) -> str:
        return f"{_POSITION_TAG}:{self.container_id}:{self.ts_ns}:{self.lines_at_ts}"

    @classmethod
    def decode(cls, text: str | None) -> DockerPosition | None:
        if not text:
            return None
        parts = text.split(":")
        if len(parts) != 4 or parts[0] != _POSITION_TAG or not parts[1]:
            return None
        try:
            ts_ns, count = int(parts[2]), int(parts[3])
        except ValueError:
            return None
        return cls(parts[1], ts_ns, count) if ts_ns >= 0 and count >= 0 else None


def image_repository(image: str) -> str:
    """``docker.io/subspace/farmer:tag@sha256:…`` -> ``subspace/farmer`` (tag and digest gone)."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    for prefix in ("docker.io/", "index.docker.io/", "registry-1.docker.io/"):
        name = name.removeprefix(prefix)
    return name.lower()


def role_of_image(image: str) -> Role | None:
    repository = image_repository(image)
    if repository in FARMER_IMAGES:
        return "farmer"
    if repository in NODE_IMAGES:
        return "node"
    return None


_CLUSTER_ROLES: dict[str, Role] = {
    "controller": "controller",
    "cache": "cache",
    "plotter": "plotter",
    "farmer": "farmer",
}


def cluster_role_of_command(command: str) -> Role | None:
    """``subspace-farmer cluster --nats-server … plotter …`` -> ``plotter``; None otherwise.

    The subcommand is the first word after ``cluster`` that is not an option or an option's
    value (the shared options, ``--nats-server`` and ``--prometheus-listen-on``, take values).
    """
    words = command.split()
    if "cluster" not in words:
        return None
    rest = iter(words[words.index("cluster") + 1 :])
    for word in rest:
        if word.startswith("--"):
            if "=" not in word:
                next(rest, None)
            continue
        return _CLUSTER_ROLES.get(word)
    return None


@dataclass(frozen=True, slots=True)
class FoundContainer:
    id: str
    name: str
    image: str
    role: Role
    running: bool
    created: int
    cluster: bool = False  # a farming-cluster component (by its command)


# --- reachability -----------------------------------------------------------------------------


def describe_unreachable(base_url: str, exc: BaseException) -> str:
    """A farmer-readable reason why Docker cannot be used."""
    text = f"{exc}"
    if "FileNotFoundError" in text or isinstance(exc, FileNotFoundError):
        reason = (
            "its socket does not exist: is Docker running? (in a container, mount it with "
            "-v /var/run/docker.sock:/var/run/docker.sock)"
        )
    elif "PermissionError" in text or isinstance(exc, PermissionError):
        reason = "permission denied on its socket: add the user running cosmos to the docker group"
    elif "Connection refused" in text or isinstance(exc, ConnectionRefusedError):
        reason = "connection refused: is the Docker daemon running and listening there?"
    else:
        reason = text or type(exc).__name__
    return f"Docker at {base_url} is not reachable: {reason}"


class HostReachability:
    """Says once that a Docker host went away and once that it came back (shared per host)."""

    def __init__(self, base_url: str, retry_seconds: float) -> None:
        self.base_url = base_url
        self.retry_seconds = retry_seconds
        self.error: str | None = None
        self._lock = threading.Lock()

    def down(self, exc: BaseException) -> str:
        message = describe_unreachable(self.base_url, exc)
        with self._lock:
            first = self.error is None
            self.error = message
        if first:
            log.warning("%s; cosmos goes on and keeps retrying", message)
        return message

    def up(self) -> None:
        with self._lock:
            was_down, self.error = self.error is not None, None
        if was_down:
            log.info("Docker at %s is reachable again", self.base_url)


def uses_ssh_client(base_url: str) -> bool:
    """ssh:// through the system ssh client when there is one (it honours ~/.ssh/config and the
    agent); paramiko otherwise. The SDK imports paramiko either way."""
    return base_url.startswith("ssh://") and shutil.which("ssh") is not None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it may resolve anywhere


def plaintext_warning(base_url: str) -> str | None:
    """What to say about a Docker API reached without TLS (tcp://, http://) off this machine."""
    url = urllib.parse.urlsplit(base_url)
    if url.scheme not in ("tcp", "http") or _is_loopback(url.hostname or ""):
        return None
    return (
        f"Docker at {base_url} is reached without TLS: whoever can reach that port can read it"
        " (and, unless it is a read-only socket proxy, control Docker there); prefer"
        " ssh://user@host, or keep the port on a private network"
    )


def _connect(base_url: str, timeout: float) -> docker.DockerClient:
    return docker.DockerClient(
        base_url=base_url,
        version="auto",
        timeout=timeout,
        use_ssh_client=uses_ssh_client(base_url),
    )


# --- finding containers -----------------------------------------------------------------------

COMPOSE_SERVICE_LABEL = "com.docker.compose.service"


class DockerDiscovery:
    """Finds a host's node and farmer containers: by configured name, else by image."""

    def __init__(self, host: DockerHost, reachability: HostReachability, timeout: float = 30.0):
        self.host = host
        self.reachability = reachability
        self.timeout = timeout
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"docker-find-{host.host}"
        )
        self._client: docker.DockerClient | None = None  # used only on the executor's thread
        # Containers found to be farming-cluster components (their logs carry the cluster name).
        self.cluster_names: set[str] = set()

    def configured(self) -> dict[Role, str]:
        names: dict[Role, str] = {}
        if self.host.farmer_container:
            names["farmer"] = self.host.farmer_container
        if self.host.node_container:
            names["node"] = self.host.node_container
        return names

    async def targets(self) -> dict[Role, list[str]]:
        """Container names to follow per role. Raises when Docker is unreachable.

        A configured name is a container's name or a Compose service's (Compose v2 names the
        container ``<project>-farmer-1``; its ``com.docker.compose.service`` label says
        ``farmer``). A name that matches nothing yet is kept, to be waited for. Farming-cluster
        containers are found by their command, or named in ``cluster_containers``.
        """
        loop = asyncio.get_running_loop()
        configured = self.configured()
        found: dict[Role, list[str]] = {}
        if configured:
            found = await loop.run_in_executor(self._executor, self._resolve_blocking, configured)
        named = {n for names in found.values() for n in names} | set(self.host.cluster_containers)
        for name, role in self.host.cluster_containers.items():
            found.setdefault(role, []).append(name)
            self.cluster_names.add(name)
        if "farmer" in configured and "node" in configured:
            return found  # everything named: nothing to look for
        listed = await loop.run_in_executor(self._executor, self._list_blocking)
        containers = [c for c in listed if c.name not in named]
        self.cluster_names.update(c.name for c in containers if c.cluster)
        roles: tuple[Role, ...] = ("farmer", "node", "controller", "cache", "plotter")
        for role in roles:
            if role in configured:
                continue
            mine = [c for c in containers if c.role == role]
            running = [c.name for c in mine if c.running]
            if running:
                found[role] = sorted([*found.get(role, []), *running])
            elif mine and role not in found:
                # Only stopped ones: read the newest, to catch it when it starts again.
                found[role] = [max(mine, key=lambda c: c.created).name]
        return found

    def _resolve_blocking(self, configured: dict[Role, str]) -> dict[Role, list[str]]:
        try:
            if self._client is None:
                self._client = _connect(self.host.base_url, self.timeout)
            summaries = self._client.api.containers(all=True)
        except _UNREACHABLE as exc:
            self._drop_client()
            raise DockerUnavailableError(self.reachability.down(exc)) from None
        self.reachability.up()
        names = {str(n).lstrip("/") for c in summaries for n in c.get("Names") or []}
        found: dict[Role, list[str]] = {}
        for role, name in configured.items():
            if name in names:
                found[role] = [name]
                continue
            service = [
                c
                for c in summaries
                if (c.get("Labels") or {}).get(COMPOSE_SERVICE_LABEL) == name and c.get("Names")
            ]
            running = [
                str(c["Names"][0]).lstrip("/") for c in service if c.get("State") == "running"
            ]
            if running:
                found[role] = sorted(running)
            elif service:  # only stopped ones: the newest, to catch it when it starts again
                newest = max(service, key=lambda c: int(c.get("Created", 0)))
                found[role] = [str(newest["Names"][0]).lstrip("/")]
            else:
                found[role] = [name]
        return found

    def _list_blocking(self) -> list[FoundContainer]:
        try:
            if self._client is None:
                self._client = _connect(self.host.base_url, self.timeout)
            api = self._client.api
            found: list[FoundContainer] = []
            for summary in api.containers(all=True):
                image = str(summary.get("Image", ""))
                if image.startswith("sha256:"):  # the tag moved on: the config keeps the name
                    image = str(api.inspect_container(summary["Id"])["Config"]["Image"])
                role = role_of_image(image)
                cluster_role = (
                    cluster_role_of_command(str(summary.get("Command") or ""))
                    if role == "farmer"
                    else None
                )
                names = summary.get("Names") or []
                if role is None or not names:
                    continue
                found.append(
                    FoundContainer(
                        id=str(summary["Id"]),
                        name=str(names[0]).lstrip("/"),
                        image=image,
                        role=cluster_role or role,
                        running=summary.get("State") == "running",
                        created=int(summary.get("Created", 0)),
                        cluster=cluster_role is not None,
                    )
                )
        except docker.errors.NotFound:
            return []  # removed while we looked; the next round sees the new state
        except _UNREACHABLE as exc:
            self._drop_client()
            raise DockerUnavailableError(self.reachability.down(exc)) from None
        self.reachability.up()
        return found

    def _drop_client(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            _close_quietly(client)

    def close(self) -> None:
        self._executor.submit(self._drop_client)
        self._executor.shutdown(wait=False)


class DockerUnavailableError(RuntimeError):
    """Docker cannot be reached; the message says why in plain words."""


# --- the thread -> loop channel ---------------------------------------------------------------


class _Channel(Generic[T]):
    """A bounded hand-over from one producer thread to the event loop.

    Each item has a weight (the lines of a batch); the producer blocks while ``max_weight``
    is waiting. The loop is woken with ``call_soon_threadsafe`` only when the channel goes
    from empty to non-empty.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, max_weight: int) -> None:
        self._loop = loop
        self._max = max_weight
        self._items: collections.deque[tuple[T, int]] = collections.deque()
        self._weight = 0
        self._cond = threading.Condition()
        self._ready = asyncio.Event()
        self._closed = False

    def put(self, item: T, weight: int = 1) -> bool:
        """Producer side; False once the consumer is gone."""
        with self._cond:
            while self._weight >= self._max and not self._closed:
                self._cond.wait(0.5)
            if self._closed:
                return False
            wake = not self._items
            self._items.append((item, weight))
            self._weight += weight
        if wake:
            try:
                self._loop.call_soon_threadsafe(self._ready.set)
            except RuntimeError:  # the loop is closed: nobody is listening any more
                self.close()
                return False
        return True

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _take(self, limit: int, *, one_at_least: bool) -> tuple[list[T], int]:
        """Whole items while their weight stays within ``limit``."""
        taken: list[T] = []
        weight = 0
        with self._cond:
            items = self._items
            while items and (weight + items[0][1] <= limit or (one_at_least and not taken)):
                item, w = items.popleft()
                taken.append(item)
                weight += w
            self._weight -= weight
            if not items:
                self._ready.clear()
            self._cond.notify_all()
        return taken, weight

    async def get(
        self, limit: int, first_wait: float, gather_wait: float, quiet: float = 0.05
    ) -> list[T]:
        """Items weighing up to about ``limit``: wait ``first_wait`` for one, then gather more
        for up to ``gather_wait``, but only while the producer is busy: once nothing has come
        for ``quiet`` seconds (a backlog read to its end, a lone live line) the batch goes."""
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
        # arrives just as the event is set, and the reading task would then never stop.
        try:
            async with asyncio.timeout(first_wait):
                await self._ready.wait()
        except TimeoutError:
            return []
        items, weight = self._take(limit, one_at_least=True)
        deadline = self._loop.time() + gather_wait
        while weight < limit:
            left = deadline - self._loop.time()
            if left <= 0:
                break
            try:
                async with asyncio.timeout(min(left, quiet)):
                    await self._ready.wait()
            except TimeoutError:
                break
            more, more_weight = self._take(limit - weight, one_at_least=False)
            if not more:
                break  # the next one does not fit: this batch is full
            items.extend(more)
            weight += more_weight
        return items


# --- following one container ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Notice:
    """What the reading thread tells the loop besides lines."""

    state: str  # "connected", "ended", "waiting", "unreachable", "failed"
    detail: str = ""


_Item = list[StampedLine] | _Notice  # lines go over in batches: one hand-over per read


class DockerContainerSource:
    """One container's log (found by name on one host), as batches of :class:`StampedLine`."""

    def __init__(
        self,
        ref: SourceRef,
        base_url: str,
        container: str,
        *,
        reachability: HostReachability | None = None,
        clock: Clock | None = None,
        max_line_bytes: int = 65536,
        reconnect_seconds: float = 5.0,
        batch_lines: int = DEFAULT_BATCH_LINES,
        batch_seconds: float = 0.5,
        # Per source: 50 sources backfilling at once held ~400 MB at 20,000 (bench_many_hosts).
        queue_lines: int = 2_000,
        timeout: float = 30.0,
    ) -> None:
        self.ref = ref
        self.base_url = base_url
        self.container = container
        self.reachability = reachability or HostReachability(base_url, reconnect_seconds)
        self.clock = clock
        self.max_line_bytes = max_line_bytes
        self.reconnect_seconds = reconnect_seconds
        self.batch_lines = batch_lines
        self.batch_seconds = batch_seconds
        self.queue_lines = queue_lines
        self.timeout = timeout
        self.backfilling = True
        self.state = "starting"
        self.detail = ""
        self.last_ts_ns: int | None = None

    def problem(self) -> str | None:
        """What keeps this source from reading, if anything (for ``cosmos status``)."""
        return self.detail if self.state in ("waiting", "unreachable") else None

    def describe_left(self) -> str | None:
        if self.clock is None or self.last_ts_ns is None:
            return None
        left = max(0.0, self.clock.now_us() / 1e6 - self.last_ts_ns / 1e9)
        return f"{_span(left)} of log left"

    async def batches(self, position: str | None) -> AsyncGenerator[list[StampedLine], None]:
        """Lines after ``position`` (all of the container's log without one), forever.

        An empty batch is a heartbeat: the source is alive and has nothing new.
        """
        self.backfilling = True
        resume = DockerPosition.decode(position)
        if position and resume is None:
            log.warning(
                "%s: stored position %r is not understood; reading the whole log",
                self.ref.key,
                position,
            )
        channel: _Channel[_Item] = _Channel(asyncio.get_running_loop(), self.queue_lines)
        reader = _Reader(self, resume, channel)
        thread = threading.Thread(
            target=reader.run, name=f"docker-logs-{self.ref.key}", daemon=True
        )
        thread.start()
        try:
            while True:
                items = await channel.get(self.batch_lines, 1.0, self.batch_seconds)
                lines: list[StampedLine] = []
                for item in items:
                    if isinstance(item, _Notice):
                        self._notice(item)
                    else:
                        lines.extend(item)
                if lines:
                    self.last_ts_ns = (lines[-1].received_us or 0) * 1000 or self.last_ts_ns
                    yield lines
                elif not items and self.state != "starting":
                    self.backfilling = False  # nothing waiting: caught up
                    yield []  # a heartbeat
        finally:
            reader.stop()
            channel.close()

    def _notice(self, notice: _Notice) -> None:
        self.state, self.detail = notice.state, notice.detail
        if notice.state == "failed":
            raise RuntimeError(f"the Docker log reader for {self.ref.key} failed: {notice.detail}")


def _span(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172_800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


class _NoSuchName(LookupError):
    """No container has this exact name (Docker matched something else, e.g. an id prefix)."""


class _Reader:
    """The blocking side: owns one Docker client on its own thread; reconnects forever."""

    def __init__(
        self, source: DockerContainerSource, resume: DockerPosition | None, channel: _Channel[_Item]
    ) -> None:
        self.source = source
        self.resume = resume
        self.channel = channel
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._stream: Any = None
        self._client: docker.DockerClient | None = None
        self._missing_logged = False
        self._read_run: tuple[str, str] | None = None  # (id, StartedAt) read to its end

    def stop(self) -> None:
        """From the loop: ask the thread to end and cut a blocking read short."""
        self._stop.set()
        with self._lock:
            stream = self._stream
        if stream is not None:
            _close_quietly(stream)

    def _say(self, state: str, detail: str = "") -> bool:
        return self.channel.put(_Notice(state, detail))

    def run(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # a bug, not an outage: let the loop side restart us
            log.exception("the Docker log reader for %s failed", self.source.ref.key)
            self._say("failed", f"{type(exc).__name__}: {exc}")
        finally:
            if self._client is not None:
                _close_quietly(self._client)

    def _loop(self) -> None:
        src = self.source
        delay = src.reconnect_seconds
        while not self._stop.is_set():
            try:
                if self._client is None:
                    self._client = _connect(src.base_url, src.timeout)
                src.reachability.up()
                delay = src.reconnect_seconds
                self._follow_once(self._client.api)
            except (docker.errors.NotFound, _NoSuchName):
                if not self._missing_logged:
                    log.warning(
                        "%s: no container named %r on %s yet; waiting for it",
                        src.ref.key,
                        src.container,
                        src.base_url,
                    )
                    self._missing_logged = True
                self._say("waiting", f"no container named {src.container!r}")
            except _UNREACHABLE as exc:
                if self._stop.is_set():
                    break
                self._say("unreachable", src.reachability.down(exc))
                if self._client is not None:
                    _close_quietly(self._client)
                    self._client = None
                delay = min(MAX_RETRY_SECONDS, delay * 2)
                self._stop.wait(delay)
                continue
            self._stop.wait(src.reconnect_seconds)

    def _follow_once(self, api: Any) -> bool:
        """Read the container's log from the resume point until the stream ends."""
        src = self.source
        info = api.inspect_container(src.container)
        if str(info.get("Name", "")).lstrip("/") != src.container:
            # Docker also resolves a unique id prefix: "f" or "abc" may name another container.
            raise _NoSuchName(src.container)
        if self._missing_logged:
            log.info("%s: container %r found", src.ref.key, src.container)
            self._missing_logged = False
        container_id = str(info["Id"])
        state = info.get("State") or {}
        run = (container_id, str(state.get("StartedAt", "")))
        if self.resume is not None and self.resume.container_id != container_id:
            log.info(
                "%s: container %r was recreated (id %s, was %s); reading its log from the start",
                src.ref.key,
                src.container,
                container_id[:12],
                self.resume.container_id[:12],
            )
            self.resume = None
        if not state.get("Running", False) and run == self._read_run:
            return False  # stopped, and its log already read: look again later
        if (info.get("Config") or {}).get("Tty"):
            self._say("connected", container_id)
            created_us = parse_rfc3339_us(str(info.get("Created", ""))) or 0
            self._backfill_in_windows(api, container_id, created_us / 1e6)
        since = max(1, self.resume.ts_ns // 1_000_000_000) if self.resume else None
        stream = api.logs(
            container_id,
            stdout=True,
            stderr=True,
            stream=True,
            follow=True,
            timestamps=True,
            since=since,
        )
        with self._lock:
            self._stream = stream
        if self._stop.is_set():
            _close_quietly(stream)
            return False
        self._say("connected", container_id)
        tty = bool((info.get("Config") or {}).get("Tty"))
        framing = Framing.PLAIN if tty else Framing.DOCKER_FRAMES
        try:
            body = _response_body(api, stream)
            if body is None:  # not the SDK's usual response: its own reader, payloads only
                self._pump(stream, container_id, Framing.PLAIN, chunked=False)
            else:
                reads, chunked = body
                self._pump(reads, container_id, framing, chunked=chunked)
        except ChunkedBodyError as exc:
            # Not what a daemon sends (a proxy in between?): read again from the last line.
            log.warning(
                "%s: the log stream broke off (%s); reading on from the last line", src.ref.key, exc
            )
        finally:
            with self._lock:
                self._stream = None
            _close_quietly(stream)
        self._read_run = run
        self._say("ended", container_id)
        return True

    def _backfill_in_windows(self, api: Any, container_id: str, created_s: float) -> None:
        """A TTY log streams through the SDK a byte at a time (about 5,000 lines/s); read its
        backlog in bulk instead (about 60,000 lines/s), in time windows sized to about
        ``WINDOW_BYTES`` each, up to a moment ago. A non-TTY log streams in frames, fast enough,
        and is read in one pass, which spares the daemon a scan per window."""
        window = WINDOW_SECONDS
        since: float | None = self.resume.ts_ns / 1e9 if self.resume else None
        lower = since if since is not None else created_s
        # A fixed end: a moving one is never reached (each read takes time) and the loop spun
        # on 2 ms windows forever instead of following; the follow stream reads on from here.
        horizon = time.time() - 2.0
        while not self._stop.is_set():
            if lower >= horizon:
                return
            upper = min(lower + window, horizon)
            data = api.logs(
                container_id,
                stdout=True,
                stderr=True,
                stream=False,
                follow=False,
                timestamps=True,
                since=max(1.0, since) if since is not None else None,
                until=upper,
            )
            self._pump([data], container_id, Framing.PLAIN, chunked=False)
            if len(data) > WINDOW_BYTES:
                window = max(1.0, window / 2)
            elif len(data) < WINDOW_BYTES // 4:
                window = min(window * 2, MAX_WINDOW_SECONDS)
            lower = since = upper

    def _pump(
        self, chunks: Iterable[bytes], container_id: str, framing: Framing, *, chunked: bool
    ) -> None:
        """Decode the body and hand its lines over, a batch per read. ``chunked``: the bytes
        still carry HTTP's chunk framing (read off the socket), else they are the payload."""
        resume = self.resume
        decoder = EngineLogDecoder(
            framing,
            chunked=chunked,
            where=f"{_POSITION_TAG}:{container_id}:",
            max_line_bytes=self.source.max_line_bytes,
            after=(resume.ts_ns, resume.lines_at_ts) if resume else None,
        )
        step = max(1, min(self.source.batch_lines, self.source.queue_lines))
        pending = bytearray()
        for chunk in chunks:
            if self._stop.is_set():
                return
            data = chunk
            # The SDK's TTY reader gives a byte at a time: decode whole lines, not bytes.
            if not chunked and (pending or (len(chunk) < 65536 and b"\n" not in chunk)):
                pending += chunk
                if b"\n" not in chunk and len(pending) < 65536:
                    continue
                data, pending = bytes(pending), bytearray()
            # A bulk read (a TTY backlog window) is decoded a slice at a time: bounded memory.
            for at in range(0, len(data), _DECODE_BYTES):
                piece = data[at : at + _DECODE_BYTES] if len(data) > _DECODE_BYTES else data
                lines: list[StampedLine] = decoder.feed(piece)
                if lines:
                    last = lines[-1]
                    self.resume = DockerPosition(container_id, last.ts_ns, last.nth)
                    # Never more than a batch or the queue's bound in one hand-over.
                    for start in range(0, len(lines), step):
                        part = lines[start : start + step] if len(lines) > step else lines
                        if not self.channel.put(part, len(part)):
                            return
            if decoder.ended:
                return  # the last chunk: the daemon ended the stream


_DECODE_BYTES = 1 << 20


def _response_body(api: Any, stream: Any) -> tuple[Iterator[bytes], bool] | None:
    """The body of a streamed logs response, a read at a time, and whether it still carries
    HTTP's chunk framing.

    The SDK's reader returns one frame per call with two reads each, and urllib3 yields one
    HTTP chunk per step, while dockerd sends a chunk per log line: about 6x slower than reading
    a file. So the socket is read in bulk and :class:`EngineLogDecoder` undoes the chunking and
    the frames in one pass. A connection file without ``read1`` (paramiko's) is read through
    urllib3, chunk by chunk. The socket's timeout is lifted as the SDK does for a follow
    stream. None when the response is not the SDK's usual chunked one (then its reader is used).
    """
    response = getattr(stream, "_response", None)
    raw = getattr(response, "raw", None)
    if raw is None or not getattr(raw, "chunked", False):
        return None
    try:
        api._disable_socket_timeout(api._get_raw_response_socket(response))
    except (AttributeError, TypeError):
        return None
    connection_file = getattr(getattr(raw, "_fp", None), "fp", None)
    if callable(getattr(connection_file, "read1", None)):
        return _read_socket(connection_file), True
    return _read_chunks(raw), False


def _read_socket(connection_file: Any) -> Iterator[bytes]:
    """What the socket has, up to 64 KiB a read; a read waits only when it has nothing."""
    while True:
        try:
            data = connection_file.read1(65536)
        except (OSError, ValueError):  # closed under us (stopped), or the daemon went
            return
        if not data:
            return
        yield data


def _read_chunks(raw: Any) -> Iterator[bytes]:
    try:
        yield from raw.stream(65536, decode_content=False)
    except urllib3.exceptions.ProtocolError:
        return  # closed mid-body (stopped, or the daemon went): the stream ended, as for the SDK


def _close_ssh_channel(stream: Any) -> None:
    """A log stream over the system ssh client: the SDK's close() cannot find its socket, so
    the ssh process would live on (and be written to at exit, long after it died)."""
    raw = getattr(getattr(stream, "_response", None), "raw", None)
    channel: Any = getattr(getattr(getattr(raw, "_fp", None), "fp", None), "channel", None)
    proc: Any = getattr(channel, "proc", None)
    if proc is not None and not proc.stdin.closed:
        channel.close()  # ends the remote dial-stdio and terminates ssh
        proc.stdin.close()  # so that the SDK's own close later does nothing


def _close_quietly(closable: Any) -> None:
    try:
        _close_ssh_channel(closable)
        closable.close()
    except Exception:  # a half-dead socket may refuse to close; it is dropped either way
        log.debug("closing a Docker stream or client failed", exc_info=True)


def follow_key(host: str, role: Role, container: str) -> str:
    return f"docker:{host}:{role}:{container}"


__all__ = [
    "DockerContainerSource",
    "DockerDiscovery",
    "DockerPosition",
    "DockerUnavailableError",
    "HostReachability",
    "describe_unreachable",
    "follow_key",
    "image_repository",
    "role_of_image",
]
