"""Cluster log lines (fixtures written from the upstream format strings) to typed events."""

from __future__ import annotations

from collections import Counter

from collectors.models.events import (
    ClusterCacheDiscovered,
    ClusterCacheExpired,
    ClusterFarmExpired,
    ClusterFarmInitFailed,
    ClusterFarmInitialized,
    EventKind,
    FarmerStarted,
    PieceCacheCreated,
    PlotFailed,
    PlotSectorFinished,
    PlotSectorRequest,
)
from collectors.parsing.cluster import PLOTTER_TIMEOUT_TEXT
from collectors.parsing.logs import parse_line
from tests.collectors.cluster.helpers import (
    CACHE_1,
    CACHE_2,
    FARM_A0,
    FARM_B0,
    PUBLIC_KEY_A0,
    PUBLIC_KEY_B0,
    decoded,
)


def kinds(name: str) -> Counter[EventKind]:
    parsed = [parse_line(line.text) for line in decoded(name)]
    return Counter(p.kind for p in parsed if p is not None)


def test_controller_lines() -> None:
    parsed = [parse_line(line.text) for line in decoded("controller")]
    events = [p.event for p in parsed if p is not None]
    assert isinstance(events[0], FarmerStarted)  # "Connecting to node RPC" starts its run
    assert events[1] == ClusterCacheDiscovered(CACHE_1)
    assert events[2] == ClusterFarmInitialized("01JY2A00000000000000000FMA", 0, FARM_A0)
    assert events[4] == ClusterFarmInitialized("01JY2B00000000000000000FMB", 2, FARM_B0)
    assert kinds("controller")[EventKind.PIECE_CACHE_SYNC] == 1
    assert kinds("controller")[EventKind.PIECE_CACHE_SYNCED] == 1


def test_controller_expiry_lines() -> None:
    parsed = [parse_line(line.text) for line in decoded("controller-expiry")]
    events = [p.event for p in parsed if p is not None]
    assert events == [
        ClusterFarmExpired("01JY2B00000000000000000FMB", 2, FARM_B0),
        ClusterCacheExpired(CACHE_1),
        ClusterFarmInitialized("01JY2B00000000000000001FMB", 2, FARM_B0),
        ClusterCacheDiscovered(CACHE_2),
    ]
    assert [p.level for p in parsed if p is not None][:2] == ["WARN", "WARN"]


def test_failed_to_initialize_farm() -> None:
    line = (
        "2026-06-20T08:00:33.000000Z  WARN subspace_farmer::cluster::controller::farms: "
        f"Failed to initialize farm farmer_id=01JY2A00000000000000000FMA farm_index=1 "
        f"farm_id={FARM_A0} error=Failed to get plotted sectors for farm {FARM_A0}: timeout"
    )
    parsed = parse_line(line)
    assert parsed is not None
    assert parsed.event == ClusterFarmInitFailed(
        "01JY2A00000000000000000FMA",
        1,
        FARM_A0,
        f"Failed to get plotted sectors for farm {FARM_A0}: timeout",
    )


def test_cache_lines_give_capacity() -> None:
    parsed = [parse_line(line.text) for line in decoded("cache")]
    assert [p.event for p in parsed if p is not None] == [
        PieceCacheCreated("01JY2C00000000000000PCACH1", 409600),
        PieceCacheCreated("01JY2C00000000000000PCACH2", 204800),
    ]


def test_plotter_lines_name_the_farm_by_its_public_key() -> None:
    parsed = [parse_line(line.text) for line in decoded("plotter-1")]
    recognised = [p for p in parsed if p is not None]
    assert recognised[0].event == PlotSectorRequest(PUBLIC_KEY_A0)
    assert recognised[0].sector_index == 10
    assert recognised[1].event == PlotSectorFinished(PUBLIC_KEY_A0)
    assert kinds("plotter-1") == {
        EventKind.PLOT_SECTOR_REQUEST: 3,
        EventKind.PLOT_SECTOR_FINISHED: 3,
    }
    second = [parse_line(line.text) for line in decoded("plotter-2")]
    keys = {getattr(p.event, "public_key", None) for p in second if p is not None}
    assert keys == {PUBLIC_KEY_B0}


def test_plotter_timeout_is_a_plot_failure_naming_the_plotter() -> None:
    parsed = parse_line(decoded("farmer-b-plotter-timeout")[0].text)
    assert parsed is not None
    assert isinstance(parsed.event, PlotFailed)
    assert parsed.event.error == f"Low-level plotting error: {PLOTTER_TIMEOUT_TEXT}"
    assert (parsed.farm_index, parsed.sector_index) == (0, 32)


def test_cluster_farmer_logs_as_a_farmer() -> None:
    counts = kinds("farmer-a")
    assert counts[EventKind.FARM_HEADER] == 2
    assert counts[EventKind.FARM_ID] == 2
    assert counts[EventKind.PLOTTING] == 3
    assert counts[EventKind.REWARD_SIGNED] == 1


def test_farmer_messages_still_win_over_cluster_ones() -> None:
    # "Farm 0:" and "Finished piece cache synchronization" start with the cluster words.
    header = "2026-06-20T08:00:20.000001Z  INFO {farm_index=0}: x::y: Farm 0:"
    finished = "2026-06-20T08:01:40.000000Z  INFO x: Finished piece cache synchronization"
    assert [parse_line(line).kind for line in (header, finished)] == [  # type: ignore[union-attr]
        EventKind.FARM_HEADER,
        EventKind.PIECE_CACHE_SYNCED,
    ]
    assert parse_line("2026-06-20T08:00:00.000000Z  INFO x: Farm initialized") is None
    assert parse_line("2026-06-20T08:00:00.000000Z  INFO x: New cache discovered") is None
