"""The metrics collector against real HTTP servers on 127.0.0.1 (aiohttp.web)."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

from collectors.clock import FakeClock
from collectors.metrics_collector import MetricsCollector
from collectors.models.metrics import FailureKind
from collectors.settings import MetricsSettings, MetricsTarget
from collectors.store.database import Database
from collectors.store.farmers import FarmerStore
from collectors.store.metrics import MetricsStore
from tests.conftest import FIXTURES, SAMPLES, needs_samples

METRICS = FIXTURES / "metrics"
CURRENT = (METRICS / "farmer_current.txt").read_text()
LEGACY = (METRICS / "farmer_legacy.txt").read_text()
NODE = (METRICS / "node.txt").read_text()
FARM_A = "01HAAAAAAAAAAAAAAAAAAAAAAA"
FARM_B = "01HBBBBBBBBBBBBBBBBBBBBBBB"
FARM_C = "01HCCCCCCCCCCCCCCCCCCCCCCC"
OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"


@dataclass
class FakeEndpoints:
    """Bodies the test can change between scrapes; ``hits`` counts requests per path."""

    base: str = ""
    bodies: dict[str, str] = field(default_factory=dict)
    status: dict[str, int] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    release_slow: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str) -> str:
        return f"{self.base}/{path}"


def _app(state: FakeEndpoints) -> web.Application:
    async def body(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        state.hits[name] = state.hits.get(name, 0) + 1
        status = state.status.get(name, 200)
        if status != 200:
            return web.Response(status=status, text="Internal Server Error")
        return web.Response(body=state.bodies[name].encode(), headers={"Content-Type": OPENMETRICS})

    async def plain(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        return web.Response(text=state.bodies[name], content_type="text/plain")

    async def html(request: web.Request) -> web.Response:
        return web.Response(
            text="<html><body><h1>Grafana</h1></body></html>", content_type="text/html"
        )

    async def slow(request: web.Request) -> web.Response:
        await state.release_slow.wait()  # answers only after the client gave up
        return web.Response(text=CURRENT, content_type="text/plain")

    async def dropped(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        response.content_length = len(CURRENT)
        await response.prepare(request)
        await response.write(CURRENT[: len(CURRENT) // 3].encode())
        assert request.transport is not None
        request.transport.close()  # the farmer died while answering
        return response

    app = web.Application()
    app.router.add_get("/m/{name}", body)
    app.router.add_get("/plain/{name}", plain)
    app.router.add_get("/html", html)
    app.router.add_get("/slow", slow)
    app.router.add_get("/dropped", dropped)
    return app


@pytest.fixture
async def endpoints() -> AsyncIterator[FakeEndpoints]:
    state = FakeEndpoints()
    runner = web.AppRunner(_app(state), shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state.base = f"http://127.0.0.1:{port}"
    try:
        yield state
    finally:
        state.release_slow.set()
        await runner.cleanup()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _collector(
    db: Database, clock: FakeClock, targets: list[MetricsTarget], **settings: float
) -> MetricsCollector:
    farmers = FarmerStore(db)
    primary = await farmers.ensure_primary("local", clock.now_us())
    return MetricsCollector(
        MetricsSettings(targets=targets, **{"timeout_seconds": 1.0, **settings}),
        MetricsStore(db),
        farmers,
        primary,
        clock,
    )


def farmer(url: str, **kw: object) -> MetricsTarget:
    return MetricsTarget(url=url, kind="farmer", **kw)  # type: ignore[arg-type]


def node(url: str, **kw: object) -> MetricsTarget:
    return MetricsTarget(url=url, kind="node", **kw)  # type: ignore[arg-type]


@needs_samples
async def test_sample_bodies_become_farm_and_node_state(
    db: Database, clock: FakeClock, endpoints: FakeEndpoints
) -> None:
    endpoints.bodies["farmer"] = (SAMPLES / "farmer_metrics.txt").read_text()
    endpoints.bodies["node"] = (SAMPLES / "node_metrics.txt").read_text()
    collector = await _collector(
        db, clock, [farmer(endpoints.url("m/farmer")), node(endpoints.url("plain/node"))]
    )
    async with collector:
        outcomes = await collector.scrape_all()
    assert [o.ok for o in outcomes] == [True, True]
    store = MetricsStore(db)
    farms = {s.farm_id: s for s in await store.latest_farm_states()}
    assert len(farms) == 3
    cef = farms["01JD2Q7H5M8R3T6W9Y0A2B4CEF"]
    assert (cef.sectors_not_plotted, cef.sectors_plotted) == (919, 24)
    assert (cef.proving_success, cef.proving_timeout, cef.farming_errors) == (1, 1, 1)
    assert cef.auditing_p99_s is not None
    assert cef.auditing_mean_s is not None
    assert cef.auditing_mean_s <= cef.auditing_p99_s
    [state] = await store.latest_node_states()
    assert (state.snapshot.best, state.synced, state.snapshot.blocks_behind) == (3245198, True, 0)
    [farmer_state] = await store.latest_farmer_states()
    assert (farmer_state.piece_cache_used, farmer_state.connections) == (66698, 57)
    assert all(h.up for h in await store.target_health())


async def test_broken_endpoints_are_recorded_once_and_the_others_go_on(
    db: Database, clock: FakeClock, endpoints: FakeEndpoints, caplog: pytest.LogCaptureFixture
) -> None:
    endpoints.bodies.update(good=CURRENT, garbage="hello\nthis is not metrics\n", node=NODE)
    endpoints.status["error"] = 500
    endpoints.bodies["error"] = CURRENT
    refused = f"http://127.0.0.1:{_closed_port()}/metrics"
    targets = [
        farmer(endpoints.url("m/good"), label="good"),
        farmer(endpoints.url("m/error"), label="error"),
        farmer(endpoints.url("html"), label="html"),
        farmer(endpoints.url("plain/garbage"), label="garbage"),
        farmer(endpoints.url("plain/node"), label="node body"),
        farmer(refused, label="refused"),
        farmer(endpoints.url("slow"), label="slow"),
        farmer(endpoints.url("dropped"), label="dropped"),
    ]
    collector = await _collector(db, clock, targets, timeout_seconds=0.3)
    store = MetricsStore(db)
    with caplog.at_level(logging.INFO, logger="collectors.metrics_collector"):
        async with collector:
            first = await collector.scrape_all()
            clock.advance(60)
            second = await collector.scrape_all()
    kinds = {t.label: o.failure for t, o in zip(targets, first, strict=True)}
    assert kinds == {
        "good": None,
        "error": FailureKind.HTTP_ERROR,
        "html": FailureKind.NOT_METRICS,
        "garbage": FailureKind.NOT_METRICS,
        "node body": FailureKind.NOT_METRICS,
        "refused": FailureKind.UNREACHABLE,
        "slow": FailureKind.TIMEOUT,
        "dropped": FailureKind.DROPPED,
    }
    assert [o.failure for o in second] == [o.failure for o in first]
    health = {h.label: h for h in await store.target_health()}
    assert health["good"].up is True
    for label in kinds.keys() - {"good"}:
        h = health[label]
        assert (h.up, h.since_us, h.consecutive_failures) == (False, clock.now_us() - 60_000_000, 2)
        assert h.last_error
    assert "HTTP 500" in (health["error"].last_error or "")
    assert "HTML" in (health["html"].last_error or "")
    # Down is said once per target, not once per scrape; the good farm was stored regardless.
    assert caplog.text.count("is down") == 7
    assert len(await store.health_transitions(0)) == 7
    assert [s.farm_id for s in await store.latest_farm_states()] == [FARM_A, FARM_B]


async def test_bodies_that_made_the_parser_raise_are_stored_or_not_metrics(
    db: Database, clock: FakeClock, endpoints: FakeEndpoints
) -> None:
    """A blank line with spaces and a bucket bound that is no number (IndexError and ValueError
    out of the scrape before): the rest of the body is used. A body the library cannot read is
    recorded against its endpoint as not metrics."""
    odd_bucket = 'subspace_farmer_farm_auditing_time_seconds_bucket{farm_id="%s",le="abc"} 3\n'
    endpoints.bodies.update(
        odd=" \t \n" + CURRENT.replace("# EOF\n", "") + odd_bucket % FARM_A + "   \n",
        nan_node=NODE.replace('autonomys_mainnet"} 7', 'autonomys_mainnet"} NaN'),
        broken='subspace_farmer_farm_sectors_total_Sectors{farm_id="x" 5\n',
    )
    targets = [
        farmer(endpoints.url("plain/odd"), label="odd"),
        node(endpoints.url("plain/nan_node"), label="nan node"),
        farmer(endpoints.url("plain/broken"), label="broken"),
    ]
    collector = await _collector(db, clock, targets)
    async with collector:
        outcomes = await collector.scrape_all()
    assert [o.failure for o in outcomes] == [None, None, FailureKind.NOT_METRICS]
    health = {h.label: h for h in await MetricsStore(db).target_health()}
    assert "could not be parsed" in (health["broken"].last_error or "")
    assert [s.farm_id for s in await MetricsStore(db).latest_farm_states()] == [FARM_A, FARM_B]


async def test_a_target_coming_back_is_recorded(
    db: Database, clock: FakeClock, endpoints: FakeEndpoints, caplog: pytest.LogCaptureFixture
) -> None:
    endpoints.bodies["node"] = NODE
    endpoints.status["node"] = 500
    collector = await _collector(db, clock, [node(endpoints.url("m/node"), label="rack node")])
    store = MetricsStore(db)
    with caplog.at_level(logging.INFO, logger="collectors.metrics_collector"):
        async with collector:
            await collector.scrape_all()
            clock.advance(60)
            endpoints.status["node"] = 200
            [outcome] = await collector.scrape_all()
    assert outcome.ok
    [health] = await store.target_health()
    assert (health.up, health.since_us, health.consecutive_failures) == (True, clock.now_us(), 0)
    assert [t.up for t in await store.health_transitions(0)] == [False, True]
    assert "rack node" in caplog.text
    assert "is back" in caplog.text


async def test_farms_added_and_removed_between_scrapes(
    db: Database, clock: FakeClock, endpoints: FakeEndpoints
) -> None:
    endpoints.bodies["farmer"] = CURRENT
    collector = await _collector(db, clock, [farmer(endpoints.url("m/farmer"))])
    store = MetricsStore(db)
    async with collector:
        [first] = await collector.scrape_all()
        assert first.added_farm_ids == (FARM_A, FARM_B)
        clock.advance(60)
        # Farm B's drive is gone and a new drive (farm C) was added.
        endpoints.bodies["farmer"] = CURRENT.replace(FARM_B, FARM_C)
        [second] = await collector.scrape_all()
    assert (second.added_farm_ids, second.removed_farm_ids) == ((FARM_C,), (FARM_B,))
    assert [s.farm_id for s in await store.latest_farm_states()] == [FARM_A, FARM_C]
    async with db.conn.execute(
        "SELECT farm_id, active, removed_us FROM farms ORDER BY farm_id"
    ) as cur:
        rows = [tuple(r) for r in await cur.fetchall()]
    assert rows == [(FARM_A, 1, None), (FARM_B, 0, clock.now_us()), (FARM_C, 1, None)]
    assert len(await store.farm_history(FARM_B, 0)) == 1


def _plotting(counter: int, not_plotted: int) -> str:
    return CURRENT.replace(
        f'sector_plotted_counter_Sectors_total{{farm_id="{FARM_A}"}} 10',
        f'sector_plotted_counter_Sectors_total{{farm_id="{FARM_A}"}} {counter}',
    ).replace(
        f'{{farm_id="{FARM_A}",state="NotPlotted"}} 90',
        f'{{farm_id="{FARM_A}",state="NotPlotted"}} {not_plotted}',
    )


async def test_plotting_rate_and_eta_from_the_recent_window(
    db: Database, clock: FakeClock, endpoints: FakeEndpoints
) -> None:
    collector = await _collector(
        db, clock, [farmer(endpoints.url("m/farmer"))], rate_window_minutes=60
    )
    store = MetricsStore(db)
    async with collector:
        endpoints.bodies["farmer"] = _plotting(10, 90)
        await collector.scrape_all()
        state = await store.latest_farm_state(FARM_A)
        assert state is not None
        assert (state.plot_rate_per_hour, state.plotting_eta_seconds) == (None, None)
        for counter, not_plotted in ((12, 88), (14, 86)):  # at 15 and 30 minutes
            clock.advance(15 * 60)
            endpoints.bodies["farmer"] = _plotting(counter, not_plotted)
            await collector.scrape_all()
        state = await store.latest_farm_state(FARM_A)
        assert state is not None
        assert state.plot_rate_per_hour == pytest.approx(8.0)  # 4 sectors in 30 minutes
        # 86 not plotted + 1 expired at 8 an hour.
        assert state.plotting_eta_seconds == pytest.approx(87 / 8 * 3600)
        # Farm B is fully plotted: nothing left, ETA 0.
        done = await store.latest_farm_state(FARM_B)
        assert done is not None
        assert done.plotting_eta_seconds == 0.0
        # 75 minutes on, the window (60 minutes) only holds the later samples.
        clock.advance(45 * 60)
        endpoints.bodies["farmer"] = _plotting(14, 86)
        await collector.scrape_all()
        state = await store.latest_farm_state(FARM_A)
        assert state is not None
        assert state.plot_rate_per_hour == pytest.approx(2 / (60 / 60))  # 12 -> 14 in an hour
    # A new collector (a restart) seeds its window from stored history.
    again = await _collector(db, clock, [farmer(endpoints.url("m/farmer"))])
    clock.advance(60)
    endpoints.bodies["farmer"] = _plotting(16, 84)
    async with again:
        await again.scrape_all()
    state = await store.latest_farm_state(FARM_A)
    assert state is not None
    # Stored samples at 30 (14) and 75 (14) minutes, now 76 minutes (16): 2 in 46 minutes.
    assert state.plot_rate_per_hour == pytest.approx(2 / (46 / 60))


def _audited(extra: int) -> str:
    """The fixture body after ``extra`` more audits of farm A, all in the 6.4-12.8 ms bucket."""
    a = f'farm_id="{FARM_A}"'
    body = CURRENT
    for le, count in (("0.0128", 100), ("+Inf", 100)):
        body = body.replace(
            f'auditing_time_seconds_bucket{{{a},le="{le}"}} {count}',
            f'auditing_time_seconds_bucket{{{a},le="{le}"}} {count + extra}',
        )
    return body.replace(
        f"auditing_time_seconds_sum{{{a}}} 0.5",
        f"auditing_time_seconds_sum{{{a}}} {0.5 + 0.01 * extra}",
    ).replace(
        f"auditing_time_seconds_count{{{a}}} 100",
        f"auditing_time_seconds_count{{{a}}} {100 + extra}",
    )


async def test_recent_auditing_statistics_cover_only_the_window(
    db: Database, clock: FakeClock, endpoints: FakeEndpoints
) -> None:
    collector = await _collector(
        db, clock, [farmer(endpoints.url("m/farmer"))], rate_window_minutes=10
    )
    store = MetricsStore(db)
    async with collector:
        endpoints.bodies["farmer"] = CURRENT
        await collector.scrape_all()
        first = await store.latest_farm_state(FARM_A)
        assert first is not None
        assert first.auditing_recent_mean_s is None
        assert first.auditing_mean_s == pytest.approx(0.005)
        clock.advance(60)
        endpoints.bodies["farmer"] = _audited(60)  # the farm got slow: 10 ms an audit
        await collector.scrape_all()
    state = await store.latest_farm_state(FARM_A)
    assert state is not None
    assert state.auditing_recent_mean_s == pytest.approx(0.01)
    assert state.auditing_recent_p99_s is not None
    assert 0.0064 < state.auditing_recent_p99_s <= 0.0128
    # Since the start the mean moved only part of the way.
    assert state.auditing_mean_s == pytest.approx(1.1 / 160)
    # No proving in the window: no recent proving figures, the since-start ones stay.
    assert state.proving_recent_mean_s is None
    assert state.proving_mean_s is not None


async def test_older_layout_over_http(
    db: Database, clock: FakeClock, endpoints: FakeEndpoints
) -> None:
    endpoints.bodies["old"] = LEGACY
    collector = await _collector(db, clock, [farmer(endpoints.url("plain/old"), farmer="rack-2")])
    store = MetricsStore(db)
    async with collector:
        [outcome] = await collector.scrape_all()
    assert outcome.ok
    states = await store.latest_farm_states()
    assert [(s.farm_id, s.sectors_plotted, s.proving_failed) for s in states] == [
        (FARM_C, 60, 1),
        ("01HDDDDDDDDDDDDDDDDDDDDDDD", 30, 0),
    ]
    rack = await FarmerStore(db).ensure("rack-2", clock.now_us())
    assert {s.farmer_id for s in states} == {rack.id}
    [farmer_state] = await store.latest_farmer_states()
    assert farmer_state.layout.value == "legacy"


async def test_thinning_through_the_collector(
    db: Database, clock: FakeClock, endpoints: FakeEndpoints
) -> None:
    endpoints.bodies["farmer"] = CURRENT
    collector = await _collector(
        db, clock, [farmer(endpoints.url("m/farmer"))], full_detail_hours=1
    )
    store = MetricsStore(db)
    async with collector:
        for _ in range(12):  # every 10 minutes for two hours
            await collector.scrape_all()
            clock.advance(600)
    await collector.thin_once()
    history = await store.farm_history(FARM_A, 0)
    # The first hour is thinned to one snapshot; the last hour keeps all of its six.
    assert len(history) == 1 + 6
    await collector.thin_once()
    assert len(await store.farm_history(FARM_A, 0)) == 7


async def test_run_scrapes_every_target_and_closes_its_session_on_cancel(
    db: Database, clock: FakeClock, endpoints: FakeEndpoints
) -> None:
    endpoints.bodies.update(farmer=CURRENT, node=NODE)
    refused = f"http://127.0.0.1:{_closed_port()}/metrics"
    collector = await _collector(
        db,
        clock,
        [
            farmer(endpoints.url("m/farmer"), interval_seconds=0.05),
            node(endpoints.url("m/node")),
            node(refused, label="dead node"),
        ],
        interval_seconds=0.05,
    )
    assert [t.interval for t in collector.targets] == [0.05, 0.05, 0.05]
    store = MetricsStore(db)
    task = asyncio.create_task(collector.run())

    for _ in range(1000):  # until the farmer was scraped twice and every target recorded
        if endpoints.hits.get("farmer", 0) >= 2 and len(await store.target_health()) == 3:
            break
        await asyncio.sleep(0.01)
    session = collector.session
    assert session is not None
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert session.closed
    assert collector.session is None
    health = {h.label: h.up for h in await store.target_health()}
    assert health["dead node"] is False
    assert sum(1 for up in health.values() if up) == 2


async def test_a_target_configured_twice_is_scraped_once(db: Database, clock: FakeClock) -> None:
    url = "http://127.0.0.1:9/metrics"
    collector = await _collector(db, clock, [farmer(url), farmer(url, label="again")])
    assert len(collector.targets) == 1


async def test_the_composition_root_adds_the_collector_only_with_targets(tmp_path: Path) -> None:
    from bot.services import build_services
    from collectors.settings import Settings

    none = await build_services(Settings(database_path=tmp_path / "a.db", farmer_name="local"))
    try:
        assert [c.name for c in none.collectors if c.name == "metrics"] == []
    finally:
        await none.db.close()
    metrics = MetricsSettings(targets=[farmer("http://127.0.0.1:9081/metrics")])
    some = await build_services(
        Settings(database_path=tmp_path / "b.db", farmer_name="local", metrics=metrics)
    )
    try:
        [collector] = [c for c in some.collectors if c.name == "metrics"]
        assert isinstance(collector, MetricsCollector)
    finally:
        await some.db.close()


async def test_a_farmer_with_many_farms_is_parsed_off_the_event_loop(
    db: Database, clock: FakeClock, endpoints: FakeEndpoints
) -> None:
    from collectors.metrics_collector import OFFLOAD_PARSE_CHARS

    block = "\n".join(line for line in CURRENT.splitlines() if FARM_A in line)
    ids = [f"01HMANY{i:019d}" for i in range(120)]
    blocks = "\n".join(block.replace(FARM_A, farm_id) for farm_id in ids)
    endpoints.bodies["big"] = blocks + "\n# EOF\n"
    assert len(endpoints.bodies["big"]) > OFFLOAD_PARSE_CHARS
    collector = await _collector(db, clock, [farmer(endpoints.url("m/big"))])
    async with collector:
        [outcome] = await collector.scrape_all()
        clock.advance(60)
        [again] = await collector.scrape_all()
    assert outcome.ok
    assert outcome.added_farm_ids == tuple(ids)
    assert (again.added_farm_ids, again.removed_farm_ids) == ((), ())
    states = await MetricsStore(db).latest_farm_states()
    assert [s.farm_id for s in states] == ids
    assert {(s.sectors_not_plotted, s.proving_timeout) for s in states} == {(90, 1)}


async def test_an_openmetrics_body_cut_before_eof_is_not_stored(
    db: Database, clock: FakeClock, endpoints: FakeEndpoints
) -> None:
    # Half a body, as a close-delimited response that lost its connection would arrive.
    endpoints.bodies["cut"] = CURRENT[: CURRENT.index(FARM_B)]
    collector = await _collector(db, clock, [farmer(endpoints.url("m/cut"))])
    async with collector:
        [outcome] = await collector.scrape_all()
    assert outcome.failure is FailureKind.DROPPED
    assert await MetricsStore(db).latest_farm_states() == []


async def test_credentials_in_a_url_are_used_but_never_stored_or_shown(
    db: Database, clock: FakeClock, endpoints: FakeEndpoints
) -> None:
    endpoints.bodies["node"] = NODE
    url = endpoints.url("m/node").replace("http://", "http://monitor:s3cret@")
    collector = await _collector(db, clock, [node(url)])
    async with collector:
        [outcome] = await collector.scrape_all()
    assert outcome.ok
    [health] = await MetricsStore(db).target_health()
    assert health.url == endpoints.url("m/node")
    assert "s3cret" not in health.target_key
    assert "s3cret" not in health.label
