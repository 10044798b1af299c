"""``cosmos doctor`` against real parts: HTTP servers on 127.0.0.1, the fake Docker engine on a
Unix socket, the fake Discord API, real files, and (with ../shared/chain) the fake RPC node."""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.__main__ import main
from bot.doctor import Check, Status, doctor, exit_code, render
from collectors.chain import ss58
from collectors.demo_data import farmer_metrics, node_metrics, write_demo_logs
from tests.conftest import CHAIN, needs_chain
from tests.fakes.discord_api import CHANNEL_ID, FakeDiscord
from tests.fakes.docker_engine import FakeDockerEngine

NOW_US = 1_750_406_400_000_000
TOKEN = "test-token"


class MetricsServers:
    """One aiohttp server: good farmer and node bodies, an HTML page, garbage, a hung endpoint."""

    def __init__(self) -> None:
        self.runner: web.AppRunner | None = None
        self.port = 0
        self.release = asyncio.Event()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def start(self) -> None:
        async def farmer(_: web.Request) -> web.Response:
            return web.Response(text=farmer_metrics(), content_type="text/plain")

        async def node(_: web.Request) -> web.Response:
            return web.Response(text=node_metrics(), content_type="text/plain")

        async def html(_: web.Request) -> web.Response:
            page = "<!doctype html><html><body>Grafana</body></html>"
            return web.Response(text=page, content_type="text/html")

        async def garbage(_: web.Request) -> web.Response:
            return web.Response(text="hello, this is not metrics\n", content_type="text/plain")

        async def hung(_: web.Request) -> web.Response:
            await self.release.wait()
            return web.Response(text=node_metrics(), content_type="text/plain")

        app = web.Application()
        for path, handler in (
            ("/farmer", farmer),
            ("/node", node),
            ("/html", html),
            ("/garbage", garbage),
            ("/hung", hung),
        ):
            app.router.add_get(path + "/metrics", handler)
        self.runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        self.release.set()
        if self.runner is not None:
            await self.runner.cleanup()


@pytest.fixture
async def metrics() -> AsyncIterator[MetricsServers]:
    servers = MetricsServers()
    await servers.start()
    try:
        yield servers
    finally:
        await servers.stop()


@pytest.fixture
async def fake_discord_api() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture
def docker_engine() -> Iterator[FakeDockerEngine]:
    with FakeDockerEngine() as engine:
        engine.add_container("autonomys-farmer", "ghcr.io/autonomys/farmer:mainnet-2025-jun-18")
        engine.add_container("autonomys-node", "ghcr.io/autonomys/node:mainnet-2025-jun-18")
        engine.add_container("grafana", "grafana/grafana:11")
        yield engine


def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_env(path: Path, values: dict[str, Any]) -> Path:
    lines = []
    for key, value in values.items():
        text = value if isinstance(value, str) else json.dumps(value)
        lines.append(f"{key}='{text}'")
    path.write_text("\n".join(lines) + "\n")
    return path


def by_name(checks: list[Check]) -> dict[str, Check]:
    named = {c.name: c for c in checks}
    assert len(named) == len(checks), [c.name for c in checks]
    return named


async def test_every_check_says_what_is_wrong_and_how_to_fix_it(
    tmp_path: Path,
    metrics: MetricsServers,
    fake_discord_api: FakeDiscord,
    docker_engine: FakeDockerEngine,
) -> None:
    logs = write_demo_logs(tmp_path / "logs", NOW_US)
    missing = tmp_path / "logs" / "gone.log"
    dead = f"http://127.0.0.1:{dead_port()}/metrics"
    fake_discord_api.fail("/webhooks/7001/", 404, method="GET")
    env = write_env(
        tmp_path / ".env",
        {
            "COSMOS_DATABASE_PATH": str(tmp_path / "data" / "cosmos.db"),
            "COSMOS_FARMER_NAME": "alpha",
            "COSMOS_LOGS__DOCKER": [{"base_url": docker_engine.base_url, "host": "rig"}],
            "COSMOS_LOGS__FILES": [
                {"path": str(logs.farmer_log), "role": "farmer"},
                {"path": str(missing), "role": "farmer"},
                {"path": str(logs.node_log), "role": "farmer"},
            ],
            "COSMOS_METRICS__TARGETS": [
                {"url": metrics.url("/farmer/metrics"), "kind": "farmer"},
                {"url": metrics.url("/node/metrics"), "kind": "node"},
                {"url": metrics.url("/html/metrics"), "kind": "farmer"},
                {"url": metrics.url("/garbage/metrics"), "kind": "node"},
                {"url": dead, "kind": "node"},
            ],
            "COSMOS_DISCORD__TOKEN": TOKEN,
            "COSMOS_DISCORD__API_BASE_URL": fake_discord_api.api_base,
            "COSMOS_DISCORD__WEBHOOK_URL": fake_discord_api.webhook_url(),
            "COSMOS_DISCORD__WEBHOOKS": {
                "alerts": fake_discord_api.webhook_url(7001, "s3cr3t-hook")
            },
        },
    )

    checks = await doctor(env, 5.0)
    c = by_name(checks)

    assert c["settings"].status is Status.OK
    assert c["database"].status is Status.OK
    assert "will be created" in c["database"].detail

    docker = c["docker rig"]
    assert docker.status is Status.OK
    assert "API 1.45" in docker.detail
    assert "farmer: autonomys-farmer (by image)" in docker.detail
    assert "node: autonomys-node (by image)" in docker.detail
    assert "grafana" not in docker.detail

    farmer_log = c[f"log file {logs.farmer_log}"]
    assert farmer_log.status is Status.OK
    assert "plain lines, looks like a farmer log" in farmer_log.detail
    gone = c[f"log file {missing}"]
    assert (gone.status, gone.detail) == (Status.PROBLEM, "the file does not exist")
    assert "COSMOS_LOGS__FILES[1].path" in gone.fix
    wrong_role = c[f"log file {logs.node_log}"]
    assert wrong_role.status is Status.PROBLEM
    assert "looks like a node log" in wrong_role.detail
    assert wrong_role.fix.startswith('set COSMOS_LOGS__FILES[2].role to "node"')

    good_farmer = c[f"metrics farmer {metrics.url('/farmer/metrics')}"]
    assert good_farmer.status is Status.OK
    assert good_farmer.detail.startswith("farmer with 3 farms")
    good_node = c[f"metrics node {metrics.url('/node/metrics')}"]
    assert (good_node.status, good_node.detail) == (Status.OK, "node at height 3412000, 40 peers")
    html = c[f"metrics farmer {metrics.url('/html/metrics')}"]
    assert html.status is Status.PROBLEM
    assert "HTML page" in html.detail
    assert html.fix.startswith("something else answers there: point COSMOS_METRICS__TARGETS[2]")
    garbage = c[f"metrics node {metrics.url('/garbage/metrics')}"]
    assert garbage.status is Status.PROBLEM
    assert "no node metrics" in garbage.detail
    assert "COSMOS_METRICS__TARGETS[3].url" in garbage.fix
    down = c[f"metrics node {dead}"]
    assert down.status is Status.PROBLEM
    assert "cannot connect" in down.detail
    assert down.fix.startswith("start the node with --prometheus-listen-on 0.0.0.0:PORT")
    assert "COSMOS_METRICS__TARGETS[4].url" in down.fix

    assert c["discord token"].status is Status.OK
    assert "logged in as cosmos" in c["discord token"].detail
    webhook = c["discord webhook"]
    assert webhook.status is Status.OK
    assert f"channel {CHANNEL_ID}" in webhook.detail
    deleted = c["discord webhook alerts"]
    assert deleted.status is Status.PROBLEM
    assert deleted.fix.startswith("the webhook was deleted or the URL is incomplete")
    assert "COSMOS_DISCORD__WEBHOOKS" in deleted.fix

    assert c["wallets"].status is Status.SKIPPED
    assert exit_code(checks) == 1

    out = io.StringIO()
    render(checks, out)
    text = out.getvalue()
    for secret in (TOKEN, "hooktoken", "s3cr3t-hook"):
        assert secret not in text
    lines = text.splitlines()
    assert lines[0].startswith("OK       settings: loaded from")
    assert any(line.startswith("PROBLEM  metrics farmer") for line in lines)
    assert lines[-1] == "6 thing(s) need fixing."


async def test_a_wrong_bot_token_is_told_how_to_fix(
    tmp_path: Path, fake_discord_api: FakeDiscord
) -> None:
    env = write_env(
        tmp_path / ".env",
        {
            "COSMOS_DATABASE_PATH": str(tmp_path / "cosmos.db"),
            "COSMOS_DISCORD__TOKEN": "an-old-token",
            "COSMOS_DISCORD__API_BASE_URL": fake_discord_api.api_base,
        },
    )
    checks = await doctor(env, 5.0)
    token = by_name(checks)["discord token"]
    assert token.status is Status.PROBLEM
    assert token.detail == "Discord refused the token (401)"
    assert token.fix == "the token is wrong: copy it again from the Developer Portal, Bot tab"
    out = io.StringIO()
    render(checks, out)
    assert "an-old-token" not in out.getvalue()
    assert exit_code(checks) == 1


async def test_a_hung_endpoint_times_out_without_holding_up_the_others(
    tmp_path: Path, metrics: MetricsServers
) -> None:
    env = write_env(
        tmp_path / ".env",
        {
            "COSMOS_DATABASE_PATH": str(tmp_path / "cosmos.db"),
            "COSMOS_METRICS__TARGETS": [
                {"url": metrics.url("/hung/metrics"), "kind": "node"},
                {"url": metrics.url("/farmer/metrics"), "kind": "farmer"},
            ],
            "COSMOS_LOGS__DOCKER": [{"base_url": f"unix://{tmp_path}/no-docker.sock"}],
        },
    )
    checks = await doctor(env, 0.5)
    c = by_name(checks)
    hung = c[f"metrics node {metrics.url('/hung/metrics')}"]
    assert hung.status is Status.PROBLEM
    assert hung.detail == "no answer within 0.5 s"
    assert c[f"metrics farmer {metrics.url('/farmer/metrics')}"].status is Status.OK
    docker = c["docker local"]
    assert docker.status is Status.PROBLEM
    assert "is not reachable" in docker.detail
    assert "COSMOS_LOGS__DOCKER[0].base_url" in docker.fix
    assert c["discord"].status is Status.SKIPPED


def test_cli_prints_one_line_per_check_and_exits_0_when_all_is_well(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    logs = write_demo_logs(tmp_path / "logs", NOW_US)
    env = write_env(
        tmp_path / ".env",
        {
            "COSMOS_DATABASE_PATH": str(tmp_path / "cosmos.db"),
            "COSMOS_LOGS__FILES": [
                {"path": str(logs.farmer_log), "role": "farmer"},
                {"path": str(logs.node_log), "role": "node"},
            ],
        },
    )
    assert main(["--env-file", str(env), "doctor"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "All is well."
    statuses = [line.split()[0] for line in lines[:-2]]
    assert statuses == ["OK", "OK", "OK", "OK", "SKIPPED", "SKIPPED", "SKIPPED"]


def test_cli_shows_the_settings_error_as_is_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = write_env(
        tmp_path / ".env",
        {"COSMOS_METRICS__TARGETS": [{"url": "10.0.0.5:9081/metrics", "kind": "farmer"}]},
    )
    assert main(["--env-file", str(env), "doctor"]) == 2  # as every command with wrong settings
    out = capsys.readouterr().out
    assert out.startswith(
        "PROBLEM  settings: cosmos cannot start: the configuration has a problem."
    )
    assert "COSMOS_METRICS__TARGETS[0].url: must be an http:// or https:// URL" in out
    assert "SKIPPED  connections: not checked until the settings load" in out


@needs_chain
async def test_rpc_nodes_and_wallets(tmp_path: Path) -> None:
    from tests.fakes.rpc_node import Balance, FakeChain, FakeRpcNode

    key = bytes([1]) * 32
    address = ss58.encode(key)
    chain = FakeChain()
    chain.add_blocks(10)
    chain.balances[key] = Balance(free=12 * 10**18)
    node = FakeRpcNode(CHAIN, chain).start()
    dead = f"ws://127.0.0.1:{dead_port()}"
    try:
        env = write_env(
            tmp_path / ".env",
            {
                "COSMOS_DATABASE_PATH": str(tmp_path / "cosmos.db"),
                "COSMOS_WALLETS__RPC_URLS": [node.url, dead],
                "COSMOS_WALLETS__ACCOUNTS": [{"address": address, "label": "main"}],
            },
        )
        checks = await doctor(env, 5.0)
    finally:
        node.stop()
    c = by_name(checks)
    rpc = c[f"rpc {node.url}"]
    assert rpc.status is Status.OK
    assert rpc.detail == (
        "Autonomys Chronos, SS58 prefix 6094 (matches the wallets' su… addresses), best block #9"
    )
    down = c[f"rpc {dead}"]
    assert down.status is Status.PROBLEM
    assert "cannot reach" in down.detail
    assert "COSMOS_WALLETS__RPC_URLS[1]" in down.fix
    wallet = c["wallet main"]
    assert wallet.status is Status.OK
    assert wallet.detail == f"{address}: valid address, balance 12 AI3"
    assert exit_code(checks) == 1


async def test_a_docker_json_file_log_is_recognised(tmp_path: Path) -> None:
    logs = write_demo_logs(tmp_path / "logs", NOW_US)
    json_log = tmp_path / "logs" / "farmer-json.log"
    entries = [
        json.dumps({"log": line.text + "\n", "stream": "stdout", "time": "2025-06-20T08:00:00Z"})
        for line in logs.logs.farmer
    ]
    json_log.write_text("\n".join(entries) + "\n")
    env = write_env(
        tmp_path / ".env",
        {
            "COSMOS_DATABASE_PATH": str(tmp_path / "cosmos.db"),
            "COSMOS_LOGS__FILES": [{"path": str(json_log), "role": "farmer"}],
        },
    )
    check = by_name(await doctor(env, 5.0))[f"log file {json_log}"]
    assert check.status is Status.OK
    assert check.detail.startswith("readable, json-file lines, looks like a farmer log")


async def test_a_log_file_that_is_no_text_log_is_a_problem(tmp_path: Path) -> None:
    packed = tmp_path / "farmer.log"
    packed.write_bytes(gzip.compress(b"2025-06-20T08:00:00.000000Z  INFO a: b\n" * 100))
    env = write_env(
        tmp_path / ".env",
        {
            "COSMOS_DATABASE_PATH": str(tmp_path / "cosmos.db"),
            "COSMOS_LOGS__FILES": [{"path": str(packed), "role": "farmer"}],
        },
    )
    check = by_name(await doctor(env, 5.0))[f"log file {packed}"]
    assert check.status is Status.PROBLEM
    assert check.detail.startswith("this is not a text log: gzip-compressed data")


async def test_a_compose_service_name_is_shown_with_its_container(tmp_path: Path) -> None:
    with FakeDockerEngine() as engine:
        labels = {"com.docker.compose.project": "cosmos", "com.docker.compose.service": "farmer"}
        engine.add_container("cosmos-farmer-1", "local/farmer-build:1", labels=labels)
        env = write_env(
            tmp_path / ".env",
            {
                "COSMOS_DATABASE_PATH": str(tmp_path / "cosmos.db"),
                "COSMOS_LOGS__DOCKER": [
                    {"base_url": engine.base_url, "farmer_container": "farmer"}
                ],
            },
        )
        check = by_name(await doctor(env, 5.0))["docker local"]
    assert check.status is Status.OK
    assert "farmer: cosmos-farmer-1 (Compose service farmer)" in check.detail


async def test_docker_hosts_by_name_and_without_any_node_or_farmer(
    tmp_path: Path, docker_engine: FakeDockerEngine
) -> None:
    with FakeDockerEngine() as empty:
        empty.add_container("grafana", "grafana/grafana:11")
        env = write_env(
            tmp_path / ".env",
            {
                "COSMOS_DATABASE_PATH": str(tmp_path / "cosmos.db"),
                "COSMOS_LOGS__DOCKER": [
                    {
                        "base_url": docker_engine.base_url,
                        "host": "named",
                        "farmer_container": "autonomys-farmer",
                        "node_container": "my-node",
                    },
                    {"base_url": empty.base_url, "host": "empty"},
                ],
            },
        )
        c = by_name(await doctor(env, 5.0))
    named = c["docker named"]
    assert named.status is Status.OK
    assert named.detail == (
        "reachable (API 1.45); would follow farmer: autonomys-farmer (by name);"
        " node: my-node (by name, not among the node images)"
    )
    nothing = c["docker empty"]
    assert nothing.status is Status.PROBLEM
    assert "WARNING" not in named.detail  # a Unix socket
    assert "farmer: none found (looked for images ghcr.io/autonomys/farmer" in nothing.detail
    assert "COSMOS_LOGS__DOCKER[1].farmer_container" in nothing.fix
