"""Typed results of scraping a farmer's or node's ``/metrics`` endpoint.

The parser (:mod:`collectors.parsing.metrics`) turns a body into a :class:`FarmerSnapshot` or a
:class:`NodeSnapshot`; the collector derives :class:`FarmState` / :class:`NodeState` from them and
the store keeps both. Counters stay raw (as the farmer reports them) so rates can be computed
later from stored snapshots.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# A sector is 1000 records of 1 MiB plus a little metadata; sizes derived from sector counts are
# therefore approximate (within about 1 %).
APPROX_SECTOR_BYTES = 1000 * 1024 * 1024


class TargetKind(StrEnum):
    FARMER = "farmer"
    NODE = "node"
    # Farming-cluster components (a cluster farmer's endpoint is a FARMER one).
    CONTROLLER = "controller"
    CACHE = "cache"
    PLOTTER = "plotter"


class MetricsLayout(StrEnum):
    """Which generation of farmer metric names a body used."""

    CURRENT = "current"  # since 2024-07: subspace_farmer_farm_*
    LEGACY = "legacy"  # before: subspace_farmer_sectors_total_sectors, … (some farmer-wide)


class ProvingOutcome(StrEnum):
    SUCCESS = "success"
    TIMEOUT = "timeout"
    REJECTED = "rejected"
    FAILED = "failed"


class FailureKind(StrEnum):
    """Why a scrape produced no metrics."""

    UNREACHABLE = "unreachable"  # connection refused, DNS, network down
    TIMEOUT = "timeout"
    HTTP_ERROR = "http_error"  # a status other than 200
    DROPPED = "dropped"  # the connection broke while the body was being read
    NOT_METRICS = "not_metrics"  # an HTML page, or garbage where metrics were expected


@dataclass(frozen=True, slots=True)
class Histogram:
    """A cumulative Prometheus histogram: ``buckets`` are (upper bound, count ≤ bound) ascending.

    The last bound is ``inf``. Counts are floats as exposed.
    """

    buckets: tuple[tuple[float, float], ...]
    sum: float
    count: float


EMPTY_HISTOGRAM = Histogram((), 0.0, 0.0)


@dataclass(frozen=True, slots=True)
class FarmMetrics:
    """One farm as its farmer's metrics describe it (raw values; counters since farmer start)."""

    farm_id: str
    sectors_plotted: int = 0
    sectors_not_plotted: int = 0
    sectors_about_to_expire: int = 0
    sectors_expired: int = 0
    # Per-farm counter of sectors plotted (and replotted); None in the legacy layout, where the
    # counter was farmer-wide.
    sectors_plotted_counter: float | None = None
    auditing: Histogram = EMPTY_HISTOGRAM
    # One histogram per outcome that occurred (absent outcomes are simply not reported).
    proving: tuple[tuple[ProvingOutcome, Histogram], ...] = ()
    farming_errors: float = 0.0
    skipped_slots: float = 0.0
    # Sector plotting by stage (current layout): (stage, seconds summed, sectors timed), stages
    # "downloading", "encoding", "writing", "plotting"; and the failed-sector counter.
    stage_times: tuple[tuple[str, float, float], ...] = ()
    plotting_errors: float | None = None
    # Sectors through each stage (``farm_sector_{downloaded,encoded,written}_counter``).
    stage_counters: tuple[tuple[str, float], ...] = ()

    def stage_mean_s(self, stage: str) -> float | None:
        """Mean seconds per sector in one plotting stage since the farmer started."""
        for name, total, count in self.stage_times:
            if name == stage:
                return total / count if count > 0 else None
        return None

    @property
    def sectors_total(self) -> int:
        return (
            self.sectors_plotted
            + self.sectors_not_plotted
            + self.sectors_about_to_expire
            + self.sectors_expired
        )

    @property
    def sectors_done(self) -> int:
        """Sectors holding a plot (expired ones included: they are plotted, only stale)."""
        return self.sectors_total - self.sectors_not_plotted

    @property
    def sectors_remaining(self) -> int:
        """Work left: sectors never plotted plus expired sectors waiting to be replotted."""
        return self.sectors_not_plotted + self.sectors_expired

    @property
    def plotted_fraction(self) -> float | None:
        total = self.sectors_total
        return None if total == 0 else self.sectors_done / total

    @property
    def approx_size_bytes(self) -> int:
        return self.sectors_total * APPROX_SECTOR_BYTES

    def proving_for(self, outcome: ProvingOutcome) -> Histogram:
        for key, histogram in self.proving:
            if key is outcome:
                return histogram
        return EMPTY_HISTOGRAM

    def proving_count(self, outcome: ProvingOutcome) -> float:
        return self.proving_for(outcome).count


@dataclass(frozen=True, slots=True)
class FarmerSnapshot:
    """A farmer endpoint's body, parsed. ``None`` means the farmer does not expose that value."""

    layout: MetricsLayout
    farms: tuple[FarmMetrics, ...]
    piece_cache_used: float | None = None
    piece_cache_capacity: float | None = None
    plotter_capacity_used: float | None = None
    plotter_capacity_total: float | None = None
    connections: float | None = None
    # Farmer-wide plotted counter (legacy layout, or the plotter's own counter).
    sectors_plotted_counter: float | None = None
    # Farmer piece cache requests (``farmer_cache_cache_*_Requests_total``) and the disk piece
    # caches summed over their ``cache_id`` (capacity in pieces).
    cache_get_hit: float | None = None
    cache_get_miss: float | None = None
    cache_find_hit: float | None = None
    cache_find_miss: float | None = None
    cache_errors: float | None = None
    disk_cache_used: float | None = None
    disk_cache_capacity: float | None = None
    # The plotter's own sector counters (``plotter_sector_*``, summed over plotter kinds).
    plotter_sectors_plotted: float | None = None
    plotter_plotting_errors: float | None = None
    # Disk piece cache request counters, summed over caches.
    disk_cache_contents: float | None = None
    disk_cache_reads: float | None = None
    disk_cache_index_reads: float | None = None
    disk_cache_writes: float | None = None
    # Plotter stages (downloading, encoding, plotting): (stage, seconds, sectors timed,
    # sectors counted through it), summed over plotter kinds.
    plotter_stage_times: tuple[tuple[str, float, float, float], ...] = ()

    @property
    def farm_ids(self) -> frozenset[str]:
        return frozenset(f.farm_id for f in self.farms)


@dataclass(frozen=True, slots=True)
class ClusterSnapshot:
    """A farming-cluster component's endpoint, parsed (values added up over its plotters or
    piece caches). None: the component does not expose that value (a cache has no plotter)."""

    plotting_capacity_used: float | None = None  # sectors being plotted now
    plotting_capacity_total: float | None = None  # sectors it can plot at once
    sectors_plotted: float | None = None  # since the plotter started
    sectors_plotting_errors: float | None = None
    sector_plotting_mean_s: float | None = None
    cache_capacity_used: float | None = None  # pieces held by the cache component
    cache_capacity_total: float | None = None
    piece_cache_used: float | None = None  # the controller's farmer cache
    piece_cache_capacity: float | None = None


@dataclass(frozen=True, slots=True)
class NodeSnapshot:
    best: int | None
    finalized: int | None
    sync_target: int | None
    peers: int | None
    major_syncing: bool | None
    version: str | None
    node_name: str | None
    chain: str | None
    # Newer node families (UPSTREAM.md); None when the node does not expose them.
    blocks_imported: float | None = None
    extrinsics: float | None = None
    leaves: int | None = None
    ready_transactions: int | None = None
    process_start_s: float | None = None

    @property
    def blocks_behind(self) -> int | None:
        """How far the best block trails the sync target (0 when at or past it)."""
        if self.best is None or self.sync_target is None:
            return None
        return max(0, self.sync_target - self.best)


# A node this many blocks behind its sync target, or major-syncing, is "not synced".
SYNCED_MAX_BLOCKS_BEHIND = 5


@dataclass(frozen=True, slots=True)
class NodeState:
    """The latest node snapshot plus what follows from it."""

    target_key: str
    label: str
    host: str
    ts_us: int
    snapshot: NodeSnapshot

    @property
    def synced(self) -> bool | None:
        snap = self.snapshot
        if snap.major_syncing:
            return False
        behind = snap.blocks_behind
        if behind is None:
            return None if snap.major_syncing is None else not snap.major_syncing
        return behind <= SYNCED_MAX_BLOCKS_BEHIND


@dataclass(frozen=True, slots=True)
class FarmState:
    """A farm's latest metrics and the figures derived from them, as stored and read back."""

    farm_id: str
    farmer_id: int
    target_key: str
    ts_us: int
    active: bool
    sectors_plotted: int
    sectors_not_plotted: int
    sectors_about_to_expire: int
    sectors_expired: int
    sectors_plotted_counter: float | None
    # Sectors plotted per hour over the recent window; None until two samples exist.
    plot_rate_per_hour: float | None
    # Seconds until every not-plotted and expired sector is plotted at the recent rate.
    plotting_eta_seconds: float | None
    # Statistics since the farmer started (the histograms are cumulative).
    auditing_count: float
    auditing_mean_s: float | None
    auditing_p99_s: float | None
    proving_mean_s: float | None
    proving_p99_s: float | None
    proving_success: float
    proving_timeout: float
    proving_rejected: float
    proving_failed: float
    farming_errors: float
    skipped_slots: float
    # The same statistics over the recent window only (rate_window_minutes): what the farm does
    # now, rather than since the farmer started. None until the window holds two readings or
    # when nothing was observed in it (proving is rare: most windows have none).
    auditing_recent_mean_s: float | None = None
    auditing_recent_p99_s: float | None = None
    proving_recent_mean_s: float | None = None
    proving_recent_p99_s: float | None = None
    # Mean seconds per sector by plotting stage since the farmer started; failed sectors.
    downloading_mean_s: float | None = None
    encoding_mean_s: float | None = None
    writing_mean_s: float | None = None
    plotting_mean_s: float | None = None
    plotting_errors: float | None = None

    @property
    def sectors_total(self) -> int:
        return (
            self.sectors_plotted
            + self.sectors_not_plotted
            + self.sectors_about_to_expire
            + self.sectors_expired
        )

    @property
    def plotted_fraction(self) -> float | None:
        total = self.sectors_total
        return None if total == 0 else (total - self.sectors_not_plotted) / total

    @property
    def approx_size_bytes(self) -> int:
        return self.sectors_total * APPROX_SECTOR_BYTES


@dataclass(frozen=True, slots=True)
class FarmerState:
    """A farmer endpoint's farmer-wide figures, as stored and read back."""

    target_key: str
    farmer_id: int
    ts_us: int
    farm_count: int
    piece_cache_used: float | None
    piece_cache_capacity: float | None
    plotter_capacity_used: float | None
    plotter_capacity_total: float | None
    connections: float | None
    layout: MetricsLayout
    cache_get_hit: float | None = None
    cache_get_miss: float | None = None
    cache_find_hit: float | None = None
    cache_find_miss: float | None = None
    cache_errors: float | None = None
    disk_cache_used: float | None = None
    disk_cache_capacity: float | None = None
    plotter_sectors_plotted: float | None = None
    plotter_plotting_errors: float | None = None

    @property
    def cache_hit_ratio(self) -> float | None:
        """Share of piece requests the farmer's cache answered (get and find) since start."""
        hits = (self.cache_get_hit or 0) + (self.cache_find_hit or 0)
        total = hits + (self.cache_get_miss or 0) + (self.cache_find_miss or 0)
        return hits / total if total else None


@dataclass(frozen=True, slots=True)
class TargetHealth:
    """Whether an endpoint answers with metrics, and since when (the alert rules read this)."""

    target_key: str
    kind: TargetKind
    label: str
    host: str
    url: str
    up: bool | None  # None: never scraped yet
    since_us: int | None  # when the current up/down state began
    last_error: str | None
    last_error_kind: FailureKind | None
    last_ok_us: int | None
    consecutive_failures: int


@dataclass(frozen=True, slots=True)
class HealthTransition:
    """A target went down or came back (one row per change, never per failed scrape)."""

    target_key: str
    ts_us: int
    up: bool
    error: str | None
    error_kind: FailureKind | None


@dataclass(frozen=True, slots=True)
class FarmSnapshotRow:
    """One stored history point of a farm; counters are raw so charts compute rates."""

    farm_id: str
    ts_us: int
    sectors_plotted: int
    sectors_not_plotted: int
    sectors_about_to_expire: int
    sectors_expired: int
    sectors_plotted_counter: float | None
    auditing_count: float
    auditing_sum: float
    proving_success: float
    proving_timeout: float
    proving_rejected: float
    proving_failed: float
    farming_errors: float
    skipped_slots: float
    plotting_errors: float | None = None


@dataclass(frozen=True, slots=True)
class NodeSnapshotRow:
    target_key: str
    ts_us: int
    best: int | None
    finalized: int | None
    sync_target: int | None
    peers: int | None
    major_syncing: bool | None
