"""``cosmos doctor`` on farming-cluster log files and metrics endpoints."""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp import web

from bot.doctor import Status, doctor
from tests.collectors.cluster.helpers import CLUSTER_DIR
from tests.conftest import FIXTURES


async def test_cluster_logs_and_endpoints_are_checked_for_their_role(tmp_path: Path) -> None:
    body = (FIXTURES / "metrics" / "cluster_plotter.txt").read_text()

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(text=body, content_type="text/plain")

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    files = [
        {"path": str(CLUSTER_DIR / "controller-json.log"), "role": "controller"},
        {"path": str(CLUSTER_DIR / "plotter-1-json.log"), "role": "plotter", "cluster": "main"},
        {"path": str(CLUSTER_DIR / "cache-json.log"), "role": "plotter"},  # wrong role
    ]
    url = f"http://127.0.0.1:{port}/metrics"
    env = tmp_path / ".env"
    env.write_text(
        f"COSMOS_DATABASE_PATH={tmp_path / 'cosmos.db'}\n"
        f"COSMOS_LOGS__FILES={json.dumps(files)}\n"
        f"COSMOS_METRICS__TARGETS={json.dumps([{'url': url, 'kind': 'plotter'}])}\n"
    )
    try:
        checks = {c.name: c for c in await doctor(env, 5.0)}
    finally:
        await runner.cleanup()
    controller = checks[f"log file {CLUSTER_DIR / 'controller-json.log'}"]
    assert controller.status is Status.OK
    assert "looks like a controller log" in controller.detail
    assert checks[f"log file {CLUSTER_DIR / 'plotter-1-json.log'}"].status is Status.OK
    cache = checks[f"log file {CLUSTER_DIR / 'cache-json.log'}"]
    assert cache.status is not Status.OK
    assert "looks like a cache log" in cache.detail
    assert 'role to "cache"' in (cache.fix or "")
    endpoint = checks[f"metrics plotter {url}"]
    assert endpoint.status is Status.OK
    assert endpoint.detail == "plotter of cluster cluster: 2/2 sectors in use"
