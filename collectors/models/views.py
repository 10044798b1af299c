"""Read models for the bot's pages and the dashboard: what a page shows, before any rendering.

Times are UTC unix microseconds; AI3 amounts are in the smallest unit (1 AI3 = 10**18).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

AI3 = 10**18


class FarmStatus(StrEnum):
    FARMING = "farming"
    PLOTTING = "plotting"
    REPLOTTING = "replotting"
    ERROR = "error"
    REMOVED = "removed"


class Scope(StrEnum):
    """What a wipe clears."""

    FARM = "farm"
    FARMER = "farmer"
    WALLET = "wallet"
    ALL = "all"


@dataclass(frozen=True, slots=True)
class FarmSummary:
    farm_id: str
    farmer: str | None
    farm_index: int | None
    directory: str | None
    allocated_bytes: int | None
    allocated_text: str | None
    status: FarmStatus
    sectors_plotted: int | None
    sectors_total: int | None
    plot_kind: str | None
    plot_percent: float | None
    rewards_24h: int
    misses_24h: int
    last_reward_us: int | None
    problems: tuple[str, ...]

    @property
    def plotted_percent(self) -> float | None:
        if self.sectors_plotted is not None and self.sectors_total:
            return 100.0 * self.sectors_plotted / self.sectors_total
        return None


@dataclass(frozen=True, slots=True)
class RewardEntry:
    ts_us: int
    outcome: str
    farm_id: str | None
    slot: int | None
    detail: str | None


@dataclass(frozen=True, slots=True)
class ProvingStat:
    result: str
    count: int
    mean_seconds: float | None


@dataclass(frozen=True, slots=True)
class FarmDetail:
    summary: FarmSummary
    public_key: str | None
    genesis_hash: str | None
    first_seen_us: int
    last_seen_us: int
    sectors_by_state: tuple[tuple[str, int], ...]
    plotting_eta_us: int | None
    proving: tuple[ProvingStat, ...]
    recent_rewards: tuple[RewardEntry, ...]
    recent_misses: tuple[RewardEntry, ...]
    recent_errors: tuple[tuple[int, str], ...]
    # Mean seconds per sector by plotting stage since the farmer started (farm metrics) and the
    # sectors that failed to plot; farm events such as a resize or a clean exit.
    plotting_stages: tuple[tuple[str, float], ...] = ()
    sectors_failed: int | None = None
    recent_events: tuple[tuple[int, str], ...] = ()
    # Wins signed (farmer log) that the chain never credited to the farmer's wallet.
    signed_not_credited: int = 0


@dataclass(frozen=True, slots=True)
class FarmRewardRow:
    farm_id: str
    farmer: str | None
    directory: str | None
    blocks: int
    votes: int
    rewards: int
    missed: int
    amount: int = 0


@dataclass(frozen=True, slots=True)
class WalletRewardRow:
    label: str
    address: str
    count: int
    amount: int


@dataclass(frozen=True, slots=True)
class RewardBucket:
    start_us: int
    rewards: int
    missed: int
    amount: int


@dataclass(frozen=True, slots=True)
class RewardsReport:
    since_us: int
    until_us: int
    farms: tuple[FarmRewardRow, ...]
    wallets: tuple[WalletRewardRow, ...]
    buckets: tuple[RewardBucket, ...]
    bucket_seconds: int
    blocks: int = 0
    votes: int = 0

    @property
    def total_rewards(self) -> int:
        return sum(f.rewards for f in self.farms)

    @property
    def total_missed(self) -> int:
        return sum(f.missed for f in self.farms)

    @property
    def total_amount(self) -> int:
        return sum(w.amount for w in self.wallets)


@dataclass(frozen=True, slots=True)
class NodeView:
    name: str
    up: bool | None
    observed_us: int | None
    best: int | None
    finalized: int | None
    sync_target: int | None
    peers: int | None
    major_syncing: bool | None
    version: str | None
    last_error: str | None = None
    # From the node's log and newer metrics (UPSTREAM.md); None when not known.
    chain: str | None = None
    node_name: str | None = None
    dsn_peers: tuple[int, int] | None = None  # (actively used, known), the latest line
    slow_blocks_1h: int | None = None
    missed_24h: int | None = None  # votes it could not submit, reward signatures it rejected
    dsn_sync_us: int | None = None  # the last "sync from DSN" (fell behind, catching up)
    dsn_sync_error: str | None = None  # the last DSN sync error, if after that
    blocks_imported: float | None = None
    leaves: int | None = None
    ready_transactions: int | None = None


@dataclass(frozen=True, slots=True)
class FarmerView:
    name: str
    host: str | None
    is_primary: bool
    farms: tuple[FarmSummary, ...]
    cache_percent: float | None
    plotting_farms: int
    up: bool | None
    observed_us: int | None
    # Share of piece requests its cache answered (metrics); the latest DSN peers line (used,
    # known); an unfinished piece cache catch-up to the latest history size, since then.
    cache_hit_ratio: float | None = None
    dsn_peers: tuple[int, int] | None = None
    cache_catchup_since_us: int | None = None


@dataclass(frozen=True, slots=True)
class TransferEntry:
    ts_us: int | None
    block: int | None
    direction: str  # "in" | "out"
    counterparty: str | None
    amount: int
    extrinsic: str | None
    kind: str | None = None  # a movement that is not a transfer: "XDM in", "staking"…


@dataclass(frozen=True, slots=True)
class WalletView:
    label: str
    address: str
    balance: int | None
    balance_us: int | None
    transfers: tuple[TransferEntry, ...]
    rewards: tuple[TransferEntry, ...]
    rewards_24h_amount: int
    # XDM, staking and other deposits/withdrawals, operator income (fees paid are not listed).
    movements: tuple[TransferEntry, ...] = ()
    # Money in and out over 24 h: transfers and those movements.
    moved_in_24h: int = 0
    moved_out_24h: int = 0


@dataclass(frozen=True, slots=True)
class Problem:
    subject: str
    text: str
    since_us: int | None


# A piece is a 1 MiB record plus its commitment and witness (``Piece::SIZE``).
PIECE_BYTES = 1_048_672


@dataclass(frozen=True, slots=True)
class ClusterComponent:
    """One farming-cluster component: its log source and/or metrics endpoint.

    Figures a component does not report stay None (a cache has no plotting capacity).
    """

    role: str  # controller | cache | plotter | farmer
    name: str
    host: str
    last_line_us: int | None = None  # when cosmos last stored a line of its log
    metrics_up: bool | None = None  # None: no metrics endpoint configured (or not scraped)
    metrics_error: str | None = None
    metrics_ok_us: int | None = None  # when its metrics endpoint last answered
    # plotter: sectors in flight of the most at once; sectors plotted
    capacity_used: float | None = None
    capacity_total: float | None = None
    sectors_in_flight: int | None = None  # from its log: requests not finished yet
    sectors_24h: int | None = None  # from its log: finished in the last 24 h
    sectors_total: float | None = None  # from its metrics: since it started
    plotting_errors: float | None = None
    sector_mean_s: float | None = None
    # cache: pieces held / the most, over its piece caches
    cache_used: float | None = None
    cache_total: float | None = None
    piece_caches: int | None = None
    # controller: farms and caches it knows now; its farmer cache
    farms_known: int | None = None
    caches_known: int | None = None
    piece_cache_used: float | None = None
    piece_cache_capacity: float | None = None
    # cluster farmer: the cosmos farmer its logs belong to, and its farms
    farmer: str | None = None
    farm_ids: tuple[str, ...] = ()
    json_properties: ClassVar[tuple[str, ...]] = (
        "state",
        "last_seen_us",
        "problems",
        "sectors_in_use",
    )

    @property
    def state(self) -> str:
        """down: its endpoint does not answer; up: it answers or its log has lines; unknown."""
        if self.metrics_up is False:
            return "down"
        return "up" if self.metrics_up or self.last_line_us is not None else "unknown"

    @property
    def last_seen_us(self) -> int | None:
        """Its newest log line stored or its last answered scrape, whichever is later."""
        seen = [t for t in (self.last_line_us, self.metrics_ok_us) if t is not None]
        return max(seen) if seen else None

    @property
    def problems(self) -> tuple[str, ...]:
        out = []
        if self.metrics_up is False:
            out.append(f"metrics down{': ' + self.metrics_error if self.metrics_error else ''}")
        if self.plotting_errors:
            n = int(self.plotting_errors)
            out.append(f"{n:,} plotting error{'' if n == 1 else 's'} since it started")
        return tuple(out)

    @property
    def sectors_in_use(self) -> float | None:
        """Plotting capacity in use by its metrics, else the requests its log has in flight."""
        return self.capacity_used if self.capacity_used is not None else self.sectors_in_flight


@dataclass(frozen=True, slots=True)
class ClusterView:
    name: str
    controllers: tuple[ClusterComponent, ...] = ()
    caches: tuple[ClusterComponent, ...] = ()
    plotters: tuple[ClusterComponent, ...] = ()
    farmers: tuple[ClusterComponent, ...] = ()
    json_properties: ClassVar[tuple[str, ...]] = (
        "cache_total",
        "sectors_in_use",
        "sectors_capacity",
        "sectors_24h",
        "farm_count",
    )

    @property
    def components(self) -> tuple[ClusterComponent, ...]:
        return self.controllers + self.caches + self.plotters + self.farmers

    @property
    def cache_total(self) -> float:
        """Pieces the caches hold at most, together."""
        return sum(c.cache_total or 0 for c in self.caches)

    @property
    def sectors_in_use(self) -> float:
        return sum(c.sectors_in_use or 0 for c in self.plotters)

    @property
    def sectors_capacity(self) -> float | None:
        """The plotters' capacity together; None when no plotter's metrics say it."""
        totals = [c.capacity_total for c in self.plotters if c.capacity_total is not None]
        return sum(totals) if totals else None

    @property
    def sectors_24h(self) -> int:
        return sum(c.sectors_24h or 0 for c in self.plotters)

    @property
    def farm_count(self) -> int:
        return sum(len(c.farm_ids) for c in self.farmers)


@dataclass(frozen=True, slots=True)
class DashboardView:
    generated_us: int
    nodes: tuple[NodeView, ...]
    farmers: tuple[FarmerView, ...]
    farms: tuple[FarmSummary, ...]
    wallets: tuple[WalletView, ...]
    problems: tuple[Problem, ...]
    rewards_24h: int
    misses_24h: int
    clusters: tuple[ClusterView, ...] = ()


@dataclass(frozen=True, slots=True)
class FarmChoice:
    farm_id: str
    farmer: str | None
    directory: str | None


@dataclass(frozen=True, slots=True)
class BalancePoint:
    ts_us: int
    balance: int  # free + reserved


@dataclass(frozen=True, slots=True)
class KindTotal:
    """Chain rewards of one kind (block, vote) over a period."""

    kind: str
    count: int
    amount: int


@dataclass(frozen=True, slots=True)
class WalletDetail:
    wallet: WalletView
    balance_history: tuple[BalancePoint, ...]
    rewards_by_kind: tuple[KindTotal, ...]
    history_since_us: int


@dataclass(frozen=True, slots=True)
class FarmExport:
    """One farm's derived counters for the Prometheus exporter (all time unless named)."""

    farm_id: str
    farmer: str
    host: str
    won: int
    missed: int
    blocks: int
    votes: int
    amount: int
    misses_24h: tuple[tuple[str, int], ...]  # (outcome, count)
    won_24h: int
    missed_24h: int
    # Wins signed in the log that the chain never credited; None: no watched wallet.
    not_credited: int | None = None


@dataclass(frozen=True, slots=True)
class ExportSnapshot:
    """Everything /metrics shows, read in one go."""

    now_us: int
    farms: tuple[FarmExport, ...]
    wallets: tuple[tuple[str, str, int], ...]  # (address, label, balance)
    open_alerts: tuple[tuple[str, str, int], ...]  # (rule, severity, count)
    source_lag: tuple[tuple[str, str, str, float], ...]  # (kind, source, role, seconds)
    outbox: tuple[tuple[str, int], ...]  # (state, count)
    clusters: tuple[ClusterView, ...] = ()
