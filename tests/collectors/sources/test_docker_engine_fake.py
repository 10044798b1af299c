"""The fake Engine API speaks the real wire format: its log stream matches a captured one."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from tests.conftest import SAMPLES, needs_samples
from tests.fakes.docker_engine import FakeDockerEngine


async def raw_logs(engine: FakeDockerEngine, ref: str, query: str) -> tuple[str, bytes]:
    connector = aiohttp.UnixConnector(path=str(engine.socket_path))
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.get(f"http://docker/v1.45/containers/{ref}/logs?{query}") as response,
    ):
        return response.headers["Content-Type"], await response.read()


@needs_samples
async def test_multiplexed_stream_matches_the_captured_sample(tmp_path: Path) -> None:
    lines = (SAMPLES / "farmer.log").read_text(encoding="utf-8").splitlines()[:40]
    with FakeDockerEngine(tmp_path) as engine:
        engine.add_container("farmer")
        engine.append("farmer", *lines)
        kind, body = await raw_logs(engine, "farmer", "stdout=1&stderr=1")
    assert kind == "application/vnd.docker.multiplexed-stream"
    assert body == (SAMPLES / "farmer-docker-logs-stream.bin").read_bytes()


async def test_frames_timestamps_and_tty(tmp_path: Path) -> None:
    with FakeDockerEngine(tmp_path) as engine:
        engine.add_container("farmer")
        engine.append("farmer", "out", ts_ns=1_750_406_400_000_000_001)
        engine.append("farmer", "err", stream=2, ts_ns=1_750_406_400_500_000_000)
        _, body = await raw_logs(engine, "farmer", "stdout=1&stderr=1&timestamps=1")
        first = b"2025-06-20T08:00:00.000000001Z out\n"
        second = b"2025-06-20T08:00:00.500000000Z err\n"
        assert body == (
            b"\x01\x00\x00\x00"
            + len(first).to_bytes(4, "big")
            + first
            + b"\x02\x00\x00\x00"
            + len(second).to_bytes(4, "big")
            + second
        )
        _, only_err = await raw_logs(engine, "farmer", "stdout=0&stderr=1")
        assert only_err.endswith(b"err\n")
        assert b"out" not in only_err
        _, since = await raw_logs(engine, "farmer", "stdout=1&stderr=1&since=1750406400.2")
        assert since.endswith(b"err\n")
        assert b"out" not in since
        engine.add_container("tty", tty=True)
        engine.append("tty", "colour")
        kind, raw = await raw_logs(engine, "tty", "stdout=1&stderr=1")
        assert kind == "application/vnd.docker.raw-stream"
        assert raw == b"colour\r\n"


def test_each_log_message_is_a_chunk_of_its_own_as_dockerd_flushes_it(tmp_path: Path) -> None:
    """dockerd's WriteLogStream flushes after every message: one HTTP chunk per frame. The
    raw response, read off the socket, must be chunked that way for a bench to mean anything."""
    import socket

    with FakeDockerEngine(tmp_path) as engine:
        engine.add_container("farmer")
        engine.append("farmer", "one", ts_ns=1_750_406_400_000_000_001)
        engine.append("farmer", "two", stream=2, ts_ns=1_750_406_400_000_000_002)
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(engine.socket_path))
            sock.sendall(
                b"GET /v1.45/containers/farmer/logs?stdout=1&stderr=1&timestamps=1 HTTP/1.1\r\n"
                b"Host: docker\r\nConnection: close\r\n\r\n"
            )
            raw = b""
            while chunk := sock.recv(65536):
                raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    first = b"\x01\0\0\0\0\0\0\x23" + b"2025-06-20T08:00:00.000000001Z one\n"
    second = b"\x02\0\0\0\0\0\0\x23" + b"2025-06-20T08:00:00.000000002Z two\n"
    assert body == b"2b\r\n" + first + b"\r\n2b\r\n" + second + b"\r\n0\r\n\r\n"
