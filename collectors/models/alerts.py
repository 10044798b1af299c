"""Alert models: the stored-state snapshot the rules read, their conditions, and alert state.

Times are UTC unix microseconds; amounts are in the smallest unit (1 AI3 = 10**18).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from collectors.models.chain import OperatorIncident
from collectors.models.notify import Severity

AI3 = 10**18


class Rule(StrEnum):
    ENDPOINT_DOWN = "endpoint_down"
    LOGS_SILENT = "logs_silent"
    NODE_NOT_SYNCED = "node_not_synced"
    NODE_LOW_PEERS = "node_low_peers"
    FARM_ERROR = "farm_error"
    FARM_MISSING = "farm_missing"
    PLOTTING_STALLED = "plotting_stalled"
    MISSED_REWARDS = "missed_rewards"
    NO_REWARD = "no_reward"
    BALANCE_DROP = "balance_drop"
    LARGE_TRANSFER_OUT = "large_transfer_out"
    LOW_BALANCE = "low_balance"
    OPERATOR_INCIDENT = "operator_incident"
    FARM_PROVE_FAILED = "farm_prove_failed"
    FARM_CREATION_FAILED = "farm_creation_failed"
    PIECE_CACHE_SYNC_SLOW = "piece_cache_sync_slow"
    NODE_SLOW_BLOCKS = "node_slow_blocks"
    DSN_LOW_PEERS = "dsn_low_peers"
    PLOTTING_ERRORS = "plotting_errors"
    # farming cluster
    PLOTTER_TIMEOUT = "plotter_timeout"
    CLUSTER_FARM_EXPIRED = "cluster_farm_expired"
    CLUSTER_CACHE_EXPIRED = "cluster_cache_expired"


class MissKind(StrEnum):
    FAILED_SOLUTION = "failed_solution"
    PROVING_SKIPPED = "proving_skipped"
    PROVING_TIMEOUT = "proving_timeout"
    FAILED_SIGNATURE = "failed_signature"
    REJECTED_PROOF = "rejected_proof"
    IGNORED_SOLUTION = "ignored_solution"
    PROVE_FAILED = "prove_failed"
    VOTE_FAILED = "vote_failed"
    INVALID_SIGNATURE = "invalid_signature"


# --- the snapshot the rules read ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TargetHealth:
    """A metrics endpoint as the scraper last saw it."""

    key: str
    kind: str  # "node" | "farmer"
    label: str
    up: bool
    first_seen_us: int
    last_attempt_us: int | None = None
    last_success_us: int | None = None
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class SourceActivity:
    """A log source (file or container) and when cosmos last received a line from it."""

    key: str
    role: str  # "node" | "farmer"
    last_line_us: int | None  # receive time, not the line's own (possibly old) timestamp
    first_seen_us: int


@dataclass(frozen=True, slots=True)
class NodeState:
    """The node's sync state, from its metrics (or its informant log lines)."""

    subject: str
    observed_us: int
    best: int | None = None
    sync_target: int | None = None
    peers: int | None = None
    major_syncing: bool | None = None


@dataclass(frozen=True, slots=True)
class FarmErrorEvent:
    ts_us: int
    message: str
    fatal: bool  # "Farm exited with error" / "Farm errored and stopped" vs a non-fatal error


@dataclass(frozen=True, slots=True)
class Miss:
    ts_us: int
    kind: MissKind
    detail: str = ""


@dataclass(frozen=True, slots=True)
class FarmState:
    """One farm (keyed by its ULID) with what logs and metrics say about it."""

    farm_id: str
    farmer: str
    first_seen_us: int
    last_seen_us: int
    allocated_bytes: int | None = None
    # Error events (log lines) in the look-back window, oldest first.
    errors: tuple[FarmErrorEvent, ...] = ()
    # Farming-error counter readings (metrics) in the window: (ts_us, total), oldest first.
    farming_error_totals: tuple[tuple[int, float], ...] = ()
    # Present in the latest farmer run's farm list (logs) / the latest scrape (metrics); None
    # when that source says nothing about this farm.
    in_latest_run: bool | None = None
    in_latest_scrape: bool | None = None
    latest_run_started_us: int | None = None
    latest_scrape_us: int | None = None
    # Plotting: last progress line, its percent, whether complete, sectors still to plot.
    plot_kind: str | None = None
    plot_percent: float | None = None
    plot_updated_us: int | None = None
    plot_complete: bool = False
    sectors_remaining: int | None = None
    # Rewards (signed reward hashes) in the look-back window, oldest first.
    reward_times_us: tuple[int, ...] = ()
    misses: tuple[Miss, ...] = ()
    # How far behind the clock the farm's farmer log was when last read (its last line's time
    # against the time it was stored): large while history is still being backfilled.
    log_lag_us: int | None = None
    # Sector plotting-error counter readings (metrics) in the window: (ts_us, total).
    plotting_error_totals: tuple[tuple[int, float], ...] = ()


@dataclass(frozen=True, slots=True)
class FarmCreationFailure:
    """``Farm creation failed``: the farm at that index never started (latest failure per index)."""

    farm_index: int | None
    ts_us: int
    error: str
    current: bool  # in the farmer's current run (a later start may have brought the farm up)
    directory: str | None = None  # where that index pointed in an earlier run, if known


@dataclass(frozen=True, slots=True)
class SourceSignals:
    """What one log source's recent lines say beyond farms: piece cache, DSN, node health."""

    key: str
    role: str
    # An unfinished piece-cache catch-up to the latest history size started then (this run).
    cache_catchup_since_us: int | None = None
    # The latest ``dsn: actively using c/k known peers`` line, if recent.
    dsn_connected: int | None = None
    dsn_known: int | None = None
    slow_blocks_last_hour: int = 0
    slowest_block_ms: int | None = None
    # Misses the node logs with no farm: a vote it could not submit, a signature it rejected.
    misses: tuple[Miss, ...] = ()
    creation_failures: tuple[FarmCreationFailure, ...] = ()


@dataclass(frozen=True, slots=True)
class WalletTransfer:
    ts_us: int
    amount: int  # positive; direction by ``outgoing``
    outgoing: bool
    counterparty: str = ""
    ref: str = ""  # stable id (block hash and event index)
    block: int | None = None
    announced: bool = False  # the wallet collector already told the farmer about it


@dataclass(frozen=True, slots=True)
class BalanceReading:
    """A balance read at the end of a settled, processed ``block``; None: not comparable."""

    ts_us: int
    total: int  # free + reserved
    block: int | None = None


@dataclass(frozen=True, slots=True)
class BalanceFlow:
    """Known money in (+) or out (-) at ``block`` other than a transfer: a reward, a fee, XDM…"""

    block: int
    amount: int
    what: str = ""


@dataclass(frozen=True, slots=True)
class WalletState:
    address: str
    label: str
    readings: tuple[BalanceReading, ...] = ()  # oldest first
    transfers: tuple[WalletTransfer, ...] = ()  # oldest first
    flows: tuple[BalanceFlow, ...] = ()  # every other known movement, by block
    # Block ranges never scanned: nothing is known of what moved in them.
    gaps: tuple[tuple[int, int], ...] = ()
    free: int | None = None  # the latest free balance read
    low_balance: int | None = None  # alert below this free balance; None: off
    incidents: tuple[OperatorIncident, ...] = ()  # slashes/offline of the operator it runs


@dataclass(frozen=True, slots=True)
class PlotterTimeouts:
    """A cluster farm whose plotting hit ``Timed out without ping from plotter``."""

    farm_id: str
    farmer: str
    count: int  # in the window
    last_us: int
    sector_index: int | None = None
    # The farm logged plotting progress after the last timeout (a plotter answers again).
    progressed_after: bool = False


@dataclass(frozen=True, slots=True)
class ControllerFarm:
    """The controller's last word on a farm: expired (its farmer stopped identifying) or not."""

    farm_id: str
    controller: str  # the controller's log source key
    expired: bool
    since_us: int
    farmer: str = ""  # the cosmos farmer the farm belongs to, when known


@dataclass(frozen=True, slots=True)
class ControllerCaches:
    """Caches a controller dropped (expired) and whether one was discovered after them."""

    controller: str
    expired_ids: tuple[str, ...]
    last_expired_us: int | None
    last_discovered_us: int | None


@dataclass(frozen=True, slots=True)
class ClusterInputs:
    plotter_timeouts: tuple[PlotterTimeouts, ...] = ()
    controller_farms: tuple[ControllerFarm, ...] = ()
    controller_caches: tuple[ControllerCaches, ...] = ()


@dataclass(frozen=True, slots=True)
class AlertInputs:
    """Everything the rules look at, read from the store in one go."""

    now_us: int
    targets: tuple[TargetHealth, ...] = ()
    sources: tuple[SourceActivity, ...] = ()
    nodes: tuple[NodeState, ...] = ()
    farms: tuple[FarmState, ...] = ()
    wallets: tuple[WalletState, ...] = ()
    # Farmer name -> rewards (times) in the look-back window, for farms' share-of-space estimate.
    farmer_rewards_us: dict[str, tuple[int, ...]] = field(default_factory=dict)
    signals: tuple[SourceSignals, ...] = ()
    # When cosmos first watched this database: silence and stalls count from then at the
    # earliest (old lines read in a backfill are history, not news). None: no such limit.
    watch_start_us: int | None = None
    cluster: ClusterInputs = field(default_factory=ClusterInputs)


# --- rule output and alert state ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Condition:
    """A rule's verdict on one subject at one evaluation."""

    rule: Rule
    subject: str
    active: bool
    severity: Severity = Severity.WARNING
    title: str = ""
    detail: str = ""


class Phase(StrEnum):
    OK = "ok"  # nothing wrong (or resolved)
    PENDING = "pending"  # holds, but not yet for its grace period
    FIRING = "firing"  # announced
    CLEARING = "clearing"  # announced, now clear, waiting for the resolve grace


class Transition(StrEnum):
    FIRE = "fire"
    REMIND = "remind"
    RESOLVE = "resolve"


@dataclass(frozen=True, slots=True)
class AlertState:
    """Stored per (rule, subject); survives restarts."""

    rule: Rule
    subject: str
    phase: Phase = Phase.OK
    since_us: int | None = None  # the condition started holding (this episode)
    opened_us: int | None = None  # fired at
    last_notified_us: int | None = None
    reminders: int = 0
    clear_since_us: int | None = None
    flips: int = 0  # firing -> clear -> firing again, within this episode
    resolved_us: int | None = None
    severity: Severity = Severity.WARNING
    title: str = ""
    detail: str = ""
    updated_us: int = 0

    @property
    def is_open(self) -> bool:
        return self.phase in (Phase.FIRING, Phase.CLEARING)


@dataclass(frozen=True, slots=True)
class Policy:
    """How one rule's alerts behave over time (seconds)."""

    grace_s: float = 0.0
    resolve_grace_s: float = 300.0
    remind_first_s: float = 3600.0
    remind_max_s: float = 86400.0
    remind: bool = True
    announce_resolve: bool = True
    # Each flip (clear, then back) lengthens the resolve grace by this factor, up to the cap.
    flap_factor: float = 2.0
    flap_cap_s: float = 4 * 3600.0


# --- daily summary --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FarmerDay:
    """One farmer's day: wins from the logs, misses, and AI3 credited on chain."""

    farmer: str
    blocks: int = 0
    votes: int = 0
    signed: int = 0  # reward hashes signed (the farmer cannot tell a block from a vote)
    misses: int = 0
    amount: int = 0


@dataclass(frozen=True, slots=True)
class WalletDay:
    label: str
    address: str
    blocks: int = 0
    votes: int = 0
    amount: int = 0  # rewards credited
    balance: int | None = None
    transfers_in: int = 0
    transfers_out: int = 0


@dataclass(frozen=True, slots=True)
class PlotProgress:
    farm_id: str
    farmer: str
    kind: str  # "plotting" | "replotting" | "farming"
    percent: float | None
    sectors_remaining: int | None = None


@dataclass(frozen=True, slots=True)
class OpenProblem:
    rule: Rule
    subject: str
    title: str
    severity: Severity
    opened_us: int | None


@dataclass(frozen=True, slots=True)
class SummaryData:
    """What the daily summary says; ``hourly`` is the chart: (hour start, wins, misses)."""

    local_day: str
    timezone: str
    start_us: int
    end_us: int
    farmers: tuple[FarmerDay, ...] = ()
    wallets: tuple[WalletDay, ...] = ()
    misses_by_kind: tuple[tuple[str, int], ...] = ()
    plotting: tuple[PlotProgress, ...] = ()
    problems: tuple[OpenProblem, ...] = ()
    hourly: tuple[tuple[int, int, int], ...] = ()
    alerts_fired: int = 0
    alerts_resolved: int = 0


# --- cosmos status --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Activity:
    """One source, target or wallet and what it last did."""

    kind: str  # "log" | "metrics" | "wallet"
    name: str
    last_us: int | None
    ok: bool
    note: str = ""


@dataclass(frozen=True, slots=True)
class StatusOverview:
    now_us: int
    activity: tuple[Activity, ...]
    open_alerts: tuple[AlertState, ...]
    last_summary: tuple[str, int] | None
    outbox: tuple[tuple[str, int], ...]
