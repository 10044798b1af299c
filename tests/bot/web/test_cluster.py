"""The farming cluster on the web: /cluster and /clusters/{name} in Chromium, /api/v1/cluster,
and its series in /metrics, over cluster ``main`` collected from the fixture logs and endpoints.

Every figure is checked against SQL on the same SQLite file, or against the read functions the
``/cluster`` embed uses.
"""

from __future__ import annotations

import json

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.web.jsonify import dumps
from collectors.clock import FakeClock
from collectors.format import pieces
from collectors.models.alerts import AlertState, Phase, Rule, Severity
from collectors.models.views import PIECE_BYTES
from collectors.store.alerts import save_state_in
from collectors.store.database import Database
from collectors.store.views import DAY_US, ViewStore
from tests.bot.web.cdp import FIGURES_JS, chromium, chromium_path, crawl
from tests.bot.web.helpers import serving
from tests.collectors.cluster.helpers import CLUSTER_LOGS, metrics_bodies, seed_cluster

CHROMIUM = chromium_path()
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed (apt-get install chromium; .ci/run installs it)",
)
# Seconds between the scrape and the page being read: every component was last seen this long ago.
SINCE_SEEN_S = 90


@pytest.fixture
async def cluster_db(db: Database, clock: FakeClock) -> Database:
    async with metrics_bodies() as (base, _down):
        await seed_cluster(db, clock, base)
    async with db.transaction() as conn:
        await save_state_in(
            conn,
            AlertState(
                Rule.CLUSTER_CACHE_EXPIRED,
                "controller",
                Phase.FIRING,
                severity=Severity.WARNING,
                title="A cluster cache expired at the controller (controller)",
                opened_us=clock.now_us(),
            ),
        )
    clock.advance(SINCE_SEEN_S)
    return db


async def scalar(db: Database, sql: str, *params: object) -> float:
    async with db.conn.execute(sql, params) as cur:
        row = await cur.fetchone()
    assert row is not None
    return float(row[0] or 0)


async def target(db: Database, kind: str, host: str, column: str) -> float:
    """A cluster endpoint's stored figure (one endpoint per role and host in the seed)."""
    return await scalar(
        db,
        f"SELECT c.{column} FROM cluster_metrics c JOIN metrics_targets t USING (target_key)"
        " WHERE t.cluster = 'main' AND t.kind = ? AND t.host = ?",
        kind,
        host,
    )


async def finished_24h(db: Database, key: str, now_us: int) -> int:
    return int(
        await scalar(
            db,
            "SELECT COUNT(*) FROM events e JOIN log_sources s ON s.id = e.source_id"
            " WHERE s.key = ? AND e.kind = 'plot_sector_finished' AND e.ts_us >= ?",
            key,
            now_us - DAY_US,
        )
    )


async def expected_cluster_figures(db: Database, now_us: int) -> dict[str, str]:
    """What /cluster and /clusters/main show, from SQL."""
    out: dict[str, str] = {}
    parts = (
        "SELECT COUNT(*) FROM (SELECT role, host FROM log_sources WHERE cluster = 'main'"
        " UNION SELECT kind, host FROM metrics_targets WHERE cluster = 'main') WHERE role = ?"
    )
    for role, name in (
        ("controller", "controllers"),
        ("cache", "caches"),
        ("plotter", "plotters"),
        ("farmer", "farmers"),
    ):
        out[f"main:{name}"] = str(int(await scalar(db, parts, role)))
    out["main:cache_capacity"] = pieces(await target(db, "cache", "hub", "cache_capacity_total"))
    plotters = [f"docker:{h}:{r}:{n}" for n, r, h, _ in CLUSTER_LOGS if r == "plotter"]
    out["main:sectors_24h"] = str(sum([await finished_24h(db, k, now_us) for k in plotters]))
    out["main:with_problems"] = str(
        int(
            await scalar(
                db,
                "SELECT COUNT(*) FROM metrics_targets t LEFT JOIN cluster_metrics c"
                " USING (target_key) WHERE t.cluster = 'main'"
                " AND (t.up = 0 OR c.sectors_plotting_errors > 0)",
            )
        )
    )
    # Each component's state: its endpoint's answer, else whether its log has lines.
    async with db.conn.execute(
        "SELECT role, host, key FROM log_sources WHERE cluster = 'main'"
    ) as cur:
        sources = list(await cur.fetchall())
    for role, host, key in sources:
        name = key.rsplit(":", 1)[-1]
        up = await scalar(
            db,
            "SELECT IFNULL(MIN(up), 1) FROM metrics_targets"
            " WHERE cluster = 'main' AND kind = ? AND host = ?",
            role,
            host,
        )
        out[f"main:{role}:{host}:{name}:state"] = "up" if up else "down"
        if role == "plotter":
            out[f"main:plotter:{host}:{name}:sectors_24h"] = str(
                await finished_24h(db, key, now_us)
            )
        if role == "farmer":
            out[f"main:farmer:{host}:{name}:farms"] = str(
                int(
                    await scalar(
                        db,
                        "SELECT COUNT(*) FROM farm_index_map m JOIN log_sources s"
                        " ON s.id = m.source_id WHERE s.key = ? AND m.run_start_us ="
                        " (SELECT MAX(run_start_us) FROM farm_index_map WHERE source_id = s.id)",
                        key,
                    )
                )
            )
    used = await target(db, "plotter", "hub", "plotting_capacity_used")
    total = await target(db, "plotter", "hub", "plotting_capacity_total")
    out["main:plotter:hub:plotter-1:in_use"] = f"{used:,.0f} of {total:,.0f}"
    out["main:plotter:hub:plotter-1:sectors_total"] = (
        f"{await target(db, 'plotter', 'hub', 'sectors_plotted'):,.0f}"
    )
    out["main:cache:hub:cache:capacity"] = out["main:cache_capacity"]
    out["main:controller:hub:controller:farms"] = str(
        int(
            await scalar(
                db,
                "SELECT COUNT(DISTINCT farm_id) FROM events"
                " WHERE kind = 'cluster_farm_initialized'",
            )
        )
    )
    return out


@needs_chromium
@pytest.mark.timeout(300)
async def test_cluster_pages_in_chromium(cluster_db: Database, clock: FakeClock) -> None:
    """Reached from the dashboard; no console errors or broken links; figures equal SQL; whole
    without JavaScript and no wider than a phone."""
    assert CHROMIUM is not None
    expected = await expected_cluster_figures(cluster_db, clock.now_us())
    assert expected["main:plotter:rig-b:plotter-2:state"] == "down"
    assert expected["main:sectors_24h"] != "0"
    async with serving(cluster_db, clock) as base, chromium(CHROMIUM) as browser:
        page = await browser.new_page()
        seen = await crawl(page, base)
        assert {"/cluster", "/clusters/main"} <= set(seen)
        for path in ("/cluster", "/clusters/main"):
            for name, value in expected.items():
                assert seen[path].get(name) == value, f"{path}: {name} shows {seen[path].get(name)}"
        assert any(p.startswith("/farms/") for p in seen)  # the cluster farmers' farms
        assert "/farmers/rig-b" in seen

        await page.send("Emulation.setScriptExecutionDisabled", value=True)
        await page.phone()
        await page.goto(base + "/cluster")
        assert (await page.evaluate(FIGURES_JS))["main:plotters"] == "2"
        assert await page.evaluate("document.documentElement.scrollWidth") <= 390
        text = await page.evaluate("document.body.innerText")
        assert "metrics down: HTTP 503 Service Unavailable" in text
        assert "1 plotting error since it started" in text
        assert "A cluster cache expired at the controller" in text
        assert page.problems == []


async def test_cluster_json_is_the_views(cluster_db: Database, clock: FakeClock) -> None:
    clusters = await ViewStore(cluster_db).cluster.all(clock.now_us())
    async with serving(cluster_db, clock) as base, aiohttp.ClientSession() as session:
        async with session.get(base + "/api/v1/cluster") as r:
            assert r.status == 200
            every = await r.json()
        async with session.get(base + "/api/v1/clusters/main") as r:
            one = await r.json()
        for path in ("/api/v1/clusters/nope", "/clusters/nope"):
            async with session.get(base + path) as r:
                assert r.status == 404, path
    assert every == json.loads(dumps(clusters))
    assert one == every[0]
    (plotter_2,) = [p for p in one["plotters"] if p["name"] == "plotter-2"]
    assert plotter_2["state"] == "down"
    assert plotter_2["problems"] == ["metrics down: HTTP 503 Service Unavailable"]
    assert plotter_2["last_seen_us"] == clock.now_us() - SINCE_SEEN_S * 1_000_000
    assert one["cache_total"] == await target(cluster_db, "cache", "hub", "cache_capacity_total")
    assert one["farm_count"] == 3


async def test_cluster_series_in_metrics(cluster_db: Database, clock: FakeClock) -> None:
    async with (
        serving(cluster_db, clock) as base,
        aiohttp.ClientSession() as session,
        session.get(base + "/metrics") as r,
    ):
        text = await r.text()
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            key = (s.name, tuple(sorted(s.labels.items())))
            assert key not in samples, f"duplicate series {key}"
            samples[key] = s.value

    def value(name: str, role: str, host: str, component: str) -> float:
        labels = {"cluster": "main", "role": role, "host": host, "component": component}
        return samples[(name, tuple(sorted(labels.items())))]

    up = {k[1]: v for k, v in samples.items() if k[0] == "cosmos_cluster_component_up"}
    assert len(up) == 6
    assert value("cosmos_cluster_component_up", "plotter", "rig-b", "plotter-2") == 0
    assert sum(up.values()) == 5
    assert value("cosmos_cluster_component_lag_seconds", "cache", "hub", "cache") == SINCE_SEEN_S
    assert value("cosmos_cluster_cache_capacity_bytes", "cache", "hub", "cache") == (
        await target(cluster_db, "cache", "hub", "cache_capacity_total") * PIECE_BYTES
    )
    assert value("cosmos_cluster_cache_used_bytes", "cache", "hub", "cache") == (
        await target(cluster_db, "cache", "hub", "cache_capacity_used") * PIECE_BYTES
    )
    for name, column in (
        ("cosmos_cluster_plotter_sectors_in_use", "plotting_capacity_used"),
        ("cosmos_cluster_plotter_sectors_capacity", "plotting_capacity_total"),
        ("cosmos_cluster_plotter_sectors_plotted_total", "sectors_plotted"),
        ("cosmos_cluster_plotter_errors_total", "sectors_plotting_errors"),
    ):
        assert value(name, "plotter", "hub", "plotter-1") == await target(
            cluster_db, "plotter", "hub", column
        ), name
    for host, component in (("hub", "plotter-1"), ("rig-b", "plotter-2")):
        assert value(
            "cosmos_cluster_plotter_sectors_24h", "plotter", host, component
        ) == await finished_24h(cluster_db, f"docker:{host}:plotter:{component}", clock.now_us())
    assert value("cosmos_cluster_farms", "farmer", "hub", "farmer-a") == 2
    assert value("cosmos_cluster_farms", "controller", "hub", "controller") == 3
    # A figure a component does not report is absent, not 0.
    assert not [
        k for k in samples if k[0].startswith("cosmos_cluster_cache") and "plotter" in str(k)
    ]


async def test_without_a_cluster_the_dashboard_does_not_link_it(
    db: Database, clock: FakeClock
) -> None:
    async with serving(db, clock) as base, aiohttp.ClientSession() as session:
        async with session.get(base + "/") as r:
            assert 'href="/cluster"' not in await r.text()
        async with session.get(base + "/cluster") as r:
            assert r.status == 200
            assert "No cluster component is configured" in await r.text()
        async with session.get(base + "/api/v1/cluster") as r:
            assert await r.json() == []
        async with session.get(base + "/metrics") as r:
            assert "cosmos_cluster_component_up{" not in await r.text()


def test_several_clusters_each_link_their_own_page() -> None:
    from bot.web import pages
    from collectors.models.views import ClusterComponent, ClusterView

    views = [
        ClusterView(name, plotters=(ClusterComponent("plotter", "p", "h", last_line_us=1),))
        for name in ("east", "west")
    ]
    html = pages.clusters(views, (), 2, str)
    assert 'href="/clusters/east"' in html
    assert 'href="/clusters/west"' in html
    assert 'data-figure="west:plotter:h:p:state">up<' in html
    single = pages.clusters(views[:1], (), 2, str)
    assert "/clusters/" not in single  # one cluster: /cluster is its page
