"""Today's upstream messages (../shared/UPSTREAM.md): every one recognised and stored.

The fixture lines (``*-2026-06.log``) are written from the format strings in autonomys/subspace
at 72a5aa6f1; each test names the message it covers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from collectors.clock import FakeClock
from collectors.models.events import (
    DsnPeers,
    DsnSyncError,
    DsnSyncStarted,
    EventKind,
    FarmCreationFailed,
    FarmerShutdown,
    FarmExitedOk,
    FarmResized,
    MetricsServerStarted,
    NodeChain,
    NodeName,
    ParsedLine,
    PieceCacheCatchUp,
    PieceCacheCaughtUp,
    PieceCacheStart,
    PlotKind,
    PlotRetry,
    ProveFailed,
    RewardSignatureInvalid,
    SectorSendFailed,
    SlowBlock,
    SolutionIgnored,
    VoteFailed,
)
from collectors.models.logs import SourceRef
from collectors.parsing.logs import parse_line
from collectors.store.database import Database
from tests.collectors.test_ingest import log_lines, make_ingestor, rows
from tests.conftest import FIXTURES

LOGS = FIXTURES / "logs"
FARMER_LOG = LOGS / "farmer-2026-06.log"
NODE_LOG = LOGS / "node-2026-06.log"
FARM_A = "01K0AAAAAAAAAAAAAAAAAAAAAA"
FARM_B = "01K0BBBBBBBBBBBBBBBBBBBBBB"
FARMER = SourceRef("file:local:/logs/farmer.log", "farmer")
NODE = SourceRef("file:local:/logs/node.log", "node")


def line_with(path: object, needle: str) -> ParsedLine:
    for line in FARMER_LOG.read_text().splitlines() + NODE_LOG.read_text().splitlines():
        if needle in line:
            parsed = parse_line(line)
            assert parsed is not None, line
            return parsed
    raise AssertionError(f"no fixture line with {needle!r}")


def event_of(needle: str) -> object:
    return line_with(None, needle).event


def test_failed_to_prove() -> None:
    parsed = line_with(None, "Failed to prove, scheduling sector for replotting")
    assert parsed.event == ProveFailed(
        27000123, 812, "Failed to read sector record chunks: Input/output error (os error 5)"
    )
    assert (parsed.level, parsed.farm_index, parsed.sector_index) == ("ERROR", 1, 812)


def test_farm_creation_failed() -> None:
    parsed = line_with(None, "Farm creation failed")
    assert isinstance(parsed.event, FarmCreationFailed)
    assert "No space left on device" in str(parsed.event.error)
    assert parsed.farm_index == 2


def test_farm_size_has_changed() -> None:
    assert event_of("Farm size has changed") == FarmResized("1.8 TiB", "3.6 TiB")


def test_farm_exited_successfully_is_its_own_kind() -> None:
    parsed = line_with(None, "Farm exited successfully farm_index=1")
    assert parsed.event == FarmExitedOk(1)
    assert parsed.kind is EventKind.FARM_EXITED_OK
    assert parsed.farm_index == 1


def test_piece_cache_start_catch_up_and_finish() -> None:
    assert event_of("Initializing piece cache") == PieceCacheStart("initializing")
    assert event_of("Synchronizing piece cache") == PieceCacheStart("synchronizing")
    assert event_of("Syncing piece cache to the latest history size") == PieceCacheCatchUp()
    assert event_of("Finished syncing piece cache to the latest") == PieceCacheCaughtUp()
    # The older finish line keeps its meaning.
    assert event_of("Finished piece cache synchronization").kind is EventKind.PIECE_CACHE_SYNCED


def test_dsn_peers_farmer_and_node() -> None:
    assert event_of("actively using 38/212") == DsnPeers(38, 212)
    assert event_of("actively using 3/180") == DsnPeers(3, 180)


@pytest.mark.parametrize(
    ("needle", "signal", "process"),
    [
        ("Received Ctrl+C, shutting down farmer", "Ctrl+C", "farmer"),
        ("Received Ctrl+C, shutting down node", "Ctrl+C", "node"),
    ],
)
def test_ctrl_c_is_a_clean_stop_like_sigterm(needle: str, signal: str, process: str) -> None:
    parsed = line_with(None, needle)
    assert parsed.event == FarmerShutdown(signal, process)
    assert parsed.kind is EventKind.FARMER_SHUTDOWN
    sigterm = parse_line(
        "2025-07-01T00:00:13.000000Z  INFO subspace_process: "
        "Received SIGTERM, shutting down farmer..."
    )
    assert sigterm is not None
    assert sigterm.kind is parsed.kind


def test_failed_to_send_sector_index() -> None:
    assert event_of("for initial plotting") == SectorSendFailed(
        PlotKind.PLOTTING, "send failed because receiver is gone"
    )
    assert event_of("Failed to send sector index for replotting") == SectorSendFailed(
        PlotKind.REPLOTTING, "send failed because receiver is gone"
    )


def test_plotting_and_replotting_sector_retry() -> None:
    parsed = line_with(None, "Plotting sector retry")
    assert parsed.event == PlotRetry(PlotKind.PLOTTING)
    assert (parsed.farm_index, parsed.sector_index) == (0, 17)
    assert event_of("Replotting sector retry") == PlotRetry(PlotKind.REPLOTTING)


def test_metrics_server_started() -> None:
    assert event_of("endpoints=[0.0.0.0:9081]") == MetricsServerStarted("[0.0.0.0:9081]")
    assert event_of("endpoints=[0.0.0.0:9615]") == MetricsServerStarted("[0.0.0.0:9615]")


def test_node_failed_to_submit_vote() -> None:
    assert event_of("Failed to submit vote") == VoteFailed(
        27000200, "Invalid transaction validity: Stale"
    )


def test_node_received_invalid_signature_for_reward() -> None:
    event = event_of("Received invalid signature for reward")
    assert isinstance(event, RewardSignatureInvalid)
    assert str(event.reward_hash).startswith("0x2a4b")


def test_node_solution_receiver_closed_counts_like_solution_ignored() -> None:
    parsed = line_with(None, "Solution receiver is closed")
    assert parsed.event == SolutionIgnored(27000260)
    assert parsed.kind is EventKind.SOLUTION_IGNORED


def test_node_slow_consensus_block_execution() -> None:
    assert event_of("Slow Consensus block execution") == SlowBlock(2150, 700)


def test_node_dsn_sync_error_and_notification() -> None:
    assert event_of("Error when syncing blocks from DSN") == DsnSyncError(
        "Failed to get segment headers from DSN"
    )
    assert event_of("Received notification to sync from DSN") == DsnSyncStarted("NoImportedBlocks")


def test_node_chain_specification_and_name() -> None:
    assert event_of("Chain specification") == NodeChain("Autonomys Mainnet")
    assert event_of("Node name") == NodeName("farm-node-1")


async def test_every_fixture_message_is_stored(db: Database, clock: FakeClock) -> None:
    ingestor = await make_ingestor(db, clock)
    farmer = await ingestor.ingest(FARMER, log_lines(FARMER_LOG))
    node = await ingestor.ingest(NODE, log_lines(NODE_LOG))
    assert farmer.unresolved_farm == 0
    # Only the node's banner lines without meaning are left unrecognised.
    assert (farmer.unmatched, node.unmatched) == (0, 2)
    stored = dict(await rows(db, "SELECT kind, count(*) FROM events GROUP BY kind"))
    for kind, n in {
        "farm_creation_failed": 1,
        "farm_resized": 1,
        "farm_exited_ok": 2,
        "piece_cache_start": 2,
        "piece_cache_catchup": 1,
        "piece_cache_caught_up": 1,
        "dsn_peers": 2,
        "farmer_shutdown": 2,
        "sector_send_failed": 2,
        "plot_retry": 2,
        "metrics_server": 2,
        "slow_block": 1,
        "dsn_sync_error": 1,
        "dsn_sync": 1,
        "node_chain": 1,
        "node_name": 1,
        "solution_ignored": 1,
    }.items():
        assert stored.get(kind) == n, kind
    exited = await rows(
        db, "SELECT farm_id, data FROM events WHERE kind = 'farm_exited_ok' ORDER BY ts_us"
    )
    assert [r[0] for r in exited] == [FARM_B, FARM_A]
    resized = await rows(db, "SELECT farm_id, data FROM events WHERE kind = 'farm_resized'")
    # The resize is logged while the farm opens, before its block names it: named at the ID line.
    assert resized[0][0] == FARM_B
    assert json.loads(str(resized[0][1])) == {"old_space": "1.8 TiB", "new_space": "3.6 TiB"}
    misses = await rows(
        db,
        "SELECT outcome, farm_id, slot, sector_index FROM rewards WHERE outcome != 'signed'"
        " ORDER BY ts_us",
    )
    assert misses == [
        ("vote_failed", None, 27000200, None),
        ("reward_signature_invalid", None, None, None),
        ("prove_failed", FARM_B, 27000123, 812),
    ]


def test_cosmos_ingest_tells_the_new_node_log_from_a_farmer_log(tmp_path: Path) -> None:
    from bot.ingest_command import detect_role

    # Named neutrally, so only the lines decide.
    # One informant line among them: the new messages decide it is a node's.
    assert detect_role(NODE_LOG.read_text().splitlines(), tmp_path / "app.log") == "node"
    assert detect_role(FARMER_LOG.read_text().splitlines(), tmp_path / "app.log") == "farmer"
