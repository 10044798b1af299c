"""The Docker log source through the real ``docker`` SDK against the fake Engine API."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from collectors.clock import FakeClock
from collectors.models.logs import SourceRef
from collectors.parsing.docker_stream import split_stamp
from collectors.settings import DockerHost
from collectors.sources.docker_logs import (
    DockerContainerSource,
    DockerDiscovery,
    DockerPosition,
    DockerUnavailableError,
    HostReachability,
    image_repository,
    role_of_image,
)
from tests.collectors.sources.helpers import Follow, wait_until
from tests.fakes.docker_engine import FakeDockerEngine

FARMER_IMAGE = "ghcr.io/autonomys/farmer:mainnet-2025-jun-18"
NODE_IMAGE = "ghcr.io/autonomys/node:mainnet-2025-jun-18"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[FakeDockerEngine]:
    with FakeDockerEngine(tmp_path) as fake:
        yield fake


def source(
    engine: FakeDockerEngine, name: str = "farmer", **kwargs: object
) -> DockerContainerSource:
    ref = SourceRef(f"docker:local:farmer:{name}", "farmer", "local", "farmer1")
    options: dict[str, object] = {
        "reconnect_seconds": 0.05,
        "batch_seconds": 0.05,
        "clock": FakeClock(),
        **kwargs,
    }
    return DockerContainerSource(ref, engine.base_url, name, **options)  # type: ignore[arg-type]


def farmer_lines(start: int, count: int) -> list[str]:
    return [
        f"2025-06-20T08:00:00.{i:06d}Z  INFO {{farm_index=0}}: subspace_farmer: line {i}"
        for i in range(start, start + count)
    ]


def test_split_stamp_keeps_nanoseconds() -> None:
    assert split_stamp("2025-06-20T08:00:00.412987189Z hello") == (
        "hello",
        1_750_406_400_412_987_189,
    )
    assert split_stamp("2025-06-20T08:00:00Z x") == ("x", 1_750_406_400_000_000_000)
    assert split_stamp("no stamp here") == ("no stamp here", None)


@pytest.mark.parametrize(
    ("image", "role"),
    [
        ("ghcr.io/autonomys/farmer:mainnet-2025-jun-18", "farmer"),
        ("ghcr.io/autonomys/node@sha256:abcd", "node"),
        ("subspace/farmer:gemini-3h-2024-may-06", "farmer"),
        ("docker.io/subspace/node", "node"),
        ("localhost:5000/autonomys/farmer:x", None),
        ("ghcr.io/autonomys/farmer-tools:1", None),
        ("postgres:16", None),
    ],
)
def test_role_of_image(image: str, role: str | None) -> None:
    assert role_of_image(image) == role


def test_image_repository_with_registry_port() -> None:
    assert image_repository("localhost:5000/subspace/farmer:v1") == "localhost:5000/subspace/farmer"


def test_position_round_trip() -> None:
    pos = DockerPosition("abc123", 1_750_406_400_412_987_189, 2)
    assert DockerPosition.decode(pos.encode()) == pos
    assert DockerPosition.decode("f1:1:2:3:ab:4") is None
    assert DockerPosition.decode("d1:abc:x:1") is None
    assert DockerPosition.decode(None) is None


async def test_backfill_then_follow(engine: FakeDockerEngine) -> None:
    engine.add_container("farmer", FARMER_IMAGE)
    engine.append("farmer", *farmer_lines(0, 3))
    engine.append("farmer", "an error on stderr", stream=2)
    src = source(engine)
    follow = Follow(src)
    try:
        assert await follow.wait_lines(4) == [*farmer_lines(0, 3), "an error on stderr"]
        stamps = engine.append("farmer", *farmer_lines(3, 2))
        assert (await follow.wait_lines(6))[4:] == farmer_lines(3, 2)
        assert follow.lines[-1].received_us == stamps[-1] // 1000
        await wait_until(lambda: src.backfilling is False)
        last = DockerPosition.decode(follow.position)
        assert last is not None
        assert last.container_id == engine.get("farmer").id
        assert last.ts_ns == stamps[-1]
        params = engine.log_requests("farmer")[0]
        assert params["follow"] == "1"
        assert params["timestamps"] == "1"
        assert "since" not in params
    finally:
        await follow.stop()
    # Stopping cuts the blocking read: the reader's thread ends.
    await wait_until(
        lambda: not any(t.name.startswith("docker-logs-") for t in threading.enumerate())
    )


async def test_tty_container_raw_stream(engine: FakeDockerEngine) -> None:
    engine.add_container("farmer", FARMER_IMAGE, tty=True)
    engine.append("farmer", "\x1b[2m2025-06-20T08:00:00.000001Z\x1b[0m \x1b[32m INFO\x1b[0m a: x")
    engine.append("farmer", "second")
    follow = Follow(source(engine))
    try:
        assert await follow.wait_lines(2) == [
            "\x1b[2m2025-06-20T08:00:00.000001Z\x1b[0m \x1b[32m INFO\x1b[0m a: x",
            "second",
        ]
    finally:
        await follow.stop()


async def test_resume_skips_what_was_delivered_even_within_one_second(
    engine: FakeDockerEngine,
) -> None:
    engine.add_container("farmer", FARMER_IMAGE)
    base = 1_750_406_400_000_000_000
    # Three lines with the same nanosecond stamp, then two more in the same second.
    engine.append("farmer", "a", "b", "c", ts_ns=base + 5)
    engine.append("farmer", "d", ts_ns=base + 6)
    first = Follow(source(engine))
    await first.wait_lines(4)
    await first.stop()
    # Pretend only "a" and "b" were stored.
    stored = first.lines[1].position
    assert DockerPosition.decode(stored) == DockerPosition(engine.get("farmer").id, base + 5, 2)
    engine.append("farmer", "e", ts_ns=base + 7)
    second = Follow(source(engine), stored)
    try:
        assert await second.wait_lines(3) == ["c", "d", "e"]
        assert engine.log_requests("farmer")[-1]["since"] == str(base // 1_000_000_000)
    finally:
        await second.stop()


async def test_a_broken_chunked_body_is_told_and_read_again_from_the_last_line(
    engine: FakeDockerEngine, caplog: pytest.LogCaptureFixture
) -> None:
    """Bytes that break HTTP's chunk coding (a proxy in between): one warning, a new stream
    from the last line delivered, nothing lost and nothing twice."""
    engine.add_container("farmer", FARMER_IMAGE)
    engine.append("farmer", *farmer_lines(0, 3))
    engine.broken_bodies = 1
    follow = Follow(source(engine))
    try:
        assert await follow.wait_lines(3) == farmer_lines(0, 3)
        await wait_until(lambda: len(engine.log_requests("farmer")) >= 2)
        engine.append("farmer", *farmer_lines(3, 2))
        assert await follow.wait_lines(5) == farmer_lines(0, 5)
    finally:
        await follow.stop()
    assert [r.getMessage() for r in caplog.records if "broke off" in r.getMessage()] == [
        "docker:local:farmer:farmer: the log stream broke off (a chunk size that is not"
        " hexadecimal: b'not-a-chunk-size'); reading on from the last line"
    ]


async def test_container_restart_ends_the_stream_and_reader_reconnects(
    engine: FakeDockerEngine,
) -> None:
    engine.add_container("farmer", FARMER_IMAGE)
    engine.append("farmer", "before restart")
    src = source(engine)
    follow = Follow(src)
    try:
        await follow.wait_lines(1)
        engine.restart("farmer")
        engine.append("farmer", "after restart")
        assert await follow.wait_lines(2) == ["before restart", "after restart"]
        assert len(engine.log_requests("farmer")) >= 2
        assert "since" in engine.log_requests("farmer")[-1]
        await asyncio.sleep(0.3)
        assert follow.texts == ["before restart", "after restart"]
    finally:
        await follow.stop()


async def test_stopped_container_is_read_once_then_again_when_started(
    engine: FakeDockerEngine,
) -> None:
    engine.add_container("farmer", FARMER_IMAGE)
    engine.append("farmer", "one")
    engine.stop("farmer")
    follow = Follow(source(engine))
    try:
        await follow.wait_lines(1)
        requests_while_stopped = len(engine.log_requests("farmer"))
        await asyncio.sleep(0.4)  # several reconnect periods
        assert len(engine.log_requests("farmer")) == requests_while_stopped
        engine.restart("farmer")
        engine.append("farmer", "two")
        assert await follow.wait_lines(2) == ["one", "two"]
    finally:
        await follow.stop()


async def test_recreated_container_is_read_from_start(engine: FakeDockerEngine) -> None:
    old = engine.add_container("farmer", FARMER_IMAGE)
    engine.append("farmer", "old run")
    follow = Follow(source(engine))
    try:
        await follow.wait_lines(1)
        new = engine.recreate("farmer")
        assert new.id != old.id
        engine.append("farmer", "new container line 1", "new container line 2")
        assert await follow.wait_lines(3) == [
            "old run",
            "new container line 1",
            "new container line 2",
        ]
        pos = DockerPosition.decode(follow.position)
        assert pos is not None
        assert pos.container_id == new.id
    finally:
        await follow.stop()


async def test_recreated_while_cosmos_was_stopped(engine: FakeDockerEngine) -> None:
    engine.add_container("farmer", FARMER_IMAGE)
    engine.append("farmer", "old")
    first = Follow(source(engine))
    await first.wait_lines(1)
    await first.stop()
    engine.recreate("farmer")
    engine.append("farmer", "fresh")
    second = Follow(source(engine), first.position)
    try:
        assert await second.wait_lines(1) == ["fresh"]
        assert "since" not in engine.log_requests("farmer")[-1]
    finally:
        await second.stop()


async def test_missing_container_is_waited_for(
    engine: FakeDockerEngine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    src = source(engine)
    follow = Follow(src)
    try:
        await wait_until(lambda: src.state == "waiting")
        assert "no container named 'farmer'" in caplog.text
        engine.add_container("farmer", FARMER_IMAGE)
        engine.append("farmer", "finally")
        assert await follow.wait_lines(1) == ["finally"]
        assert caplog.text.count("no container named 'farmer'") == 1
    finally:
        await follow.stop()


async def test_docker_down_logs_once_and_recovers(
    engine: FakeDockerEngine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    engine.add_container("farmer", FARMER_IMAGE)
    engine.append("farmer", "one")
    src = source(engine, reconnect_seconds=0.02)
    follow = Follow(src)
    try:
        await follow.wait_lines(1)
        engine.go_down()
        await wait_until(lambda: src.state == "unreachable")
        await wait_until(lambda: len(caplog.records) > 0 and src.detail != "")
        await asyncio.sleep(0.3)  # several failed retries
        assert "its socket does not exist" in src.detail
        assert caplog.text.count("is not reachable") == 1
        engine.start()
        engine.append("farmer", "two")
        assert await follow.wait_lines(2) == ["one", "two"]
        assert "reachable again" in caplog.text
    finally:
        await follow.stop()


async def test_docker_missing_from_the_start(tmp_path: Path) -> None:
    engine = FakeDockerEngine(tmp_path)  # never started: no socket
    src = source(engine)
    follow = Follow(src)
    try:
        await wait_until(lambda: src.state == "unreachable")
        assert f"Docker at {engine.base_url} is not reachable" in src.detail
        assert follow.lines == []
    finally:
        await follow.stop()


async def test_backpressure_bounds_the_queue(engine: FakeDockerEngine) -> None:
    engine.add_container("farmer", FARMER_IMAGE)
    engine.append("farmer", *farmer_lines(0, 3000))
    src = source(engine, queue_lines=100, batch_lines=50)
    seen: list[int] = []
    stream = src.batches(None)
    try:
        async for batch in stream:
            seen.append(len(batch))
            if sum(seen) >= 3000:
                break
            await asyncio.sleep(0)  # a slow consumer
        assert sum(seen) == 3000
        assert max(seen) <= 50
    finally:
        await stream.aclose()


async def test_discovery_by_name_and_by_image(engine: FakeDockerEngine) -> None:
    engine.add_container("my-farmer", FARMER_IMAGE)
    engine.add_container("subspace-node-1", "subspace/node:gemini-3h")
    engine.add_container("old-node", NODE_IMAGE, running=False)
    engine.add_container("postgres", "postgres:16")
    by_image = DockerDiscovery(DockerHost(base_url=engine.base_url), HostReachability("x", 1))
    named = DockerDiscovery(
        DockerHost(base_url=engine.base_url, farmer_container="f1", node_container="n1"),
        HostReachability("x", 1),
    )
    try:
        assert await by_image.targets() == {"farmer": ["my-farmer"], "node": ["subspace-node-1"]}
        assert await named.targets() == {"farmer": ["f1"], "node": ["n1"]}
        engine.get("old-node").created -= 3600
        engine.stop("subspace-node-1")
        # No node is running: the newest stopped one is followed, to catch it when it starts.
        assert (await by_image.targets())["node"] == ["subspace-node-1"]
    finally:
        by_image.close()
        named.close()


def _compose_file() -> str:
    return (Path(__file__).resolve().parents[3] / "docker-compose.yml").read_text()


def compose_labels(project: str, service: str) -> dict[str, str]:
    return {"com.docker.compose.project": project, "com.docker.compose.service": service}


async def test_a_configured_name_finds_a_compose_service(engine: FakeDockerEngine) -> None:
    """Compose v2 names the containers ``<project>-farmer-1``; the config says ``farmer``."""
    # Images nothing recognises (a local build): only the service label can find them.
    engine.add_container(
        "autonomys-farmer-1", "mine/f:1", labels=compose_labels("autonomys", "farmer")
    )
    engine.add_container("autonomys-node-1", "mine/n:1", labels=compose_labels("autonomys", "node"))
    engine.add_container(
        "other-node-1", "mine/n:1", running=False, labels=compose_labels("other", "x")
    )
    finder = DockerDiscovery(
        DockerHost(base_url=engine.base_url, farmer_container="farmer", node_container="node"),
        HostReachability("x", 1),
    )
    try:
        assert await finder.targets() == {
            "farmer": ["autonomys-farmer-1"],
            "node": ["autonomys-node-1"],
        }
        # A container with exactly the configured name wins over a service of that name.
        engine.add_container("farmer", "mine/f:1")
        assert (await finder.targets())["farmer"] == ["farmer"]
        # Only a stopped one: followed anyway, to catch it when it starts.
        engine.stop("autonomys-node-1")
        assert (await finder.targets())["node"] == ["autonomys-node-1"]
    finally:
        finder.close()


async def test_the_compose_example_finds_its_own_containers(engine: FakeDockerEngine) -> None:
    """docker-compose.yml's COSMOS_LOGS__DOCKER, against containers named as Compose v2 does."""
    import json
    import re

    found = re.search(r"COSMOS_LOGS__DOCKER: '(.*)'", _compose_file())
    assert found is not None
    (host,) = [DockerHost(**h) for h in json.loads(found.group(1))]
    project = "cosmos"  # the folder the compose file is in
    engine.add_container(
        f"{project}-farmer-1", FARMER_IMAGE, labels=compose_labels(project, "farmer")
    )
    engine.add_container(f"{project}-node-1", NODE_IMAGE, labels=compose_labels(project, "node"))
    finder = DockerDiscovery(
        host.model_copy(update={"base_url": engine.base_url}), HostReachability("x", 1)
    )
    try:
        assert await finder.targets() == {
            "farmer": [f"{project}-farmer-1"],
            "node": [f"{project}-node-1"],
        }
    finally:
        finder.close()


async def test_discovery_when_docker_is_down(tmp_path: Path) -> None:
    engine = FakeDockerEngine(tmp_path)
    reach = HostReachability(engine.base_url, 1)
    finder = DockerDiscovery(DockerHost(base_url=engine.base_url), reach)
    try:
        with pytest.raises(DockerUnavailableError, match="is not reachable"):
            await finder.targets()
        engine.start()
        engine.add_container("farmer", FARMER_IMAGE)
        assert await finder.targets() == {"farmer": ["farmer"]}
        assert reach.error is None
    finally:
        finder.close()
        engine.close()


async def test_remote_engine_over_tcp() -> None:
    with FakeDockerEngine(tcp=True) as engine:
        assert engine.base_url.startswith("tcp://127.0.0.1:")
        engine.add_container("farmer", FARMER_IMAGE)
        engine.append("farmer", "over tcp")
        follow = Follow(source(engine))
        try:
            assert await follow.wait_lines(1) == ["over tcp"]
        finally:
            await follow.stop()


async def test_time_left_while_backfilling(engine: FakeDockerEngine) -> None:
    clock = FakeClock()
    two_hours_ago = clock.now_us() * 1000 - 7200 * 1_000_000_000
    engine.add_container("farmer", FARMER_IMAGE)
    engine.append("farmer", "old line", ts_ns=two_hours_ago)
    src = source(engine, clock=clock)
    assert src.describe_left() is None
    follow = Follow(src)
    try:
        await follow.wait_lines(1)
        assert src.describe_left() == "2.0 h of log left"
    finally:
        await follow.stop()


async def test_a_name_is_not_matched_as_an_id_prefix(engine: FakeDockerEngine) -> None:
    other = engine.add_container("node", NODE_IMAGE)
    engine.append("node", "a node line")
    prefix = other.id[:3]  # Docker resolves a unique id prefix; a name must match exactly
    src = source(engine, name=prefix)
    follow = Follow(src)
    try:
        await wait_until(lambda: src.state == "waiting")
        assert follow.lines == []
        assert engine.log_requests(other.id) == []
    finally:
        await follow.stop()


async def test_tty_backlog_is_read_in_time_windows_then_followed(
    engine: FakeDockerEngine,
) -> None:
    container = engine.add_container("farmer", FARMER_IMAGE, tty=True)
    now_ns = time.time_ns()
    three_days = 3 * 86400 * 1_000_000_000
    container.created = (now_ns - three_days) // 1_000_000_000
    texts = [f"line {i}" for i in range(3000)]
    for i, text in enumerate(texts):
        engine.append("farmer", text, ts_ns=now_ns - three_days + i * 86_000_000_000)
    follow = Follow(source(engine))
    try:
        assert await follow.wait_lines(3000) == texts
        windows = [q for q in engine.log_requests("farmer") if "until" in q]
        assert len(windows) > 3
        assert all(q["follow"] == "0" for q in windows)
        engine.append("farmer", "live line")
        assert (await follow.wait_lines(3001))[-1] == "live line"
        assert len(follow.lines) == 3001
    finally:
        await follow.stop()
    # Resuming mid-backlog reads on from there, in windows, without repeats.
    engine.append("farmer", "after stop")
    again = Follow(source(engine), follow.lines[1499].position)
    try:
        assert await again.wait_lines(1502) == [*texts[1500:], "live line", "after stop"]
    finally:
        await again.stop()


async def test_tty_live_is_followed_not_polled(engine: FakeDockerEngine) -> None:
    """After its windowed backlog a TTY log is followed by one stream (it once re-read ever
    newer 2 ms windows forever: hundreds of requests a second, bench_many_hosts --tty)."""
    container = engine.add_container("farmer", FARMER_IMAGE, tty=True)
    now_ns = time.time_ns()
    container.created = (now_ns - 3600 * 1_000_000_000) // 1_000_000_000
    for i in range(100):
        engine.append("farmer", f"line {i}", ts_ns=now_ns - (100 - i) * 10_000_000_000)
    follow = Follow(source(engine))
    try:
        await follow.wait_lines(100)
        await wait_until(lambda: any(q["follow"] == "1" for q in engine.log_requests("farmer")))
        before = len(engine.log_requests("farmer"))
        await asyncio.sleep(1.0)
        engine.append("farmer", "live line")
        assert (await follow.wait_lines(101))[-1] == "live line"
        assert len(engine.log_requests("farmer")) == before
    finally:
        await follow.stop()


@pytest.mark.parametrize(
    "text",
    [
        "2025-06-20T08:00:00.412987189Z hello",
        "2025-06-20T08:00:00.000000000Z ",
        "2025-06-20T25:00:00.412987189Z bad hour",
        "2025-06-20 08:00:00.412987189Z no T",
        "2025-06-20T08:00:00.41298718xZ letter",
        "2025-06-20T08:00:00.4129871Z short",
        "2025-06-20T08:00:00.412987189+00:00 zone",
        "2025-06-20T08:00:00.٤١٢٩٨٧١٨٩Z arabic digits",
    ],
)
def test_split_stamp_fast_form_is_the_regex_one(text: str) -> None:
    """Docker's fixed 9-digit form is cut without the regex: the same answer as with it."""
    import re

    from collectors.parsing.decode import parse_rfc3339_us

    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z ", text)
    expected: tuple[str, int | None] = (text, None)
    if match is not None:
        seconds = parse_rfc3339_us(match.group(1) + "Z")
        if seconds is not None:
            fraction = int((match.group(2) or "").ljust(9, "0"))
            expected = (text[match.end() :], seconds * 1000 + fraction)
    assert split_stamp(text) == expected
