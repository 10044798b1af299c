"""Cluster roles in the settings, in the database (an existing one is migrated in place), in
Docker discovery, and in metrics endpoints."""

from __future__ import annotations

from pathlib import Path

import pytest

from collectors.models.metrics import ClusterSnapshot
from collectors.parsing.metrics import MetricsParseError, parse_cluster_metrics
from collectors.settings import (
    DockerHost,
    LogFile,
    MetricsTarget,
    SettingsError,
    load_settings,
)
from collectors.sources.docker_logs import (
    DockerDiscovery,
    HostReachability,
    cluster_role_of_command,
)
from collectors.store.database import Database, discover_migrations
from tests.collectors.cluster.helpers import CONTAINERS, FARMER_IMAGE
from tests.conftest import FIXTURES
from tests.fakes.docker_engine import FakeDockerEngine

METRICS = FIXTURES / "metrics"


def test_sources_and_targets_take_cluster_roles() -> None:
    assert LogFile(path=Path("/l"), role="plotter").cluster_name == "cluster"
    assert LogFile(path=Path("/l"), role="cache", cluster="main").cluster_name == "main"
    assert LogFile(path=Path("/l"), role="farmer").cluster_name is None  # a single farmer
    assert LogFile(path=Path("/l"), role="farmer", cluster="main").cluster_name == "main"
    target = MetricsTarget(url="http://10.0.0.8:9082/metrics", kind="controller")
    assert target.cluster_name == "cluster"


def test_a_wrong_role_is_named_with_the_ones_that_exist() -> None:
    with pytest.raises(SettingsError) as error:
        load_settings(None, logs={"files": [{"path": "/l", "role": "plotters"}]})
    message = str(error.value)
    assert "COSMOS_LOGS__FILES[0].role" in message
    assert "farmer, node, controller, cache, plotter" in message
    assert "'plotters'" in message
    with pytest.raises(SettingsError, match=r"TARGETS\[0\]\.kind"):
        load_settings(None, metrics={"targets": [{"url": "http://a/metrics", "kind": "gpu"}]})
    with pytest.raises(SettingsError, match="a node is not a cluster component"):
        load_settings(None, logs={"docker": [{"cluster_containers": {"n": "node"}}]})
    with pytest.raises(SettingsError, match=r"unknown role\(s\) farmer"):
        load_settings(None, alerts={"cluster_logs_silent_minutes": {"farmer": 5}})
    assert DockerHost(cluster_containers={"gpu": "plotter"}).cluster_containers == {
        "gpu": "plotter"
    }


def test_the_cluster_subcommand_is_read_from_the_container_command() -> None:
    roles = {name: cluster_role_of_command(command) for name, (_, command) in CONTAINERS.items()}
    assert roles == {
        "controller": "controller",
        "cache": "cache",
        "plotter-1": "plotter",
        "farmer-a": "farmer",
        "plotter-2": "plotter",
        "farmer-b": "farmer",
    }
    # Option values are skipped even when they look like a role (a host named "cache").
    assert cluster_role_of_command("/subspace-farmer cluster --nats-server cache plotter") == (
        "plotter"
    )
    assert cluster_role_of_command("subspace-farmer cluster --nats-server=nats://x cache") == (
        "cache"
    )
    assert cluster_role_of_command("/subspace-farmer farm path=/farm,size=2T") is None
    assert cluster_role_of_command("/subspace-farmer cluster --nats-server n") is None


async def test_an_existing_database_gets_the_roles_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    before = [m for m in discover_migrations() if m.version < 65]
    old = Database(path)
    await old.initialize(before)
    async with old.transaction() as conn:
        await conn.execute(
            "INSERT INTO log_sources (key, role, updated_us) VALUES ('file:local:/f', 'farmer', 1)"
        )
        await conn.execute(
            "INSERT INTO events (source_id, ts_us, kind, line_hash) VALUES (1, 1, 'farm_exited', 7)"
        )
        with pytest.raises(Exception, match="CHECK constraint"):
            await conn.execute(
                "INSERT INTO log_sources (key, role, updated_us) VALUES ('p', 'plotter', 1)"
            )
    await old.close()
    db = Database(path)
    await db.initialize()
    try:
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO log_sources (key, role, updated_us, cluster) VALUES"
                " ('p', 'plotter', 1, 'main')"
            )
            await conn.execute(
                "INSERT INTO metrics_targets (target_key, kind, label, host, url)"
                " VALUES ('cache:u', 'cache', 'c', 'h', 'u')"
            )
            with pytest.raises(Exception, match="CHECK constraint"):
                await conn.execute(
                    "INSERT INTO log_sources (key, role, updated_us) VALUES ('x', 'nats', 1)"
                )
        async with db.conn.execute("SELECT count(*) FROM events") as cur:
            assert (await cur.fetchone())[0] == 1  # type: ignore[index]
        async with db.conn.execute("PRAGMA integrity_check") as cur:
            assert [tuple(r) for r in await cur.fetchall()] == [("ok",)]
    finally:
        await db.close()


def test_cluster_metrics_bodies() -> None:
    plotter = parse_cluster_metrics((METRICS / "cluster_plotter.txt").read_text())
    assert plotter.plotting_capacity_used == 2
    assert plotter.plotting_capacity_total == 2
    assert plotter.sectors_plotted == 41
    assert plotter.sectors_plotting_errors == 1
    assert plotter.sector_plotting_mean_s == pytest.approx(4927.156421 / 41)
    assert plotter.cache_capacity_total is None
    # A GPU and a CPU plotter in one process: capacities and counters add up.
    both = parse_cluster_metrics((METRICS / "cluster_plotter_gpu.txt").read_text())
    assert (both.plotting_capacity_used, both.plotting_capacity_total) == (3, 6)
    assert both.sectors_plotted == 972
    cache = parse_cluster_metrics((METRICS / "cluster_cache.txt").read_text())
    assert cache == ClusterSnapshot(cache_capacity_used=529388, cache_capacity_total=614400)
    controller = parse_cluster_metrics((METRICS / "cluster_controller.txt").read_text())
    assert controller == ClusterSnapshot(piece_cache_used=529388, piece_cache_capacity=614400)
    with pytest.raises(MetricsParseError, match="cluster component"):
        parse_cluster_metrics((METRICS / "node.txt").read_text())


async def test_docker_discovery_finds_cluster_containers_by_command_or_by_name(
    tmp_path: Path,
) -> None:
    with FakeDockerEngine(tmp_path) as engine:
        for name, (_, command) in CONTAINERS.items():
            engine.add_container(name, FARMER_IMAGE, command=command)
        engine.add_container("ctl-2", FARMER_IMAGE, command="/entrypoint.sh")  # a wrapper
        engine.add_container("single", FARMER_IMAGE, command="/subspace-farmer farm path=/f")
        host = DockerHost(base_url=engine.base_url, cluster_containers={"ctl-2": "controller"})
        discovery = DockerDiscovery(host, HostReachability(engine.base_url, 1.0))
        try:
            found = await discovery.targets()
        finally:
            discovery.close()
    assert {role: sorted(names) for role, names in found.items()} == {
        "controller": ["controller", "ctl-2"],
        "cache": ["cache"],
        "plotter": ["plotter-1", "plotter-2"],
        "farmer": ["farmer-a", "farmer-b", "single"],
    }
    # The single farmer is not a cluster component; the cluster farmers are.
    assert {"farmer-a", "farmer-b", "ctl-2"} <= discovery.cluster_names
    assert "single" not in discovery.cluster_names
