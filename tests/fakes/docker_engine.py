"""A fake Docker Engine API on a Unix socket, for driving the real ``docker`` SDK in tests.

It implements what the SDK calls to find containers and read their logs: ``/_ping``,
``/version`` (API version negotiation), ``/containers/json``, ``/containers/{id}/json`` and
``/containers/{id}/logs`` with ``follow``, ``since``, ``until``, ``tail``, ``timestamps``,
``stdout``/``stderr``: multiplexed 8-byte frames for non-TTY containers, raw bytes for TTY ones.
As dockerd does (``httputils.WriteLogStream`` flushes after every message), each log message is
an HTTP chunk of its own; the chunks are written to the socket in bulk so the fake keeps up.

The server runs on its own event loop in a background thread, so both blocking test code and
async tests can drive it; every helper method is thread-safe. A follow stream ends when the
test stops, restarts or removes the container, as with a real daemon.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import struct
import tempfile
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.http_writer import StreamWriter

API_VERSION = "1.45"
MIN_API_VERSION = "1.24"

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class LogEntry:
    ts_ns: int
    stream: int  # 1 stdout, 2 stderr
    data: bytes  # one line including its newline (or a part of an over-long line)
    # ``timestamps=1``'s form, rendered once: formatting it per request made the fake, not
    # the client, the slow end of a backlog read (bench_speed compares against files).
    stamped: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "stamped", _rfc3339(self.ts_ns).encode() + b" " + self.data)


@dataclass(slots=True)
class FakeContainer:
    id: str
    name: str
    image: str
    tty: bool = False
    running: bool = True
    created: int = field(default_factory=lambda: int(time.time()))
    started_at_ns: int = field(default_factory=time.time_ns)
    logs: list[LogEntry] = field(default_factory=list)
    # Bumped on every stop/restart/remove: open follow streams of an older run end.
    run: int = 0
    removed: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    command: str = "/subspace"  # what ``docker ps`` shows (entrypoint and arguments)

    def summary(self) -> dict[str, Any]:
        return {
            "Id": self.id,
            "Names": [f"/{self.name}"],
            "Image": self.image,
            "ImageID": "sha256:" + self.id[::-1],
            "Command": self.command,
            "Created": self.created,
            "State": "running" if self.running else "exited",
            "Status": "Up 1 second" if self.running else "Exited (0) 1 second ago",
            "Labels": dict(self.labels),
        }

    def inspect(self) -> dict[str, Any]:
        return {
            "Id": self.id,
            "Name": f"/{self.name}",
            "Created": _rfc3339(self.created * 1_000_000_000),
            "Image": "sha256:" + self.id[::-1],
            "Config": {"Image": self.image, "Tty": self.tty, "Labels": dict(self.labels)},
            "State": {
                "Status": "running" if self.running else "exited",
                "Running": self.running,
                "StartedAt": _rfc3339(self.started_at_ns),
            },
            "HostConfig": {"LogConfig": {"Type": "json-file", "Config": {}}},
        }


def _rfc3339(ts_ns: int) -> str:
    """Docker's RFC3339NanoFixed: always 9 fractional digits, UTC ``Z``."""
    seconds, nanos = divmod(ts_ns, 1_000_000_000)
    stamp = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{nanos:09d}Z"


def _parse_since(value: str) -> int:
    """``since``/``until`` as the SDK sends them: unix seconds, possibly fractional -> ns."""
    seconds, _, fraction = value.partition(".")
    nanos = int((fraction + "000000000")[:9]) if fraction else 0
    return int(seconds) * 1_000_000_000 + nanos


class FakeDockerEngine:
    """Start with :meth:`start` (or use as a context manager); ``base_url`` is for the SDK."""

    def __init__(self, socket_dir: Path | None = None, *, tcp: bool = False) -> None:
        # A Unix socket path must stay under ~107 bytes; pytest's tmp_path can be longer.
        if socket_dir is None or len(str(socket_dir)) > 80:
            socket_dir = Path(tempfile.mkdtemp(prefix="fakedocker-"))
        self.socket_path = socket_dir / "docker.sock"
        # A remote Engine (``tcp://127.0.0.1:<port>``) instead of the socket; the port is kept
        # across go_down()/start().
        self.tcp = tcp
        self.port = 0
        self.containers: dict[str, FakeContainer] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._changed: asyncio.Condition | None = None
        self._last_ts_ns = 0
        # Sent after the backlog of the next logs responses (counted down): bytes that break
        # the chunked coding, as a misbehaving proxy in front of the daemon might.
        self.broken_bodies = 0

    # --- lifecycle ------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self.tcp:
            return f"tcp://127.0.0.1:{self.port}"
        return f"unix://{self.socket_path}"

    def start(self) -> FakeDockerEngine:
        """Start the server thread (or bring the socket back after :meth:`go_down`)."""
        if self._loop is None:
            ready = threading.Event()

            def serve() -> None:
                loop = asyncio.new_event_loop()
                self._loop = loop
                asyncio.set_event_loop(loop)
                ready.set()
                loop.run_forever()
                loop.close()

            self._thread = threading.Thread(target=serve, name="fake-docker", daemon=True)
            self._thread.start()
            ready.wait()
        self._call(self._start_site())
        return self

    def go_down(self) -> None:
        """Docker is down: close the socket (open streams are cut) and remove the socket file."""
        self._call(self._stop_site())

    def close(self) -> None:
        if self._loop is None:
            return
        self._call(self._stop_site())
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._loop = None

    def __enter__(self) -> FakeDockerEngine:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._loop is None:
            coro.close()
            raise RuntimeError("the fake Docker engine is not started")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)

    async def _start_site(self) -> None:
        if self._runner is not None:
            return
        self._changed = self._changed or asyncio.Condition()
        app = web.Application()
        app.router.add_get("/_ping", self._ping)
        app.router.add_get("/version", self._version)
        app.router.add_get("/v{api}/_ping", self._ping)
        app.router.add_get("/v{api}/version", self._version)
        app.router.add_get("/v{api}/containers/json", self._list)
        app.router.add_get("/v{api}/containers/{ref}/json", self._inspect)
        app.router.add_get("/v{api}/containers/{ref}/logs", self._logs)
        runner = web.AppRunner(app, shutdown_timeout=1.0)
        await runner.setup()
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        if self.tcp:
            site = web.TCPSite(runner, "127.0.0.1", self.port, reuse_address=True)
            await site.start()
            server = site._server
            if self.port == 0 and server is not None:
                self.port = int(server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        else:
            await web.UnixSite(runner, str(self.socket_path)).start()
        self._runner = runner

    async def _stop_site(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await self._notify()
            await runner.cleanup()
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()

    async def _notify(self) -> None:
        if self._changed is not None:
            async with self._changed:
                self._changed.notify_all()

    def _mutate(self) -> None:
        """Wake the follow streams after a change made under the lock."""
        if self._loop is not None:
            asyncio.run_coroutine_threadsafe(self._notify(), self._loop).result(timeout=30)

    # --- test helpers (thread-safe) --------------------------------------------------------

    def add_container(
        self,
        name: str,
        image: str = "ghcr.io/autonomys/farmer:latest",
        *,
        tty: bool = False,
        running: bool = True,
        labels: dict[str, str] | None = None,
        command: str = "/subspace",
    ) -> FakeContainer:
        container = FakeContainer(
            secrets.token_hex(32),
            name,
            image,
            tty=tty,
            running=running,
            labels=labels or {},
            command=command,
        )
        with self._lock:
            self.containers[container.id] = container
        return container

    def get(self, ref: str) -> FakeContainer:
        with self._lock:
            found = self._find(ref)
        if found is None:
            raise KeyError(ref)
        return found

    def _next_ts(self, ts_ns: int | None) -> int:
        stamp = ts_ns if ts_ns is not None else max(time.time_ns(), self._last_ts_ns + 1)
        self._last_ts_ns = max(self._last_ts_ns, stamp)
        return stamp

    def append(self, ref: str, *lines: str, stream: int = 1, ts_ns: int | None = None) -> list[int]:
        """Log lines (without newline) as the container's process would; return their stamps."""
        stamps: list[int] = []
        with self._lock:
            container = self._find(ref)
            if container is None:
                raise KeyError(ref)
            ending = b"\r\n" if container.tty else b"\n"
            for line in lines:
                stamp = self._next_ts(ts_ns)
                container.logs.append(LogEntry(stamp, stream, line.encode() + ending))
                stamps.append(stamp)
        self._mutate()
        return stamps

    def append_entry(self, ref: str, line: str, ts_ns: int, *, stream: int = 1) -> None:
        """Like :meth:`append` for one line, without waking the followers (bulk set-up);
        call :meth:`flush` after."""
        with self._lock:
            container = self._require(ref)
            ending = b"\r\n" if container.tty else b"\n"
            container.logs.append(LogEntry(self._next_ts(ts_ns), stream, line.encode() + ending))

    def flush(self) -> None:
        """Wake the follow streams after :meth:`append_entry`."""
        self._mutate()

    def append_raw(
        self, ref: str, data: bytes, *, stream: int = 1, ts_ns: int | None = None
    ) -> int:
        """One log message as given (e.g. part of a line without its newline)."""
        with self._lock:
            container = self._find(ref)
            if container is None:
                raise KeyError(ref)
            stamp = self._next_ts(ts_ns)
            container.logs.append(LogEntry(stamp, stream, data))
        self._mutate()
        return stamp

    def stop(self, ref: str) -> None:
        with self._lock:
            container = self._require(ref)
            container.running = False
            container.run += 1
        self._mutate()

    def restart(self, ref: str) -> None:
        """Stop and start: the log is kept, open follow streams end."""
        with self._lock:
            container = self._require(ref)
            container.running = True
            container.run += 1
            container.started_at_ns = time.time_ns()
        self._mutate()

    def remove(self, ref: str) -> None:
        with self._lock:
            container = self._require(ref)
            container.removed = True
            container.running = False
            container.run += 1
            del self.containers[container.id]
        self._mutate()

    def recreate(self, ref: str, image: str | None = None) -> FakeContainer:
        """``docker compose up`` after a change: same name, new id, empty log."""
        with self._lock:
            old = self._require(ref)
        self.remove(old.id)
        return self.add_container(old.name, image or old.image, tty=old.tty)

    def log_requests(self, ref: str | None = None) -> list[dict[str, str]]:
        """The query parameters of every logs request (of one container, by name or id)."""
        with self._lock:
            found = [q for path, q in self.requests if path.endswith("/logs")]
            if ref is None:
                return found
            container = self._find(ref)
            ids = {ref} | ({container.id, container.name} if container else set())
            return [q for q in found if q["_ref"] in ids]

    def _require(self, ref: str) -> FakeContainer:
        found = self._find(ref)
        if found is None:
            raise KeyError(ref)
        return found

    def _find(self, ref: str) -> FakeContainer | None:
        ref = ref.lstrip("/")
        for container in self.containers.values():
            if ref in (container.id, container.name):
                return container
        matches = [c for c in self.containers.values() if c.id.startswith(ref)]
        return matches[0] if len(matches) == 1 else None

    # --- the Engine API ---------------------------------------------------------------------

    def _record(self, request: web.Request) -> None:
        query = dict(request.query)
        query["_ref"] = request.match_info.get("ref", "")
        with self._lock:
            self.requests.append((request.path, query))

    @staticmethod
    def _headers() -> dict[str, str]:
        return {"Api-Version": API_VERSION, "Server": "Docker/27.0.0 (linux)", "Ostype": "linux"}

    async def _ping(self, request: web.Request) -> web.Response:
        self._record(request)
        return web.Response(text="OK", headers=self._headers())

    async def _version(self, request: web.Request) -> web.Response:
        self._record(request)
        return web.json_response(
            {
                "Version": "27.0.0",
                "ApiVersion": API_VERSION,
                "MinAPIVersion": MIN_API_VERSION,
                "Os": "linux",
                "Arch": "amd64",
            },
            headers=self._headers(),
        )

    @staticmethod
    def _not_found(ref: str) -> web.Response:
        return web.json_response({"message": f"No such container: {ref}"}, status=404)

    async def _list(self, request: web.Request) -> web.Response:
        self._record(request)
        show_all = request.query.get("all") in ("1", "true", "True")
        filters: dict[str, Any] = json.loads(request.query.get("filters", "{}") or "{}")
        with self._lock:
            found = [c for c in self.containers.values() if show_all or c.running]
        for key, wanted in filters.items():
            values = list(wanted) if isinstance(wanted, list | dict) else [wanted]
            if key == "name":
                found = [c for c in found if any(v.lstrip("/") in c.name for v in values)]
            elif key == "id":
                found = [c for c in found if any(c.id.startswith(v) for v in values)]
            elif key == "status":
                found = [c for c in found if ("running" if c.running else "exited") in values]
            elif key == "label":  # "key" (present) or "key=value"; every one must hold
                for value in values:
                    k, has_value, v = str(value).partition("=")
                    found = [
                        c for c in found if k in c.labels and (not has_value or c.labels[k] == v)
                    ]
        found.sort(key=lambda c: c.created, reverse=True)
        return web.json_response([c.summary() for c in found], headers=self._headers())

    async def _inspect(self, request: web.Request) -> web.Response:
        self._record(request)
        ref = request.match_info["ref"]
        with self._lock:
            container = self._find(ref)
            body = container.inspect() if container else None
        if body is None:
            return self._not_found(ref)
        return web.json_response(body, headers=self._headers())

    async def _logs(self, request: web.Request) -> web.StreamResponse:
        self._record(request)
        ref = request.match_info["ref"]
        query = request.query
        flag = lambda name, default="0": query.get(name, default) in ("1", "true", "True")  # noqa: E731
        follow, timestamps = flag("follow"), flag("timestamps")
        wanted = {1} if flag("stdout") else set()
        wanted |= {2} if flag("stderr") else set()
        since_ns = _parse_since(query["since"]) if query.get("since") else 0
        until_ns = _parse_since(query["until"]) if query.get("until") else None
        tail = query.get("tail", "all")
        with self._lock:
            container = self._find(ref)
            if container is None:
                return self._not_found(ref)
            if not wanted:
                return web.json_response(
                    {"message": "Bad parameters: you must choose at least one stream"}, status=400
                )
            run = container.run
            backlog = [e for e in container.logs if e.ts_ns >= since_ns and e.stream in wanted]
            if tail != "all" and tail.isdigit():
                backlog = backlog[-int(tail) :] if int(tail) else []
            sent = len(container.logs)
        response = web.StreamResponse(
            headers={
                **self._headers(),
                "Content-Type": "application/vnd.docker.raw-stream"
                if container.tty
                else "application/vnd.docker.multiplexed-stream",
            }
        )
        response.enable_chunked_encoding()
        writer = await response.prepare(request)
        # The chunk framing is written here, one chunk per message as dockerd sends it.
        assert isinstance(writer, StreamWriter)
        writer.chunked = False
        await self._write(response, container, backlog, timestamps, until_ns)
        with self._lock:
            broken, self.broken_bodies = self.broken_bodies > 0, max(0, self.broken_bodies - 1)
        if broken:
            await response.write(b"not-a-chunk-size\r\n")
            return response
        while follow and container.running and not container.removed and container.run == run:
            assert self._changed is not None
            async with self._changed:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.5):
                        await self._changed.wait()
            if self._runner is None or request.transport is None or request.transport.is_closing():
                return response
            with self._lock:
                fresh = [e for e in container.logs[sent:] if e.stream in wanted]
                sent = len(container.logs)
            await self._write(response, container, fresh, timestamps, until_ns)
        with contextlib.suppress(ConnectionError):
            await response.write(b"0\r\n\r\n")
            await response.write_eof()
        return response

    @staticmethod
    async def _write(
        response: web.StreamResponse,
        container: FakeContainer,
        entries: list[LogEntry],
        timestamps: bool,
        until_ns: int | None,
    ) -> None:
        chunk = bytearray()
        for entry in entries:
            if until_ns is not None and entry.ts_ns > until_ns:
                continue
            payload = entry.stamped if timestamps else entry.data
            size = len(payload) if container.tty else len(payload) + 8
            chunk += b"%x\r\n" % size
            if not container.tty:
                chunk += struct.pack(">BxxxL", entry.stream, len(payload))
            chunk += payload
            chunk += b"\r\n"
            if len(chunk) >= 64 * 1024:
                await response.write(bytes(chunk))
                chunk.clear()
        if chunk:
            await response.write(bytes(chunk))
