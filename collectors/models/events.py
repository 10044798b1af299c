"""Typed events parsed from node and farmer log lines.

Every event class carries its :class:`EventKind`. A parsed line (:class:`ParsedLine`) adds the
envelope: the line's own time, level and the farm/sector spans it was logged under.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar


class EventKind(StrEnum):
    # farmer run and farm blocks
    FARMER_START = "farmer_start"
    FARMER_SHUTDOWN = "farmer_shutdown"
    FARM_HEADER = "farm_header"
    FARM_ID = "farm_id"
    FARM_GENESIS = "farm_genesis"
    FARM_PUBLIC_KEY = "farm_public_key"
    FARM_ALLOCATED = "farm_allocated"
    FARM_DIRECTORY = "farm_directory"
    # piece cache and plotting
    PIECE_CACHE_SYNC = "piece_cache_sync"
    PIECE_CACHE_SYNCED = "piece_cache_synced"
    PLOTTING = "plotting"
    REPLOTTING = "replotting"
    INITIAL_PLOTTING_COMPLETE = "initial_plotting_complete"
    REPLOTTING_COMPLETE = "replotting_complete"
    PLOT_FAILED = "plot_failed"
    # farming and rewards
    REWARD_SIGNED = "reward_signed"
    SIGNATURE_FAILED = "signature_failed"
    SOLUTION_FAILED = "solution_failed"
    PROVING_SKIPPED = "proving_skipped"
    FARMING_ERROR = "farming_error"
    FARM_EXITED = "farm_exited"
    FARM_STOPPED = "farm_stopped"
    # node
    NODE_VERSION = "node_version"
    NODE_INFORMANT = "node_informant"
    NODE_IMPORTED = "node_imported"
    NODE_REORG = "node_reorg"
    CLAIMED_BLOCK = "claimed_block"
    CLAIMED_VOTE = "claimed_vote"
    SOLUTION_IGNORED = "solution_ignored"
    # today's upstream (UPSTREAM.md): farmer
    PROVE_FAILED = "prove_failed"
    FARM_CREATION_FAILED = "farm_creation_failed"
    FARM_RESIZED = "farm_resized"
    FARM_EXITED_OK = "farm_exited_ok"
    PIECE_CACHE_START = "piece_cache_start"
    PIECE_CACHE_CATCHUP = "piece_cache_catchup"
    PIECE_CACHE_CAUGHT_UP = "piece_cache_caught_up"
    SECTOR_SEND_FAILED = "sector_send_failed"
    PLOT_RETRY = "plot_retry"
    METRICS_SERVER = "metrics_server"
    # farmer and node
    DSN_PEERS = "dsn_peers"
    # node
    VOTE_FAILED = "vote_failed"
    REWARD_SIGNATURE_INVALID = "reward_signature_invalid"
    SLOW_BLOCK = "slow_block"
    DSN_SYNC_ERROR = "dsn_sync_error"
    DSN_SYNC = "dsn_sync"
    NODE_CHAIN = "node_chain"
    NODE_NAME = "node_name"
    # farming cluster (controller, cache, plotter; a cluster farmer logs as a farmer)
    CLUSTER_FARM_INITIALIZED = "cluster_farm_initialized"
    CLUSTER_FARM_INIT_FAILED = "cluster_farm_init_failed"
    CLUSTER_FARM_EXPIRED = "cluster_farm_expired"
    CLUSTER_CACHE_DISCOVERED = "cluster_cache_discovered"
    CLUSTER_CACHE_EXPIRED = "cluster_cache_expired"
    PIECE_CACHE_CREATED = "piece_cache_created"
    PLOT_SECTOR_REQUEST = "plot_sector_request"
    PLOT_SECTOR_FINISHED = "plot_sector_finished"
    # a farm's ``Failed to plot sector`` whose error is a plotter that stopped answering
    PLOTTER_TIMEOUT = "plotter_timeout"


class SyncState(StrEnum):
    IDLE = "idle"
    SYNCING = "syncing"
    PREPARING = "preparing"
    PENDING = "pending"
    BLOCK_HISTORY = "block_history"


class PlotKind(StrEnum):
    PLOTTING = "plotting"
    REPLOTTING = "replotting"


class RewardOutcome(StrEnum):
    SIGNED = "signed"
    SOLUTION_FAILED = "solution_failed"
    PROVING_SKIPPED = "proving_skipped"
    SIGNATURE_FAILED = "signature_failed"
    PROVE_FAILED = "prove_failed"  # the farm could not prove its sector (disk suspect)
    VOTE_FAILED = "vote_failed"  # the node could not submit a won vote
    REWARD_SIGNATURE_INVALID = "reward_signature_invalid"  # the node rejected the signature


# --- farmer ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FarmerStarted:
    """``Connecting to node RPC``: a new farmer run begins; farm indices are reassigned."""

    kind: ClassVar[EventKind] = EventKind.FARMER_START
    node_rpc_url: str | None


@dataclass(frozen=True, slots=True)
class FarmerShutdown:
    """``Received SIGTERM|SIGINT|Ctrl+C, shutting down farmer|node...``: a clean stop."""

    kind: ClassVar[EventKind] = EventKind.FARMER_SHUTDOWN
    signal: str
    process: str = "farmer"


@dataclass(frozen=True, slots=True)
class FarmHeader:
    """``Farm N:`` (or ``Single disk farm N:``): the following lines describe farm ``N``."""

    kind: ClassVar[EventKind] = EventKind.FARM_HEADER
    farm_index: int


@dataclass(frozen=True, slots=True)
class FarmIdLine:
    kind: ClassVar[EventKind] = EventKind.FARM_ID
    farm_id: str


@dataclass(frozen=True, slots=True)
class FarmGenesis:
    kind: ClassVar[EventKind] = EventKind.FARM_GENESIS
    genesis_hash: str


@dataclass(frozen=True, slots=True)
class FarmPublicKey:
    kind: ClassVar[EventKind] = EventKind.FARM_PUBLIC_KEY
    public_key: str


@dataclass(frozen=True, slots=True)
class FarmAllocated:
    """``Allocated space: 3.6 TiB (4.0 TB)``; ``bytes`` from the first (binary) figure."""

    kind: ClassVar[EventKind] = EventKind.FARM_ALLOCATED
    text: str
    bytes: int | None


@dataclass(frozen=True, slots=True)
class FarmDirectory:
    kind: ClassVar[EventKind] = EventKind.FARM_DIRECTORY
    path: str


@dataclass(frozen=True, slots=True)
class PieceCacheSync:
    kind: ClassVar[EventKind] = EventKind.PIECE_CACHE_SYNC
    percent: float
    done: str | None = None
    total: str | None = None


@dataclass(frozen=True, slots=True)
class PieceCacheSynced:
    kind: ClassVar[EventKind] = EventKind.PIECE_CACHE_SYNCED


@dataclass(frozen=True, slots=True)
class PlotProgress:
    """``Plotting sector (12.34% complete)`` or ``Replotting sector (…)``."""

    plot_kind: PlotKind
    percent: float
    sector_index: int | None

    @property
    def kind(self) -> EventKind:
        if self.plot_kind is PlotKind.PLOTTING:
            return EventKind.PLOTTING
        return EventKind.REPLOTTING


@dataclass(frozen=True, slots=True)
class PlottingComplete:
    """``Initial plotting complete`` or ``Replotting complete``."""

    plot_kind: PlotKind

    @property
    def kind(self) -> EventKind:
        if self.plot_kind is PlotKind.PLOTTING:
            return EventKind.INITIAL_PLOTTING_COMPLETE
        return EventKind.REPLOTTING_COMPLETE


@dataclass(frozen=True, slots=True)
class PlotFailed:
    kind: ClassVar[EventKind] = EventKind.PLOT_FAILED
    error: str | None
    retry_in: str | None


@dataclass(frozen=True, slots=True)
class RewardSigned:
    """One block or vote won by the farm that logged it."""

    kind: ClassVar[EventKind] = EventKind.REWARD_SIGNED
    reward_hash: str


@dataclass(frozen=True, slots=True)
class SignatureFailed:
    kind: ClassVar[EventKind] = EventKind.SIGNATURE_FAILED
    reward_hash: str
    error: str | None


@dataclass(frozen=True, slots=True)
class SolutionFailed:
    """A solution found but not delivered in time: a missed reward."""

    kind: ClassVar[EventKind] = EventKind.SOLUTION_FAILED
    slot: int | None
    sector_index: int | None
    error: str | None


@dataclass(frozen=True, slots=True)
class ProvingSkipped:
    """Proving hit the farming time limit: a missed reward."""

    kind: ClassVar[EventKind] = EventKind.PROVING_SKIPPED
    slot: int | None
    sector_index: int | None


@dataclass(frozen=True, slots=True)
class FarmingError:
    kind: ClassVar[EventKind] = EventKind.FARMING_ERROR
    error: str | None


@dataclass(frozen=True, slots=True)
class FarmDown:
    """``Farm exited with error`` (first) or ``Farm errored and stopped`` (repeats)."""

    farm_index: int | None
    error: str | None
    stopped: bool

    @property
    def kind(self) -> EventKind:
        return EventKind.FARM_STOPPED if self.stopped else EventKind.FARM_EXITED


# --- node -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NodeVersion:
    kind: ClassVar[EventKind] = EventKind.NODE_VERSION
    version: str


@dataclass(frozen=True, slots=True)
class NodeInformant:
    """The 5-second status line: sync state, peers, best and finalized heights."""

    kind: ClassVar[EventKind] = EventKind.NODE_INFORMANT
    state: SyncState
    peers: int
    best: int
    best_hash: str
    finalized: int
    finalized_hash: str
    target: int | None = None
    bps: float | None = None
    download: str | None = None
    upload: str | None = None


@dataclass(frozen=True, slots=True)
class NodeImported:
    kind: ClassVar[EventKind] = EventKind.NODE_IMPORTED
    number: int
    block_hash: str
    parent_hash: str | None = None


@dataclass(frozen=True, slots=True)
class NodeReorg:
    kind: ClassVar[EventKind] = EventKind.NODE_REORG
    from_number: int
    from_hash: str
    to_number: int
    to_hash: str
    common_number: int
    common_hash: str


@dataclass(frozen=True, slots=True)
class Claimed:
    """``🚜 Claimed block at slot`` / ``🗳️ Claimed vote at slot``: the node tells block from vote."""

    slot: int
    vote: bool

    @property
    def kind(self) -> EventKind:
        return EventKind.CLAIMED_VOTE if self.vote else EventKind.CLAIMED_BLOCK


@dataclass(frozen=True, slots=True)
class SolutionIgnored:
    kind: ClassVar[EventKind] = EventKind.SOLUTION_IGNORED
    slot: int | None


# --- today's upstream (UPSTREAM.md) ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProveFailed:
    """``Failed to prove, scheduling sector for replotting``: a lost reward, a suspect disk."""

    kind: ClassVar[EventKind] = EventKind.PROVE_FAILED
    slot: int | None
    sector_index: int | None
    error: str | None


@dataclass(frozen=True, slots=True)
class FarmCreationFailed:
    """``Farm creation failed``: the farm under the ``{farm_index=N}`` span never started."""

    kind: ClassVar[EventKind] = EventKind.FARM_CREATION_FAILED
    error: str | None


@dataclass(frozen=True, slots=True)
class FarmResized:
    kind: ClassVar[EventKind] = EventKind.FARM_RESIZED
    old_space: str | None
    new_space: str | None


@dataclass(frozen=True, slots=True)
class FarmExitedOk:
    """``Farm exited successfully``: a clean stop, not a failure."""

    kind: ClassVar[EventKind] = EventKind.FARM_EXITED_OK
    farm_index: int | None


@dataclass(frozen=True, slots=True)
class PieceCacheStart:
    """``Initializing piece cache`` / ``Synchronizing piece cache``."""

    kind: ClassVar[EventKind] = EventKind.PIECE_CACHE_START
    stage: str  # "initializing" | "synchronizing"


@dataclass(frozen=True, slots=True)
class PieceCacheCatchUp:
    """``Syncing piece cache to the latest history size``: farming can pause meanwhile."""

    kind: ClassVar[EventKind] = EventKind.PIECE_CACHE_CATCHUP


@dataclass(frozen=True, slots=True)
class PieceCacheCaughtUp:
    kind: ClassVar[EventKind] = EventKind.PIECE_CACHE_CAUGHT_UP


@dataclass(frozen=True, slots=True)
class SectorSendFailed:
    """``Failed to send sector index for initial plotting|replotting``: plotting is stuck."""

    kind: ClassVar[EventKind] = EventKind.SECTOR_SEND_FAILED
    plot_kind: PlotKind
    error: str | None


@dataclass(frozen=True, slots=True)
class PlotRetry:
    """``Plotting sector retry`` / ``Replotting sector retry``."""

    kind: ClassVar[EventKind] = EventKind.PLOT_RETRY
    plot_kind: PlotKind


@dataclass(frozen=True, slots=True)
class MetricsServerStarted:
    kind: ClassVar[EventKind] = EventKind.METRICS_SERVER
    endpoints: str | None


@dataclass(frozen=True, slots=True)
class DsnPeers:
    """``dsn: actively using {connected}/{known} known peers`` (farmer and node, every 5 min)."""

    kind: ClassVar[EventKind] = EventKind.DSN_PEERS
    connected: int
    known: int


@dataclass(frozen=True, slots=True)
class VoteFailed:
    """Node: ``Failed to submit vote``: a vote reward lost."""

    kind: ClassVar[EventKind] = EventKind.VOTE_FAILED
    slot: int | None
    error: str | None


@dataclass(frozen=True, slots=True)
class RewardSignatureInvalid:
    """Node: ``Received invalid signature for reward``: the farmer's signature was rejected."""

    kind: ClassVar[EventKind] = EventKind.REWARD_SIGNATURE_INVALID
    reward_hash: str | None


@dataclass(frozen=True, slots=True)
class SlowBlock:
    """Node: ``Slow Consensus block execution, took {ms} ms``."""

    kind: ClassVar[EventKind] = EventKind.SLOW_BLOCK
    took_ms: int
    reference_ms: int | None


@dataclass(frozen=True, slots=True)
class DsnSyncError:
    kind: ClassVar[EventKind] = EventKind.DSN_SYNC_ERROR
    error: str | None


@dataclass(frozen=True, slots=True)
class DsnSyncStarted:
    """Node: ``Received notification to sync from DSN``: it fell behind and is catching up."""

    kind: ClassVar[EventKind] = EventKind.DSN_SYNC
    reason: str | None


@dataclass(frozen=True, slots=True)
class NodeChain:
    kind: ClassVar[EventKind] = EventKind.NODE_CHAIN
    name: str


@dataclass(frozen=True, slots=True)
class NodeName:
    kind: ClassVar[EventKind] = EventKind.NODE_NAME
    name: str


# --- farming cluster ------------------------------------------------------------------------
# ``farmer_id`` below is the cluster farmer's own ULID (``ClusterFarmerId``), not a cosmos
# farmer; ``farm_index`` at the controller is the controller's index, not the farmer's.


@dataclass(frozen=True, slots=True)
class ClusterFarmInitialized:
    """Controller: ``Farm initialized successfully farmer_id= farm_index= farm_id=``."""

    kind: ClassVar[EventKind] = EventKind.CLUSTER_FARM_INITIALIZED
    cluster_farmer_id: str | None
    farm_index: int | None
    farm_id: str


@dataclass(frozen=True, slots=True)
class ClusterFarmInitFailed:
    """Controller: ``Failed to initialize farm farmer_id= farm_index= farm_id= error=``."""

    kind: ClassVar[EventKind] = EventKind.CLUSTER_FARM_INIT_FAILED
    cluster_farmer_id: str | None
    farm_index: int | None
    farm_id: str
    error: str | None


@dataclass(frozen=True, slots=True)
class ClusterFarmExpired:
    """Controller: ``Farm expired, notify for cleanup`` (its farmer stopped identifying)."""

    kind: ClassVar[EventKind] = EventKind.CLUSTER_FARM_EXPIRED
    cluster_farmer_id: str | None
    farm_index: int | None
    farm_id: str


@dataclass(frozen=True, slots=True)
class ClusterCacheDiscovered:
    """Controller: ``New cache discovered, scheduling reinitialization cluster_cache_id=``."""

    kind: ClassVar[EventKind] = EventKind.CLUSTER_CACHE_DISCOVERED
    cluster_cache_id: str


@dataclass(frozen=True, slots=True)
class ClusterCacheExpired:
    """Controller: ``Cache expired and removed, scheduling reinitialization``."""

    kind: ClassVar[EventKind] = EventKind.CLUSTER_CACHE_EXPIRED
    cluster_cache_id: str


@dataclass(frozen=True, slots=True)
class PieceCacheCreated:
    """Cache: ``Created piece cache piece_cache_id= max_num_elements=`` (capacity in pieces)."""

    kind: ClassVar[EventKind] = EventKind.PIECE_CACHE_CREATED
    piece_cache_id: str
    max_num_elements: int | None


@dataclass(frozen=True, slots=True)
class PlotSectorRequest:
    """Plotter: ``{public_key=… sector_index=…}: Plot sector request``; the key is the farm's."""

    kind: ClassVar[EventKind] = EventKind.PLOT_SECTOR_REQUEST
    public_key: str | None = None


@dataclass(frozen=True, slots=True)
class PlotSectorFinished:
    """Plotter: ``Finished plotting sector successfully`` under the request's span."""

    kind: ClassVar[EventKind] = EventKind.PLOT_SECTOR_FINISHED
    public_key: str | None = None


Event = (
    FarmerStarted
    | FarmerShutdown
    | FarmHeader
    | FarmIdLine
    | FarmGenesis
    | FarmPublicKey
    | FarmAllocated
    | FarmDirectory
    | PieceCacheSync
    | PieceCacheSynced
    | PlotProgress
    | PlottingComplete
    | PlotFailed
    | RewardSigned
    | SignatureFailed
    | SolutionFailed
    | ProvingSkipped
    | FarmingError
    | FarmDown
    | NodeVersion
    | NodeInformant
    | NodeImported
    | NodeReorg
    | Claimed
    | SolutionIgnored
    | ProveFailed
    | FarmCreationFailed
    | FarmResized
    | FarmExitedOk
    | PieceCacheStart
    | PieceCacheCatchUp
    | PieceCacheCaughtUp
    | SectorSendFailed
    | PlotRetry
    | MetricsServerStarted
    | DsnPeers
    | VoteFailed
    | RewardSignatureInvalid
    | SlowBlock
    | DsnSyncError
    | DsnSyncStarted
    | NodeChain
    | NodeName
    | ClusterFarmInitialized
    | ClusterFarmInitFailed
    | ClusterFarmExpired
    | ClusterCacheDiscovered
    | ClusterCacheExpired
    | PieceCacheCreated
    | PlotSectorRequest
    | PlotSectorFinished
)


@dataclass(frozen=True, slots=True)
class ParsedLine:
    """A recognised line: its envelope and the event it carries.

    ``ts_us`` is the line's own time (None for the old timestamp-less farm block); a 2023 node
    line has local time with no zone, read as UTC and flagged by ``ts_local``.
    """

    event: Event
    ts_us: int | None = None
    level: str | None = None
    farm_index: int | None = None
    sector_index: int | None = None
    ts_local: bool = False

    @property
    def kind(self) -> EventKind:
        return self.event.kind


# --- what the log pipeline hands the store ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventRecord:
    ts_us: int
    kind: EventKind
    line_hash: int
    farm_id: str | None = None
    farm_index: int | None = None
    data: str | None = None  # the event's fields as JSON


@dataclass(frozen=True, slots=True)
class RewardRecord:
    ts_us: int
    outcome: RewardOutcome
    line_hash: int
    farm_id: str | None = None
    farm_index: int | None = None
    reward_hash: str | None = None
    slot: int | None = None
    sector_index: int | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class FarmRecord:
    """What a ``Farm N:`` block says about a farm; None means "not said (yet)"."""

    farm_id: str
    # The times of the farm's first and last line in the batch.
    first_seen_us: int
    seen_us: int
    farm_index: int | None = None
    # When the log gave it ``farm_index`` (its ID line): the later one wins the index. The
    # line's own time, so that where batches (or a restart) cut a block changes nothing.
    index_seen_us: int | None = None
    public_key: str | None = None
    genesis_hash: str | None = None
    allocated_bytes: int | None = None
    allocated_text: str | None = None
    directory: str | None = None


@dataclass(frozen=True, slots=True)
class FarmMapping:
    run_start_us: int
    farm_index: int
    farm_id: str
    seen_us: int


@dataclass(frozen=True, slots=True)
class PlotState:
    farm_id: str
    kind: PlotKind
    percent: float
    sector_index: int | None
    ts_us: int
    complete_us: int | None = None


@dataclass(frozen=True, slots=True)
class NodeState:
    """The latest node facts a batch carried; None fields leave the stored value alone."""

    ts_us: int | None = None
    state: SyncState | None = None
    peers: int | None = None
    best: int | None = None
    finalized: int | None = None
    target: int | None = None
    bps: float | None = None
    imported_number: int | None = None
    imported_hash: str | None = None
    imported_us: int | None = None
    version: str | None = None
    version_us: int | None = None


@dataclass(frozen=True, slots=True)
class UnmatchedCount:
    day: str  # YYYY-MM-DD (UTC)
    count: int
    sample: str


@dataclass(frozen=True, slots=True)
class SourceCursor:
    """A log source's resume point and the parser state that must survive a restart."""

    position: str | None = None
    run_start_us: int | None = None
    header_index: int | None = None
    last_ts_us: int | None = None
    index_map: tuple[tuple[int, str], ...] = ()
    cache_percent: float | None = None
    cache_ts_us: int | None = None
    # Rows waiting for their farm's ID line: (farm index, row time, row line hash).
    pending: tuple[tuple[int, int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class LogBatch:
    """Everything one batch of lines changes, written in one transaction with the cursor."""

    cursor: SourceCursor
    lines: int
    events: tuple[EventRecord, ...] = ()
    rewards: tuple[RewardRecord, ...] = ()
    farms: tuple[FarmRecord, ...] = ()
    mappings: tuple[FarmMapping, ...] = ()
    # Rows stored by an earlier batch whose farm is named now: (time, line hash, farm id).
    farm_fixes: tuple[tuple[int, int, str], ...] = ()
    plots: tuple[PlotState, ...] = ()
    node: NodeState | None = None
    unmatched: tuple[UnmatchedCount, ...] = ()


@dataclass(frozen=True, slots=True)
class BatchWritten:
    events: int
    rewards: int


@dataclass(frozen=True, slots=True)
class FarmSummary:
    farm_id: str
    farm_index: int | None
    directory: str | None
    allocated_text: str | None
    allocated_bytes: int | None
    public_key: str | None
    signed_rewards: int
