from __future__ import annotations

from dataclasses import replace

from collectors.metrics_collector import derive_farm_state
from collectors.models.metrics import (
    FailureKind,
    FarmerSnapshot,
    FarmMetrics,
    MetricsLayout,
    NodeSnapshot,
    TargetKind,
)
from collectors.parsing.metrics import parse_farmer_metrics, parse_node_metrics
from collectors.store.database import Database
from collectors.store.farmers import FarmerStore
from collectors.store.metrics import HOUR_US, MetricsStore, TargetRef
from tests.conftest import FIXTURES

T0 = 1_750_406_400_000_000
MIN = 60_000_000
FARM_A = "01HAAAAAAAAAAAAAAAAAAAAAAA"
FARM_B = "01HBBBBBBBBBBBBBBBBBBBBBBB"


def _target(kind: TargetKind = TargetKind.FARMER, farmer_id: int | None = None) -> TargetRef:
    url = "http://10.0.0.5:9081/metrics"
    return TargetRef(f"{kind}:{url}", kind, "rack farmer", "rack", url, farmer_id)


async def _farmer(db: Database) -> int:
    return (await FarmerStore(db).ensure_primary("local", T0)).id


async def _store_snapshot(
    store: MetricsStore, target: TargetRef, farmer_id: int, snap: FarmerSnapshot, now_us: int
) -> tuple[tuple[str, ...], tuple[str, ...], int]:
    states = [
        derive_farm_state(
            farm,
            farmer_id=farmer_id,
            target_key=target.key,
            now_us=now_us,
            window=[],
            min_span_us=MIN,
        )
        for farm in snap.farms
    ]
    result = await store.record_farmer_scrape(target, farmer_id, snap, states, now_us)
    return result.added_farm_ids, result.removed_farm_ids, result.rows_written


def _current() -> FarmerSnapshot:
    return parse_farmer_metrics((FIXTURES / "metrics" / "farmer_current.txt").read_text())


async def test_farms_get_only_the_metrics_columns_and_log_columns_survive(db: Database) -> None:
    farmer_id = await _farmer(db)
    # The log helper saw farm A first and filled its log columns.
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO farms (farm_id, farmer_id, farm_index, public_key, allocated_bytes,"
            " directory, first_seen_us, last_seen_us) VALUES (?, ?, 2, '0xabc', 4000, '/mnt/a',"
            " ?, ?)",
            (FARM_A, farmer_id, T0 - HOUR_US, T0 - HOUR_US),
        )
    store = MetricsStore(db)
    added, removed, rows = await _store_snapshot(store, _target(), farmer_id, _current(), T0)
    assert added == (FARM_A, FARM_B)
    assert removed == ()
    assert rows > 0
    async with db.conn.execute("SELECT * FROM farms ORDER BY farm_id") as cur:
        rows_ = [dict(r) for r in await cur.fetchall()]
    a, b = rows_
    assert (a["farm_index"], a["public_key"], a["allocated_bytes"], a["directory"]) == (
        2,
        "0xabc",
        4000,
        "/mnt/a",
    )
    assert (a["first_seen_us"], a["last_seen_us"], a["active"]) == (T0 - HOUR_US, T0, 1)
    assert (b["farmer_id"], b["first_seen_us"], b["farm_index"]) == (farmer_id, T0, None)


async def test_a_farm_no_longer_reported_becomes_inactive_and_keeps_its_history(
    db: Database,
) -> None:
    farmer_id = await _farmer(db)
    store = MetricsStore(db)
    target = _target()
    snap = _current()
    await _store_snapshot(store, target, farmer_id, snap, T0)
    only_a = replace(snap, farms=snap.farms[:1])
    added, removed, _ = await _store_snapshot(store, target, farmer_id, only_a, T0 + MIN)
    assert (added, removed) == ((), (FARM_B,))
    assert [s.farm_id for s in await store.latest_farm_states()] == [FARM_A]
    everything = await store.latest_farm_states(active_only=False)
    assert [(s.farm_id, s.active) for s in everything] == [(FARM_A, True), (FARM_B, False)]
    async with db.conn.execute(
        "SELECT active, removed_us FROM farms WHERE farm_id = ?", (FARM_B,)
    ) as cur:
        assert tuple(await cur.fetchone()) == (0, T0 + MIN)  # type: ignore[arg-type]
    assert len(await store.farm_history(FARM_B, 0)) == 1
    # It comes back: active again, removal cleared.
    added, removed, _ = await _store_snapshot(store, target, farmer_id, snap, T0 + 2 * MIN)
    assert (added, removed) == ((), ())
    async with db.conn.execute(
        "SELECT active, removed_us FROM farms WHERE farm_id = ?", (FARM_B,)
    ) as cur:
        assert tuple(await cur.fetchone()) == (1, None)  # type: ignore[arg-type]


async def test_a_body_without_farms_removes_nothing(db: Database) -> None:
    farmer_id = await _farmer(db)
    store = MetricsStore(db)
    await _store_snapshot(store, _target(), farmer_id, _current(), T0)
    empty = FarmerSnapshot(MetricsLayout.CURRENT, ())
    _, removed, _ = await _store_snapshot(store, _target(), farmer_id, empty, T0 + MIN)
    assert removed == ()
    assert len(await store.latest_farm_states()) == 2


async def test_another_targets_farms_are_not_touched(db: Database) -> None:
    farmer_id = await _farmer(db)
    store = MetricsStore(db)
    snap = _current()
    other = TargetRef("farmer:http://other/metrics", TargetKind.FARMER, "o", "o", "http://other")
    await _store_snapshot(store, _target(), farmer_id, replace(snap, farms=snap.farms[:1]), T0)
    await _store_snapshot(store, other, farmer_id, replace(snap, farms=snap.farms[1:]), T0)
    _, removed, _ = await _store_snapshot(
        store, _target(), farmer_id, replace(snap, farms=snap.farms[:1]), T0 + MIN
    )
    assert removed == ()
    assert len(await store.latest_farm_states()) == 2


async def test_latest_farm_state_reads_back_what_was_derived(db: Database) -> None:
    farmer_id = await _farmer(db)
    store = MetricsStore(db)
    await _store_snapshot(store, _target(), farmer_id, _current(), T0)
    state = await store.latest_farm_state(FARM_A)
    assert state is not None
    assert (state.sectors_not_plotted, state.sectors_plotted_counter) == (90, 10)
    assert state.auditing_count == 100
    assert state.auditing_mean_s is not None
    assert state.auditing_p99_s is not None
    assert (state.proving_success, state.proving_timeout) == (4, 1)
    assert state.farming_errors == 3
    assert state.plot_rate_per_hour is None  # no window yet
    farmers = await store.latest_farmer_states()
    assert [(f.farm_count, f.piece_cache_used, f.plotter_capacity_total) for f in farmers] == [
        (2, 750, 6)
    ]
    assert await store.latest_farm_state("01HZZZZZZZZZZZZZZZZZZZZZZZ") is None


async def test_health_records_the_start_of_an_outage_once(db: Database) -> None:
    store = MetricsStore(db)
    target = _target()
    first = await store.record_failure(target, FailureKind.UNREACHABLE, "refused", T0)
    assert first.went_down
    second = await store.record_failure(target, FailureKind.TIMEOUT, "no answer", T0 + MIN)
    assert not second.went_down
    assert second.previous_error_kind is FailureKind.UNREACHABLE
    [health] = await store.target_health()
    assert (health.up, health.since_us, health.consecutive_failures) == (False, T0, 2)
    assert (health.last_error, health.last_error_kind) == ("no answer", FailureKind.TIMEOUT)
    assert health.last_ok_us is None
    change = await store.record_node_scrape(
        replace(target, kind=TargetKind.NODE),
        parse_node_metrics((FIXTURES / "metrics" / "node.txt").read_text()),
        T0 + 2 * MIN,
    )
    assert change.came_back
    [health] = await store.target_health()
    assert (health.up, health.since_us, health.last_ok_us) == (True, T0 + 2 * MIN, T0 + 2 * MIN)
    assert (health.consecutive_failures, health.last_error) == (0, None)
    transitions = await store.health_transitions(0)
    assert [(t.up, t.ts_us, t.error_kind) for t in transitions] == [
        (False, T0, FailureKind.UNREACHABLE),
        (True, T0 + 2 * MIN, None),
    ]


async def test_a_target_that_starts_healthy_has_no_transition(db: Database) -> None:
    store = MetricsStore(db)
    node = replace(_target(), kind=TargetKind.NODE)
    snap = NodeSnapshot(10, 5, 10, 3, False, "v", "n", "c")
    change = await store.record_node_scrape(node, snap, T0)
    assert not change.came_back
    assert not change.went_down
    assert await store.health_transitions(0) == []
    [state] = await store.latest_node_states()
    assert state.synced is True
    assert state.snapshot == snap
    assert [r.best for r in await store.node_history(node.key, 0)] == [10]


async def test_node_state_derives_synced_and_blocks_behind(db: Database) -> None:
    store = MetricsStore(db)
    node = replace(_target(), kind=TargetKind.NODE)
    await store.record_node_scrape(
        node, parse_node_metrics((FIXTURES / "metrics" / "node.txt").read_text()), T0
    )
    [state] = await store.latest_node_states()
    assert state.synced is False
    assert state.snapshot.blocks_behind == 500
    assert state.label == "rack farmer"


def _farm(counter: float) -> FarmMetrics:
    return FarmMetrics(FARM_A, sectors_plotted=int(counter), sectors_plotted_counter=counter)


async def test_thinning_keeps_full_detail_recently_and_one_an_hour_before(db: Database) -> None:
    farmer_id = await _farmer(db)
    store = MetricsStore(db)
    target = _target()
    start = T0 - T0 % HOUR_US
    minutes = 72 * 60
    for i in range(0, minutes, 10):  # a snapshot every 10 minutes for 72 hours
        snap = FarmerSnapshot(MetricsLayout.CURRENT, (_farm(float(i)),))
        await _store_snapshot(store, target, farmer_id, snap, start + i * MIN)
    now = start + minutes * MIN
    deleted = await store.thin_snapshots(now, 48 * HOUR_US)
    history = await store.farm_history(FARM_A, 0)
    old = [r for r in history if r.ts_us < now - 48 * HOUR_US]
    recent = [r for r in history if r.ts_us >= now - 48 * HOUR_US]
    assert len(old) == 24  # one per hour for the first 24 hours
    assert all((r.ts_us - start) % HOUR_US == 0 for r in old)
    assert len(recent) == 48 * 6
    assert deleted == 2 * 24 * 5  # farm and farmer snapshots: 5 of every 6 in an hour
    assert await store.thin_snapshots(now, 48 * HOUR_US) == 0
    # Counters stay raw, so a rate over thinned history is still right.
    assert old[1].sectors_plotted_counter - old[0].sectors_plotted_counter == 60  # type: ignore[operator]


async def test_plotting_counter_history_seeds_rate_windows(db: Database) -> None:
    farmer_id = await _farmer(db)
    store = MetricsStore(db)
    for i, counter in enumerate((3.0, 4.0, 6.0)):
        snap = FarmerSnapshot(MetricsLayout.CURRENT, (_farm(counter),))
        await _store_snapshot(store, _target(), farmer_id, snap, T0 + i * MIN)
    legacy = FarmMetrics(FARM_B, sectors_plotted=5, sectors_expired=2, sectors_not_plotted=9)
    await _store_snapshot(
        store, _target(), farmer_id, FarmerSnapshot(MetricsLayout.LEGACY, (legacy,)), T0 + 3 * MIN
    )
    history = await store.plotting_counter_history([FARM_A, FARM_B], T0 + MIN)
    assert history == {
        FARM_A: [(T0 + MIN, 4.0), (T0 + 2 * MIN, 6.0)],
        FARM_B: [(T0 + 3 * MIN, 7.0)],
    }
